#include "builder/subprocess.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/error.h"
#include "base/fd.h"

namespace ef::build {
namespace {

[[noreturn]] void exec_child(const std::vector<std::string>& argv, const std::filesystem::path& cwd) {
  int devnull = ::open("/dev/null", O_RDONLY);
  if (devnull >= 0) ::dup2(devnull, 0);
  if (!cwd.empty() && ::chdir(cwd.c_str()) != 0) _exit(127);
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  ::execvp(args[0], args.data());
  _exit(127);
}

int wait_status(pid_t pid) {
  int st = 0;
  while (::waitpid(pid, &st, 0) < 0) {
    if (errno != EINTR) throw_errno("wait for", "child process");
  }
  if (WIFEXITED(st)) return WEXITSTATUS(st);
  return 128 + WTERMSIG(st);
}

}  // namespace

CommandResult run_command(const std::vector<std::string>& argv, const std::filesystem::path& cwd) {
  if (argv.empty()) throw Error("run_command: empty command");
  int out[2], err[2];
  if (::pipe2(out, O_CLOEXEC) != 0) throw_errno("create pipe for", argv[0]);
  if (::pipe2(err, O_CLOEXEC) != 0) {
    int e = errno;
    ::close(out[0]), ::close(out[1]);
    throw SysError("create pipe for", argv[0], e);
  }
  pid_t pid = ::fork();
  if (pid < 0) throw_errno("fork for", argv[0]);
  if (pid == 0) {
    ::dup2(out[1], 1);
    ::dup2(err[1], 2);
    exec_child(argv, cwd);
  }
  ::close(out[1]);
  ::close(err[1]);
  UniqueFd ro(out[0]), re(err[0]);
  CommandResult r;
  pollfd fds[2] = {{ro.get(), POLLIN, 0}, {re.get(), POLLIN, 0}};
  std::string* sinks[2] = {&r.out, &r.err};
  int open_fds = 2;
  char buf[65536];
  while (open_fds > 0) {
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      throw_errno("poll output of", argv[0]);
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      ssize_t n = ::read(fds[i].fd, buf, sizeof buf);
      if (n > 0) {
        sinks[i]->append(buf, static_cast<std::size_t>(n));
      } else if (n == 0 || errno != EINTR) {
        fds[i].fd = -1;
        --open_fds;
      }
    }
  }
  r.status = wait_status(pid);
  return r;
}

int run_command_inherit(const std::vector<std::string>& argv, const std::filesystem::path& cwd) {
  if (argv.empty()) throw Error("run_command: empty command");
  pid_t pid = ::fork();
  if (pid < 0) throw_errno("fork for", argv[0]);
  if (pid == 0) exec_child(argv, cwd);
  return wait_status(pid);
}

}  // namespace ef::build
