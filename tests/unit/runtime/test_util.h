#pragma once
// Helpers shared by the runtime unit tests (header-only: the test glob takes *_test.cc).

#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <functional>
#include <string>

#include "runtime/event_loop.h"
#include "runtime/supervisor.h"

namespace ef::init::test {

/// A fresh temporary directory, removed on destruction.
struct TempDir {
  std::filesystem::path path;
  TempDir() {
    std::string templ = (std::filesystem::temp_directory_path() / "ef-runtime-XXXXXX").string();
    path = mkdtemp(templ.data());
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  std::string operator/(const std::string& name) const { return (path / name).string(); }
};

/// Runs the loop (reaping children into `sup` when given) until `done()` or `timeout_ms`.
inline bool run_until(EventLoop& loop, Supervisor* sup, const std::function<bool()>& done, int timeout_ms = 5000) {
  Millis until = monotonic_ms() + timeout_ms;
  while (!done()) {
    if (monotonic_ms() > until) return false;
    loop.run_once(5);
    int status = 0;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
      if (sup) sup->on_child_exit(pid, status);
  }
  return true;
}

}  // namespace ef::init::test
