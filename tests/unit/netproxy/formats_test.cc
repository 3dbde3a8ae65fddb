// Header, UDP framing, endpoints: expected bytes written by hand from the
// format definitions (Rust's u32::from(Ipv4Addr).to_le_bytes(), RFC 1035 4.2.2).
#include <arpa/inet.h>

#include <catch2/catch.hpp>

#include "base/error.h"
#include "netproxy/endpoint.h"
#include "netproxy/header.h"
#include "netproxy/udp_frame.h"

using namespace ef;
using namespace ef::netproxy;

namespace {
OriginalDst v4(std::uint8_t a, std::uint8_t b, std::uint8_t c, std::uint8_t d, std::uint16_t port) {
  OriginalDst o;
  o.address = {a, b, c, d};
  o.port = port;
  return o;
}
OriginalDst parse_all(const std::vector<std::uint8_t>& bytes) {
  HeaderParser p;
  std::size_t i = 0;
  while (!p.done()) {
    std::size_t n = p.needed();
    p.feed({bytes.data() + i, n});
    i += n;
  }
  REQUIRE(i == bytes.size());
  return p.result();
}
}  // namespace

TEST_CASE("IPv4 header matches the Rust proxies' bytes") {
  // 1.2.3.4 as u32 = 0x01020304, little-endian 04 03 02 01; port 443 = 0x01bb → bb 01.
  std::vector<std::uint8_t> expected = {4, 0x04, 0x03, 0x02, 0x01, 0xbb, 0x01};
  CHECK(encode_header(v4(1, 2, 3, 4, 443)) == expected);
  CHECK(parse_all(expected) == v4(1, 2, 3, 4, 443));
  CHECK(parse_all(expected).to_string() == "1.2.3.4:443");
}

TEST_CASE("IPv6 header is the address as a little-endian u128") {
  OriginalDst d;
  d.version = 6;
  REQUIRE(inet_pton(AF_INET6, "2001:db8::1", d.address.data()) == 1);
  d.port = 8080;  // 0x1f90
  std::vector<std::uint8_t> expected = {6, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xb8, 0x0d, 0x01, 0x20, 0x90, 0x1f};
  CHECK(encode_header(d) == expected);
  CHECK(parse_all(expected) == d);
  CHECK(parse_all(expected).to_string() == "[2001:db8::1]:8080");
}

TEST_CASE("header parser rejects an unknown family and never over-reads") {
  HeaderParser p;
  CHECK(p.needed() == 1);
  std::uint8_t bad = 5;
  CHECK_THROWS_AS(p.feed({&bad, 1}), FormatError);
  HeaderParser q;
  std::uint8_t four = 4;
  q.feed({&four, 1});
  CHECK(q.needed() == 6);
  std::uint8_t seven[7] = {};
  CHECK_THROWS(q.feed({seven, 7}));
}

TEST_CASE("IPv4-mapped IPv6 destinations travel as IPv4") {
  std::uint8_t mapped[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 0, 0, 7};
  OriginalDst d = OriginalDst::from_sockaddr(inet_address(mapped, 16, 53));
  CHECK(d == v4(10, 0, 0, 7, 53));
}

TEST_CASE("UDP frames: u16 big-endian length, any split") {
  std::string wire;
  std::vector<std::uint8_t> a = {'d', 'n', 's'}, empty, big(300, 0x5a);
  append_frame(wire, a);
  append_frame(wire, empty);
  append_frame(wire, big);
  REQUIRE(wire.size() == 2 + 3 + 2 + 2 + 300);
  CHECK(static_cast<unsigned char>(wire[0]) == 0x00);
  CHECK(static_cast<unsigned char>(wire[1]) == 0x03);
  CHECK(static_cast<unsigned char>(wire[7]) == 0x01);  // 300 = 0x012c
  CHECK(static_cast<unsigned char>(wire[8]) == 0x2c);
  for (std::size_t split = 1; split <= wire.size(); split += 7) {
    FrameParser p;
    std::vector<std::vector<std::uint8_t>> got;
    auto cb = [&](std::span<const std::uint8_t> d) { got.emplace_back(d.begin(), d.end()); };
    const auto* bytes = reinterpret_cast<const std::uint8_t*>(wire.data());
    for (std::size_t off = 0; off < wire.size(); off += split)
      p.feed({bytes + off, std::min(split, wire.size() - off)}, cb);
    REQUIRE(got.size() == 3);
    CHECK(got[0] == a);
    CHECK(got[1].empty());
    CHECK(got[2] == big);
    CHECK(p.pending() == 0);
  }
  std::vector<std::uint8_t> too_big(65536);
  CHECK_THROWS(append_frame(wire, too_big));
}

TEST_CASE("endpoint grammar") {
  CHECK(parse_endpoint("tcp:127.0.0.1:80").to_string() == "tcp:127.0.0.1:80");
  CHECK(parse_endpoint("tcp:[::1]:443").host == "::1");
  CHECK(parse_endpoint("tcp:[::1]:443").to_string() == "tcp:[::1]:443");
  Endpoint v = parse_endpoint("vsock:any:9000");
  CHECK(v.transport == Transport::kVsock);
  CHECK(v.cid == kVsockCidAny);
  CHECK(parse_endpoint("vsock:16:5").cid == 16);
  CHECK(parse_endpoint("unix:/run/x.sock").path == "/run/x.sock");
  CHECK(parse_endpoint("udp:0.0.0.0:53").transport == Transport::kUdp);
  CHECK_THROWS_WITH(parse_endpoint("sctp:1:2"), Catch::Contains("unknown transport"));
  CHECK_THROWS_WITH(parse_endpoint("tcp:1.2.3.4:99999"), Catch::Contains("bad port"));
  CHECK_THROWS_WITH(parse_endpoint("vsock:3"), Catch::Contains("vsock:CID:PORT"));
  CHECK_THROWS(parse_endpoint("tcp:[::1:80"));
  CHECK(resolve(parse_endpoint("tcp:10.1.2.3:8080")).to_string() == "10.1.2.3:8080");
  CHECK(resolve(parse_endpoint("vsock:3:9000")).to_string() == "vsock:3:9000");
  CHECK(resolve(parse_endpoint("unix:@abstract")).to_string() == "unix:@abstract");
}
