#include "engine/local/guest_memory.h"

#include <sys/mman.h>

#include "base/error.h"

namespace ef::engine::local {

void GuestMemory::clear() {
  for (Region& r : regions_)
    if (r.map_base) ::munmap(r.map_base, r.map_len);
  regions_.clear();
}

void GuestMemory::map(const MemTable& table, std::vector<UniqueFd>& fds) {
  if (fds.size() != table.regions.size())
    throw Error("SET_MEM_TABLE: " + std::to_string(table.regions.size()) + " regions but " +
                std::to_string(fds.size()) + " fds");
  std::vector<Region> fresh;
  try {
    for (std::size_t i = 0; i < table.regions.size(); ++i) {
      const MemRegion& m = table.regions[i];
      std::size_t len = m.mmap_offset + m.memory_size;
      void* base = ::mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, fds[i].get(), 0);
      if (base == MAP_FAILED) throw_errno("mmap", "guest memory region " + std::to_string(i));
      fresh.push_back({m.guest_phys_addr, m.userspace_addr, m.memory_size,
                       static_cast<std::uint8_t*>(base) + m.mmap_offset, base, len});
    }
  } catch (...) {
    for (Region& r : fresh) ::munmap(r.map_base, r.map_len);
    throw;
  }
  clear();
  regions_ = std::move(fresh);
}

void GuestMemory::add_local(std::uint64_t gpa, std::uint64_t uva, std::uint8_t* host, std::size_t size) {
  regions_.push_back({gpa, uva, size, host, nullptr, 0});
}

std::uint8_t* GuestMemory::gpa_to_host(std::uint64_t gpa, std::uint64_t len) const {
  for (const Region& r : regions_)
    if (gpa >= r.gpa && gpa - r.gpa <= r.size && len <= r.size - (gpa - r.gpa)) return r.host + (gpa - r.gpa);
  return nullptr;
}

std::uint8_t* GuestMemory::uva_to_host(std::uint64_t uva, std::uint64_t len) const {
  for (const Region& r : regions_)
    if (uva >= r.uva && uva - r.uva <= r.size && len <= r.size - (uva - r.uva)) return r.host + (uva - r.uva);
  return nullptr;
}

}  // namespace ef::engine::local
