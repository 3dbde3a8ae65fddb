#include "engine/local/vhost_user_protocol.h"

#include "base/error.h"
#include "engine/local/le.h"

namespace ef::engine::local {
namespace {

constexpr const char* kInput = "vhost-user message";

[[noreturn]] void bad(std::uint32_t request, std::uint64_t offset, const std::string& what) {
  throw FormatError(kInput, offset, std::string(vhost_user_request_name(request)) + ": " + what);
}

void need_size(const VhostUserHeader& h, std::size_t want) {
  if (h.size != want)
    bad(h.request, 8, "payload size " + std::to_string(h.size) + ", expected " + std::to_string(want));
}

void need_fds(const VhostUserHeader& h, std::size_t nfds, std::size_t want) {
  if (nfds != want)
    bad(h.request, 0, std::to_string(nfds) + " file descriptors attached, expected " + std::to_string(want));
}

VringState vring_state(std::span<const std::uint8_t> p) { return {get_le32(p.data()), get_le32(p.data() + 4)}; }

}  // namespace

const char* vhost_user_request_name(std::uint32_t request) {
  switch (static_cast<VhostUserRequest>(request)) {
    case VhostUserRequest::get_features: return "GET_FEATURES";
    case VhostUserRequest::set_features: return "SET_FEATURES";
    case VhostUserRequest::set_owner: return "SET_OWNER";
    case VhostUserRequest::reset_owner: return "RESET_OWNER";
    case VhostUserRequest::set_mem_table: return "SET_MEM_TABLE";
    case VhostUserRequest::set_log_base: return "SET_LOG_BASE";
    case VhostUserRequest::set_log_fd: return "SET_LOG_FD";
    case VhostUserRequest::set_vring_num: return "SET_VRING_NUM";
    case VhostUserRequest::set_vring_addr: return "SET_VRING_ADDR";
    case VhostUserRequest::set_vring_base: return "SET_VRING_BASE";
    case VhostUserRequest::get_vring_base: return "GET_VRING_BASE";
    case VhostUserRequest::set_vring_kick: return "SET_VRING_KICK";
    case VhostUserRequest::set_vring_call: return "SET_VRING_CALL";
    case VhostUserRequest::set_vring_err: return "SET_VRING_ERR";
    case VhostUserRequest::get_protocol_features: return "GET_PROTOCOL_FEATURES";
    case VhostUserRequest::set_protocol_features: return "SET_PROTOCOL_FEATURES";
    case VhostUserRequest::get_queue_num: return "GET_QUEUE_NUM";
    case VhostUserRequest::set_vring_enable: return "SET_VRING_ENABLE";
    case VhostUserRequest::get_config: return "GET_CONFIG";
    case VhostUserRequest::set_config: return "SET_CONFIG";
  }
  return "UNKNOWN";
}

VhostUserHeader decode_vhost_user_header(std::span<const std::uint8_t> bytes) {
  if (bytes.size() < kVhostUserHeaderSize)
    throw FormatError(kInput, bytes.size(), "header truncated: " + std::to_string(bytes.size()) + " of 12 bytes");
  VhostUserHeader h{get_le32(bytes.data()), get_le32(bytes.data() + 4), get_le32(bytes.data() + 8)};
  if ((h.flags & 0x3) != kVhostUserVersion)
    throw FormatError(kInput, 4, "flags " + std::to_string(h.flags) + ": protocol version is not 1");
  if (h.size > kVhostUserMaxPayload)
    throw FormatError(kInput, 8, "payload size " + std::to_string(h.size) + " above " +
                                     std::to_string(kVhostUserMaxPayload));
  return h;
}

VhostUserMessage decode_vhost_user_message(const VhostUserHeader& h, std::span<const std::uint8_t> p,
                                           std::size_t nfds) {
  if (p.size() != h.size) bad(h.request, 0, "payload of " + std::to_string(p.size()) + " bytes, header says " +
                                                std::to_string(h.size));
  VhostUserMessage m{h, {}};
  switch (static_cast<VhostUserRequest>(h.request)) {
    case VhostUserRequest::get_features:
    case VhostUserRequest::get_protocol_features:
    case VhostUserRequest::get_queue_num:
    case VhostUserRequest::set_owner:
    case VhostUserRequest::reset_owner:
      need_fds(h, nfds, 0);
      // Some front ends send a zero u64 with requests that carry none: accept both.
      if (h.size != 0) need_size(h, 8);
      return m;
    case VhostUserRequest::set_features:
    case VhostUserRequest::set_protocol_features:
      need_size(h, 8);
      need_fds(h, nfds, 0);
      m.body = get_le64(p.data());
      return m;
    case VhostUserRequest::set_vring_kick:
    case VhostUserRequest::set_vring_call:
    case VhostUserRequest::set_vring_err: {
      need_size(h, 8);
      std::uint64_t v = get_le64(p.data());
      if (v & ~(kVringIndexMask | kVringNoFdFlag)) bad(h.request, 0, "reserved bits set in " + std::to_string(v));
      need_fds(h, nfds, (v & kVringNoFdFlag) ? 0 : 1);
      m.body = v;
      return m;
    }
    case VhostUserRequest::set_vring_num:
    case VhostUserRequest::set_vring_base:
    case VhostUserRequest::get_vring_base:
    case VhostUserRequest::set_vring_enable:
      need_size(h, 8);
      need_fds(h, nfds, 0);
      m.body = vring_state(p);
      return m;
    case VhostUserRequest::set_vring_addr: {
      need_size(h, 40);
      need_fds(h, nfds, 0);
      VringAddr a{get_le32(p.data()),      get_le32(p.data() + 4),  get_le64(p.data() + 8),
                  get_le64(p.data() + 16), get_le64(p.data() + 24), get_le64(p.data() + 32)};
      m.body = a;
      return m;
    }
    case VhostUserRequest::set_mem_table: {
      if (h.size < 8) bad(h.request, 0, "payload of " + std::to_string(h.size) + " bytes, below the 8-byte count");
      std::uint32_t n = get_le32(p.data());
      if (n == 0 || n > kVhostUserMaxRegions)
        bad(h.request, 0, "nregions " + std::to_string(n) + " not in 1.." + std::to_string(kVhostUserMaxRegions));
      need_size(h, 8 + 32 * std::size_t(n));
      need_fds(h, nfds, n);
      MemTable t;
      for (std::uint32_t i = 0; i < n; ++i) {
        const std::uint8_t* r = p.data() + 8 + 32 * i;
        MemRegion reg{get_le64(r), get_le64(r + 8), get_le64(r + 16), get_le64(r + 24)};
        std::uint64_t off = 8 + 32 * i;
        if (reg.memory_size == 0) bad(h.request, off + 8, "region " + std::to_string(i) + " has size 0");
        if (reg.guest_phys_addr + reg.memory_size < reg.guest_phys_addr ||
            reg.userspace_addr + reg.memory_size < reg.userspace_addr ||
            reg.mmap_offset + reg.memory_size < reg.mmap_offset)
          bad(h.request, off, "region " + std::to_string(i) + " wraps around the address space");
        t.regions.push_back(reg);
      }
      m.body = std::move(t);
      return m;
    }
    case VhostUserRequest::get_config:
    case VhostUserRequest::set_config: {
      need_fds(h, nfds, 0);
      if (h.size < 12) bad(h.request, 0, "payload of " + std::to_string(h.size) + " bytes, below the 12-byte header");
      ConfigSpace c{get_le32(p.data()), get_le32(p.data() + 4), get_le32(p.data() + 8), {}};
      if (c.size > kVhostUserMaxConfig)
        bad(h.request, 4, "config size " + std::to_string(c.size) + " above " + std::to_string(kVhostUserMaxConfig));
      need_size(h, 12 + std::size_t(c.size));
      c.data.assign(p.begin() + 12, p.end());
      m.body = std::move(c);
      return m;
    }
    case VhostUserRequest::set_log_base:
    case VhostUserRequest::set_log_fd:
      return m;  // not offered (no LOG_SHMFD): the caller refuses it
  }
  return m;
}

std::vector<std::uint8_t> encode_vhost_user_reply(std::uint32_t request, std::span<const std::uint8_t> payload) {
  std::vector<std::uint8_t> out(kVhostUserHeaderSize + payload.size());
  put_le32(out.data(), request);
  put_le32(out.data() + 4, kVhostUserVersion | kVhostUserReplyFlag);
  put_le32(out.data() + 8, static_cast<std::uint32_t>(payload.size()));
  std::copy(payload.begin(), payload.end(), out.begin() + kVhostUserHeaderSize);
  return out;
}

std::vector<std::uint8_t> encode_u64_reply(std::uint32_t request, std::uint64_t value) {
  std::uint8_t b[8];
  put_le64(b, value);
  return encode_vhost_user_reply(request, b);
}

std::vector<std::uint8_t> encode_vring_state_reply(std::uint32_t request, VringState state) {
  std::uint8_t b[8];
  put_le32(b, state.index);
  put_le32(b + 4, state.num);
  return encode_vhost_user_reply(request, b);
}

std::vector<std::uint8_t> encode_config_reply(std::uint32_t request, const ConfigSpace& c) {
  std::vector<std::uint8_t> b(12 + c.data.size());
  put_le32(b.data(), c.offset);
  put_le32(b.data() + 4, static_cast<std::uint32_t>(c.data.size()));
  put_le32(b.data() + 8, c.flags);
  std::copy(c.data.begin(), c.data.end(), b.begin() + 12);
  return encode_vhost_user_reply(request, b);
}

}  // namespace ef::engine::local
