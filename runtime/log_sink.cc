#include "runtime/log_sink.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>

namespace ef::init {

LogSink::LogSink(std::string name, std::string path, const LogSpec& spec, int console_fd)
    : name_(std::move(name)), path_(std::move(path)), spec_(spec), console_fd_(console_fd) {}

void LogSink::append(std::string_view data) {
  write_file(data);
  while (!data.empty()) {
    std::size_t nl = data.find('\n');
    if (nl == std::string_view::npos) {
      partial_.append(data);
      if (partial_.size() >= kMaxLine) flush_partial();
      return;
    }
    partial_.append(data.substr(0, nl));
    line(partial_);
    partial_.clear();
    data.remove_prefix(nl + 1);
  }
}

void LogSink::flush_partial() {
  if (partial_.empty()) return;
  line(partial_);
  partial_.clear();
}

void LogSink::line(std::string_view l) {
  if (console_fd_ >= 0 && spec_.console) {
    std::string out = "[" + name_ + "] ";
    out.append(l);
    out += '\n';
    (void)!::write(console_fd_, out.data(), out.size());
  }
  tail_.emplace_back(l);
  if (tail_.size() > kTailLines) tail_.pop_front();
  // Followers may unfollow (drop themselves) while being called.
  auto followers = followers_;
  for (auto& [id, f] : followers) f(l);
}

void LogSink::write_file(std::string_view data) {
  if (path_.empty() || !spec_.file) return;
  if (!file_) {
    std::error_code ec;
    std::filesystem::create_directories(std::filesystem::path(path_).parent_path(), ec);
    file_.reset(open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640));
    if (!file_) return;  // logging must never stop the service; the console still has it
    struct stat st{};
    file_size_ = fstat(file_.get(), &st) == 0 ? static_cast<std::uint64_t>(st.st_size) : 0;
  }
  if (file_size_ + data.size() > spec_.max_bytes && file_size_ > 0) {
    rotate();
    if (!file_) return;
  }
  ssize_t n = ::write(file_.get(), data.data(), data.size());
  if (n > 0) file_size_ += static_cast<std::uint64_t>(n);
}

void LogSink::rotate() {
  file_.reset();
  if (spec_.keep == 0) {
    unlink(path_.c_str());
  } else {
    for (int i = spec_.keep - 1; i >= 1; --i)
      std::rename((path_ + "." + std::to_string(i)).c_str(), (path_ + "." + std::to_string(i + 1)).c_str());
    std::rename(path_.c_str(), (path_ + ".1").c_str());
  }
  file_.reset(open(path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0640));
  file_size_ = 0;
}

std::vector<std::string> LogSink::tail(std::size_t n) const {
  std::size_t start = tail_.size() > n ? tail_.size() - n : 0;
  return {tail_.begin() + static_cast<std::ptrdiff_t>(start), tail_.end()};
}

int LogSink::follow(Follower f) {
  int id = next_follower_++;
  followers_.emplace(id, std::move(f));
  return id;
}

void LogSink::unfollow(int id) { followers_.erase(id); }

}  // namespace ef::init
