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
