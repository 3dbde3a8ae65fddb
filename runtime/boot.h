#pragma once
// The real-VM boot steps of PID 1 (nitro-cli ramdisk layout), behind a small
// OS interface so the sequence is testable with a recording fake.

#include <sys/types.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/config.h"

namespace ef::init {

/// The OS operations the boot sequence uses. Failures throw ef::SysError.
class BootOps {
 public:
  virtual ~BootOps() = default;
  /// mount(2); `ok_busy`: EBUSY (already mounted) is not an error.
  virtual void mount(const std::string& source, const std::string& target, const std::string& type,
                     unsigned long flags, const std::string& data, bool ok_busy = false) = 0;
  virtual void mkdir(const std::string& path, mode_t mode) = 0;  // EEXIST is fine
  virtual void symlink(const std::string& target, const std::string& link) = 0;  // EEXIST is fine
  virtual bool exists(const std::string& path) = 0;
  virtual std::string read(const std::string& path) = 0;
  virtual void unlink(const std::string& path) = 0;
  virtual void load_module(const std::string& path) = 0;
  /// Makes `dir` the root: bind it, move it over "/", chroot (chroot alone if that fails).
  virtual void switch_root(const std::string& dir) = 0;
  virtual void set_hostname(const std::string& name) = 0;
  virtual void loopback_up() = 0;
  /// Reopens fds 0, 1, 2 on /dev/console.
  virtual void open_console() = 0;
};

/// The Linux implementation.
BootOps& linux_boot_ops();

/// Flags from the kernel command line (ef.local, ef.heartbeat=on|off).
struct CmdlineFlags {
  bool local = false;                 // ef.local: running outside Nitro (QEMU)
  std::optional<bool> heartbeat;      // ef.heartbeat=
};
CmdlineFlags parse_cmdline(std::string_view cmdline);

/// What the initramfs carried at its top, read before the root switch.
struct NitroLayout {
  bool has_rootfs = false;
  std::vector<std::string> cmd;  // /cmd, one argument per line
  std::vector<std::string> env;  // /env, one KEY=VALUE per line
};

/// Lines of a nitro-cli /cmd or /env file (a trailing newline does not add an item).
std::vector<std::string> split_lines(std::string_view text);

/// Early boot: /dev (devtmpfs), the console, /proc; nsm.ko loaded (and removed)
/// when present; /cmd and /env read. Returns what the layout holds.
NitroLayout early_boot(BootOps& os, std::string& cmdline_out);
/// Switches into /rootfs when the layout has one, then mounts /proc, /sys,
/// cgroups, /dev/pts, /dev/shm, /tmp, /run there. Non-essential failures are
/// logged, not thrown.
void enter_root(BootOps& os, const NitroLayout& layout);
/// Hostname (if set) and loopback; failures are logged.
void bring_up_network(BootOps& os, const std::string& hostname);

/// The service file used when the image has no /etc/init.yaml: /cmd as the one
/// critical service "main" with /env, never restarted, as AWS's init runs it.
InitConfig config_from_cmd(const NitroLayout& layout);

}  // namespace ef::init
