// Fuzzes the ignore-file parser and matcher. Input: ignore-file text, then a NUL,
// then probe paths one per line. Checks git's rule that nothing under an ignored
// directory is re-included, and that the JSON encoder always yields valid JSON.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "attest/fsmon/encode.h"
#include "attest/fsmon/ignore.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  if (size > 4096) return 0;
  auto nul = in.find('\0');
  std::string_view rules_text = in.substr(0, nul);
  std::string_view paths = nul == std::string_view::npos ? std::string_view() : in.substr(nul + 1);
  auto rules = ef::fsmon::IgnoreRules::parse(rules_text);
  std::size_t pos = 0;
  int n = 0;
  while (pos < paths.size() && n++ < 16) {
    auto nl = paths.find('\n', pos);
    std::string_view p = paths.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    pos = nl == std::string_view::npos ? paths.size() : nl + 1;
    for (bool dir : {false, true}) {
      bool ig = rules.ignored(p, dir);
      auto slash = p.rfind('/');
      if (slash != std::string_view::npos && slash > 0 && rules.ignored(p.substr(0, slash), true) && !ig) std::abort();
      (void)rules.matches_self(p, dir);
    }
    for (const auto& pat : rules.patterns()) (void)ef::fsmon::wildmatch(pat.glob, p);
    std::string js = ef::fsmon::json_string(p);
    auto parsed = nlohmann::json::parse(js, nullptr, false);
    if (parsed.is_discarded() || !parsed.is_string()) std::abort();
    std::string line = ef::fsmon::ipc_del(p);
    if (line.find('\n') != line.size() - 1) std::abort();
  }
  return 0;
}
