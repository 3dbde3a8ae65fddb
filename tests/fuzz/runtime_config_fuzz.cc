// Fuzzes the /etc/init.yaml parser: any input either parses or throws ef::Error;
// and the control-section fallback a VM's PID 1 uses on a broken file never
// throws, and agrees with the full parse when that succeeds.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string_view>

#include "base/error.h"
#include "runtime/config.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  std::optional<ef::init::ControlSpec> control = ef::init::parse_control_section(text, "fuzz.yaml");
  try {
    ef::init::InitConfig cfg = ef::init::parse_config(text, "fuzz.yaml");
    for (const auto& s : cfg.services) (void)cfg.find(s.name);
    if (!control || control->socket != cfg.control.socket || control->vsock_port != cfg.control.vsock_port ||
        control->vsock_allow != cfg.control.vsock_allow)
      std::abort();  // a file that parses must give the same control section both ways
  } catch (const ef::Error&) {
  }
  return 0;
}
