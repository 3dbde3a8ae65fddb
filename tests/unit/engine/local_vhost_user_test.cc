// vhost-user message decoding (QEMU docs/interop/vhost-user.rst) and the
// back end's answers to the start-up sequence QEMU 7.2 sends.
#include <catch2/catch.hpp>

#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include "base/error.h"
#include "engine/local/event_loop.h"
#include "engine/local/le.h"
#include "engine/local/vhost_user_protocol.h"
#include "engine/local/vhost_user_server.h"

using namespace ef;
using namespace ef::engine::local;

namespace {

std::vector<std::uint8_t> header(std::uint32_t req, std::uint32_t flags, std::uint32_t size) {
  std::vector<std::uint8_t> h(12);
  put_le32(h.data(), req);
  put_le32(h.data() + 4, flags);
  put_le32(h.data() + 8, size);
  return h;
}

VhostUserMessage decode(std::uint32_t req, const std::vector<std::uint8_t>& payload, std::size_t nfds = 0,
                        std::uint32_t flags = 1) {
  auto h = header(req, flags, static_cast<std::uint32_t>(payload.size()));
  return decode_vhost_user_message(decode_vhost_user_header(h), payload, nfds);
}

std::vector<std::uint8_t> le64(std::uint64_t v) {
  std::vector<std::uint8_t> b(8);
  put_le64(b.data(), v);
  return b;
}

}  // namespace

TEST_CASE("vhost-user header: version, reply flag, payload bound") {
  auto h = decode_vhost_user_header(header(1, 0x1, 0));
  CHECK(h.request == 1);
  CHECK_THROWS_WITH(decode_vhost_user_header(header(1, 0x2, 0)), Catch::Contains("version is not 1"));
  CHECK_THROWS_WITH(decode_vhost_user_header(header(1, 0x1, 4097)), Catch::Contains("payload size 4097"));
  std::vector<std::uint8_t> short_hdr(5);
  CHECK_THROWS_WITH(decode_vhost_user_header(short_hdr), Catch::Contains("truncated"));
  auto reply = encode_u64_reply(1, 0x140000000ull);
  REQUIRE(reply.size() == 20);
  CHECK(get_le32(reply.data()) == 1);
  CHECK(get_le32(reply.data() + 4) == 0x5);  // version 1 | REPLY
  CHECK(get_le32(reply.data() + 8) == 8);
  CHECK(get_le64(reply.data() + 12) == 0x140000000ull);
}

TEST_CASE("vhost-user payloads: sizes, fds and fields are checked") {
  CHECK(std::get<std::uint64_t>(decode(2, le64(1ull << 32)).body) == 1ull << 32);
  CHECK_THROWS_WITH(decode(2, {1, 2, 3}), Catch::Contains("SET_FEATURES: payload size 3, expected 8"));
  // SET_VRING_KICK: index 1 with an fd; bit 8 = no fd.
  CHECK(std::get<std::uint64_t>(decode(12, le64(1), 1).body) == 1);
  CHECK_THROWS_WITH(decode(12, le64(1), 0), Catch::Contains("0 file descriptors attached, expected 1"));
  CHECK_NOTHROW(decode(12, le64(0x101), 0));
  CHECK_THROWS_WITH(decode(12, le64(0x200), 0), Catch::Contains("reserved bits"));
  // SET_MEM_TABLE: u32 nregions, u32 padding, then 32-byte regions.
  std::vector<std::uint8_t> mt(8 + 32);
  put_le32(mt.data(), 1);
  put_le64(mt.data() + 8, 0);            // guest_phys_addr
  put_le64(mt.data() + 16, 256 << 20);   // memory_size
  put_le64(mt.data() + 24, 0x7f0000000000ull);  // userspace_addr
  put_le64(mt.data() + 32, 0);           // mmap_offset
  auto t = std::get<MemTable>(decode(5, mt, 1).body);
  REQUIRE(t.regions.size() == 1);
  CHECK(t.regions[0].memory_size == 256u << 20);
  CHECK(t.regions[0].userspace_addr == 0x7f0000000000ull);
  CHECK_THROWS_WITH(decode(5, mt, 2), Catch::Contains("2 file descriptors attached, expected 1"));
  put_le64(mt.data() + 16, ~0ull);
  CHECK_THROWS_WITH(decode(5, mt, 1), Catch::Contains("wraps around"));
  put_le32(mt.data(), 9);
  CHECK_THROWS_WITH(decode(5, mt, 1), Catch::Contains("nregions 9"));
  // SET_VRING_ADDR: 40 bytes.
  std::vector<std::uint8_t> va(40);
  put_le32(va.data(), 1);
  put_le64(va.data() + 8, 0x1000);
  put_le64(va.data() + 16, 0x2000);
  put_le64(va.data() + 24, 0x3000);
  auto a = std::get<VringAddr>(decode(9, va).body);
  CHECK(a.index == 1);
  CHECK(a.desc == 0x1000);
  CHECK(a.used == 0x2000);
  CHECK(a.avail == 0x3000);
  // GET_CONFIG: offset, size, flags, then size bytes.
  std::vector<std::uint8_t> cfg(12 + 8);
  put_le32(cfg.data() + 4, 8);
  auto c = std::get<ConfigSpace>(decode(24, cfg).body);
  CHECK(c.size == 8);
  put_le32(cfg.data() + 4, 9);
  CHECK_THROWS_WITH(decode(24, cfg), Catch::Contains("payload size 20, expected 21"));
}

