#include "engine/local/qemu_argv.h"

#include <fcntl.h>
#include <linux/kvm.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>
#include <x86intrin.h>

#include "base/fd.h"

namespace ef::engine::local {

std::vector<std::string> qemu_argv(const QemuConfig& c) {
  std::string mem = std::to_string(c.memory_mib) + "M";
  std::vector<std::string> a = {c.qemu, "-name", "ef-local", "-nodefaults", "-no-user-config", "-no-reboot"};
  // microvm: ISA serial for the console; ACPI (default on) carries the virtio-mmio devices.
  a.insert(a.end(), {"-M", "microvm,x-option-roms=off,rtc=on,acpi=on"});
  if (c.accel == Accel::kvm) a.insert(a.end(), {"-accel", "kvm", "-cpu", "host"});
  else a.insert(a.end(), {"-accel", "tcg", "-cpu", "max,+invtsc"});
  a.insert(a.end(), {"-m", mem, "-smp", std::to_string(c.cpus)});
  if (c.transport == VsockTransport::bridge) {
    // vhost-user needs the guest RAM in a shareable fd the bridge can map.
    a.insert(a.end(), {"-object", "memory-backend-memfd,id=mem,size=" + mem + ",share=on", "-machine",
                       "memory-backend=mem", "-chardev", "socket,id=vsock,path=" + c.vhost_user_socket.string(),
                       "-device", "vhost-user-vsock-device,chardev=vsock"});
  } else {
    a.insert(a.end(), {"-device", "vhost-vsock-device,guest-cid=" + std::to_string(c.cid)});
  }
  a.insert(a.end(), {"-kernel", c.kernel.string(), "-initrd", c.initrd.string(), "-append", c.cmdline});
  a.insert(a.end(), {"-display", "none", "-serial", "file:" + c.console_log.string()});
  a.insert(a.end(), {"-qmp", "unix:" + c.qmp_socket.string() + ",server=on,wait=off"});
  a.insert(a.end(), {"-pidfile", c.pid_file.string()});
  return a;
}

std::string local_cmdline(std::string_view eif_cmdline, const std::string& pcr0, const std::string& pcr1,
                          const std::string& pcr2, Accel accel, std::uint64_t tsc_khz, std::string_view extra) {
  std::string s(eif_cmdline);
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\0')) s.pop_back();
  s += " ef.local ef.pcr0=" + pcr0 + " ef.pcr1=" + pcr1 + " ef.pcr2=" + pcr2;
  if (accel == Accel::tcg && tsc_khz) s += " tsc_early_khz=" + std::to_string(tsc_khz) + " tsc=reliable";
  if (!extra.empty()) {
    s += ' ';
    s += extra;
  }
  return s;
}

bool kvm_usable() {
  UniqueFd fd(::open("/dev/kvm", O_RDWR | O_CLOEXEC));
  return fd && ::ioctl(fd.get(), KVM_GET_API_VERSION, 0) == KVM_API_VERSION;
}

bool vhost_vsock_usable() { return UniqueFd(::open("/dev/vhost-vsock", O_RDWR | O_CLOEXEC)).valid(); }

std::uint64_t measure_tsc_khz() {
  auto now_ns = [] {
    timespec ts;
    ::clock_gettime(CLOCK_MONOTONIC_RAW, &ts);
    return std::uint64_t(ts.tv_sec) * 1000000000ull + std::uint64_t(ts.tv_nsec);
  };
  std::uint64_t t0 = now_ns(), c0 = __rdtsc();
  ::usleep(20000);
  std::uint64_t t1 = now_ns(), c1 = __rdtsc();
  if (t1 <= t0) return 0;
  return (c1 - c0) * 1000000ull / (t1 - t0);
}

}  // namespace ef::engine::local
