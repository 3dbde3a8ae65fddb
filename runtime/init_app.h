#pragma once
// PID 1: boot (in a VM), supervise, answer the control API, shut down in order.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace ef::init {

/// kVm: the real PID 1 of a (Nitro or QEMU) VM: mounts, nsm.ko, root switch,
/// heartbeat, power off at the end. kNamespace: PID 1 of a PID/mount namespace
/// (tests) or a plain supervisor: none of the real-boot steps; exits at the end.
enum class Mode { kVm, kNamespace };

struct InitOptions {
  Mode mode = Mode::kVm;
  std::string config_path = "/etc/init.yaml";
  std::optional<std::string> socket;          // overrides control.socket
  std::optional<std::uint32_t> vsock_port;    // overrides control.vsock_port (0: off)
};

/// Reads init's arguments leniently: the kernel passes PID 1 the words of its
/// command line it does not know (Nitro's `nomodules`), which are ignored; an
/// unknown option is a warning. Never throws. The mode defaults to kVm when
/// the process is PID 1 and to kNamespace otherwise; --mode overrides.
InitOptions parse_init_args(const std::vector<std::string>& args, bool is_pid1, std::vector<std::string>& warnings);

/// Runs init. In kVm mode it never returns (powers off or reboots); in
/// kNamespace mode it returns the exit code after an orderly shutdown.
int run_init(const InitOptions& options);

}  // namespace ef::init
