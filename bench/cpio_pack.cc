// cpio_pack_bench DIR OUT: packs DIR into a deterministic newc cpio at OUT the
// way rbuild packs a ramdisk (directory layer -> FsTree -> write_cpio), and
// prints the archive size. Driven by bench/cpio_pack.sh.
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <exception>

#include "base/error.h"
#include "base/fd.h"
#include "builder/cpio_writer.h"
#include "builder/layer_dir.h"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s DIR OUT\n", argv[0]);
    return 2;
  }
  try {
    ef::rootfs::FsTree tree;
    ef::rootfs::apply_directory_layer(tree, argv[1], "");
    ef::UniqueFd out(::open(argv[2], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    if (!out) ef::throw_errno("create", argv[2]);
    ef::rootfs::CpioStats st = ef::rootfs::write_cpio(tree, 0, ef::rootfs::fd_sink(out.get(), argv[2]));
    std::printf("%llu entries, %llu bytes\n", static_cast<unsigned long long>(st.entries),
                static_cast<unsigned long long>(st.bytes));
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "cpio_pack_bench: %s\n", e.what());
    return 1;
  }
}
