// rbuild extract: an EIF's sections as files, and its ramdisks as trees.
#include <cstdio>
#include <filesystem>

#include "base/atomic_file.h"
#include "base/cli.h"
#include "base/error.h"
#include "builder/commands.h"
#include "builder/cpio_extract.h"
#include "builder/eif_reader.h"
#include "builder/eif_section_source.h"

namespace ef::build {
namespace fs = std::filesystem;

namespace {

std::string section_file_name(const eif::Section& s, std::size_t ramdisk_index) {
  switch (s.type) {
    case eif::SectionType::kKernel: return "kernel";
    case eif::SectionType::kCmdline: return "cmdline";
    case eif::SectionType::kMetadata: return "metadata.json";
    case eif::SectionType::kSignature: return "signature.cbor";
    default: return "ramdisk-" + std::to_string(ramdisk_index) + ".cpio";
  }
}

}  // namespace

int cmd_extract(Args args) {
  CLI::App app("Unpack an EIF into DIR: kernel, cmdline, metadata.json, ramdisk-N.cpio, signature.cbor, "
               "initrd (the ramdisks concatenated, for qemu -initrd) and each ramdisk's tree in ramdisk-N/. "
               "No path in a ramdisk can escape DIR.",
               "rbuild extract");
  std::string image_path, dir;
  bool no_trees = false, devices = false;
  app.add_option("IMAGE", image_path, "the .eif file")->required();
  app.add_option("DIR", dir, "output directory (created if missing)")->required();
  app.add_flag("--no-trees", no_trees, "write the sections only, do not unpack the ramdisks");
  app.add_flag("--devices", devices, "create device nodes (needs CAP_MKNOD); by default they are skipped");
  if (auto rc = cli::parse_args(app, std::move(args))) return *rc;
  eif::EifImage image = eif::EifImage::open(image_path);
  image.check_crc();
  fs::create_directories(dir);
  std::size_t ramdisk_index = 0;
  AtomicFile initrd(fs::path(dir) / "initrd", 0644);
  for (const eif::Section& s : image.sections()) {
    fs::path out = fs::path(dir) / section_file_name(s, ramdisk_index);
    AtomicFile f(out, 0644);
    image.copy_section(s, f.fd(), out.string());
    f.commit();
    if (s.type != eif::SectionType::kRamdisk) continue;
    image.copy_section(s, initrd.fd(), initrd.temp_path().string());
    if (!no_trees) {
      eif::SectionSource src(image, s);
      rootfs::ExtractOptions opts;
      opts.devices = devices ? rootfs::DevicePolicy::kCreate : rootfs::DevicePolicy::kSkip;
      rootfs::ExtractStats st = rootfs::extract_cpio(src, image.name() + " ramdisk " + std::to_string(ramdisk_index),
                                                     fs::path(dir) / ("ramdisk-" + std::to_string(ramdisk_index)), opts);
      std::printf("ramdisk-%zu: %llu entries, %llu bytes%s\n", ramdisk_index, (unsigned long long)st.entries,
                  (unsigned long long)st.bytes,
                  st.skipped ? (", " + std::to_string(st.skipped) + " device nodes skipped").c_str() : "");
    }
    ++ramdisk_index;
  }
  initrd.commit();
  std::printf("extracted %zu sections of %s into %s\n", image.sections().size(), image_path.c_str(), dir.c_str());
  return 0;
}

}  // namespace ef::build
