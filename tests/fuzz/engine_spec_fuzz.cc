// Fuzzes the API's enclave spec JSON (POST /v1/enclaves, compose up bodies).
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>

#include "base/error.h"
#include "engine/compose.h"
#include "engine/spec.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto j = nlohmann::json::parse(data, data + size, nullptr, false);
  if (j.is_discarded()) return 0;
  try {
    auto s = ef::engine::spec_from_json(j);
    (void)ef::engine::spec_from_json(ef::engine::to_json(s));
  } catch (const ef::Error&) {
  }
  try {
    (void)ef::engine::compose_from_json(j);
  } catch (const ef::Error&) {
  }
  return 0;
}
