#pragma once
// Host processes of a local enclave (QEMU, the bridge): started detached so
// that they outlive enclaved, and recognised again later by pid AND start
// time, so that a recycled pid is never mistaken for them.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace ef::engine::local {

struct Spawned {
  int pid = 0;
  std::uint64_t start_time = 0;  ///< /proc/PID/stat field 22 (clock ticks since boot)
};

/// Starts argv[0] (searched in PATH) in a new session, stdin /dev/null,
/// stdout+stderr appended to `log`, reparented away from the caller (double
/// fork) so no zombie is left behind. `keep_fd` (if >= 0) stays open in the
/// child under the same number. Throws Error when exec fails (the reason is
/// reported back through a close-on-exec pipe).
Spawned spawn_detached(const std::vector<std::string>& argv, const std::filesystem::path& log, int keep_fd = -1);

/// Start time of `pid`, or nullopt if there is no such live (non-zombie) process.
std::optional<std::uint64_t> process_start_time(int pid);

/// Whether `pid` runs with exactly `start_time` and its command line contains `marker`.
bool process_matches(int pid, std::uint64_t start_time, const std::string& marker);

}  // namespace ef::engine::local
