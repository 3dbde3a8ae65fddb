#pragma once
// The original-destination header sent ahead of a transparently proxied stream,
// compatible with the Rust vsock proxies of this field:
//   family u8 (4 or 6) | address (IPv4 as u32 / IPv6 as u128, little-endian) | port u16 little-endian
// "As u32" means the address read as a big-endian number (Rust's u32::from(Ipv4Addr)),
// so on the wire the octets of 1.2.3.4 appear as 04 03 02 01.

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "netproxy/endpoint.h"

namespace ef::netproxy {

struct OriginalDst {
  int version = 4;                       ///< 4 or 6
  std::array<std::uint8_t, 16> address{};  ///< network byte order; first 4 bytes for IPv4
  std::uint16_t port = 0;

  SockAddr to_sockaddr() const;
  static OriginalDst from_sockaddr(const SockAddr& a);  ///< throws for non-inet families
  std::string to_string() const { return to_sockaddr().to_string(); }
  bool operator==(const OriginalDst&) const = default;
};

inline constexpr std::size_t kMaxHeaderSize = 19;

/// Wire bytes of the header (7 bytes for IPv4, 19 for IPv6).
std::vector<std::uint8_t> encode_header(const OriginalDst& dst);

/// Incremental decoder: feed bytes as they arrive, never more than needed().
class HeaderParser {
 public:
  /// Bytes still missing before the header is complete (1 before the family is known).
  std::size_t needed() const;
  /// Consumes bytes (at most needed()); throws FormatError on an unknown family byte.
  void feed(std::span<const std::uint8_t> bytes);
  bool done() const { return have_ > 0 && needed() == 0; }
  /// The decoded header; only after done().
  OriginalDst result() const;

 private:
  std::array<std::uint8_t, kMaxHeaderSize> buf_{};
  std::size_t have_ = 0;
};

}  // namespace ef::netproxy
