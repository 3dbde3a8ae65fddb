#pragma once
// The Nitro allocator's view of this host, read through a filesystem root
// (tests point it at a fake tree): /etc/nitro_enclaves/allocator.yaml, the
// enclave CPU pool (/sys/module/nitro_enclaves/parameters/ne_cpus, CPUs
// taken offline in /sys/devices/system/cpu/cpuN/online) and hugepages
// (/sys/kernel/mm/hugepages/hugepages-*kB/{nr,free}_hugepages).

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>

namespace ef::engine::nitro {

struct AllocatorConfig {
  std::uint64_t memory_mib = 0;
  std::optional<unsigned> cpu_count;
  std::set<unsigned> cpu_pool;  ///< when cpu_pool: is set
};

/// "2,3,6-9" → {2,3,6,7,8,9}; throws Error naming the text.
std::set<unsigned> parse_cpu_list(std::string_view text);
std::string format_cpu_list(const std::set<unsigned>& cpus);

/// Reads ROOT/etc/nitro_enclaves/allocator.yaml (errors: file:line: key).
AllocatorConfig read_allocator_config(const std::filesystem::path& root);

struct HostResources {
  std::set<unsigned> pool;                    ///< ne_cpus
  std::set<unsigned> online_in_pool;          ///< pool CPUs still online (misconfigured)
  std::map<std::uint64_t, std::uint64_t> free_pages;  ///< page size kB → free pages
  std::map<std::uint64_t, std::uint64_t> total_pages; ///< page size kB → nr_hugepages
  std::uint64_t free_mib() const;
};

/// Reads the pool and hugepages under `root`; throws Error naming the file
/// when the nitro_enclaves driver is absent.
HostResources read_host_resources(const std::filesystem::path& root);

/// Throws Error naming the missing cores or hugepages when an enclave of
/// `cpus` / `memory_mib` does not fit next to enclaves using `used_cpus`.
/// Nitro gives an enclave whole cores: `cpus` must be even on hosts with SMT
/// (the caller passes `smt`).
void check_fits(const HostResources& host, const std::optional<AllocatorConfig>& config, unsigned cpus,
                std::uint64_t memory_mib, const std::set<unsigned>& used_cpus, bool smt);

}  // namespace ef::engine::nitro
