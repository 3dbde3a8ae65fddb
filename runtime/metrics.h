#pragma once
// init's Prometheus text exposition (served through the control API: `initctl metrics`).

#include <cstdint>
#include <string>
#include <vector>

#include "runtime/supervisor.h"

namespace ef::init {

/// Prometheus text format 0.0.4: init's uptime and reaped orphans, and per
/// service: up, restarts, last exit code and a state gauge.
std::string format_metrics(const std::vector<ServiceStatus>& services, Millis init_uptime,
                           std::uint64_t orphans_reaped);

}  // namespace ef::init
