#include <catch2/catch.hpp>
#include <unistd.h>

#include <filesystem>

#include "attest/websrv/nsm_setup.h"
#include "base/error.h"

using namespace ef::websrv;
namespace fs = std::filesystem;

TEST_CASE("nsm setup: auto without the device falls back to the simulated module; device mode does not") {
  const fs::path dir = fs::temp_directory_path() / ("ef_websrv_nsm_" + std::to_string(getpid()));
  fs::remove_all(dir);
  Config c;
  c.nsm_mode = NsmMode::kAuto;
  c.nsm_device = (dir / "no-such-nsm").string();
  c.nsm_state_dir = (dir / "state").string();
  NsmSetup s = open_nsm(c);
  CHECK(s.simulated);
  CHECK_FALSE(s.dev_root_der.empty());
  CHECK(s.device->describe_pcr(0).lock);
  CHECK(fs::exists(dir / "state" / "ca" / "dev-root.pem"));
  // The same state dir gives the same dev root (the CA persists).
  CHECK(open_nsm(c).dev_root_der == s.dev_root_der);
  c.nsm_mode = NsmMode::kDevice;
  CHECK_THROWS_AS(open_nsm(c), ef::SysError);
  fs::remove_all(dir);
}

TEST_CASE("nsm setup: pcrs_from cmdline takes PCR0/1/2 from the kernel command line") {
  const fs::path dir = fs::temp_directory_path() / ("ef_websrv_nsm_cl_" + std::to_string(getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::string p0(96, 'a'), p1(96, 'b'), p2(96, 'c');
  {
    std::FILE* f = std::fopen((dir / "cmdline").c_str(), "w");
    std::fprintf(f, "console=ttyS0 ef.pcr0=%s ef.pcr1=%s ef.pcr2=%s\n", p0.c_str(), p1.c_str(), p2.c_str());
    std::fclose(f);
  }
  Config c = parse_config("nsm: {mode: simulated, state_dir: " + (dir / "state").string() +
                              ", pcrs_from: cmdline, cmdline_file: " + (dir / "cmdline").string() + "}\n",
                          "w.yaml");
  CHECK(c.nsm_pcrs_from_cmdline);
  NsmSetup s = open_nsm(c);
  CHECK(s.device->describe_pcr(0).data == std::vector<std::uint8_t>(48, 0xaa));
  CHECK(s.device->describe_pcr(2).data == std::vector<std::uint8_t>(48, 0xcc));
  CHECK_THROWS_WITH(parse_config("nsm: {pcrs_from: env}\n", "w.yaml"), Catch::Contains("w.yaml:1"));
  fs::remove_all(dir);
}
