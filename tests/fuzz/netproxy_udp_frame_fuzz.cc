// UDP frame parser: any split of the input yields the same datagrams as one
// pass, and re-framing them reproduces the consumed bytes.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "netproxy/udp_frame.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace ef::netproxy;
  if (size == 0) return 0;
  std::size_t step = 1 + data[0] % 13;
  data++, size--;
  std::vector<std::vector<std::uint8_t>> whole, pieces;
  FrameParser a, b;
  a.feed({data, size}, [&](std::span<const std::uint8_t> d) { whole.emplace_back(d.begin(), d.end()); });
  for (std::size_t off = 0; off < size; off += step)
    b.feed({data + off, std::min(step, size - off)},
           [&](std::span<const std::uint8_t> d) { pieces.emplace_back(d.begin(), d.end()); });
  if (whole != pieces || a.pending() != b.pending()) std::abort();
  std::string wire;
  for (const auto& d : whole) append_frame(wire, d);
  if (wire.size() + a.pending() != size || wire.compare(0, wire.size(), reinterpret_cast<const char*>(data), wire.size()) != 0)
    std::abort();
  return 0;
}
