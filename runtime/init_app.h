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
  bool mode_given = false;  // --mode was on the command line
  bool help = false;        // --help / -h
  bool version = false;     // --version
};

/// What `init --help` prints.
std::string init_usage();

/// Why init must not run with these options, or nullopt. A process that is
/// not PID 1 runs only with an explicit `--mode namespace` (so a stray `init`
/// on a host does not take over /run/init.sock), and never in vm mode.
std::optional<std::string> refusal(const InitOptions& options, bool is_pid1, int pid);

/// Reads init's arguments leniently: the kernel passes PID 1 the words of its
/// command line it does not know (Nitro's `nomodules`), which are ignored; an
/// unknown option is a warning. Never throws. The mode defaults to kVm when
/// the process is PID 1 and to kNamespace otherwise; --mode overrides.
InitOptions parse_init_args(const std::vector<std::string>& args, bool is_pid1, std::vector<std::string>& warnings);

/// Runs init. In kVm mode it never returns (powers off or reboots); in
/// kNamespace mode it returns the exit code after an orderly shutdown, or 1
/// at once when the service file does not load (the error names file:line:key).
/// In kVm mode a service file that does not load starts no service; the control
/// API still comes up (where the file's `control:` asks, when that part parses)
/// and reports the error through `initctl status` and `initctl system`.
int run_init(const InitOptions& options);

}  // namespace ef::init
