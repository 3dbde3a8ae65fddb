#include "runtime/spawn.h"

#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "base/error.h"
#include "base/fd.h"

namespace ef::init {
namespace {

struct ChildFailure {
  int step;
  int err;
};

constexpr const char* kSteps[] = {"open /dev/null", "dup2", "chdir", "setgroups", "setgid", "setuid", "exec"};

[[noreturn]] void child_fail(int pipe_fd, int step) {
  ChildFailure f{step, errno};
  (void)!write(pipe_fd, &f, sizeof f);
  _exit(127);
}

[[noreturn]] void child(const SpawnRequest& req, char* const* argv, char* const* envp, int err_fd) {
  sigset_t all;
  sigfillset(&all);
  for (int s = 1; s < NSIG; ++s) signal(s, SIG_DFL);
  sigprocmask(SIG_UNBLOCK, &all, nullptr);
  setsid();
  int null_fd = open("/dev/null", O_RDWR);
  if (null_fd < 0) null_fd = open("/", O_RDONLY);  // /dev may be missing in tests
  if (null_fd < 0) child_fail(err_fd, 0);
  int out = req.output_fd >= 0 ? req.output_fd : null_fd;
  if (dup2(null_fd, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0) child_fail(err_fd, 1);
  if (chdir(req.workdir.c_str()) < 0) child_fail(err_fd, 2);
  if (req.creds) {
    const Credentials& c = *req.creds;
    if (setgroups(c.groups.size(), c.groups.data()) < 0) child_fail(err_fd, 3);
    if (setgid(c.gid) < 0) child_fail(err_fd, 4);
    if (setuid(c.uid) < 0) child_fail(err_fd, 5);
  }
  execve(req.exec.c_str(), argv, envp);
  child_fail(err_fd, 6);
}

std::vector<char*> c_strings(const std::vector<std::string>& v) {
  std::vector<char*> out;
  for (const std::string& s : v) out.push_back(const_cast<char*>(s.c_str()));
  out.push_back(nullptr);
  return out;
}

}  // namespace

std::string search_path(const std::string& exec, const std::string& path) {
  if (exec.find('/') != std::string::npos) return exec;
  std::size_t start = 0;
  while (start <= path.size()) {
    std::size_t end = path.find(':', start);
    if (end == std::string::npos) end = path.size();
    std::string candidate = end > start ? path.substr(start, end - start) : std::string(".");
    candidate.push_back('/');
    candidate.append(exec);
    struct stat st{};
    if (stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode) && access(candidate.c_str(), X_OK) == 0)
      return candidate;
    start = end + 1;
  }
  std::string msg = "'";
  msg.append(exec).append("' not found in PATH ").append(path);
  throw Error(msg);
}

pid_t spawn(const SpawnRequest& req) {
  std::vector<char*> argv = c_strings(req.argv);
  std::vector<char*> envp = c_strings(req.env);
  int p[2];
  if (pipe2(p, O_CLOEXEC) < 0) throw_errno("create", "exec status pipe");
  UniqueFd rd(p[0]), wr(p[1]);
  pid_t pid = fork();
  if (pid < 0) throw_errno("fork for", req.exec);
  if (pid == 0) child(req, argv.data(), envp.data(), wr.get());
  wr.reset();
  ChildFailure f{};
  ssize_t n;
  do {
    n = read(rd.get(), &f, sizeof f);
  } while (n < 0 && errno == EINTR);
  if (n == static_cast<ssize_t>(sizeof f)) {
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    const char* step = f.step >= 0 && f.step < 7 ? kSteps[f.step] : "start";
    std::string object = f.step == 2 ? req.workdir : f.step == 6 ? req.exec : std::string();
    throw SysError(step, object, f.err);
  }
  return pid;
}

}  // namespace ef::init
