// The lockfile reader on arbitrary bytes: every fault is an ef::Error naming the
// file and the JSON field, never a crash or a nlohmann exception escaping. A
// lock that reads back is serialised, read again and must compare equal.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include <nlohmann/json.hpp>

#include "base/error.h"
#include "builder/lock.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded()) return 0;  // load_lock reports "not valid JSON" itself
  try {
    ef::build::Lock lock = ef::build::lock_from_json(j, "fuzz.lock.json");
    nlohmann::ordered_json again = ef::build::lock_to_json(lock);
    ef::build::Lock back = ef::build::lock_from_json(nlohmann::json::parse(again.dump()), "again.lock.json");
    if (!ef::build::lock_mismatches(lock, back).empty()) std::abort();  // a lock must survive its own round trip
  } catch (const ef::Error&) {
  }
  return 0;
}
