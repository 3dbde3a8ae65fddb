#pragma once
// UDP over a stream (vsock has no datagrams on Nitro): every datagram travels as
//   length u16 big-endian | payload
// the framing of DNS over TCP (RFC 1035 4.2.2), so a DNS stream can also go
// straight to a resolver's TCP port. Empty datagrams are legal (length 0).

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

namespace ef::netproxy {

inline constexpr std::size_t kMaxDatagram = 65535;

/// Appends one frame to `out`; throws Error for payloads above 65535 bytes.
void append_frame(std::string& out, std::span<const std::uint8_t> payload);

/// Incremental decoder: bytes in any split, complete datagrams out.
class FrameParser {
 public:
  /// Consumes all of `bytes`, calling on_datagram for each complete frame.
  void feed(std::span<const std::uint8_t> bytes, const std::function<void(std::span<const std::uint8_t>)>& on_datagram);
  /// Bytes of an unfinished frame being held.
  std::size_t pending() const { return have_len_ + payload_.size(); }

 private:
  std::uint8_t len_bytes_[2] = {};
  std::size_t have_len_ = 0;
  std::size_t want_ = 0;
  std::vector<std::uint8_t> payload_;
};

}  // namespace ef::netproxy
