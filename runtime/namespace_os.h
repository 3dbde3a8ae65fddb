#pragma once
// What namespace mode needs from the OS when init is PID 1 of a PID namespace:
// its own mount namespace with a /proc of its own, and the namespace's own
// uptime and process count. Independent of how the machine's root is mounted
// (in a chroot "/" is often not a mount point, which `unshare --mount` and
// `ip netns` trip over).

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ef::init {

/// The mount points of a /proc/self/mountinfo text (field 5, octal escapes
/// such as "\040" decoded), in file order. Lines that are not mountinfo are skipped.
std::vector<std::string> mount_points(std::string_view mountinfo);

/// Gives the calling process a new mount namespace whose mounts do not
/// propagate back to the parent's (each visible mount made private, so "/"
/// need not be a mount point), then mounts a fresh proc on /proc so /proc shows
/// the caller's PID namespace. Throws ef::SysError naming the step; unshare
/// needs CAP_SYS_ADMIN (root, or a user namespace's root).
void enter_private_mount_namespace();

/// True when /proc shows the caller's own PID namespace (/proc/self is getpid()).
bool proc_is_own_namespace();

/// Number of processes /proc lists (numeric entries of `proc_dir`).
std::uint64_t count_processes(const std::string& proc_dir = "/proc");

}  // namespace ef::init
