#pragma once
// The agent's wire frames (docs/agent.md): inside TLS, every message is
//   type u8 | length u32 big-endian | payload[length]
// with length <= kMaxPayload. FrameParser is the one parser of that layer;
// payload codecs for the fixed binary messages live in messages.h.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ef::agent {

using Bytes = std::vector<std::uint8_t>;

enum class FrameType : std::uint8_t {
  kHello = 0x01,        ///< client → agent: version u16, nonce[32]
  kAttestation = 0x02,  ///< agent → client: COSE_Sign1 document
  kAuth = 0x03,         ///< client → agent: spki, signature
  kAuthOk = 0x04,       ///< agent → client: empty
  kError = 0x05,        ///< either way: code u16, UTF-8 message
  kCancel = 0x06,       ///< client → agent: end a follow stream
  kExec = 0x10,         ///< JSON request
  kCpIn = 0x11,         ///< JSON request
  kCpOut = 0x12,        ///< JSON request
  kLogs = 0x13,         ///< JSON request
  kSecretPut = 0x14,    ///< name_len u16, name, value
  kStdin = 0x20,        ///< raw bytes; empty = EOF
  kStdout = 0x21,       ///< raw bytes
  kStderr = 0x22,       ///< raw bytes
  kSignal = 0x23,       ///< signo u8
  kExit = 0x24,         ///< status i32 big-endian
  kWinch = 0x25,        ///< rows u16, cols u16
  kData = 0x30,         ///< raw bytes of a tar stream
  kDataEnd = 0x31,      ///< empty
  kLog = 0x32,          ///< service_len u16, service, complete lines
  kOk = 0x40,           ///< JSON object (may be empty)
};

inline constexpr std::size_t kHeaderSize = 5;
/// Hard limit on one frame's payload; larger lengths are a protocol error.
inline constexpr std::size_t kMaxPayload = 1u << 20;

/// "HELLO", "EXEC", … or "0xNN" for an unknown code.
std::string frame_type_name(std::uint8_t type);
bool is_known_frame_type(std::uint8_t type);

struct Frame {
  FrameType type;
  Bytes payload;
};

/// Appends header + payload to `out`. Throws ef::Error if the payload is too big.
void encode_frame(FrameType type, std::span<const std::uint8_t> payload, Bytes& out);
/// Writes the 5-byte header for a payload of `length` into `header`.
void encode_header(FrameType type, std::size_t length, std::uint8_t* header);

/// Incremental parser: feed() bytes as they arrive, next() yields whole frames.
/// An unknown type or a length over the limit throws ef::FormatError naming
/// the stream offset; after that the parser must not be used.
class FrameParser {
 public:
  explicit FrameParser(std::string input_name = "agent stream", std::size_t max_payload = kMaxPayload)
      : name_(std::move(input_name)), max_(max_payload) {}
  void feed(std::span<const std::uint8_t> data);
  std::optional<Frame> next();
  /// Bytes buffered but not yet returned as frames.
  std::size_t buffered() const { return buf_.size() - pos_; }
  /// True when a complete frame is waiting.
  bool has_frame() const;

 private:
  std::string name_;
  std::size_t max_;
  Bytes buf_;
  std::size_t pos_ = 0;
  std::uint64_t consumed_ = 0;  ///< stream offset of buf_[0]
};

}  // namespace ef::agent
