// virtio-vsock header layout and the credit arithmetic (virtio spec 1.2, 5.10.6).
#include <catch2/catch.hpp>

#include <array>

#include "engine/local/vsock_packet.h"

using namespace ef::engine::local;

TEST_CASE("vsock header: the 44-byte little-endian layout of the spec") {
  VsockHeader h;
  h.src_cid = 0x0102030405060708ull;
  h.dst_cid = 3;
  h.src_port = 0x11223344;
  h.dst_port = 8443;
  h.len = 4096;
  h.type = 1;
  h.op = 5;
  h.flags = 2;
  h.buf_alloc = 262144;
  h.fwd_cnt = 0xdeadbeef;
  std::array<std::uint8_t, 44> raw{};
  encode_header(h, raw);
  // Written out by hand from the spec's struct virtio_vsock_hdr.
  const std::array<std::uint8_t, 44> want = {
      0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01,  // le64 src_cid
      0x03, 0, 0, 0, 0, 0, 0, 0,                       // le64 dst_cid
      0x44, 0x33, 0x22, 0x11,                          // le32 src_port
      0xfb, 0x20, 0, 0,                                // le32 dst_port 8443
      0x00, 0x10, 0, 0,                                // le32 len 4096
      0x01, 0x00,                                      // le16 type STREAM
      0x05, 0x00,                                      // le16 op RW
      0x02, 0, 0, 0,                                   // le32 flags
      0x00, 0x00, 0x04, 0x00,                          // le32 buf_alloc 262144
      0xef, 0xbe, 0xad, 0xde};                         // le32 fwd_cnt
  CHECK(raw == want);
  VsockHeader back = decode_header(raw);
  CHECK(back.src_cid == h.src_cid);
  CHECK(back.dst_port == 8443);
  CHECK(back.fwd_cnt == 0xdeadbeef);
  CHECK(back.op == 5);
}

TEST_CASE("vsock header: what the bridge refuses from a guest") {
  VsockHeader h;
  h.src_cid = 16;
  h.dst_cid = 3;
  h.op = static_cast<std::uint16_t>(VsockOp::rw);
  h.len = 100;
  CHECK(check_guest_header(h, 16, 100).empty());
  CHECK(check_guest_header(h, 17, 100).find("src_cid 16") != std::string::npos);
  CHECK(check_guest_header(h, 16, 99).find("carry 99") != std::string::npos);
  h.len = kVsockMaxPayload + 1;
  CHECK(check_guest_header(h, 16, 1 << 20).find("above") != std::string::npos);
  h.len = 0;
  h.op = 0;
  CHECK(check_guest_header(h, 16, 0).find("unknown op 0") != std::string::npos);
  h.op = 8;
  CHECK(check_guest_header(h, 16, 0).find("unknown op 8") != std::string::npos);
  h.op = static_cast<std::uint16_t>(VsockOp::request);
  h.len = 4;
  CHECK(check_guest_header(h, 16, 4).find("payload of 4 bytes on a REQUEST") != std::string::npos);
}

TEST_CASE("vsock credit: peer_free, wrap-around, update threshold, overrun") {
  VsockCredit c;
  c.buf_alloc = 1 << 20;
  VsockHeader g;
  g.buf_alloc = 262144;
  g.fwd_cnt = 0;
  c.take_peer(g);
  CHECK(c.peer_free() == 262144);
  c.tx_cnt = 200000;
  CHECK(c.peer_free() == 62144);
  c.tx_cnt = 262144;
  CHECK(c.peer_free() == 0);
  c.tx_cnt = 300000;  // a peer that shrank its buffer: no credit, not a huge one
  CHECK(c.peer_free() == 0);
  // Counters wrap mod 2^32 (spec: free = buf_alloc - (tx_cnt - peer_fwd_cnt)).
  c.tx_cnt = 0x00000010u;
  g.fwd_cnt = 0xfffffff0u;
  c.take_peer(g);
  CHECK(c.peer_free() == 262144 - 0x20);

  // Our side: an update is due after 64 KiB delivered unannounced (or half a small buffer).
  c.fwd_cnt = 65535;
  CHECK_FALSE(c.update_due());
  c.fwd_cnt = 65536;
  CHECK(c.update_due());
  VsockHeader out;
  c.stamp(out);
  CHECK(out.fwd_cnt == 65536);
  CHECK(out.buf_alloc == 1u << 20);
  CHECK_FALSE(c.update_due());
  VsockCredit small;
  small.buf_alloc = 8192;
  small.fwd_cnt = 4096;
  CHECK(small.update_due());
  small.rx_cnt = 4096 + 8192;
  CHECK_FALSE(small.overrun());
  small.rx_cnt += 1;
  CHECK(small.overrun());
}
