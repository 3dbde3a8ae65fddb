#include "runtime/namespace_os.h"

#include <dirent.h>
#include <sched.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cctype>
#include <sstream>

#include "base/error.h"
#include "base/file.h"

namespace ef::init {
namespace {

/// mountinfo escapes space, tab, newline and backslash as \ooo.
std::string unescape_octal(std::string_view s) {
  auto oct = [](char c) { return c >= '0' && c <= '7'; };
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size() && oct(s[i + 1]) && oct(s[i + 2]) && oct(s[i + 3])) {
      out += static_cast<char>((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0'));
      i += 3;
    } else {
      out += s[i];
    }
  }
  return out;
}

}  // namespace

std::vector<std::string> mount_points(std::string_view mountinfo) {
  std::vector<std::string> out;
  std::istringstream in{std::string(mountinfo)};
  for (std::string line; std::getline(in, line);) {
    // ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS ...
    std::istringstream fields(line);
    std::string id, parent, dev, root, point;
    if (!(fields >> id >> parent >> dev >> root >> point)) continue;
    if (id.empty() || !std::isdigit(static_cast<unsigned char>(id[0])) || point.empty() || point[0] != '/') continue;
    out.push_back(unescape_octal(point));
  }
  return out;
}

void enter_private_mount_namespace() {
  if (unshare(CLONE_NEWNS) < 0) throw_errno("create a mount namespace (unshare CLONE_NEWNS) for", "namespace mode");
  // MS_REC on "/" covers everything when "/" is a mount point; in a chroot it
  // is not (EINVAL), so every mount this process can see is made private.
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) < 0) {
    for (const std::string& point : mount_points(read_text_file("/proc/self/mountinfo")))
      if (::mount(nullptr, point.c_str(), nullptr, MS_PRIVATE, nullptr) < 0 && errno != EINVAL)
        throw_errno("make private", point);
  }
  if (::mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) < 0)
    throw_errno("mount proc on", "/proc");
}

bool proc_is_own_namespace() {
  char buf[32] = {};
  ssize_t n = readlink("/proc/self", buf, sizeof buf - 1);
  return n > 0 && std::string(buf, static_cast<std::size_t>(n)) == std::to_string(getpid());
}

std::uint64_t count_processes(const std::string& proc_dir) {
  DIR* d = opendir(proc_dir.c_str());
  if (!d) throw_errno("read directory", proc_dir);
  std::uint64_t n = 0;
  while (dirent* e = readdir(d)) {
    bool numeric = e->d_name[0] != '\0';
    for (const char* p = e->d_name; *p; ++p) numeric = numeric && std::isdigit(static_cast<unsigned char>(*p));
    if (numeric) ++n;
  }
  closedir(d);
  return n;
}

}  // namespace ef::init
