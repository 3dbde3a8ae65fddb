// Fuzzes the layer readers on arbitrary bytes: the input is read as a tar
// layer (any compression) and as an image archive (docker save / OCI layout).
// Only ef::Error may escape the library; anything else is a bug.
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>

#include "base/error.h"
#include "builder/content_cache.h"
#include "builder/layer_oci.h"
#include "builder/layer_tar.h"

namespace fs = std::filesystem;
using namespace ef::rootfs;

static const fs::path& work_dir() {
  // tmpfs when there is one: the cache syncfs()es, which is slow on disk.
  static const fs::path base = fs::is_directory("/dev/shm") ? fs::path("/dev/shm") : fs::temp_directory_path();
  static const fs::path dir = base / ("ef-fuzz-tar-" + std::to_string(::getpid()));
  return dir;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fs::remove_all(work_dir());
  fs::create_directories(work_dir());
  fs::path input = work_dir() / "input.tar";
  std::ofstream(input, std::ios::binary).write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  ContentCache cache(work_dir() / "cache");
  LayerOptions limits;
  limits.allow_devices = true;
  limits.max_file_size = 1 << 20;
  limits.max_entries = 1000;
  try {
    FsTree tree;
    apply_tar_layer(tree, input, "rootfs", cache, "", limits);
  } catch (const ef::Error&) {
  }
  try {
    FsTree tree;
    OciOptions options;
    options.layer = limits;
    apply_oci_layer(tree, input, "rootfs", cache, options);
  } catch (const ef::Error&) {
  }
  fs::remove_all(work_dir());
  return 0;
}
