#include "netproxy/udp_frame.h"

#include <algorithm>

#include "base/error.h"

namespace ef::netproxy {

void append_frame(std::string& out, std::span<const std::uint8_t> payload) {
  if (payload.size() > kMaxDatagram) throw Error("datagram of " + std::to_string(payload.size()) + " bytes too large");
  out.push_back(static_cast<char>(payload.size() >> 8));
  out.push_back(static_cast<char>(payload.size() & 0xff));
  out.append(reinterpret_cast<const char*>(payload.data()), payload.size());
}

void FrameParser::feed(std::span<const std::uint8_t> bytes,
                       const std::function<void(std::span<const std::uint8_t>)>& on_datagram) {
  while (!bytes.empty()) {
    if (have_len_ < 2) {
      len_bytes_[have_len_++] = bytes.front();
      bytes = bytes.subspan(1);
      if (have_len_ < 2) continue;
      want_ = (std::size_t(len_bytes_[0]) << 8) | len_bytes_[1];
      payload_.clear();
      if (want_ == 0) {
        have_len_ = 0;
        on_datagram({});
        continue;
      }
    }
    std::size_t take = std::min(want_ - payload_.size(), bytes.size());
    // A whole frame present in the input is delivered without copying.
    if (payload_.empty() && take == want_) {
      on_datagram(bytes.first(take));
    } else {
      payload_.insert(payload_.end(), bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(take));
      if (payload_.size() < want_) return;
      on_datagram(payload_);
    }
    bytes = bytes.subspan(take);
    have_len_ = 0;
    payload_.clear();
  }
}

}  // namespace ef::netproxy
