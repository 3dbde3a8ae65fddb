// The vsock device behind the bridge, driven by a fake guest driver that lays
// out split virtqueues in a buffer exactly as the virtio spec (2.7) says, and
// by real unix sockets on the host side.
#include <catch2/catch.hpp>

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <string>

#include "base/error.h"
#include "engine/local/le.h"
#include "engine/local/vsock_device.h"

using namespace ef;
using namespace ef::engine::local;
namespace fs = std::filesystem;

namespace {

constexpr std::uint64_t kGpa = 0x40000000;  // where the fake guest RAM starts
constexpr std::uint16_t kNum = 64;

/// One queue as a driver sees it: desc table, avail ring, used ring.
struct DriverQueue {
  std::uint8_t* base;  // host pointer of this queue's ring area
  std::uint64_t gpa;   // its guest address
  std::uint16_t avail_idx = 0, used_seen = 0;
  std::uint8_t* desc() { return base; }
  std::uint8_t* avail() { return base + 16 * kNum; }
  std::uint8_t* used() { return base + 0x1000; }
  void set_desc(std::uint16_t i, std::uint64_t addr, std::uint32_t len, std::uint16_t flags, std::uint16_t next) {
    std::uint8_t* d = desc() + 16 * i;
    put_le64(d, addr);
    put_le32(d + 8, len);
    put_le16(d + 12, flags);
    put_le16(d + 14, next);
  }
  void publish(std::uint16_t head) {
    put_le16(avail() + 4 + 2 * (avail_idx % kNum), head);
    ++avail_idx;
    put_le16(avail() + 2, avail_idx);
  }
  bool take_used(std::uint32_t& id, std::uint32_t& len) {
    if (get_le16(used() + 2) == used_seen) return false;
    std::uint8_t* e = used() + 4 + 8 * (used_seen % kNum);
    id = get_le32(e);
    len = get_le32(e + 4);
    ++used_seen;
    return true;
  }
};

struct Packet {
  VsockHeader h;
  std::string payload;
};

struct Guest {
  std::vector<std::uint8_t> ram = std::vector<std::uint8_t>(4 << 20);
  GuestMemory mem;
  DriverQueue rxq{ram.data(), kGpa}, txq{ram.data() + 0x4000, kGpa + 0x4000};
  Virtqueue rx, tx;
  static constexpr std::size_t kRxBuf = 4096;  // payload bytes per receive buffer
  std::uint64_t rx_area = 0x10000, tx_area = 0x200000;
  std::uint16_t tx_next = 0;

