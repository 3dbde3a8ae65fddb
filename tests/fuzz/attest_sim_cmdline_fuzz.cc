// Fuzzes the simulated NSM's kernel-command-line PCR source (ef.pcrN=HEX words).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "attest/sim_nsm.h"
#include "base/error.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    auto pcrs = ef::attest::boot_pcrs_from_cmdline(std::string_view(reinterpret_cast<const char*>(data), size), "fuzz");
    if (!pcrs.empty() && pcrs.size() != 3) __builtin_trap();
    for (const auto& [i, v] : pcrs)
      if (i > 2 || v.size() != 48) __builtin_trap();
  } catch (const ef::Error&) {
  }
  return 0;
}
