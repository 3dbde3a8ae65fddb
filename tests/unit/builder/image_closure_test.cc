#include <catch2/catch.hpp>

#include "base/error.h"
#include "builder/image_closure.h"

using namespace ef;
using rootfs::FsTree;

TEST_CASE("resolve_in_tree follows absolute and relative links component by component") {
  FsTree t;
  t.add_directory("rootfs/usr/lib/x86_64-linux-gnu");
  t.add_bytes("rootfs/usr/lib/x86_64-linux-gnu/libz.so.1.2", "z");
  t.add_symlink("rootfs/lib", "usr/lib");  // merged /usr, relative
  t.add_symlink("rootfs/usr/lib/x86_64-linux-gnu/libz.so.1", "libz.so.1.2");
  t.add_symlink("rootfs/lib64", "/lib/x86_64-linux-gnu");
  CHECK(build::resolve_in_tree(t, "rootfs", "/lib/x86_64-linux-gnu/libz.so.1") ==
        "rootfs/usr/lib/x86_64-linux-gnu/libz.so.1.2");
  CHECK(build::resolve_in_tree(t, "rootfs", "/lib64/libz.so.1") == "rootfs/usr/lib/x86_64-linux-gnu/libz.so.1.2");
  CHECK(build::resolve_in_tree(t, "rootfs", "/lib/missing").empty());

  t.add_symlink("rootfs/loop-a", "loop-b");
  t.add_symlink("rootfs/loop-b", "loop-a");
  CHECK(build::resolve_in_tree(t, "rootfs", "/loop-a").empty());
  t.add_symlink("rootfs/up", "../../etc");
  CHECK(build::resolve_in_tree(t, "rootfs", "/up").empty());
}

TEST_CASE("a dynamic program needs its loader and every library, transitively") {
  // /usr/bin/openssl (Debian) needs libssl.so.3, which needs libcrypto.so.3; all need libc.
  FsTree t;
  t.add_file_from_host("rootfs/usr/bin/openssl", "/usr/bin/openssl", 0755);
  try {
    build::require_runnable(t, "rootfs", "/usr/bin/openssl", "x86_64-linux-gnu", "runtimes.x");
    FAIL("no error for a program without its libraries");
  } catch (const Error& e) {
    std::string m = e.what();
    CHECK_THAT(m, Catch::Contains("runtimes.x"));
    CHECK_THAT(m, Catch::Contains("interpreter /lib64/ld-linux-x86-64.so.2"));
    CHECK_THAT(m, Catch::Contains("libssl.so.3 (needed by /usr/bin/openssl)"));
    CHECK_THAT(m, Catch::Contains("libc.so.6"));
  }
  const char* dir = "/lib/x86_64-linux-gnu/";
  t.add_file_from_host("rootfs/usr/lib/x86_64-linux-gnu/libssl.so.3", std::string(dir) + "libssl.so.3");
  t.add_symlink("rootfs/lib", "usr/lib");
  try {
    build::require_runnable(t, "rootfs", "/usr/bin/openssl", "x86_64-linux-gnu", "runtimes.x");
    FAIL("no error with libcrypto missing");
  } catch (const Error& e) {
    CHECK_THAT(std::string(e.what()), Catch::Contains("libcrypto.so.3 (needed by /usr/bin/openssl)"));
    CHECK_THAT(std::string(e.what()), !Catch::Contains("libssl.so.3 (needed"));
  }
  for (const char* lib : {"libcrypto.so.3", "libc.so.6"})
    t.add_file_from_host(std::string("rootfs/usr/lib/x86_64-linux-gnu/") + lib, std::string(dir) + lib);
  t.add_file_from_host("rootfs/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2", std::string(dir) + "ld-linux-x86-64.so.2");
  t.add_symlink("rootfs/lib64", "usr/lib/x86_64-linux-gnu");
  CHECK_NOTHROW(build::require_runnable(t, "rootfs", "/usr/bin/openssl", "x86_64-linux-gnu", "runtimes.x"));
}

TEST_CASE("static programs and scripts need nothing") {
  FsTree t;
  t.add_file_from_host("rootfs/bin/busybox", "/bin/busybox", 0755);
  t.add_bytes("rootfs/bin/script", "#!/bin/sh\necho hi\n", 0755);
  CHECK_NOTHROW(build::require_runnable(t, "rootfs", "/bin/busybox", "x86_64-linux-gnu", "b"));
  CHECK_NOTHROW(build::require_runnable(t, "rootfs", "/bin/script", "x86_64-linux-gnu", "s"));
  CHECK_THROWS_WITH(build::require_runnable(t, "rootfs", "/bin/none", "x86_64-linux-gnu", "n"),
                    Catch::Contains("not a regular file in the image"));
}
