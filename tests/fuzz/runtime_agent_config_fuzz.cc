// Fuzzes /etc/ef-agent.yaml: any input either parses or throws ef::Error.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "base/error.h"
#include "runtime/agent/config.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    const ef::agent::AgentConfig c = ef::agent::parse_agent_config(text, "fuzz.yaml");
    (void)c.to_json().dump();
  } catch (const ef::Error&) {
  }
  return 0;
}
