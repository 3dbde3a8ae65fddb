// Fuzzes the /etc/init.yaml parser: any input either parses or throws ef::Error.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "base/error.h"
#include "runtime/config.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    ef::init::InitConfig cfg = ef::init::parse_config(text, "fuzz.yaml");
    for (const auto& s : cfg.services) (void)cfg.find(s.name);
  } catch (const ef::Error&) {
  }
  return 0;
}
