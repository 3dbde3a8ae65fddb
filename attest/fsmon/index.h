#pragma once
// The published file index: what consumers (ra-web-srv, NATS) are told, and one
// bounded change queue per consumer. Thread-safe; the monitor thread writes,
// publisher threads read.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "attest/fsmon/encode.h"

namespace ef::fsmon {

struct Record {
  std::string path;
  Kind kind = Kind::kFile;
  std::string hex;
  std::uint64_t size = 0;
  std::int64_t time_ms = 0;  ///< wall clock when hashed
  bool operator==(const Record& o) const {
    return path == o.path && kind == o.kind && hex == o.hex && size == o.size;
  }
};

struct Op {
  bool del = false;
  Record rec;  ///< for del only rec.path
  std::vector<std::string> removed;  ///< del: every record that went (rec.path and below)
};

/// What a consumer must send next.
struct Batch {
  bool snapshot = false;         ///< true: `records` is the whole state; send a snapshot
  std::vector<Record> records;   ///< snapshot contents (path order)
  std::vector<Op> ops;           ///< otherwise: changes in order
};

class Index {
 public:
  struct Sink;

  /// A consumer with a change queue of at most `bound` ops; past it the queue is
  /// dropped and the consumer gets a snapshot instead (never silent loss).
  Sink* add_sink(std::size_t bound);

  /// Sets a record; queues a put unless an identical record is there.
  void put(Record r);
  /// Removes `path` and everything below it; queues one del when anything was there.
  void del(const std::string& path);
  /// Every consumer gets a fresh snapshot next.
  void resync_all();

  /// Waits up to `timeout` for work for `sink`. With `force_snapshot` (a new
  /// connection) the queue is dropped and a snapshot returned.
  Batch take(Sink* sink, std::chrono::milliseconds timeout, bool force_snapshot);
  /// The consumer is disconnected: queue nothing for it until its next take()
  /// (which then returns a snapshot).
  void detach(Sink* sink);
  /// Wakes every take() (used at shutdown).
  void wake_all();

  std::optional<Record> get(const std::string& path) const;
  std::vector<Record> all() const;
  std::size_t size() const;

 private:
  void push(const Op& op);

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, Record> records_;
  std::vector<std::unique_ptr<Sink>> sinks_;
  bool woken_ = false;
};

struct Index::Sink {
  std::size_t bound;
  std::deque<Op> queue;
  bool resync = true;
  std::uint64_t overflows = 0;
};

}  // namespace ef::fsmon
