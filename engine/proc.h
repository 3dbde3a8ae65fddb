#pragma once
// Host processes the engine starts (pf-proxy, the fake enclave, QEMU through
// its backend): detached so they outlive an enclaved restart, identified by
// PID plus start time so a reused PID is never mistaken for them.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace ef::engine {

/// Starts argv[0] (absolute path) in its own session, reparented away from
/// the caller (double fork), stdin from /dev/null, stdout+stderr appended to
/// `log_file`. Returns the PID once exec succeeded; throws Error with the
/// exec failure otherwise.
int spawn_detached(const std::vector<std::string>& argv, const std::filesystem::path& log_file);

/// The start time of `pid` in clock ticks since boot (/proc/PID/stat field
/// 22), or 0 when there is no such process or it is a zombie.
std::uint64_t process_start_time(int pid);

/// True when `pid` runs and started at `start_time` (0 = do not compare).
bool process_alive(int pid, std::uint64_t start_time);

/// SIGTERM, wait up to `grace`, then SIGKILL and wait for it to vanish.
/// No-op when the process is already gone (or the PID was reused).
void stop_process(int pid, std::uint64_t start_time, std::chrono::milliseconds grace);

/// Milliseconds since the Unix epoch.
std::int64_t now_ms();

}  // namespace ef::engine
