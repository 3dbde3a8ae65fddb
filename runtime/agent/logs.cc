// LOGS: init's per-service log files (LOG_DIR/SERVICE.log), whole or followed
// with inotify. Lines go out in LOG frames, batched, each ending in '\n'.

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <map>

#include "base/error.h"
#include "base/log.h"
#include "runtime/agent/session.h"

namespace ef::agent {
namespace {

bool valid_service(std::string_view s) {
  if (s.empty() || s.size() > 128) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
           c == '.' || c == '@';
  }) && s != "." && s != "..";
}

struct Tracked {
  std::string service;
  ino_t inode = 0;
  off_t offset = 0;
  std::string partial;
};

class LogStreamer {
 public:
  LogStreamer(RequestContext& ctx, LogsSpec spec) : ctx_(ctx), spec_(std::move(spec)), dir_(ctx.config.log_dir) {}

  void run() {
    if (!spec_.service.empty()) {
      if (!valid_service(spec_.service))
        return send_error(ctx_.channel, ErrorCode::kFailed, "\"" + spec_.service + "\" is not a service name");
      if (::access(path_of(spec_.service).c_str(), R_OK) != 0)
        return send_error(ctx_.channel, ErrorCode::kFailed,
                          "no log for service " + spec_.service + " in " + dir_ + " (is log.file on for it?)");
    }
    UniqueFd ino;
    if (spec_.follow) {
      ino.reset(::inotify_init1(IN_CLOEXEC | IN_NONBLOCK));
      if (!ino || ::inotify_add_watch(ino.get(), dir_.c_str(), IN_MODIFY | IN_CREATE | IN_MOVED_TO | IN_CLOSE_WRITE) < 0)
        return send_error(ctx_.channel, ErrorCode::kFailed, "cannot watch " + dir_ + ": " + std::strerror(errno));
    }
    scan();
    if (!spec_.follow) {
      flush_partials();
      ctx_.channel.send(FrameType::kOk);
      return;
    }
    for (;;) {
      pollfd fds[2] = {{ctx_.channel.fd(), POLLIN, 0}, {ino.get(), POLLIN, 0}};
      if (!ctx_.channel.has_buffered() && ::poll(fds, 2, 1000) < 0 && errno != EINTR) throw_errno("poll", "logs");
      for (;;) {
        auto f = ctx_.channel.try_recv();
        if (!f) break;
        if (f->type == FrameType::kCancel) {
          flush_partials();
          ctx_.channel.send(FrameType::kOk);
          return;
        }
        send_error(ctx_.channel, ErrorCode::kProtocol,
                   "unexpected " + frame_type_name(static_cast<std::uint8_t>(f->type)) + " while following logs");
        return;
      }
      if (ctx_.channel.peer_closed()) return;
      char buf[8192];
      while (::read(ino.get(), buf, sizeof buf) > 0) {
      }
      scan();
    }
  }

 private:
  std::string path_of(const std::string& service) const { return dir_ + "/" + service + ".log"; }

  std::vector<std::string> services() const {
    if (!spec_.service.empty()) return {spec_.service};
    std::vector<std::string> out;
    DIR* d = ::opendir(dir_.c_str());
    if (!d) return out;
    while (dirent* e = ::readdir(d)) {
      std::string n = e->d_name;
      if (n.size() > 4 && n.ends_with(".log") && valid_service(n.substr(0, n.size() - 4)))
        out.push_back(n.substr(0, n.size() - 4));
    }
    ::closedir(d);
    std::sort(out.begin(), out.end());
    return out;
  }

  void scan() {
    for (const auto& s : services()) read_new(s);
  }

  void read_new(const std::string& service) {
    UniqueFd fd(::open(path_of(service).c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
    if (!fd) return;
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) return;
    Tracked& t = files_[service];
    t.service = service;
    if (t.inode != st.st_ino || st.st_size < t.offset) {  // new, rotated or truncated
      t.inode = st.st_ino;
      t.offset = 0;
    }
    while (t.offset < st.st_size) {
      const ssize_t n = ::pread(fd.get(), buf_, sizeof buf_, t.offset);
      if (n <= 0) break;
      t.offset += n;
      t.partial.append(reinterpret_cast<const char*>(buf_), static_cast<std::size_t>(n));
      const auto last = t.partial.rfind('\n');
      if (last == std::string::npos) continue;
      send(service, t.partial.substr(0, last + 1));
      t.partial.erase(0, last + 1);
    }
  }

  void flush_partials() {
    for (auto& [name, t] : files_)
      if (!t.partial.empty()) {
        send(name, t.partial + "\n");
        t.partial.clear();
      }
  }

  void send(const std::string& service, const std::string& lines) {
    // Keep frames well under the limit: cut at line ends.
    std::size_t pos = 0;
    const std::size_t max = kMaxPayload - 512;
    while (pos < lines.size()) {
      std::size_t end = std::min(lines.size(), pos + max);
      if (end < lines.size()) {
        const auto nl = lines.rfind('\n', end - 1);
        end = nl != std::string::npos && nl >= pos ? nl + 1 : end;
      }
      ctx_.channel.send(FrameType::kLog, encode_log({service, lines.substr(pos, end - pos)}));
      pos = end;
    }
  }

  RequestContext& ctx_;
  LogsSpec spec_;
  std::string dir_;
  std::map<std::string, Tracked> files_;
  std::uint8_t buf_[256 * 1024];
};

}  // namespace

void handle_logs(RequestContext& ctx, const Frame& request) {
  LogsSpec spec;
  try {
    spec = decode_logs(request.payload);
  } catch (const Error& e) {
    return send_error(ctx.channel, ErrorCode::kProtocol, e.what());
  }
  auto s = std::make_unique<LogStreamer>(ctx, std::move(spec));
  s->run();
}

}  // namespace ef::agent
