// Fuzzes fs-monitor's YAML configuration: any input parses or throws ef::Error.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "attest/fsmon/config.h"
#include "base/error.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    auto c = ef::fsmon::parse_config(text, "fuzz.yaml");
    (void)c.describe();
  } catch (const ef::Error&) {
  }
  return 0;
}
