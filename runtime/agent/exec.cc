// EXEC on the agent side: fork/exec with pipes or a pty, then one poll loop
// moving stdin/stdout/stderr frames until the child exits. The child runs in
// its own session and process group; a dropped connection kills the group.

#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <deque>
#include <mutex>
#include <set>

#include "base/error.h"
#include "base/log.h"
#include "runtime/agent/session.h"

namespace ef::agent {
namespace {

std::mutex g_children_mu;
std::set<pid_t> g_children;

struct ChildGuard {
  pid_t pid;
  explicit ChildGuard(pid_t p) : pid(p) {
    std::lock_guard l(g_children_mu);
    g_children.insert(p);
  }
  ~ChildGuard() {
    std::lock_guard l(g_children_mu);
    g_children.erase(pid);
  }
};

void set_nonblock(int fd) { ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK); }

struct Pipe {
  UniqueFd r, w;
};
Pipe make_pipe() {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) throw_errno("pipe", "exec");
  return {UniqueFd(p[0]), UniqueFd(p[1])};
}

/// Everything the child needs, built before fork (the child only calls async-signal-safe functions).
struct Prepared {
  std::vector<std::string> argv_s, env_s;
  std::vector<char*> argv, env;
  std::string cwd;
  std::string path;  ///< PATH for the search
};

