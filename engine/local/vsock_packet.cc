#include "engine/local/vsock_packet.h"

#include "engine/local/le.h"

namespace ef::engine::local {

void encode_header(const VsockHeader& h, std::span<std::uint8_t, kVsockHeaderSize> out) {
  std::uint8_t* p = out.data();
  put_le64(p + 0, h.src_cid);
  put_le64(p + 8, h.dst_cid);
  put_le32(p + 16, h.src_port);
  put_le32(p + 20, h.dst_port);
  put_le32(p + 24, h.len);
  put_le16(p + 28, h.type);
  put_le16(p + 30, h.op);
  put_le32(p + 32, h.flags);
  put_le32(p + 36, h.buf_alloc);
  put_le32(p + 40, h.fwd_cnt);
}

VsockHeader decode_header(std::span<const std::uint8_t, kVsockHeaderSize> in) {
  const std::uint8_t* p = in.data();
  VsockHeader h;
  h.src_cid = get_le64(p + 0);
  h.dst_cid = get_le64(p + 8);
  h.src_port = get_le32(p + 16);
  h.dst_port = get_le32(p + 20);
  h.len = get_le32(p + 24);
  h.type = get_le16(p + 28);
  h.op = get_le16(p + 30);
  h.flags = get_le32(p + 32);
  h.buf_alloc = get_le32(p + 36);
  h.fwd_cnt = get_le32(p + 40);
  return h;
}

const char* op_name(std::uint16_t op) {
  switch (static_cast<VsockOp>(op)) {
    case VsockOp::request: return "REQUEST";
    case VsockOp::response: return "RESPONSE";
    case VsockOp::rst: return "RST";
    case VsockOp::shutdown: return "SHUTDOWN";
    case VsockOp::rw: return "RW";
    case VsockOp::credit_update: return "CREDIT_UPDATE";
    case VsockOp::credit_request: return "CREDIT_REQUEST";
    default: return "INVALID";
  }
}

std::string check_guest_header(const VsockHeader& h, std::uint64_t guest_cid, std::size_t payload_bytes) {
  if (h.src_cid != guest_cid)
    return "src_cid " + std::to_string(h.src_cid) + " is not the guest's CID " + std::to_string(guest_cid);
  if (h.op < static_cast<std::uint16_t>(VsockOp::request) || h.op > static_cast<std::uint16_t>(VsockOp::credit_request))
    return "unknown op " + std::to_string(h.op);
  if (h.len > kVsockMaxPayload) return "len " + std::to_string(h.len) + " above " + std::to_string(kVsockMaxPayload);
  if (h.len > payload_bytes)
    return "len " + std::to_string(h.len) + " but the descriptors carry " + std::to_string(payload_bytes) + " bytes";
  if (h.len != 0 && h.op != static_cast<std::uint16_t>(VsockOp::rw))
    return std::string("payload of ") + std::to_string(h.len) + " bytes on a " + op_name(h.op) + " packet";
  return "";
}

}  // namespace ef::engine::local
