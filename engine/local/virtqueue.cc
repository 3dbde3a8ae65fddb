#include "engine/local/virtqueue.h"

#include <atomic>

#include "base/error.h"
#include "engine/local/le.h"

namespace ef::engine::local {
namespace {

// avail: le16 flags, le16 idx, le16 ring[num]; used: le16 flags, le16 idx, {le32 id, le32 len}[num].
std::uint16_t load_idx(const std::uint8_t* ring) {
  std::uint16_t v = std::atomic_ref<const std::uint16_t>(*reinterpret_cast<const std::uint16_t*>(ring + 2))
                        .load(std::memory_order_acquire);
  return v;
}

}  // namespace

std::size_t Chain::readable_bytes() const {
  std::size_t n = 0;
  for (const Segment& s : readable) n += s.len;
  return n;
}
std::size_t Chain::writable_bytes() const {
  std::size_t n = 0;
  for (const Segment& s : writable) n += s.len;
  return n;
}

void Virtqueue::set_num(std::uint32_t num) {
  if (num == 0 || num > 32768 || (num & (num - 1)))
    throw Error("SET_VRING_NUM: ring size " + std::to_string(num) + " is not a power of two in 1..32768");
  num_ = static_cast<std::uint16_t>(num);
}

void Virtqueue::set_addr(const GuestMemory& mem, std::uint64_t desc_uva, std::uint64_t avail_uva,
                         std::uint64_t used_uva) {
  if (!num_) throw Error("SET_VRING_ADDR before SET_VRING_NUM");
  std::uint8_t* d = mem.uva_to_host(desc_uva, 16ull * num_);
  std::uint8_t* a = mem.uva_to_host(avail_uva, 4ull + 2ull * num_);
  std::uint8_t* u = mem.uva_to_host(used_uva, 4ull + 8ull * num_);
  if (!d || !a || !u) throw Error("SET_VRING_ADDR: a ring lies outside the guest memory table");
  if ((reinterpret_cast<std::uintptr_t>(a) & 1) || (reinterpret_cast<std::uintptr_t>(u) & 3))
    throw Error("SET_VRING_ADDR: misaligned avail or used ring");
  set_rings(d, a, u);
}

void Virtqueue::set_rings(std::uint8_t* desc, std::uint8_t* avail, std::uint8_t* used) {
  desc_ = desc;
  avail_ = avail;
  used_ = used;
}

std::uint16_t Virtqueue::available() const {
  if (!ready()) return 0;
  return static_cast<std::uint16_t>(load_idx(avail_) - last_avail_);
}

bool Virtqueue::pop(const GuestMemory& mem, Chain& out) {
  if (!ready()) return false;
  std::uint16_t avail_idx = load_idx(avail_);
  if (avail_idx == last_avail_) return false;
  if (static_cast<std::uint16_t>(avail_idx - last_avail_) > num_) {
    // The driver claims more buffers than the ring holds: take one at a time,
    // but report it; every head is still checked below.
    out.error = "avail idx " + std::to_string(avail_idx) + " runs ahead of " + std::to_string(last_avail_) +
                " by more than the ring size";
  } else {
    out.error.clear();
  }
  std::uint16_t head = get_le16(avail_ + 4 + 2 * (last_avail_ % num_));
  ++last_avail_;
  out.head = head;
  out.readable.clear();
  out.writable.clear();
  if (!out.error.empty()) return true;
  if (head >= num_) {
    out.error = "head descriptor " + std::to_string(head) + " beyond ring size " + std::to_string(num_);
    return true;
  }
  std::uint16_t i = head;
  for (std::uint32_t hops = 0;; ++hops) {
    if (hops >= num_) {
      out.error = "descriptor chain from " + std::to_string(head) + " loops";
      return true;
    }
    const std::uint8_t* d = desc_ + 16 * i;
    std::uint64_t addr = get_le64(d);
    std::uint32_t len = get_le32(d + 8);
    std::uint16_t flags = get_le16(d + 12);
    std::uint16_t next = get_le16(d + 14);
    if (flags & kDescFIndirect) {
      out.error = "indirect descriptor " + std::to_string(i) + " (not negotiated)";
      return true;
    }
    std::uint8_t* host = len ? mem.gpa_to_host(addr, len) : nullptr;
    if (len && !host) {
      out.error = "descriptor " + std::to_string(i) + " points outside guest memory";
      return true;
    }
    if (flags & kDescFWrite) {
      out.writable.push_back({host, len});
    } else {
      if (!out.writable.empty()) {
        out.error = "readable descriptor " + std::to_string(i) + " after a writable one";
        return true;
      }
      out.readable.push_back({host, len});
    }
    if (!(flags & kDescFNext)) break;
    if (next >= num_) {
      out.error = "descriptor " + std::to_string(i) + " links to " + std::to_string(next) + " beyond the ring";
      return true;
    }
    i = next;
  }
  return true;
}

void Virtqueue::push(std::uint16_t head, std::uint32_t len) {
  if (!ready()) return;
  auto* idx = reinterpret_cast<std::uint16_t*>(used_ + 2);
  std::uint16_t used_idx = std::atomic_ref<std::uint16_t>(*idx).load(std::memory_order_relaxed);
  std::uint8_t* e = used_ + 4 + 8 * (used_idx % num_);
  put_le32(e, head);
  put_le32(e + 4, len);
  std::atomic_ref<std::uint16_t>(*idx).store(static_cast<std::uint16_t>(used_idx + 1), std::memory_order_release);
}

bool Virtqueue::should_notify() const {
  if (!ready()) return false;
  std::atomic_thread_fence(std::memory_order_seq_cst);
  return !(get_le16(avail_) & kAvailFNoInterrupt);
}

}  // namespace ef::engine::local
