#pragma once
// The vhost-user protocol (QEMU docs/interop/vhost-user.rst), front end =
// QEMU, back end = this bridge: the 12-byte message header, the payloads this
// back end understands, and their validation. Pure functions: no fds, no I/O.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <variant>
#include <vector>

namespace ef::engine::local {

enum class VhostUserRequest : std::uint32_t {
  get_features = 1,
  set_features = 2,
  set_owner = 3,
  reset_owner = 4,
  set_mem_table = 5,
  set_log_base = 6,
  set_log_fd = 7,
  set_vring_num = 8,
  set_vring_addr = 9,
  set_vring_base = 10,
  get_vring_base = 11,
  set_vring_kick = 12,
  set_vring_call = 13,
  set_vring_err = 14,
  get_protocol_features = 15,
  set_protocol_features = 16,
  get_queue_num = 17,
  set_vring_enable = 18,
  get_config = 24,
  set_config = 25,
};

inline constexpr std::size_t kVhostUserHeaderSize = 12;
inline constexpr std::uint32_t kVhostUserVersion = 0x1;       ///< flags bits 0-1
inline constexpr std::uint32_t kVhostUserReplyFlag = 0x4;     ///< flags bit 2
inline constexpr std::uint32_t kVhostUserNeedReplyFlag = 0x8; ///< flags bit 3
inline constexpr std::uint32_t kVhostUserMaxPayload = 4096;
inline constexpr std::size_t kVhostUserMaxRegions = 8;
inline constexpr std::size_t kVhostUserMaxFds = 8;
inline constexpr std::uint32_t kVhostUserMaxConfig = 256;
/// u64 payload of SET_VRING_KICK/CALL/ERR: bits 0-7 index, bit 8 "no fd".
inline constexpr std::uint64_t kVringIndexMask = 0xff;
inline constexpr std::uint64_t kVringNoFdFlag = 0x100;

// Feature bits.
inline constexpr std::uint64_t kVirtioFVersion1 = 1ull << 32;
inline constexpr std::uint64_t kVhostUserFProtocolFeatures = 1ull << 30;
inline constexpr std::uint64_t kProtocolFReplyAck = 1ull << 3;
inline constexpr std::uint64_t kProtocolFConfig = 1ull << 9;

struct VhostUserHeader {
  std::uint32_t request = 0, flags = 0, size = 0;
};

struct VringState {
  std::uint32_t index = 0, num = 0;
};
struct VringAddr {
  std::uint32_t index = 0, flags = 0;
  std::uint64_t desc = 0, used = 0, avail = 0, log = 0;  ///< front-end virtual addresses
};
struct MemRegion {
  std::uint64_t guest_phys_addr = 0, memory_size = 0, userspace_addr = 0, mmap_offset = 0;
};
struct MemTable {
  std::vector<MemRegion> regions;  ///< one fd each, in order
};
struct ConfigSpace {
  std::uint32_t offset = 0, size = 0, flags = 0;
  std::vector<std::uint8_t> data;
};

using VhostUserBody = std::variant<std::monostate, std::uint64_t, VringState, VringAddr, MemTable, ConfigSpace>;

struct VhostUserMessage {
  VhostUserHeader header;
  VhostUserBody body;
  bool need_reply() const { return (header.flags & kVhostUserNeedReplyFlag) != 0; }
};

/// Reads the 12-byte header; throws FormatError("vhost-user message", offset, …)
/// for a wrong version or a payload size above kVhostUserMaxPayload.
VhostUserHeader decode_vhost_user_header(std::span<const std::uint8_t> bytes);

/// Decodes the payload of a message whose header was read and whose `nfds`
/// ancillary fds arrived with it. Validates the size each request needs, the
/// region count (≤ 8, = nfds), region bounds (no wrap-around), fd counts of
/// KICK/CALL/ERR and the config window. Throws FormatError naming the request,
/// the field and its byte offset in the payload. Unknown requests decode to
/// std::monostate (the caller refuses them).
VhostUserMessage decode_vhost_user_message(const VhostUserHeader& header, std::span<const std::uint8_t> payload,
                                           std::size_t nfds);

/// A reply: header (same request, version | REPLY) followed by `payload`.
std::vector<std::uint8_t> encode_vhost_user_reply(std::uint32_t request, std::span<const std::uint8_t> payload);
std::vector<std::uint8_t> encode_u64_reply(std::uint32_t request, std::uint64_t value);
std::vector<std::uint8_t> encode_vring_state_reply(std::uint32_t request, VringState state);
std::vector<std::uint8_t> encode_config_reply(std::uint32_t request, const ConfigSpace& config);

const char* vhost_user_request_name(std::uint32_t request);

}  // namespace ef::engine::local
