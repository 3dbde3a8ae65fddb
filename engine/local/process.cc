#include "engine/local/process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "base/error.h"
#include "base/fd.h"

namespace ef::engine::local {

std::optional<std::uint64_t> process_start_time(int pid) {
  if (pid <= 0) return std::nullopt;
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string s((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  std::size_t rp = s.rfind(')');
  if (rp == std::string::npos) return std::nullopt;
  std::istringstream in(s.substr(rp + 2));
  std::string field;
  // Fields after "(comm)": 3 state … 22 starttime.
  std::vector<std::string> fields;
  while (in >> field) fields.push_back(field);
  if (fields.size() < 20 || fields[0] == "Z" || fields[0] == "X") return std::nullopt;
  return std::stoull(fields[19]);
}

bool process_matches(int pid, std::uint64_t start_time, const std::string& marker) {
  auto st = process_start_time(pid);
  if (!st || *st != start_time) return false;
  std::ifstream f("/proc/" + std::to_string(pid) + "/cmdline");
  std::string cmd((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  return cmd.find(marker) != std::string::npos;
}

Spawned spawn_detached(const std::vector<std::string>& argv, const std::filesystem::path& log, int keep_fd) {
  if (argv.empty()) throw Error("spawn: empty command");
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) throw_errno("pipe2", "spawn " + argv[0]);
  UniqueFd rd(p[0]), wr(p[1]);
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  std::string log_path = log.string();
  pid_t mid = ::fork();
  if (mid < 0) throw_errno("fork", argv[0]);
  if (mid == 0) {
    // Intermediate: new session, fork the real child, report its pid, exit.
    ::setsid();
    pid_t child = ::fork();
    if (child < 0) _exit(127);
    if (child > 0) {
      int msg[2] = {child, 0};
      (void)!::write(wr.get(), msg, sizeof msg);
      _exit(0);
    }
    int devnull = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    int out = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (devnull < 0 || out < 0) {
      int msg[2] = {-1, errno};
      (void)!::write(wr.get(), msg, sizeof msg);
      _exit(127);
    }
    ::dup2(devnull, 0);
    ::dup2(out, 1);
    ::dup2(out, 2);
    if (keep_fd >= 0) ::fcntl(keep_fd, F_SETFD, 0);
    ::signal(SIGPIPE, SIG_DFL);
    ::execvp(args[0], args.data());
    int msg[2] = {-1, errno};
    (void)!::write(wr.get(), msg, sizeof msg);
    _exit(127);
  }
  wr.reset();
  int status = 0;
  while (::waitpid(mid, &status, 0) < 0 && errno == EINTR) {
  }
  int msg[2];
  int child = 0;
  for (;;) {
    ssize_t n = ::read(rd.get(), msg, sizeof msg);
    if (n < 0 && errno == EINTR) continue;
    if (n != static_cast<ssize_t>(sizeof msg)) break;
    if (msg[0] < 0) throw SysError("exec", argv[0], msg[1]);
    child = msg[0];
  }
  if (child <= 0) throw Error("spawn " + argv[0] + ": the child did not start");
  // The start time is read at once: the child exists (it may be exec'ing).
  auto st = process_start_time(child);
  if (!st) throw Error("spawn " + argv[0] + ": exited immediately (see " + log_path + ")");
  return {child, *st};
}

}  // namespace ef::engine::local
