#pragma once
// The agent's NSM: /dev/nsm on Nitro, or the simulated module (local mode,
// tests) whose PCR0/1/2 come from state_dir/pcrs.json or the kernel command line.

#include <memory>
#include <vector>

#include "attest/nsm.h"
#include "runtime/agent/config.h"

namespace ef::agent {

struct AgentNsm {
  std::unique_ptr<nsm::NsmDevice> device;  ///< thread-safe
  bool simulated = false;
};

/// Opens the configured module; `auto` takes the device when it is accessible
/// and warns loudly when it falls back to the simulated one. Throws ef::Error.
AgentNsm open_agent_nsm(const AgentConfig& config);

}  // namespace ef::agent