  Guest() {
    mem.add_local(kGpa, 0x7f0000000000ull, ram.data(), ram.size());
    for (auto* q : {&rx, &tx}) {
      q->set_num(kNum);
      q->set_enabled(true);
    }
    rx.set_rings(rxq.desc(), rxq.avail(), rxq.used());
    tx.set_rings(txq.desc(), txq.avail(), txq.used());
  }
  /// Receive buffer `i` (i < 32): a 44-byte header descriptor and a data one, as Linux 6.1 posts them.
  void post_rx(std::uint16_t i) {
    std::uint64_t hdr = kGpa + rx_area + i * (44 + kRxBuf);
    rxq.set_desc(2 * i, hdr, 44, Virtqueue::kDescFWrite | Virtqueue::kDescFNext, 2 * i + 1);
    rxq.set_desc(2 * i + 1, hdr + 44, kRxBuf, Virtqueue::kDescFWrite, 0);
    rxq.publish(2 * i);
  }
  /// Takes every used receive buffer as a packet (and posts it again).
  std::vector<Packet> received() {
    std::vector<Packet> out;
    std::uint32_t id, len;
    while (rxq.take_used(id, len)) {
      REQUIRE(len >= 44);
      std::uint8_t* p = ram.data() + rx_area + (id / 2) * (44 + kRxBuf);
      Packet pk{decode_header(std::span<const std::uint8_t, 44>(p, 44)), std::string()};
      REQUIRE(len == 44 + pk.h.len);
      pk.payload.assign(reinterpret_cast<char*>(p + 44), pk.h.len);
      out.push_back(pk);
      post_rx(static_cast<std::uint16_t>(id / 2));
    }
    return out;
  }
  /// Queues one packet on TX (header and payload in two descriptors).
  void send(VsockHeader h, const std::string& payload = "") {
    h.len = static_cast<std::uint32_t>(payload.size());
    std::uint16_t slot = tx_next++ % 32;
    std::uint64_t at = tx_area + slot * (44 + 65536);
    encode_header(h, std::span<std::uint8_t, 44>(ram.data() + at, 44));
    std::memcpy(ram.data() + at + 44, payload.data(), payload.size());
    bool more = !payload.empty();
    txq.set_desc(2 * slot, kGpa + at, 44, more ? Virtqueue::kDescFNext : 0, 2 * slot + 1);
    if (more) txq.set_desc(2 * slot + 1, kGpa + at + 44, static_cast<std::uint32_t>(payload.size()), 0, 0);
    txq.publish(2 * slot);
  }
};

VsockHeader from_guest(VsockOp op, std::uint32_t src_port, std::uint32_t dst_port, std::uint32_t buf_alloc,
                       std::uint32_t fwd_cnt, std::uint64_t dst_cid = 3) {
  VsockHeader h;
  h.src_cid = 16;
  h.dst_cid = dst_cid;
  h.src_port = src_port;
  h.dst_port = dst_port;
  h.op = static_cast<std::uint16_t>(op);
  h.buf_alloc = buf_alloc;
  h.fwd_cnt = fwd_cnt;
  return h;
}

UniqueFd unix_connect(const fs::path& p) {
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::strcpy(a.sun_path, p.c_str());
  REQUIRE(::connect(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  return fd;
}

UniqueFd unix_listen(const fs::path& p) {
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::strcpy(a.sun_path, p.c_str());
  REQUIRE(::bind(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  REQUIRE(::listen(fd.get(), 4) == 0);
  return fd;
}

std::string read_n(int fd, std::size_t n) {
  std::string s(n, '\0');
  std::size_t got = 0;
  while (got < n) {
    ssize_t r = ::read(fd, s.data() + got, n - got);
    REQUIRE(r > 0);
    got += static_cast<std::size_t>(r);
  }
  return s;
}

struct Fixture {
  fs::path dir = fs::temp_directory_path() / ("ef-vsock-test-" + std::to_string(::getpid()));
  EventLoop loop;
  Guest g;
  int notified = 0;
  std::unique_ptr<VsockDevice> dev;
  Fixture() {
    fs::remove_all(dir);
    fs::create_directories(dir);
    VsockDeviceConfig c;
    c.guest_cid = 16;
    c.uds = dir / "v.sock";
    c.buf_alloc = 65536;
    dev = std::make_unique<VsockDevice>(loop, g.mem, g.rx, g.tx, c, [this](int) { ++notified; });
    dev->listen();
    for (std::uint16_t i = 0; i < 32; ++i) g.post_rx(i);
  }
  ~Fixture() {
    dev.reset();
    fs::remove_all(dir);
  }
  void pump(int rounds = 5) {
    for (int i = 0; i < rounds; ++i) loop.run_once(20);
  }
  std::vector<Packet> guest_gets() {
    dev->process_rx();
    return g.received();
  }
};

}  // namespace

TEST_CASE("bridge: host CONNECT, guest RESPONSE, data both ways within the guest's credit") {
  Fixture f;
  UniqueFd host = unix_connect(f.dir / "v.sock");
  REQUIRE(::write(host.get(), "CONNECT 5000\n", 13) == 13);
  f.pump();
  auto pk = f.guest_gets();
  REQUIRE(pk.size() == 1);
  CHECK(pk[0].h.op == static_cast<std::uint16_t>(VsockOp::request));
  CHECK(pk[0].h.src_cid == 3);  // the host appears as the Nitro parent
  CHECK(pk[0].h.dst_cid == 16);
  CHECK(pk[0].h.dst_port == 5000);
  CHECK(pk[0].h.buf_alloc == 65536);
  CHECK(f.notified > 0);
  std::uint32_t host_port = pk[0].h.src_port;

  // The guest accepts with an 8 KiB receive buffer.
  f.g.send(from_guest(VsockOp::response, 5000, host_port, 8192, 0));
  f.dev->process_tx();
  std::string ok = "OK " + std::to_string(host_port) + "\n";
  CHECK(read_n(host.get(), ok.size()) == ok);

  std::string data(20000, '\0');
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 7 + 3);
  REQUIRE(::write(host.get(), data.data(), data.size()) == static_cast<ssize_t>(data.size()));
  f.pump();
  std::string got;
  for (const Packet& p : f.guest_gets()) {
    CHECK(p.h.op == static_cast<std::uint16_t>(VsockOp::rw));
    CHECK(p.h.len <= Guest::kRxBuf);
    got += p.payload;
  }
  CHECK(got == data.substr(0, 8192));  // exactly the credit, no more

  // The guest consumed it: a CREDIT_UPDATE lets the next 8 KiB through.
  f.g.send(from_guest(VsockOp::credit_update, 5000, host_port, 8192, 8192));
  f.dev->process_tx();
  f.pump();
  for (const Packet& p : f.guest_gets()) got += p.payload;
  CHECK(got == data.substr(0, 16384));
  // Credit also rides on data packets (Linux rarely sends CREDIT_UPDATE).
  f.g.send(from_guest(VsockOp::rw, 5000, host_port, 8192, 16384), "pong");
  f.dev->process_tx();
  CHECK(read_n(host.get(), 4) == "pong");
  f.pump();
  for (const Packet& p : f.guest_gets()) got += p.payload;
  CHECK(got == data);

  // Guest closes both ways: the bridge answers RST and the host sees EOF.
  VsockHeader shut = from_guest(VsockOp::shutdown, 5000, host_port, 8192, 20000);
  shut.flags = kShutdownRcv | kShutdownSend;
  f.g.send(shut);
  f.dev->process_tx();
  bool rst = false;
  for (const Packet& p : f.guest_gets()) rst |= p.h.op == static_cast<std::uint16_t>(VsockOp::rst);
  CHECK(rst);
  char c;
  CHECK(::read(host.get(), &c, 1) == 0);
  CHECK(f.dev->connection_count() == 0);
}

TEST_CASE("bridge: guest → host connections go to UDS_<port> or are reset") {
  Fixture f;
  UniqueFd listener = unix_listen(f.dir / "v.sock_7000");
  f.g.send(from_guest(VsockOp::request, 1234, 7000, 262144, 0, 3));
  f.g.send(from_guest(VsockOp::request, 1235, 7001, 262144, 0, 2));   // nobody listens
  f.g.send(from_guest(VsockOp::request, 1236, 7000, 262144, 0, 99));  // not the host
  f.dev->process_tx();
  auto pk = f.guest_gets();
  REQUIRE(pk.size() == 3);
  CHECK(pk[0].h.op == static_cast<std::uint16_t>(VsockOp::response));
  CHECK(pk[0].h.src_cid == 3);
  CHECK(pk[0].h.dst_port == 1234);
  CHECK(pk[1].h.op == static_cast<std::uint16_t>(VsockOp::rst));
  CHECK(pk[1].h.src_cid == 2);
  CHECK(pk[1].h.dst_port == 1235);
  CHECK(pk[2].h.op == static_cast<std::uint16_t>(VsockOp::rst));
  UniqueFd peer(::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
  REQUIRE(peer.valid());
  f.g.send(from_guest(VsockOp::rw, 1234, 7000, 262144, 0, 3), "hello host");
  f.dev->process_tx();
  CHECK(read_n(peer.get(), 10) == "hello host");
  REQUIRE(::write(peer.get(), "hi", 2) == 2);
  f.pump();
  pk = f.guest_gets();
  REQUIRE(pk.size() == 1);
  CHECK(pk[0].payload == "hi");
  CHECK(pk[0].h.fwd_cnt == 10);  // what the bridge delivered so far
  // Host closes: the guest learns that no more data comes (SHUTDOWN SEND).
  peer.reset();
  f.pump();
  pk = f.guest_gets();
  REQUIRE(!pk.empty());
  CHECK(pk[0].h.op == static_cast<std::uint16_t>(VsockOp::shutdown));
  CHECK(pk[0].h.flags == kShutdownSend);
}

TEST_CASE("bridge: hostile guest input is refused, not followed") {
  Fixture f;
  // A packet with a foreign source CID, an unknown op, a length beyond the descriptors.
  VsockHeader bad = from_guest(VsockOp::rw, 1, 2, 0, 0);
  bad.src_cid = 99;
  f.g.send(bad, "x");
  VsockHeader unknown = from_guest(VsockOp::rw, 1, 2, 0, 0);
  unknown.op = 42;
  f.g.send(unknown);
  f.dev->process_tx();
  CHECK(f.dev->stats().bad_packets == 2);
  // A descriptor pointing outside guest memory, and a chain that loops.
  f.g.txq.set_desc(60, 0x10, 44, 0, 0);
  f.g.txq.publish(60);
  f.g.txq.set_desc(61, kGpa, 8, Virtqueue::kDescFNext, 62);
  f.g.txq.set_desc(62, kGpa, 8, Virtqueue::kDescFNext, 61);
  f.g.txq.publish(61);
  f.g.txq.publish(200);  // head beyond the ring
  f.dev->process_tx();
  CHECK(f.dev->stats().bad_packets == 5);
  // Every chain was still given back.
  std::uint32_t id, len, n = 0;
  while (f.g.txq.take_used(id, len)) ++n;
  CHECK(n == 5);
  // A host client with a malformed first line is told so.
  UniqueFd host = unix_connect(f.dir / "v.sock");
  REQUIRE(::write(host.get(), "HELLO\n", 6) == 6);
  f.pump();
  char buf[64] = {};
  CHECK(::read(host.get(), buf, sizeof buf) > 0);
  CHECK(std::string(buf).find("ERROR") == 0);
}
