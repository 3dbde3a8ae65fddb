#include "engine/proc.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

#include "base/error.h"
#include "base/fd.h"

namespace ef::engine {

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

int spawn_detached(const std::vector<std::string>& argv, const std::filesystem::path& log_file) {
  if (argv.empty()) throw Error("spawn: empty command");
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  int pipefd[2];
  if (pipe2(pipefd, O_CLOEXEC) != 0) throw_errno("create pipe for", argv[0]);
  UniqueFd rd(pipefd[0]), wr(pipefd[1]);
  UniqueFd log(::open(log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600));
  if (!log) throw_errno("open log", log_file.string());
  pid_t child = fork();
  if (child < 0) throw_errno("fork for", argv[0]);
  if (child == 0) {
    // Child: new session, fork again so the grandchild is not our child.
    setsid();
    pid_t grandchild = fork();
    if (grandchild != 0) {
      if (grandchild < 0) {
        int err = errno;
        (void)!write(wr.get(), "E", 1);
        (void)!write(wr.get(), &err, sizeof err);
      }
      _exit(0);
    }
    signal(SIGPIPE, SIG_DFL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    int devnull = ::open("/dev/null", O_RDONLY);
    dup2(devnull, 0);
    dup2(log.get(), 1);
    dup2(log.get(), 2);
    pid_t me = getpid();
    (void)!write(wr.get(), "P", 1);
    (void)!write(wr.get(), &me, sizeof me);
    execv(args[0], args.data());
    int err = errno;
    (void)!write(wr.get(), "E", 1);
    (void)!write(wr.get(), &err, sizeof err);
    _exit(127);
  }
  wr.reset();
  int st = 0;
  while (waitpid(child, &st, 0) < 0 && errno == EINTR) {
  }
  pid_t pid = -1;
  int err = 0;
  char tag = 0;
  // Messages: "P"+pid, then either EOF (exec succeeded, CLOEXEC) or "E"+errno.
  while (true) {
    ssize_t n = read(rd.get(), &tag, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    if (tag == 'P') {
      if (read(rd.get(), &pid, sizeof pid) != sizeof pid) break;
    } else if (tag == 'E') {
      if (read(rd.get(), &err, sizeof err) != sizeof err) err = EIO;
      break;
    }
  }
  if (err != 0) throw SysError("exec", argv[0], err);
  if (pid <= 0) throw Error("spawn " + argv[0] + ": the child vanished before exec");
  return pid;
}

std::uint64_t process_start_time(int pid) {
  if (pid <= 0) return 0;
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto close = text.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream fields(text.substr(close + 2));
  std::string state;
  fields >> state;
  if (state == "Z" || state == "X") return 0;
  // After ")" come fields 3.. ; start time is field 22 → 19 more after state.
  std::string f;
  for (int i = 4; i <= 22; ++i)
    if (!(fields >> f)) return 0;
  try {
    return std::stoull(f);
  } catch (...) {
    return 0;
  }
}

bool process_alive(int pid, std::uint64_t start_time) {
  std::uint64_t t = process_start_time(pid);
  return t != 0 && (start_time == 0 || t == start_time);
}

void stop_process(int pid, std::uint64_t start_time, std::chrono::milliseconds grace) {
  if (!process_alive(pid, start_time)) return;
  kill(pid, SIGTERM);
  auto deadline = std::chrono::steady_clock::now() + grace;
  while (std::chrono::steady_clock::now() < deadline) {
    // Reap if it happens to be our child (no-op otherwise).
    waitpid(pid, nullptr, WNOHANG);
    if (!process_alive(pid, start_time)) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  kill(pid, SIGKILL);
  for (int i = 0; i < 250 && process_alive(pid, start_time); ++i) {
    waitpid(pid, nullptr, WNOHANG);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

}  // namespace ef::engine
