// Destination header parser: hostile bytes never crash it, and every header it
// accepts re-encodes to exactly the bytes it consumed.
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "base/error.h"
#include "netproxy/header.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace ef::netproxy;
  HeaderParser p;
  std::size_t used = 0;
  try {
    while (!p.done() && used < size) {
      // Feed in uneven pieces, as a socket would deliver them.
      std::size_t n = std::min(p.needed(), std::size_t(1) + data[used] % 5);
      n = std::min(n, size - used);
      p.feed({data + used, n});
      used += n;
    }
  } catch (const ef::FormatError&) {
    return 0;
  }
  if (!p.done()) return 0;
  std::vector<std::uint8_t> again = encode_header(p.result());
  if (again.size() != used || !std::equal(again.begin(), again.end(), data)) std::abort();
  (void)p.result().to_sockaddr().to_string();
  return 0;
}
