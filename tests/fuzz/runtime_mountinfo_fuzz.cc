// Fuzzes the /proc/self/mountinfo reader init's namespace mode uses: any input
// gives a list of absolute mount points (escapes decoded), never a crash.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "runtime/namespace_os.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  for (const std::string& point : ef::init::mount_points(text))
    if (point.empty() || point[0] != '/') std::abort();
  return 0;
}
