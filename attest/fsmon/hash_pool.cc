#include "attest/fsmon/hash_pool.h"

#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <memory>

#include "base/error.h"
#include "base/hash.h"

namespace ef::fsmon {
namespace {

StatKey to_key(const struct stat& st) {
  StatKey k;
  k.dev = st.st_dev;
  k.ino = st.st_ino;
  k.size = static_cast<std::uint64_t>(st.st_size);
  k.mtime_ns = static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
  k.ctime_ns = static_cast<std::int64_t>(st.st_ctim.tv_sec) * 1000000000 + st.st_ctim.tv_nsec;
  return k;
}

std::int64_t now_ns() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

}  // namespace

bool stat_key(const std::string& path, StatKey& out, bool& is_dir, bool& is_reg) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) return false;
  out = to_key(st);
  is_dir = S_ISDIR(st.st_mode);
  is_reg = S_ISREG(st.st_mode);
  return true;
}

HashResult hash_file(const std::string& path, std::uint64_t gen) {
  HashResult r;
  r.path = path;
  r.gen = gen;
  std::int64_t start = now_ns();
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY));
  if (!fd) {
    int e = errno;
    if (e == ENOENT || e == ENOTDIR) r.status = HashResult::Status::kGone;
    else if (e == ELOOP) r.status = HashResult::Status::kNotRegular;  // a symlink
    else {
      r.status = HashResult::Status::kError;
      r.error = std::strerror(e);
    }
    return r;
  }
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) {
    r.status = HashResult::Status::kError;
    r.error = std::strerror(errno);
    return r;
  }
  if (!S_ISREG(st.st_mode)) {
    r.status = HashResult::Status::kNotRegular;
    return r;
  }
  r.st = to_key(st);
  thread_local std::unique_ptr<std::uint8_t[]> buf(new std::uint8_t[1 << 20]);
  Hasher h(HashAlgo::kSha3_512);
  std::uint64_t total = 0;
  for (;;) {
    ssize_t n = ::read(fd.get(), buf.get(), 1 << 20);
    if (n < 0) {
      if (errno == EINTR) continue;
      r.status = HashResult::Status::kError;
      r.error = std::strerror(errno);
      return r;
    }
    if (n == 0) break;
    h.update(std::span<const std::uint8_t>(buf.get(), static_cast<std::size_t>(n)));
    total += static_cast<std::uint64_t>(n);
  }
  r.hex = to_hex(h.finish());
  r.size = total;
  struct stat after;
  bool stable = ::fstat(fd.get(), &after) == 0 && to_key(after) == r.st && total == r.st.size;
  r.trusted = stable && r.st.ctime_ns < start - 1000000000LL && r.st.mtime_ns < start - 1000000000LL;
  r.time_ms = now_ns() / 1000000;
  return r;
}

HashPool::HashPool(int threads) : wake_(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {
  if (!wake_) throw_errno("eventfd", "hash pool");
  if (threads < 1) threads = 1;
  for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { worker(); });
}

HashPool::~HashPool() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_) t.join();
}

void HashPool::submit(HashJob job) {
  {
    std::lock_guard lock(mu_);
    jobs_.push_back(std::move(job));
  }
  cv_.notify_one();
}

void HashPool::worker() {
  for (;;) {
    HashJob job;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stop_ || !jobs_.empty(); });
      if (stop_) return;
      job = std::move(jobs_.front());
      jobs_.pop_front();
      ++running_;
    }
    HashResult r = hash_file(job.path, job.gen);
    {
      std::lock_guard lock(mu_);
      --running_;
      results_.push_back(std::move(r));
    }
    done_cv_.notify_all();
    std::uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(wake_.get(), &one, sizeof one);
  }
}

std::vector<HashResult> HashPool::take() {
  std::uint64_t v;
  [[maybe_unused]] auto n = ::read(wake_.get(), &v, sizeof v);
  std::lock_guard lock(mu_);
  return std::exchange(results_, {});
}

std::vector<HashResult> HashPool::wait(int ms) {
  {
    std::unique_lock lock(mu_);
    done_cv_.wait_for(lock, std::chrono::milliseconds(ms), [&] { return !results_.empty(); });
  }
  return take();
}

std::size_t HashPool::outstanding() const {
  std::lock_guard lock(mu_);
  return jobs_.size() + running_ + results_.size();
}

}  // namespace ef::fsmon
