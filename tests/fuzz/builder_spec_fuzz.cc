// The spec parser on arbitrary YAML: every fault is an ef::Error naming
// file:line:key, never a crash or a yaml-cpp exception escaping.
#include <cstdint>
#include <string_view>

#include "base/error.h"
#include "builder/spec.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    ef::build::Spec spec = ef::build::parse_spec(text, "/nonexistent-fuzz-dir/spec.yaml");
    (void)spec.as_json.dump();
  } catch (const ef::Error&) {
  }
  return 0;
}
