// Linux inotify behind EventSource. The only file of fs-monitor that talks to inotify.
#include <errno.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <cstring>
#include <deque>
#include <map>
#include <unordered_map>
#include <vector>

#include "attest/fsmon/event_source.h"
#include "base/error.h"
#include "base/fd.h"

namespace ef::fsmon {
namespace {

constexpr std::uint32_t kMask = IN_CREATE | IN_CLOSE_WRITE | IN_MOVED_FROM | IN_MOVED_TO | IN_DELETE | IN_ONLYDIR |
                                IN_DONT_FOLLOW | IN_EXCL_UNLINK;

bool under(const std::string& path, const std::string& dir) {
  return path == dir || (path.size() > dir.size() && path.compare(0, dir.size(), dir) == 0 && path[dir.size()] == '/');
}

class InotifySource final : public EventSource {
 public:
  InotifySource() : fd_(inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) {
    if (!fd_) throw_errno("inotify_init1", "fs-monitor");
  }

  bool add_watch(const std::string& dir) override {
    int wd = inotify_add_watch(fd_.get(), dir.c_str(), kMask);
    if (wd < 0) {
      int e = errno;
      if (e == ENOENT || e == ENOTDIR || e == EACCES) return false;
      if (e == ENOSPC)
        throw Error("inotify watch limit reached at " + dir +
                    " (raise fs.inotify.max_user_watches; see docs/fs-monitor.md)");
      throw SysError("inotify_add_watch", dir, e);
    }
    auto it = by_wd_.find(wd);
    if (it != by_wd_.end()) {
      if (it->second == dir) return true;
      by_path_.erase(it->second);
    }
    by_wd_[wd] = dir;
    by_path_[dir] = wd;
    return true;
  }

  void rename_tree(const std::string& from, const std::string& to) override {
    std::vector<std::pair<std::string, int>> moved;
    for (auto it = by_path_.lower_bound(from); it != by_path_.end() && under(it->first, from);) {
      moved.emplace_back(it->first, it->second);
      it = by_path_.erase(it);
    }
    for (auto& [path, wd] : moved) {
      std::string np = to + path.substr(from.size());
      by_path_[np] = wd;
      by_wd_[wd] = np;
    }
  }

  void remove_tree(const std::string& dir) override {
    for (auto it = by_path_.lower_bound(dir); it != by_path_.end() && under(it->first, dir);) {
      inotify_rm_watch(fd_.get(), it->second);
      by_wd_.erase(it->second);
      it = by_path_.erase(it);
    }
  }

  std::optional<FsEvent> next() override {
    for (;;) {
      if (pos_ >= len_) {
        ssize_t n = ::read(fd_.get(), buf_, sizeof buf_);
        if (n <= 0) {
          if (n < 0 && errno != EAGAIN && errno != EINTR) throw_errno("read", "inotify");
          return std::nullopt;
        }
        pos_ = 0;
        len_ = static_cast<std::size_t>(n);
      }
      inotify_event ev;
      std::memcpy(&ev, buf_ + pos_, sizeof ev);
      const char* name = buf_ + pos_ + sizeof ev;
      pos_ += sizeof ev + ev.len;
      if (ev.mask & IN_Q_OVERFLOW) return FsEvent{FsEvent::Type::kOverflow, "", false, 0};
      if (ev.mask & IN_IGNORED) {
        auto it = by_wd_.find(ev.wd);
        if (it != by_wd_.end()) {
          auto p = by_path_.find(it->second);
          if (p != by_path_.end() && p->second == ev.wd) by_path_.erase(p);
          by_wd_.erase(it);
        }
        continue;
      }
      auto it = by_wd_.find(ev.wd);
      if (it == by_wd_.end() || ev.len == 0) continue;
      FsEvent out;
      out.is_dir = (ev.mask & IN_ISDIR) != 0;
      out.cookie = ev.cookie;
      out.path = it->second;
      if (out.path != "/") out.path += '/';
      out.path += std::string(name, strnlen(name, ev.len));
      if (ev.mask & IN_CLOSE_WRITE) out.type = FsEvent::Type::kCloseWrite;
      else if (ev.mask & IN_MOVED_FROM) out.type = FsEvent::Type::kMovedFrom;
      else if (ev.mask & IN_MOVED_TO) out.type = FsEvent::Type::kMovedTo;
      else if (ev.mask & IN_DELETE) out.type = FsEvent::Type::kDelete;
      else if (ev.mask & IN_CREATE) out.type = FsEvent::Type::kCreate;
      else continue;
      return out;
    }
  }

  int fd() const override { return fd_.get(); }
  std::size_t watch_count() const override { return by_wd_.size(); }

 private:
  UniqueFd fd_;
  std::unordered_map<int, std::string> by_wd_;
  std::map<std::string, int> by_path_;
  alignas(inotify_event) char buf_[64 * 1024];
  std::size_t pos_ = 0;
  std::size_t len_ = 0;
};

}  // namespace

std::unique_ptr<EventSource> make_inotify_source() { return std::make_unique<InotifySource>(); }

}  // namespace ef::fsmon
