#include "runtime/boot.h"

#include <sys/mount.h>

#include <functional>

#include "base/error.h"
#include "base/log.h"

namespace ef::init {
namespace {

constexpr unsigned long kNoDevSuidExec = MS_NODEV | MS_NOSUID | MS_NOEXEC;

void try_step(const std::string& what, const std::function<void()>& step) {
  try {
    step();
  } catch (const Error& e) {
    log::warn(what + ": " + e.what());
  }
}

void mount_cgroups(BootOps& os) {
  os.mount("cgroup_root", "/sys/fs/cgroup", "tmpfs", kNoDevSuidExec, "mode=0755");
  std::string table = os.read("/proc/cgroups");
  std::size_t pos = table.find('\n');  // header line
  while (pos != std::string::npos && pos + 1 < table.size()) {
    std::size_t end = table.find('\n', pos + 1);
    std::string line = table.substr(pos + 1, end == std::string::npos ? std::string::npos : end - pos - 1);
    pos = end;
    std::vector<std::string> f;
    std::size_t s = 0;
    while (s < line.size()) {
      std::size_t e = line.find_first_of(" \t", s);
      if (e == std::string::npos) e = line.size();
      if (e > s) f.push_back(line.substr(s, e - s));
      s = e + 1;
    }
    if (f.size() < 4 || f[3] != "1") continue;
    std::string dir = "/sys/fs/cgroup/" + f[0];
    try_step("cgroup " + f[0], [&] {
      os.mkdir(dir, 0755);
      os.mount(f[0], dir, "cgroup", kNoDevSuidExec, f[0]);
    });
  }
}

}  // namespace

CmdlineFlags parse_cmdline(std::string_view cmdline) {
  CmdlineFlags f;
  std::size_t s = 0;
  while (s < cmdline.size()) {
    std::size_t e = cmdline.find_first_of(" \t\n", s);
    if (e == std::string_view::npos) e = cmdline.size();
    std::string_view tok = cmdline.substr(s, e - s);
    s = e + 1;
    if (tok == "ef.local" || tok == "ef.local=1" || tok == "ef.local=on") f.local = true;
    if (tok == "ef.heartbeat=off" || tok == "ef.heartbeat=0") f.heartbeat = false;
    if (tok == "ef.heartbeat=on" || tok == "ef.heartbeat=1") f.heartbeat = true;
  }
  return f;
}

std::vector<std::string> split_lines(std::string_view text) {
  std::vector<std::string> out;
  while (!text.empty()) {
    std::size_t nl = text.find('\n');
    out.emplace_back(text.substr(0, nl));
    if (nl == std::string_view::npos) break;
    text.remove_prefix(nl + 1);
  }
  return out;
}

NitroLayout early_boot(BootOps& os, std::string& cmdline_out) {
  os.mkdir("/dev", 0755);
  os.mount("dev", "/dev", "devtmpfs", MS_NOSUID | MS_NOEXEC, "", true);
  try_step("console", [&] { os.open_console(); });
  os.mkdir("/proc", 0555);
  os.mount("proc", "/proc", "proc", kNoDevSuidExec, "", true);
  try_step("kernel command line", [&] { cmdline_out = os.read("/proc/cmdline"); });
  if (os.exists("/nsm.ko")) {
    os.load_module("/nsm.ko");
    log::info("loaded nsm.ko");
    try_step("remove /nsm.ko", [&] { os.unlink("/nsm.ko"); });
  }
  NitroLayout layout;
  layout.has_rootfs = os.exists("/rootfs");
  for (const char* name : {"/cmd", "/env"}) {
    if (!os.exists(name)) continue;
    auto lines = split_lines(os.read(name));
    (std::string_view(name) == "/cmd" ? layout.cmd : layout.env) = std::move(lines);
    try_step(std::string("remove ") + name, [&] { os.unlink(name); });
  }
  return layout;
}

void enter_root(BootOps& os, const NitroLayout& layout) {
  if (layout.has_rootfs) {
    os.switch_root("/rootfs");
    log::info("switched root to /rootfs");
    os.mkdir("/dev", 0755);
    os.mount("dev", "/dev", "devtmpfs", MS_NOSUID | MS_NOEXEC, "", true);
    os.mkdir("/proc", 0555);
    os.mount("proc", "/proc", "proc", kNoDevSuidExec, "", true);
  }
  for (auto [link, target] : {std::pair{"/dev/fd", "/proc/self/fd"}, {"/dev/stdin", "/proc/self/fd/0"},
                              {"/dev/stdout", "/proc/self/fd/1"}, {"/dev/stderr", "/proc/self/fd/2"}})
    try_step(std::string("symlink ") + link, [&] { os.symlink(target, link); });
  struct M {
    const char *source, *target, *type;
    unsigned long flags;
    const char* data;
    mode_t mode;
  };
  const M mounts[] = {
      {"tmpfs", "/run", "tmpfs", MS_NODEV | MS_NOSUID, "mode=0755", 0755},
      {"tmpfs", "/tmp", "tmpfs", MS_NODEV | MS_NOSUID, "mode=1777", 01777},
      {"shm", "/dev/shm", "tmpfs", MS_NODEV | MS_NOSUID | MS_NOEXEC, "mode=1777", 01777},
      {"devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "mode=0620,ptmxmode=0666", 0755},
      {"sysfs", "/sys", "sysfs", kNoDevSuidExec, "", 0555},
  };
  for (const M& m : mounts)
    try_step(std::string("mount ") + m.target, [&] {
      os.mkdir(m.target, m.mode);
      os.mount(m.source, m.target, m.type, m.flags, m.data, true);
    });
  try_step("cgroups", [&] { mount_cgroups(os); });
}

void bring_up_network(BootOps& os, const std::string& hostname) {
  if (!hostname.empty()) try_step("hostname", [&] { os.set_hostname(hostname); });
  try_step("loopback", [&] { os.loopback_up(); });
}

InitConfig config_from_cmd(const NitroLayout& layout) {
  InitConfig cfg;
  cfg.file = "/cmd";
  if (layout.cmd.empty() || layout.cmd[0].empty()) return cfg;
  ServiceSpec s;
  s.name = "main";
  s.exec = layout.cmd[0];
  s.args.assign(layout.cmd.begin() + 1, layout.cmd.end());
  for (const std::string& kv : layout.env) {
    std::size_t eq = kv.find('=');
    if (eq == std::string::npos || eq == 0) continue;
    s.env.emplace_back(kv.substr(0, eq), kv.substr(eq + 1));
  }
  s.restart = RestartPolicy::kNo;
  s.critical = true;
  s.log.file = false;
  cfg.services.push_back(std::move(s));
  return cfg;
}

}  // namespace ef::init
