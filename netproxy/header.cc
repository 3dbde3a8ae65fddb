#include "netproxy/header.h"

#include <netinet/in.h>

#include <algorithm>
#include <cstring>

#include "base/error.h"

namespace ef::netproxy {
namespace {

std::size_t total_for(std::uint8_t family) { return family == 4 ? 7 : 19; }

}  // namespace

SockAddr OriginalDst::to_sockaddr() const { return inet_address(address.data(), version == 4 ? 4 : 16, port); }

OriginalDst OriginalDst::from_sockaddr(const SockAddr& a) {
  OriginalDst d;
  if (a.family() == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(&a.storage);
    std::memcpy(d.address.data(), &in->sin_addr, 4);
  } else if (a.family() == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&a.storage);
    // An IPv4-mapped IPv6 destination travels as IPv4, as peers expect.
    static const std::uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (std::memcmp(&in6->sin6_addr, mapped, 12) == 0) {
      std::memcpy(d.address.data(), reinterpret_cast<const std::uint8_t*>(&in6->sin6_addr) + 12, 4);
    } else {
      d.version = 6;
      std::memcpy(d.address.data(), &in6->sin6_addr, 16);
    }
  } else {
    throw Error("original destination " + a.to_string() + " is not an IP address");
  }
  d.port = a.port();
  return d;
}

std::vector<std::uint8_t> encode_header(const OriginalDst& dst) {
  std::size_t n = dst.version == 4 ? 4 : 16;
  std::vector<std::uint8_t> out;
  out.reserve(n + 3);
  out.push_back(static_cast<std::uint8_t>(dst.version == 4 ? 4 : 6));
  // Little-endian of the big-endian number = the octets reversed.
  for (std::size_t i = 0; i < n; ++i) out.push_back(dst.address[n - 1 - i]);
  out.push_back(static_cast<std::uint8_t>(dst.port & 0xff));
  out.push_back(static_cast<std::uint8_t>(dst.port >> 8));
  return out;
}

std::size_t HeaderParser::needed() const {
  if (have_ == 0) return 1;
  return total_for(buf_[0]) - have_;
}

void HeaderParser::feed(std::span<const std::uint8_t> bytes) {
  if (bytes.size() > needed()) throw Error("header parser fed more than needed");
  for (std::uint8_t b : bytes) {
    if (have_ == 0 && b != 4 && b != 6)
      throw FormatError("destination header", 0, "family byte 4 or 6, got " + std::to_string(b));
    buf_[have_++] = b;
  }
}

OriginalDst HeaderParser::result() const {
  if (!done()) throw Error("destination header incomplete");
  OriginalDst d;
  d.version = buf_[0];
  std::size_t n = d.version == 4 ? 4 : 16;
  for (std::size_t i = 0; i < n; ++i) d.address[i] = buf_[n - i];
  d.port = static_cast<std::uint16_t>(buf_[1 + n] | (buf_[2 + n] << 8));
  return d;
}

}  // namespace ef::netproxy
