#pragma once
// Worker threads that hash files (SHA3-512, streaming) off the event thread.

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "base/fd.h"

namespace ef::fsmon {

/// What a later stat compares against to tell whether a file changed.
struct StatKey {
  std::uint64_t dev = 0, ino = 0, size = 0;
  std::int64_t mtime_ns = 0, ctime_ns = 0;
  bool operator==(const StatKey&) const = default;
};

struct HashJob {
  std::string path;
  std::uint64_t gen = 0;
};

struct HashResult {
  std::string path;
  std::uint64_t gen = 0;
  enum class Status { kOk, kGone, kNotRegular, kError } status = Status::kOk;
  std::string error;
  std::string hex;
  std::uint64_t size = 0;
  StatKey st;
  /// The file's ctime was well before hashing started (git's "racily clean"
  /// test): a later equal stat proves the content is unchanged.
  bool trusted = false;
  std::int64_t time_ms = 0;
};

/// Hashes one file: opened without following symlinks and without blocking on
/// FIFOs; non-regular files report kNotRegular.
HashResult hash_file(const std::string& path, std::uint64_t gen);

/// lstat() as a StatKey; false when the path is gone.
bool stat_key(const std::string& path, StatKey& out, bool& is_dir, bool& is_reg);

class HashPool {
 public:
  explicit HashPool(int threads);
  ~HashPool();
  HashPool(const HashPool&) = delete;
  HashPool& operator=(const HashPool&) = delete;

  void submit(HashJob job);
  /// Results ready now.
  std::vector<HashResult> take();
  /// Waits up to `ms` for at least one result (tests).
  std::vector<HashResult> wait(int ms);
  /// Polls readable when results are ready (an eventfd).
  int fd() const { return wake_.get(); }
  /// Jobs queued or running plus results not taken.
  std::size_t outstanding() const;

 private:
  void worker();

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::condition_variable done_cv_;
  std::deque<HashJob> jobs_;
  std::vector<HashResult> results_;
  std::size_t running_ = 0;
  bool stop_ = false;
  UniqueFd wake_;
  std::vector<std::thread> threads_;
};

}  // namespace ef::fsmon
