#include <catch2/catch.hpp>

#include "attest/sim_nsm.h"
#include "base/hash.h"

using namespace ef;
using namespace ef::attest;

namespace {
std::string rep(const char* two, int n = 48) {
  std::string s;
  for (int i = 0; i < n; ++i) s += two;
  return s;
}
}  // namespace

TEST_CASE("cmdline PCRs: all three among other words") {
  const std::string cl = "reboot=k console=ttyS0 ef.pcr0=" + rep("0a") + " ef.pcr1=" + rep("1B") + "\tef.pcr2=" +
                         rep("2c") + " root=/dev/ram0\n";
  auto pcrs = boot_pcrs_from_cmdline(cl, "/proc/cmdline");
  REQUIRE(pcrs.size() == 3);
  CHECK(to_hex(pcrs.at(0)) == rep("0a"));
  CHECK(to_hex(pcrs.at(1)) == rep("1b"));
  CHECK(to_hex(pcrs.at(2)) == rep("2c"));
}

TEST_CASE("cmdline PCRs: absent means none (the caller warns)") {
  CHECK(boot_pcrs_from_cmdline("console=ttyS0 quiet", "c").empty());
  CHECK(boot_pcrs_from_cmdline("", "c").empty());
  CHECK(boot_pcrs_from_cmdline("xef.pcr0=zz", "c").empty());  // not an ef.pcr word
}

TEST_CASE("cmdline PCRs: strict") {
  const std::string p0 = "ef.pcr0=" + rep("00"), p1 = "ef.pcr1=" + rep("11"), p2 = "ef.pcr2=" + rep("22");
  CHECK_THROWS_WITH(boot_pcrs_from_cmdline(p0 + " " + p1, "cl"), Catch::Contains("cl: ef.pcr2 missing"));
  CHECK_THROWS_WITH(boot_pcrs_from_cmdline("a " + p0 + " " + p0 + " " + p1 + " " + p2, "cl"),
                    Catch::Contains("byte 107: ef.pcr0 given twice"));
  CHECK_THROWS_WITH(boot_pcrs_from_cmdline("ef.pcr0=abcd", "cl"), Catch::Contains("has 4 hex digits; expected 96"));
  CHECK_THROWS_WITH(boot_pcrs_from_cmdline("ef.pcr3=" + rep("00"), "cl"), Catch::Contains("expected ef.pcr0="));
  CHECK_THROWS_WITH(boot_pcrs_from_cmdline("ef.pcr0", "cl"), Catch::Contains("expected ef.pcr0="));
  CHECK_THROWS_WITH(boot_pcrs_from_cmdline("ef.pcr0=" + rep("0g"), "cl"), Catch::Contains("non-hex"));
}
