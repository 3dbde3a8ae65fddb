#include "engine/nitro/command.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

#include "base/error.h"
#include "base/fd.h"

namespace ef::engine::nitro {
namespace {

class SystemRunner : public CommandRunner {
 public:
  CommandResult run(const std::vector<std::string>& argv) override {
    int out[2], err[2];
    if (pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0) throw_errno("create pipes for", argv.at(0));
    UniqueFd out_r(out[0]), out_w(out[1]), err_r(err[0]), err_w(err[1]);
    pid_t pid = fork();
    if (pid < 0) throw_errno("fork for", argv[0]);
    if (pid == 0) {
      int devnull = ::open("/dev/null", O_RDONLY);
      dup2(devnull, 0);
      dup2(out_w.get(), 1);
      dup2(err_w.get(), 2);
      std::vector<char*> args;
      for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
      args.push_back(nullptr);
      execvp(args[0], args.data());
      _exit(127);
    }
    out_w.reset();
    err_w.reset();
    CommandResult r;
    pollfd fds[2] = {{out_r.get(), POLLIN, 0}, {err_r.get(), POLLIN, 0}};
    int open_fds = 2;
    while (open_fds > 0) {
      if (poll(fds, 2, -1) < 0 && errno != EINTR) break;
      for (int i = 0; i < 2; ++i) {
        if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP))) continue;
        char buf[8192];
        ssize_t n = read(fds[i].fd, buf, sizeof buf);
        if (n > 0) (i == 0 ? r.out : r.err).append(buf, static_cast<std::size_t>(n));
        else {
          fds[i].fd = -1;
          --open_fds;
        }
      }
    }
    int st = 0;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
    }
    r.exit_code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    return r;
  }
};

}  // namespace

std::unique_ptr<CommandRunner> system_runner() { return std::make_unique<SystemRunner>(); }

}  // namespace ef::engine::nitro
