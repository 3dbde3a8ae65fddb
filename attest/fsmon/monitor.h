#pragma once
// fs-monitor's logic: keeps the tree of watched files and directories with their
// hashes, turns events into hash jobs and index changes. Single-threaded: one
// thread calls every method; hashing runs on the HashPool, publishing reads the Index.

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "attest/fsmon/event_source.h"
#include "attest/fsmon/hash_pool.h"
#include "attest/fsmon/ignore.h"
#include "attest/fsmon/index.h"

namespace ef::fsmon {

struct MonitorOptions {
  std::vector<std::string> roots;           ///< absolute, normalised, not nested in each other
  IgnoreRules ignore;                       ///< matched relative to each root
  std::chrono::milliseconds settle{2};      ///< events on one path within this window give one hash
  std::size_t queue_bound = 65536;          ///< paths waiting to settle; past it: full rescan
  std::chrono::milliseconds dir_interval{10};  ///< directory hashes are refreshed at most this often
};

struct MonitorStats {
  std::uint64_t events = 0, hashed = 0, hash_errors = 0, rescans = 0, kernel_overflows = 0, queue_overflows = 0,
                moves = 0, deletes = 0;
};

class Monitor {
 public:
  using Clock = std::chrono::steady_clock;

  Monitor(MonitorOptions options, EventSource& source, HashPool& pool, Index& index);

  /// Watches every root and scans it (throws Error when a root is not a directory).
  void start(Clock::time_point now);
  /// Takes every ready event from the source.
  void pump_events(Clock::time_point now);
  /// Applies finished hash jobs.
  void apply_results(std::vector<HashResult> results);
  /// Dispatches settled paths, expires unpaired moves, refreshes directory hashes,
  /// runs a due rescan. Returns when it wants to be called next.
  Clock::time_point tick(Clock::time_point now);
  /// Nothing settling, hashing, moving or dirty.
  bool idle() const;

  const MonitorStats& stats() const { return stats_; }
  std::size_t tracked() const { return nodes_.size(); }
  std::size_t pending() const { return settle_.size() + in_flight_; }

 private:
  struct Node {
    Kind kind = Kind::kFile;
    bool hashed = false;
    bool settling = false;
    bool inflight = false;
    bool rehash = false;  ///< changed again while its hash was running: hash once more after
    bool trusted = false;
    std::string hex;
    std::uint64_t size = 0;
    std::uint64_t gen = 0;
    std::uint64_t epoch = 0;
    std::int64_t time_ms = 0;
    StatKey st;
  };
  struct Move {
    std::string from;
    std::string holding;  ///< where the source keeps a moving directory's watches
    bool is_dir = false;
    std::vector<std::pair<std::string, Node>> nodes;  ///< relative to `from` ("" is the moved item)
    Clock::time_point deadline;
  };

  void handle(const FsEvent& ev, Clock::time_point now);
  int root_of(const std::string& path) const;
  bool is_ignored(const std::string& path, bool is_dir) const;
  void schedule(const std::string& path, Clock::time_point now);
  void dispatch(const std::string& path, Node& node);
  void add_dir(const std::string& path, bool sweep);
  void consider_file(const std::string& path, bool sweep);
  void remove_subtree(const std::string& path, bool publish);
  void mark_parent_dirty(const std::string& path);
  void flush_dirs();
  void finish_move(Move& m);
  void rescan();
  Record record_of(const std::string& path, const Node& n) const;

  MonitorOptions opt_;
  EventSource& source_;
  HashPool& pool_;
  Index& index_;
  std::map<std::string, Node> nodes_;
  std::deque<std::pair<Clock::time_point, std::string>> settle_;
  std::set<std::string> dirty_dirs_;
  std::map<std::uint32_t, Move> moves_;
  bool rescan_needed_ = false;
  std::uint64_t next_gen_ = 0;
  std::uint64_t epoch_ = 0;
  std::size_t in_flight_ = 0;
  Clock::time_point last_dir_flush_{};
  Clock::duration dir_gap_{};
  MonitorStats stats_;
};

}  // namespace ef::fsmon
