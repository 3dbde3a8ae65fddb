#include "netproxy/duration.h"

#include <charconv>
#include <cstdint>

#include "base/error.h"

namespace ef::netproxy {

Millis parse_duration(const std::string& text) {
  std::int64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  std::string unit(end, text.data() + text.size());
  if (text.empty() || ec != std::errc() || v < 0) throw Error("bad duration '" + text + "'");
  if (unit == "ms") return Millis(v);
  if (unit == "s" || unit.empty()) return Millis(v * 1000);
  if (unit == "m") return Millis(v * 60'000);
  if (unit == "h") return Millis(v * 3'600'000);
  throw Error("bad duration '" + text + "' (units: ms, s, m, h)");
}

}  // namespace ef::netproxy
