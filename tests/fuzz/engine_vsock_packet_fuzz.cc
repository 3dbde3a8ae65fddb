// A hostile guest: the input is the guest's RAM, holding the TX and RX rings
// (descriptor tables, avail indices and heads) and the packets they point at.
// The device must give every chain back and never touch memory outside it.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "base/error.h"
#include "engine/local/event_loop.h"
#include "engine/local/guest_memory.h"
#include "engine/local/le.h"
#include "engine/local/virtqueue.h"
#include "engine/local/vsock_device.h"
#include "engine/local/vsock_packet.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace ef::engine::local;
  constexpr std::size_t kRam = 1 << 16;
  constexpr std::uint64_t kGpa = 0x10000;
  constexpr std::uint16_t kNum = 16;
  // Header bytes on their own: decode → encode is the identity.
  if (size >= kVsockHeaderSize) {
    std::uint8_t again[kVsockHeaderSize];
    encode_header(decode_header(std::span<const std::uint8_t, kVsockHeaderSize>(data, kVsockHeaderSize)), again);
    if (std::memcmp(again, data, kVsockHeaderSize) != 0) std::abort();
  }
  std::vector<std::uint8_t> ram(kRam);
  std::memcpy(ram.data(), data, std::min(size, kRam));
  GuestMemory mem;
  mem.add_local(kGpa, 0, ram.data(), ram.size());
  Virtqueue rx, tx;
  rx.set_num(kNum);
  tx.set_num(kNum);
  // TX rings at 0x0000 (desc), 0x0100 (avail), 0x0200 (used); RX at 0x1000…
  tx.set_rings(ram.data(), ram.data() + 0x100, ram.data() + 0x200);
  rx.set_rings(ram.data() + 0x1000, ram.data() + 0x1100, ram.data() + 0x1200);
  // The used rings start where the device expects them.
  ef::engine::local::put_le16(ram.data() + 0x202, 0);
  ef::engine::local::put_le16(ram.data() + 0x1202, 0);
  tx.set_enabled(true);
  rx.set_enabled(true);
  EventLoop loop;
  VsockDeviceConfig cfg;
  cfg.guest_cid = 16;
  cfg.uds = "/nonexistent-ef-fuzz/v.sock";
  cfg.buf_alloc = 8192;
  VsockDevice dev(loop, mem, rx, tx, cfg, [](int) {});
  std::uint16_t before = tx.available();
  dev.process_tx();
  dev.process_rx();
  dev.tick();
  // Every TX chain that was available has been returned.
  std::uint16_t used = ef::engine::local::get_le16(ram.data() + 0x202);
  if (before <= kNum && used != before) std::abort();
  return 0;
}
