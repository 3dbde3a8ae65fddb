// The policy parser (rbuild verify --policy) on arbitrary YAML: every fault is
// an ef::Error naming file:line:key, never a crash or a yaml-cpp exception escaping.
// Evaluating a parsed policy against an empty subject must not crash either.
#include <cstdint>
#include <string_view>

#include "base/error.h"
#include "builder/policy.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    ef::build::Policy p = ef::build::parse_policy(text, "policy.yaml", "/nonexistent-fuzz-dir");
    ef::build::PolicySubject s;
    (void)ef::build::evaluate_policy(p, s, 0);
  } catch (const ef::Error&) {
  }
  return 0;
}
