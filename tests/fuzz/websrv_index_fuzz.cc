// The FILE-INDEX IPC line parser: input split at '\n' into lines, applied in
// order to one feed. Malformed lines must be FormatErrors, never crashes, and
// the index must stay consistent (every listed path is gettable).
#include <cstdint>
#include <string_view>

#include "attest/websrv/file_index.h"
#include "base/error.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  ef::websrv::FileIndex index;
  ef::websrv::IndexFeed feed(index);
  std::string_view in(reinterpret_cast<const char*>(data), size);
  std::uint64_t offset = 0;
  while (!in.empty()) {
    const std::size_t nl = in.find('\n');
    const std::string_view line = in.substr(0, nl);
    try {
      feed.apply_line(line, offset);
    } catch (const ef::FormatError& e) {
      if (e.offset() < offset) __builtin_trap();
    }
    if (nl == std::string_view::npos) break;
    offset += nl + 1;
    in.remove_prefix(nl + 1);
  }
  for (const auto& [path, entry] : index.list("/", "", 1u << 20))
    if (!index.get(path) || !(*index.get(path) == entry)) __builtin_trap();
  return 0;
}
