// Fuzzes the compose parser: any input parses or throws ef::Error (file:line: key).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "base/error.h"
#include "engine/compose.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    auto c = ef::engine::parse_compose(text, "fuzz.yaml", "/nonexistent-fuzz-dir");
    (void)ef::engine::compose_from_json(ef::engine::compose_to_json(c));
  } catch (const ef::Error&) {
  }
  return 0;
}
