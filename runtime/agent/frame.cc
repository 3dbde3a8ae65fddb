#include "runtime/agent/frame.h"

#include <cstring>

#include "base/error.h"

namespace ef::agent {

std::string frame_type_name(std::uint8_t type) {
  switch (static_cast<FrameType>(type)) {
    case FrameType::kHello: return "HELLO";
    case FrameType::kAttestation: return "ATTESTATION";
    case FrameType::kAuth: return "AUTH";
    case FrameType::kAuthOk: return "AUTH_OK";
    case FrameType::kError: return "ERROR";
    case FrameType::kCancel: return "CANCEL";
    case FrameType::kExec: return "EXEC";
    case FrameType::kCpIn: return "CP_IN";
    case FrameType::kCpOut: return "CP_OUT";
    case FrameType::kLogs: return "LOGS";
    case FrameType::kSecretPut: return "SECRET_PUT";
    case FrameType::kStdin: return "STDIN";
    case FrameType::kStdout: return "STDOUT";
    case FrameType::kStderr: return "STDERR";
    case FrameType::kSignal: return "SIGNAL";
    case FrameType::kExit: return "EXIT";
    case FrameType::kWinch: return "WINCH";
    case FrameType::kData: return "DATA";
    case FrameType::kDataEnd: return "DATA_END";
    case FrameType::kLog: return "LOG";
    case FrameType::kOk: return "OK";
  }
  static const char* hex = "0123456789abcdef";
  return std::string("0x") + hex[type >> 4] + hex[type & 15];
}

bool is_known_frame_type(std::uint8_t type) { return frame_type_name(type).rfind("0x", 0) != 0; }

void encode_header(FrameType type, std::size_t length, std::uint8_t* h) {
  if (length > kMaxPayload)
    throw Error("agent frame " + frame_type_name(static_cast<std::uint8_t>(type)) + ": payload of " +
                std::to_string(length) + " bytes exceeds the limit of " + std::to_string(kMaxPayload));
  h[0] = static_cast<std::uint8_t>(type);
  h[1] = static_cast<std::uint8_t>(length >> 24);
  h[2] = static_cast<std::uint8_t>(length >> 16);
  h[3] = static_cast<std::uint8_t>(length >> 8);
  h[4] = static_cast<std::uint8_t>(length);
}

void encode_frame(FrameType type, std::span<const std::uint8_t> payload, Bytes& out) {
  std::uint8_t h[kHeaderSize];
  encode_header(type, payload.size(), h);
  out.insert(out.end(), h, h + kHeaderSize);
  out.insert(out.end(), payload.begin(), payload.end());
}

void FrameParser::feed(std::span<const std::uint8_t> data) {
  if (pos_ > 0 && pos_ >= buf_.size() / 2) {
    buf_.erase(buf_.begin(), buf_.begin() + static_cast<std::ptrdiff_t>(pos_));
    consumed_ += pos_;
    pos_ = 0;
  }
  buf_.insert(buf_.end(), data.begin(), data.end());
}

static std::size_t read_length(const std::uint8_t* p) {
  return (std::size_t{p[1]} << 24) | (std::size_t{p[2]} << 16) | (std::size_t{p[3]} << 8) | p[4];
}

bool FrameParser::has_frame() const {
  if (buffered() < kHeaderSize) return false;
  return buffered() - kHeaderSize >= read_length(buf_.data() + pos_);
}

std::optional<Frame> FrameParser::next() {
  if (buffered() < kHeaderSize) return std::nullopt;
  const std::uint8_t* p = buf_.data() + pos_;
  const std::uint64_t offset = consumed_ + pos_;
  if (!is_known_frame_type(p[0]))
    throw FormatError(name_, offset, "unknown frame type " + frame_type_name(p[0]));
  const std::size_t length = read_length(p);
  if (length > max_)
    throw FormatError(name_, offset + 1,
                      frame_type_name(p[0]) + " frame length " + std::to_string(length) + " exceeds the limit of " +
                          std::to_string(max_));
  if (buffered() - kHeaderSize < length) return std::nullopt;
  Frame f{static_cast<FrameType>(p[0]), Bytes(p + kHeaderSize, p + kHeaderSize + length)};
  pos_ += kHeaderSize + length;
  if (pos_ == buf_.size()) {
    consumed_ += pos_;
    buf_.clear();
    pos_ = 0;
  }
  return f;
}

}  // namespace ef::agent
