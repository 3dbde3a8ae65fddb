// The spec parser on arbitrary YAML: every fault is an ef::Error naming
// file:line:key, never a crash or a yaml-cpp exception escaping.
#include <cstdint>
#include <string>
#include <string_view>

#include "base/error.h"
#include "builder/spec.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    ef::build::Spec spec = ef::build::parse_spec(text, "/nonexistent-fuzz-dir/spec.yaml");
    std::string canonical = spec.as_json.dump();
    // The canonical form is a fixed point: read back, it gives the same bytes
    // (what verify --rebuild relies on). A failure here is a bug, not an input error.
    std::string again;
    try {
      again = ef::build::parse_spec(canonical, "/nonexistent-fuzz-dir/spec.yaml").as_json.dump();
    } catch (const ef::Error&) {
      __builtin_trap();
    }
    if (again != canonical) __builtin_trap();
  } catch (const ef::Error&) {
  }
  return 0;
}
