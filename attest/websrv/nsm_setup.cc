#include "attest/websrv/nsm_setup.h"

#include <unistd.h>

#include <filesystem>

#include "attest/sim_nsm.h"
#include "attest/timefmt.h"
#include "base/file.h"
#include "base/log.h"

namespace ef::websrv {

NsmSetup open_nsm(const Config& config) {
  NsmSetup s;
  NsmMode mode = config.nsm_mode;
  if (mode == NsmMode::kAuto) {
    if (::access(config.nsm_device.c_str(), R_OK | W_OK) == 0) {
      mode = NsmMode::kDevice;
    } else {
      log::warn("NSM device not available: using the SIMULATED NSM; its documents chain to a development CA, "
                "not to AWS, and prove nothing about an enclave",
                {{"device", config.nsm_device}, {"state_dir", config.nsm_state_dir}});
      mode = NsmMode::kSimulated;
    }
  }
  if (mode == NsmMode::kDevice) {
    s.device = std::make_unique<LockedNsm>(
        std::make_unique<nsm::NsmClient>(std::make_unique<nsm::DevNsmTransport>(config.nsm_device.c_str())));
    return s;
  }
  if (config.nsm_mode == NsmMode::kSimulated)
    log::warn("using the SIMULATED NSM (nsm.mode: simulated): documents chain to a development CA, not to AWS",
              {{"state_dir", config.nsm_state_dir}});
  const std::filesystem::path dir = config.nsm_state_dir;
  std::map<std::uint16_t, attest::Bytes> boot;
  const auto pcrs_json = dir / "pcrs.json";
  if (config.nsm_pcrs_from_cmdline) {
    boot = attest::boot_pcrs_from_cmdline(read_text_file(config.nsm_cmdline_file), config.nsm_cmdline_file);
    if (boot.empty())
      log::warn("no ef.pcr0/1/2 on the kernel command line: the simulated NSM reports all-zero PCRs",
                {{"cmdline_file", config.nsm_cmdline_file}});
  } else if (std::filesystem::exists(pcrs_json)) {
    boot = attest::load_boot_pcrs(read_text_file(pcrs_json), pcrs_json.string());
  }
  auto sim = std::make_unique<attest::SimulatedNsm>(attest::load_or_create_dev_ca(dir / "ca", attest::now_ms()), boot);
  s.dev_root_der = sim->root_der();
  s.device = std::move(sim);
  s.simulated = true;
  return s;
}

}  // namespace ef::websrv
