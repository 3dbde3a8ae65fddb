#include "runtime/agent/nsm_setup.h"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "attest/sim_nsm.h"
#include "attest/timefmt.h"
#include "attest/websrv/nsm_setup.h"
#include "base/file.h"
#include "base/log.h"

namespace ef::agent {
namespace {

std::map<std::uint16_t, attest::Bytes> simulated_pcrs(const AgentConfig& c) {
  if (c.pcrs_from == PcrSource::kCmdline) {
    auto pcrs = attest::boot_pcrs_from_cmdline(read_text_file(c.cmdline_file), c.cmdline_file);
    if (pcrs.empty())
      log::warn("no ef.pcr0/1/2 on the kernel command line: the simulated NSM reports all-zero PCRs",
                {{"cmdline_file", c.cmdline_file}});
    return pcrs;
  }
  const auto file = std::filesystem::path(c.nsm_state_dir) / "pcrs.json";
  if (std::filesystem::exists(file)) return attest::load_boot_pcrs(read_text_file(file), file.string());
  log::warn("no pcrs.json in the NSM state directory: the simulated NSM reports all-zero PCRs",
            {{"state_dir", c.nsm_state_dir}});
  return {};
}

}  // namespace

AgentNsm open_agent_nsm(const AgentConfig& c) {
  AgentNsm s;
  NsmMode mode = c.nsm_mode;
  if (mode == NsmMode::kAuto) {
    if (::access(c.nsm_device.c_str(), R_OK | W_OK) == 0) {
      mode = NsmMode::kDevice;
    } else {
      log::warn("NSM device not available: using the SIMULATED NSM; its documents chain to a development CA, "
                "not to AWS, and prove nothing about an enclave",
                {{"device", c.nsm_device}, {"state_dir", c.nsm_state_dir}});
      mode = NsmMode::kSimulated;
    }
  }
  if (mode == NsmMode::kDevice) {
    s.device = std::make_unique<websrv::LockedNsm>(
        std::make_unique<nsm::NsmClient>(std::make_unique<nsm::DevNsmTransport>(c.nsm_device.c_str())));
    return s;
  }
  if (c.nsm_mode == NsmMode::kSimulated)
    log::warn("using the SIMULATED NSM (nsm.mode: simulated): documents chain to a development CA, not to AWS",
              {{"state_dir", c.nsm_state_dir}});
  const std::filesystem::path dir = c.nsm_state_dir;
  std::filesystem::create_directories(dir);
  ::chmod(dir.c_str(), 0700);
  auto boot = simulated_pcrs(c);
  s.device = std::make_unique<attest::SimulatedNsm>(attest::load_or_create_dev_ca(dir / "ca", attest::now_ms()), boot);
  s.simulated = true;
  return s;
}

}  // namespace ef::agent
