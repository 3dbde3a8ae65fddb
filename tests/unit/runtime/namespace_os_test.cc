#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "runtime/namespace_os.h"
#include "test_util.h"

using namespace ef::init;

TEST_CASE("namespace os: mount points of a mountinfo text, escapes decoded") {
  // Lines in the kernel's format (proc(5)); the chroot case has no "/" entry.
  const char* text =
      "36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue\n"
      "512 36 0:5 / /proc rw,nosuid,nodev,noexec,relatime shared:12 - proc proc rw\n"
      "513 36 0:6 / /var/tmp/with\\040space rw - tmpfs tmpfs rw\n"
      "514 36 0:7 / /back\\134slash rw - tmpfs tmpfs rw\n"
      "garbage line\n"
      "\n";
  CHECK(mount_points(text) == std::vector<std::string>{"/mnt2", "/proc", "/var/tmp/with space", "/back\\slash"});
  CHECK(mount_points("").empty());
  CHECK(mount_points("1 2 3 4\n").empty());  // too few fields
}

TEST_CASE("namespace os: count_processes counts the numeric entries only") {
  test::TempDir d;
  for (const char* n : {"1", "23", "456", "self", "12a", "net"}) std::filesystem::create_directory(d / n);
  CHECK(count_processes(d.path.string()) == 3);
  CHECK_THROWS_WITH(count_processes(d / "none"), Catch::Contains("none"));
  // The real /proc of this process's namespace lists at least this process.
  CHECK(count_processes("/proc") >= 1);
  CHECK(std::filesystem::exists("/proc/" + std::to_string(getpid())));
}
