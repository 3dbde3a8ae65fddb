#include "builder/async_pcr.h"

namespace ef::eif {

AsyncPcrHasher::AsyncPcrHasher() : worker_([this] { run(); }) { batch_.reserve(kBatch); }

AsyncPcrHasher::~AsyncPcrHasher() {
  {
    std::lock_guard lock(mu_);
    done_ = true;
  }
  cv_.notify_all();
  if (worker_.joinable()) worker_.join();
}

void AsyncPcrHasher::update(std::span<const std::uint8_t> data) {
  while (!data.empty()) {
    std::size_t n = std::min(data.size(), kBatch - batch_.size());
    batch_.insert(batch_.end(), data.begin(), data.begin() + static_cast<long>(n));
    data = data.subspan(n);
    if (batch_.size() == kBatch) flush_batch();
  }
}

void AsyncPcrHasher::flush_batch() {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [this] { return queue_.size() < kMaxQueued; });
  queue_.push_back(std::move(batch_));
  batch_ = {};
  batch_.reserve(kBatch);
  lock.unlock();
  cv_.notify_all();
}

void AsyncPcrHasher::run() {
  for (;;) {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [this] { return !queue_.empty() || done_; });
    if (queue_.empty()) return;
    std::vector<std::uint8_t> b = std::move(queue_.front());
    queue_.pop_front();
    lock.unlock();
    cv_.notify_all();
    hasher_.update(b);
  }
}

std::vector<std::uint8_t> AsyncPcrHasher::finish() {
  if (!batch_.empty()) flush_batch();
  {
    std::lock_guard lock(mu_);
    done_ = true;
  }
  cv_.notify_all();
  worker_.join();
  return hasher_.finish();
}

}  // namespace ef::eif
