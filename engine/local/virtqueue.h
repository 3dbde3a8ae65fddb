#pragma once
// A split virtqueue (virtio spec 1.2, 2.7) seen from the device: take
// available descriptor chains, give them back as used. No EVENT_IDX and no
// indirect descriptors (this back end does not offer them). Every index and
// address coming from the guest is checked; a bad chain is reported, not
// followed.

#include <cstdint>
#include <string>
#include <vector>

#include "engine/local/guest_memory.h"

namespace ef::engine::local {

/// One buffer of a chain, already translated to host memory.
struct Segment {
  std::uint8_t* data;
  std::uint32_t len;
};

struct Chain {
  std::uint16_t head = 0;
  std::vector<Segment> readable;  ///< device reads (driver → device)
  std::vector<Segment> writable;  ///< device writes (device → driver)
  std::string error;              ///< non-empty: the chain is malformed (give it back with len 0)
  std::size_t readable_bytes() const;
  std::size_t writable_bytes() const;
};

class Virtqueue {
 public:
  static constexpr std::uint16_t kDescFNext = 1, kDescFWrite = 2, kDescFIndirect = 4;
  static constexpr std::uint16_t kAvailFNoInterrupt = 1;

  /// Ring size (SET_VRING_NUM): a power of two, 1..32768.
  void set_num(std::uint32_t num);
  /// The next avail index to read (SET_VRING_BASE).
  void set_base(std::uint16_t base) { last_avail_ = base; }
  std::uint16_t base() const { return last_avail_; }
  /// Translates the three rings' front-end addresses; throws Error when they
  /// do not lie in guest memory.
  void set_addr(const GuestMemory& mem, std::uint64_t desc_uva, std::uint64_t avail_uva, std::uint64_t used_uva);
  /// Same, with host pointers (tests).
  void set_rings(std::uint8_t* desc, std::uint8_t* avail, std::uint8_t* used);
  void set_enabled(bool on) { enabled_ = on; }
  void stop() { desc_ = avail_ = used_ = nullptr; }
  bool ready() const { return enabled_ && desc_ && avail_ && used_ && num_; }
  std::uint16_t num() const { return num_; }

  /// Takes the next available chain into `out`; false if none is available.
  bool pop(const GuestMemory& mem, Chain& out);
  /// Gives back the last `n` popped chains, unused, in reverse order.
  void unpop(std::uint16_t n) { last_avail_ = static_cast<std::uint16_t>(last_avail_ - n); }
  /// Returns chain `head` to the driver with `len` bytes written.
  void push(std::uint16_t head, std::uint32_t len);
  /// Whether the driver wants an interrupt now (avail flags); call after pushes.
  bool should_notify() const;
  std::uint16_t available() const;

 private:
  std::uint16_t num_ = 0;
  std::uint16_t last_avail_ = 0;
  bool enabled_ = false;
  std::uint8_t* desc_ = nullptr;
  std::uint8_t* avail_ = nullptr;
  std::uint8_t* used_ = nullptr;
};

}  // namespace ef::engine::local
