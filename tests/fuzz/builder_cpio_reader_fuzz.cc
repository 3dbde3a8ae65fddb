// Fuzzes the newc reader and the safe extractor on arbitrary bytes. Only
// ef::Error may escape; nothing may be written outside the extraction dir.
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <span>

#include "base/error.h"
#include "builder/cpio_extract.h"
#include "builder/cpio_reader.h"

namespace fs = std::filesystem;
using namespace ef::rootfs;

static const fs::path& work_dir() {
  // tmpfs when there is one: the cache syncfs()es, which is slow on disk.
  static const fs::path base = fs::is_directory("/dev/shm") ? fs::path("/dev/shm") : fs::temp_directory_path();
  static const fs::path dir = base / ("ef-fuzz-cpio-" + std::to_string(::getpid()));
  return dir;
}

/// Extracted directories may be read-only (or 0000): open them up before removal.
static void remove_tree(const fs::path& dir) {
  std::error_code ec;
  if (!fs::is_directory(fs::symlink_status(dir, ec))) return;
  fs::permissions(dir, fs::perms::owner_all, fs::perm_options::add, ec);
  for (const auto& e : fs::directory_iterator(dir, ec)) remove_tree(e.path());
  fs::remove_all(dir, ec);
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::span<const std::uint8_t> bytes(data, size);
  try {
    MemorySource src(bytes);
    read_cpio(src, "fuzz.cpio", [](const CpioListedEntry&) {});
  } catch (const ef::Error&) {
  }
  remove_tree(work_dir());
  fs::create_directories(work_dir() / "out");
  try {
    MemorySource src(bytes);
    ExtractOptions options;
    options.devices = DevicePolicy::kSkip;
    extract_cpio(src, "fuzz.cpio", work_dir() / "out", options);
  } catch (const ef::Error&) {
  }
  // The extraction directory is the only thing below work_dir().
  for (const auto& e : fs::directory_iterator(work_dir()))
    if (e.path().filename() != "out") __builtin_trap();
  remove_tree(work_dir());
  return 0;
}