Prepared prepare(const ExecSpec& spec) {
  Prepared p;
  p.argv_s = spec.argv;
  p.env_s = {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/root", "TERM=" + std::string(spec.tty ? "xterm" : "dumb")};
  for (const auto& kv : spec.env) {
    const std::string key = kv.substr(0, kv.find('=') + 1);
    std::erase_if(p.env_s, [&](const std::string& e) { return e.rfind(key, 0) == 0; });
    p.env_s.push_back(kv);
  }
  for (const auto& e : p.env_s)
    if (e.rfind("PATH=", 0) == 0) p.path = e.substr(5);
  for (auto& s : p.argv_s) p.argv.push_back(s.data());
  p.argv.push_back(nullptr);
  for (auto& s : p.env_s) p.env.push_back(s.data());
  p.env.push_back(nullptr);
  p.cwd = spec.cwd.empty() ? "/" : spec.cwd;
  return p;
}

/// In the child: execve argv[0] directly when it holds a '/', else along PATH.
[[noreturn]] void child_exec(const Prepared& p, int err_fd) {
  const char* prog = p.argv[0];
  int saved = ENOENT;
  if (std::strchr(prog, '/')) {
    ::execve(prog, p.argv.data(), p.env.data());
    saved = errno;
  } else {
    const char* path = p.path.c_str();
    char buf[4096];
    while (*path) {
      const char* colon = std::strchr(path, ':');
      const std::size_t len = colon ? static_cast<std::size_t>(colon - path) : std::strlen(path);
      const std::size_t plen = std::strlen(prog);
      if (len + plen + 2 < sizeof buf) {
        std::memcpy(buf, path, len);
        buf[len] = '/';
        std::memcpy(buf + len + 1, prog, plen + 1);
        ::execve(buf, p.argv.data(), p.env.data());
        if (errno != ENOENT) saved = errno;
      }
      path += len + (colon ? 1 : 0);
    }
  }
  ::write(err_fd, &saved, sizeof saved);
  ::_exit(127);
}

int status_of(int wstatus) {
  if (WIFEXITED(wstatus)) return WEXITSTATUS(wstatus);
  if (WIFSIGNALED(wstatus)) return 128 + WTERMSIG(wstatus);
  return 255;
}

class ExecSession {
 public:
  ExecSession(RequestContext& ctx, ExecSpec spec) : ctx_(ctx), spec_(std::move(spec)) {}

  void run() {
    Prepared prep = prepare(spec_);
    Pipe err = make_pipe();
    Pipe in, out, errp;
    UniqueFd master, slave;
    if (spec_.tty) {
      int m = -1, s = -1;
      winsize ws{spec_.rows ? spec_.rows : static_cast<unsigned short>(24), spec_.cols ? spec_.cols : static_cast<unsigned short>(80), 0, 0};
      if (::openpty(&m, &s, nullptr, nullptr, &ws) != 0) throw_errno("openpty", "exec");
      master.reset(m);
      slave.reset(s);
      ::fcntl(m, F_SETFD, FD_CLOEXEC);
      ::fcntl(s, F_SETFD, FD_CLOEXEC);
    } else {
      in = make_pipe();
      out = make_pipe();
      errp = make_pipe();
    }
    sigset_t none;
    sigemptyset(&none);
    const pid_t pid = ::fork();
    if (pid < 0) throw_errno("fork", spec_.argv[0]);
    if (pid == 0) {
      ::sigprocmask(SIG_SETMASK, &none, nullptr);
      for (int sig : {SIGPIPE, SIGINT, SIGTERM, SIGCHLD}) ::signal(sig, SIG_DFL);
      ::setsid();
      if (spec_.tty) {
        ::ioctl(slave.get(), TIOCSCTTY, 0);
        for (int i = 0; i < 3; ++i) ::dup2(slave.get(), i);
      } else {
        if (spec_.stdin_open) {
          ::dup2(in.r.get(), 0);
        } else {
          int n = ::open("/dev/null", O_RDONLY);
          ::dup2(n, 0);
        }
        ::dup2(out.w.get(), 1);
        ::dup2(errp.w.get(), 2);
      }
      if (::chdir(prep.cwd.c_str()) != 0) {
        int e = errno;
        ::write(err.w.get(), &e, sizeof e);
        ::_exit(127);
      }
      child_exec(prep, err.w.get());
    }
    ChildGuard guard(pid);
    err.w.reset();
    slave.reset();
    in.r.reset();
    out.w.reset();
    errp.w.reset();
    pidfd_.reset(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
    if (!pidfd_) {
      const int e = errno;
      ::kill(-pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
      throw SysError("pidfd_open", "pid " + std::to_string(pid), e);
    }
    pid_ = pid;
    // Did execve work? The error pipe closes (CLOEXEC) on success.
    int child_errno = 0;
    if (::read(err.r.get(), &child_errno, sizeof child_errno) == sizeof child_errno) {
      ::waitpid(pid, nullptr, 0);
      const std::string what = child_errno == ENOENT && spec_.cwd.size() && ::access(prep.cwd.c_str(), X_OK) != 0
                                   ? "cannot change to " + prep.cwd
                                   : "cannot run " + spec_.argv[0];
      const std::string msg = "ef-agent: " + what + ": " + std::strerror(child_errno) + "\n";
      ctx_.channel.send(FrameType::kStderr, {reinterpret_cast<const std::uint8_t*>(msg.data()), msg.size()});
      ctx_.channel.send(FrameType::kExit, encode_exit(child_errno == ENOENT ? 127 : 126));
      return;
    }
    if (spec_.tty) {
      out_fd_ = std::move(master);
      stdin_fd_.reset(::dup(out_fd_.get()));
      ::fcntl(stdin_fd_.get(), F_SETFD, FD_CLOEXEC);
    } else {
      out_fd_ = std::move(out.r);
      err_fd_ = std::move(errp.r);
      stdin_fd_ = std::move(in.w);
    }
    if (!spec_.stdin_open && !spec_.tty) stdin_fd_.reset();
    for (int fd : {out_fd_.get(), err_fd_.get(), stdin_fd_.get()})
      if (fd >= 0) set_nonblock(fd);
    loop();
  }

 private:
  void loop() {
    bool exited = false;
    int wstatus = 0;
    while (!exited) {
      pollfd fds[5];
      nfds_t n = 0;
      fds[n++] = {ctx_.channel.fd(), POLLIN, 0};
      fds[n++] = {pidfd_.get(), POLLIN, 0};
      const nfds_t out_i = n;
      if (out_fd_) fds[n++] = {out_fd_.get(), POLLIN, 0};
      const nfds_t err_i = n;
      if (err_fd_) fds[n++] = {err_fd_.get(), POLLIN, 0};
      const nfds_t in_i = n;
      if (stdin_fd_ && !pending_.empty()) fds[n++] = {stdin_fd_.get(), POLLOUT, 0};
      const int timeout = ctx_.channel.has_buffered() ? 0 : -1;
      if (::poll(fds, n, timeout) < 0) {
        if (errno == EINTR) continue;
        throw_errno("poll", "exec");
      }
      if (!from_client()) return kill_and_reap();
      if (out_fd_ && fds[out_i].revents) drain(out_fd_, FrameType::kStdout, false);
      if (err_fd_ && fds[err_i].revents) drain(err_fd_, FrameType::kStderr, false);
      if (stdin_fd_ && !pending_.empty() && n > in_i && fds[in_i].revents) write_stdin();
      if (fds[1].revents & POLLIN) {
        if (::waitpid(pid_, &wstatus, WNOHANG) == pid_) exited = true;
      }
    }
    // The child is gone: pass on what it left in the pipes (not waiting for
    // grandchildren that may hold them open), then its status.
    if (out_fd_) drain(out_fd_, FrameType::kStdout, true);
    if (err_fd_) drain(err_fd_, FrameType::kStderr, true);
    ::kill(-pid_, SIGKILL);  // anything left in its process group
    ctx_.channel.send(FrameType::kExit, encode_exit(status_of(wstatus)));
    log::info("exec finished", {{"peer", ctx_.channel.peer()}, {"argv0", spec_.argv[0]},
                                {"status", std::to_string(status_of(wstatus))}});
  }

  /// Handles every frame the client has sent so far; false when it is gone.
  bool from_client() {
    for (;;) {
      auto f = ctx_.channel.try_recv();
      if (!f) return !ctx_.channel.peer_closed();
      switch (f->type) {
        case FrameType::kStdin:
          if (f->payload.empty()) {
            stdin_eof_ = true;
          } else if (stdin_fd_ && !stdin_eof_) {
            pending_.push_back(std::move(f->payload));
          }
          break;
        case FrameType::kSignal: ::kill(-pid_, decode_signal(f->payload)); break;
        case FrameType::kWinch:
          if (spec_.tty && out_fd_) {
            auto [rows, cols] = decode_winch(f->payload);
            winsize ws{rows, cols, 0, 0};
            ::ioctl(out_fd_.get(), TIOCSWINSZ, &ws);
          }
          break;
        default:
          send_error(ctx_.channel, ErrorCode::kProtocol,
                     "unexpected " + frame_type_name(static_cast<std::uint8_t>(f->type)) + " during EXEC");
          return false;
      }
      if (stdin_fd_ && !pending_.empty()) write_stdin();
      if (stdin_fd_ && stdin_eof_ && pending_.empty() && !spec_.tty) stdin_fd_.reset();
      if (stdin_fd_ && stdin_eof_ && pending_.empty() && spec_.tty) {
        const char eot = 4;  // ^D: end of input on a terminal in canonical mode
        if (::write(stdin_fd_.get(), &eot, 1) < 0) stdin_fd_.reset();
        stdin_eof_ = false;
      }
    }
  }

  void write_stdin() {
    while (!pending_.empty()) {
      Bytes& b = pending_.front();
      const ssize_t n = ::write(stdin_fd_.get(), b.data() + front_off_, b.size() - front_off_);
      if (n < 0) {
        if (errno == EAGAIN || errno == EINTR) return;
        // EPIPE: the child closed its stdin; drop the rest.
        pending_.clear();
        front_off_ = 0;
        stdin_fd_.reset();
        return;
      }
      front_off_ += static_cast<std::size_t>(n);
      if (front_off_ == b.size()) {
        pending_.pop_front();
        front_off_ = 0;
      }
    }
    if (stdin_eof_ && !spec_.tty) stdin_fd_.reset();
  }

  void drain(UniqueFd& fd, FrameType type, bool until_empty) {
    for (int rounds = 0; until_empty || rounds < 4; ++rounds) {
      const ssize_t n = ::read(fd.get(), buf_, sizeof buf_);
      if (n > 0) {
        ctx_.channel.send(type, {buf_, static_cast<std::size_t>(n)});
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && errno == EAGAIN) return;
      // EOF (or EIO on a pty whose slave side closed).
      if (spec_.tty) stdin_fd_.reset();
      fd.reset();
      return;
    }
  }

  void kill_and_reap() {
    ::kill(-pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    log::warn("exec killed: the connection dropped", {{"peer", ctx_.channel.peer()}, {"argv0", spec_.argv[0]}});
  }

  RequestContext& ctx_;
  ExecSpec spec_;
  pid_t pid_ = -1;
  UniqueFd pidfd_, out_fd_, err_fd_, stdin_fd_;
  std::deque<Bytes> pending_;
  std::size_t front_off_ = 0;
  bool stdin_eof_ = false;
  std::uint8_t buf_[256 * 1024];
};

}  // namespace

void handle_exec(RequestContext& ctx, const Frame& request) {
  ExecSpec spec;
  try {
    spec = decode_exec(request.payload);
  } catch (const Error& e) {
    return send_error(ctx.channel, ErrorCode::kProtocol, e.what());
  }
  log::info("exec", {{"peer", ctx.channel.peer()}, {"operator", ctx.operator_fp}, {"argv0", spec.argv[0]},
                     {"args", std::to_string(spec.argv.size() - 1)}, {"tty", spec.tty ? "true" : "false"}});
  auto session = std::make_unique<ExecSession>(ctx, std::move(spec));
  session->run();
}

void kill_all_exec_children() {
  std::lock_guard l(g_children_mu);
  for (pid_t p : g_children) ::kill(-p, SIGKILL);
}

}  // namespace ef::agent
