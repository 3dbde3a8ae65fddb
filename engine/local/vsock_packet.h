#pragma once
// virtio-vsock packets (virtio spec 1.2, 5.10.6): the 44-byte little-endian
// header, the operations and the per-connection credit of stream sockets.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

namespace ef::engine::local {

inline constexpr std::size_t kVsockHeaderSize = 44;
inline constexpr std::uint16_t kVsockTypeStream = 1;
inline constexpr std::uint32_t kShutdownRcv = 1;   ///< the sender will receive no more
inline constexpr std::uint32_t kShutdownSend = 2;  ///< the sender will send no more
/// The largest payload a guest driver sends in one packet (Linux: 64 KiB).
inline constexpr std::uint32_t kVsockMaxPayload = 64 * 1024;

enum class VsockOp : std::uint16_t {
  invalid = 0,
  request = 1,
  response = 2,
  rst = 3,
  shutdown = 4,
  rw = 5,
  credit_update = 6,
  credit_request = 7,
};

/// le64 src_cid, dst_cid; le32 src_port, dst_port, len; le16 type, op; le32 flags, buf_alloc, fwd_cnt.
struct VsockHeader {
  std::uint64_t src_cid = 0, dst_cid = 0;
  std::uint32_t src_port = 0, dst_port = 0, len = 0;
  std::uint16_t type = kVsockTypeStream, op = 0;
  std::uint32_t flags = 0, buf_alloc = 0, fwd_cnt = 0;
};

/// Writes `h` into exactly kVsockHeaderSize bytes.
void encode_header(const VsockHeader& h, std::span<std::uint8_t, kVsockHeaderSize> out);
/// Reads a header from exactly kVsockHeaderSize bytes (no validation).
VsockHeader decode_header(std::span<const std::uint8_t, kVsockHeaderSize> in);

/// Why a packet from the guest cannot be accepted, or "" when it can:
/// wrong source CID, unknown op, payload length above kVsockMaxPayload or above
/// the bytes the descriptor chain actually carries, payload on a non-RW op.
std::string check_guest_header(const VsockHeader& h, std::uint64_t guest_cid, std::size_t payload_bytes);

const char* op_name(std::uint16_t op);

/// Credit-based flow control of one stream connection, seen from the host
/// side of the bridge (virtio spec 5.10.6.3). All counters wrap mod 2^32.
struct VsockCredit {
  std::uint32_t buf_alloc = 0;          ///< our receive buffer, advertised to the guest
  std::uint32_t fwd_cnt = 0;            ///< guest bytes we have delivered to the host socket
  std::uint32_t last_fwd_cnt_sent = 0;  ///< fwd_cnt as last told to the guest
  std::uint32_t rx_cnt = 0;             ///< guest payload bytes received
  std::uint32_t peer_buf_alloc = 0;     ///< the guest socket's receive buffer
  std::uint32_t peer_fwd_cnt = 0;       ///< bytes the guest says it has consumed
  std::uint32_t tx_cnt = 0;             ///< payload bytes we have sent to the guest

  /// Bytes we may still send to the guest now.
  std::uint32_t peer_free() const {
    std::uint32_t in_flight = tx_cnt - peer_fwd_cnt;
    return in_flight >= peer_buf_alloc ? 0 : peer_buf_alloc - in_flight;
  }
  /// Guest bytes received but not yet delivered (what we must buffer).
  std::uint32_t undelivered() const { return rx_cnt - fwd_cnt; }
  /// Every guest packet carries its buffer space: take it.
  void take_peer(const VsockHeader& h) {
    peer_buf_alloc = h.buf_alloc;
    peer_fwd_cnt = h.fwd_cnt;
  }
  /// Fills buf_alloc/fwd_cnt of a packet we send and remembers what we told.
  void stamp(VsockHeader& h) {
    h.buf_alloc = buf_alloc;
    h.fwd_cnt = fwd_cnt;
    last_fwd_cnt_sent = fwd_cnt;
  }
  /// Whether the guest's view of our free space has fallen far enough behind
  /// that an explicit CREDIT_UPDATE is due: kCreditUpdateBytes delivered
  /// unannounced (or half the buffer, if smaller). Linux guests never ask
  /// (no CREDIT_REQUEST when they run out) and size their sends from the
  /// last announced fwd_cnt, so one-way guest → host streams depend on it.
  static constexpr std::uint32_t kCreditUpdateBytes = 64 * 1024;
  bool update_due() const {
    std::uint32_t unannounced = fwd_cnt - last_fwd_cnt_sent;
    return unannounced != 0 && unannounced >= std::min(buf_alloc / 2, kCreditUpdateBytes);
  }
  /// Whether the guest sent more than the credit we granted.
  bool overrun() const { return undelivered() > buf_alloc; }
};

}  // namespace ef::engine::local
