#pragma once
// A PCR register fed on a worker thread: the builder streams ramdisks once
// and PCR0 (every measured byte) hashes beside PCR1/PCR2 on the other core.

#include <condition_variable>
#include <deque>
#include <mutex>
#include <span>
#include <thread>
#include <vector>

#include "builder/pcr.h"

namespace ef::eif {

class AsyncPcrHasher {
 public:
  AsyncPcrHasher();
  ~AsyncPcrHasher();
  AsyncPcrHasher(const AsyncPcrHasher&) = delete;
  AsyncPcrHasher& operator=(const AsyncPcrHasher&) = delete;

  /// Copies `data` for the worker; blocks when kMaxQueued batches wait (bounded memory).
  void update(std::span<const std::uint8_t> data);
  /// Waits for the worker and returns the register value.
  std::vector<std::uint8_t> finish();

 private:
  static constexpr std::size_t kBatch = 1u << 20;
  static constexpr std::size_t kMaxQueued = 8;
  void flush_batch();
  void run();

  PcrHasher hasher_;
  std::vector<std::uint8_t> batch_;
  std::deque<std::vector<std::uint8_t>> queue_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
  std::thread worker_;
};

}  // namespace ef::eif