TEST_CASE("vhost-user back end: features, config (guest CID) and ring setup") {
  EventLoop loop;
  VsockDeviceConfig dc;
  dc.guest_cid = 42;
  VhostUserServer server(loop, dc);
  std::vector<UniqueFd> fds;
  auto reply = server.handle(decode(1, {}), fds);
  std::uint64_t features = get_le64(reply.data() + 12);
  CHECK((features & (1ull << 32)) != 0);  // VIRTIO_F_VERSION_1
  CHECK((features & (1ull << 30)) != 0);  // VHOST_USER_F_PROTOCOL_FEATURES
  reply = server.handle(decode(15, {}), fds);
  std::uint64_t proto = get_le64(reply.data() + 12);
  CHECK((proto & (1ull << 9)) != 0);  // CONFIG: QEMU's vhost-user-vsock needs GET_CONFIG
  CHECK_THROWS_WITH(server.handle(decode(2, le64(1ull << 28)), fds), Catch::Contains("never offered"));
  server.handle(decode(2, le64(features)), fds);
  std::vector<std::uint8_t> cfg(12 + 8);
  put_le32(cfg.data() + 4, 8);
  reply = server.handle(decode(24, cfg), fds);
  REQUIRE(reply.size() == 12 + 12 + 8);
  CHECK(get_le64(reply.data() + 24) == 42);  // struct virtio_vsock_config.guest_cid
  // Memory from a memfd, then a ring inside it.
  int mfd = ::memfd_create("guest", MFD_CLOEXEC);
  REQUIRE(mfd >= 0);
  REQUIRE(::ftruncate(mfd, 1 << 20) == 0);
  std::vector<std::uint8_t> mt(8 + 32);
  put_le32(mt.data(), 1);
  put_le64(mt.data() + 8, 0x100000);
  put_le64(mt.data() + 16, 1 << 20);
  put_le64(mt.data() + 24, 0x7000000000ull);
  fds.emplace_back(mfd);
  server.handle(decode(5, mt, 1), fds);
  std::vector<std::uint8_t> st(8);
  put_le32(st.data(), 0);
  put_le32(st.data() + 4, 100);  // not a power of two
  CHECK_THROWS_WITH(server.handle(decode(8, st), fds), Catch::Contains("power of two"));
  put_le32(st.data() + 4, 128);
  server.handle(decode(8, st), fds);
  std::vector<std::uint8_t> va(40);
  put_le64(va.data() + 8, 0x7000000000ull);
  put_le64(va.data() + 16, 0x7000002000ull);
  put_le64(va.data() + 24, 0x7000001000ull);
  server.handle(decode(9, va), fds);
  put_le64(va.data() + 8, 0x6000000000ull);  // outside the table
  CHECK_THROWS_WITH(server.handle(decode(9, va), fds), Catch::Contains("outside the guest memory"));
  put_le32(st.data() + 4, 7);
  server.handle(decode(10, st), fds);  // SET_VRING_BASE 7
  reply = server.handle(decode(11, st), fds);  // GET_VRING_BASE
  CHECK(get_le32(reply.data() + 16) == 7);
  put_le32(st.data(), 2);
  CHECK_THROWS_WITH(server.handle(decode(8, st), fds), Catch::Contains("vring index 2"));
}
