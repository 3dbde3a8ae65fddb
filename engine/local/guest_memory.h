#pragma once
// The guest's RAM as the front end shares it (SET_MEM_TABLE): regions mapped
// into this process, and the two translations the rings need: guest-physical
// addresses (descriptors) and front-end virtual addresses (SET_VRING_ADDR).

#include <cstddef>
#include <cstdint>
#include <vector>

#include "base/fd.h"
#include "engine/local/vhost_user_protocol.h"

namespace ef::engine::local {

class GuestMemory {
 public:
  GuestMemory() = default;
  GuestMemory(const GuestMemory&) = delete;
  GuestMemory& operator=(const GuestMemory&) = delete;
  ~GuestMemory() { clear(); }

  /// Maps every region of `table` (fds in the same order, MAP_SHARED) and
  /// replaces the previous mapping. Throws SysError naming the region.
  void map(const MemTable& table, std::vector<UniqueFd>& fds);

  /// For tests: regions that already live in this process (no mmap).
  void add_local(std::uint64_t guest_phys_addr, std::uint64_t userspace_addr, std::uint8_t* host, std::size_t size);

  /// Host pointer for [gpa, gpa+len) if the range lies inside one region, else nullptr.
  std::uint8_t* gpa_to_host(std::uint64_t gpa, std::uint64_t len) const;
  /// Host pointer for the front end's virtual range [uva, uva+len), else nullptr.
  std::uint8_t* uva_to_host(std::uint64_t uva, std::uint64_t len) const;

  bool empty() const { return regions_.empty(); }
  void clear();

 private:
  struct Region {
    std::uint64_t gpa, uva, size;
    std::uint8_t* host;
    void* map_base;  // nullptr for add_local
    std::size_t map_len;
  };
  std::vector<Region> regions_;
};

}  // namespace ef::engine::local
