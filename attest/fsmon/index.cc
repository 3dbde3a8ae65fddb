#include "attest/fsmon/index.h"

namespace ef::fsmon {

Index::Sink* Index::add_sink(std::size_t bound) {
  std::lock_guard lock(mu_);
  sinks_.push_back(std::make_unique<Sink>());
  sinks_.back()->bound = bound;
  return sinks_.back().get();
}

void Index::push(const Op& op) {
  for (auto& s : sinks_) {
    if (s->resync) continue;  // a snapshot is due anyway
    if (s->queue.size() >= s->bound) {
      s->queue.clear();
      s->resync = true;
      ++s->overflows;
      continue;
    }
    s->queue.push_back(op);
  }
  cv_.notify_all();
}

void Index::put(Record r) {
  std::lock_guard lock(mu_);
  auto it = records_.find(r.path);
  if (it != records_.end() && it->second == r) return;
  Op op{false, r, {}};
  if (it != records_.end()) it->second = std::move(r);
  else records_.emplace(op.rec.path, std::move(r));
  push(op);
}

void Index::del(const std::string& path) {
  std::lock_guard lock(mu_);
  std::vector<std::string> removed;
  auto it = records_.find(path);
  if (it != records_.end()) {
    records_.erase(it);
    removed.push_back(path);
  }
  std::string lo = path == "/" ? "/" : path + "/";
  for (it = records_.lower_bound(lo); it != records_.end() && it->first.compare(0, lo.size(), lo) == 0;) {
    removed.push_back(it->first);
    it = records_.erase(it);
  }
  if (!removed.empty()) push(Op{true, Record{path, Kind::kFile, "", 0, 0}, std::move(removed)});
}

void Index::resync_all() {
  std::lock_guard lock(mu_);
  for (auto& s : sinks_) {
    s->queue.clear();
    s->resync = true;
  }
  cv_.notify_all();
}

Batch Index::take(Sink* sink, std::chrono::milliseconds timeout, bool force_snapshot) {
  std::unique_lock lock(mu_);
  if (!force_snapshot && !sink->resync && sink->queue.empty()) {
    cv_.wait_for(lock, timeout, [&] { return sink->resync || !sink->queue.empty() || woken_; });
  }
  Batch b;
  if (force_snapshot || sink->resync) {
    sink->resync = false;
    sink->queue.clear();
    b.snapshot = true;
    b.records.reserve(records_.size());
    for (auto& [_, r] : records_) b.records.push_back(r);
    return b;
  }
  b.ops.assign(std::make_move_iterator(sink->queue.begin()), std::make_move_iterator(sink->queue.end()));
  sink->queue.clear();
  return b;
}

void Index::detach(Sink* sink) {
  std::lock_guard lock(mu_);
  sink->queue.clear();
  sink->resync = true;
}

void Index::wake_all() {
  std::lock_guard lock(mu_);
  woken_ = true;
  cv_.notify_all();
}

std::optional<Record> Index::get(const std::string& path) const {
  std::lock_guard lock(mu_);
  auto it = records_.find(path);
  if (it == records_.end()) return std::nullopt;
  return it->second;
}

std::vector<Record> Index::all() const {
  std::lock_guard lock(mu_);
  std::vector<Record> out;
  for (auto& [_, r] : records_) out.push_back(r);
  return out;
}

std::size_t Index::size() const {
  std::lock_guard lock(mu_);
  return records_.size();
}

}  // namespace ef::fsmon
