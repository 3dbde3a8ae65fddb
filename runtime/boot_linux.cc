// The Linux side of BootOps: thin wrappers over the system calls.
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>

#include "base/error.h"
#include "base/fd.h"
#include "base/file.h"
#include "base/log.h"
#include "runtime/boot.h"

namespace ef::init {
namespace {

class LinuxBootOps final : public BootOps {
 public:
  void mount(const std::string& source, const std::string& target, const std::string& type, unsigned long flags,
             const std::string& data, bool ok_busy) override {
    if (::mount(source.c_str(), target.c_str(), type.empty() ? nullptr : type.c_str(), flags,
                data.empty() ? nullptr : data.c_str()) == 0)
      return;
    if (ok_busy && errno == EBUSY) return;
    throw_errno("mount " + type + " on", target);
  }

  void mkdir(const std::string& path, mode_t mode) override {
    if (::mkdir(path.c_str(), mode) < 0 && errno != EEXIST) throw_errno("create directory", path);
  }

  void symlink(const std::string& target, const std::string& link) override {
    if (::symlink(target.c_str(), link.c_str()) < 0 && errno != EEXIST) throw_errno("create symlink", link);
  }

  bool exists(const std::string& path) override {
    struct stat st{};
    return ::lstat(path.c_str(), &st) == 0;
  }

  std::string read(const std::string& path) override { return read_text_file(path); }

  void unlink(const std::string& path) override {
    if (::unlink(path.c_str()) < 0) throw_errno("remove", path);
  }

  void load_module(const std::string& path) override {
    UniqueFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) throw_errno("open", path);
    if (syscall(SYS_finit_module, fd.get(), "", 0) < 0 && errno != EEXIST) throw_errno("load module", path);
  }

  void switch_root(const std::string& dir) override {
    if (chdir(dir.c_str()) < 0) throw_errno("enter", dir);
    // A bind mount makes the directory a mount that can move over "/", which
    // hides the initramfs (init, nsm.ko) from the services.
    bool moved = ::mount(dir.c_str(), dir.c_str(), nullptr, MS_BIND | MS_REC, nullptr) == 0 &&
                 chdir(dir.c_str()) == 0 && ::mount(".", "/", nullptr, MS_MOVE, nullptr) == 0;
    if (!moved) log::warn("cannot move " + dir + " over /: " + std::strerror(errno) + "; using chroot");
    if (chroot(".") < 0) throw_errno("chroot into", dir);
    if (chdir("/") < 0) throw_errno("enter", "/");
  }

  void set_hostname(const std::string& name) override {
    if (sethostname(name.c_str(), name.size()) < 0) throw_errno("set hostname", name);
  }

  void loopback_up() override {
    UniqueFd s(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (!s) throw_errno("create", "socket for lo");
    ifreq ifr{};
    std::strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
    auto* addr = reinterpret_cast<sockaddr_in*>(&ifr.ifr_addr);
    addr->sin_family = AF_INET;
    addr->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (ioctl(s.get(), SIOCSIFADDR, &ifr) < 0 && errno != EEXIST) throw_errno("set address of", "lo");
    addr->sin_addr.s_addr = htonl(0xFF000000);
    if (ioctl(s.get(), SIOCSIFNETMASK, &ifr) < 0) throw_errno("set netmask of", "lo");
    if (ioctl(s.get(), SIOCGIFFLAGS, &ifr) < 0) throw_errno("read flags of", "lo");
    ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP | IFF_RUNNING);
    if (ioctl(s.get(), SIOCSIFFLAGS, &ifr) < 0) throw_errno("bring up", "lo");
  }

  void open_console() override {
    int fd = open("/dev/console", O_RDWR | O_NOCTTY);
    if (fd < 0) throw_errno("open", "/dev/console");
    for (int i = 0; i < 3; ++i)
      if (fd != i) dup2(fd, i);
    if (fd > 2) close(fd);
  }
};

}  // namespace

BootOps& linux_boot_ops() {
  static LinuxBootOps ops;
  return ops;
}

}  // namespace ef::init
