#include "runtime/metrics.h"

namespace ef::init {
namespace {

void family(std::string& out, const char* name, const char* type, const char* help) {
  out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
}

}  // namespace

std::string format_metrics(const std::vector<ServiceStatus>& services, Millis init_uptime,
                           std::uint64_t orphans_reaped) {
  std::string out;
  family(out, "init_uptime_seconds", "gauge", "Seconds since init started.");
  out += "init_uptime_seconds " + std::to_string(init_uptime / 1000) + "\n";
  family(out, "init_orphans_reaped_total", "counter", "Processes reaped that were not services.");
  out += "init_orphans_reaped_total " + std::to_string(orphans_reaped) + "\n";
  // Service names are restricted to [A-Za-z0-9._-]: no label escaping is needed.
  family(out, "init_service_up", "gauge", "1 when the service is running and ready.");
  for (const ServiceStatus& s : services)
    out += "init_service_up{service=\"" + s.name + "\"} " + (s.state == State::kRunning ? "1" : "0") + "\n";
  family(out, "init_service_restarts_total", "counter", "Automatic restarts of the service.");
  for (const ServiceStatus& s : services)
    out += "init_service_restarts_total{service=\"" + s.name + "\"} " + std::to_string(s.restarts) + "\n";
  family(out, "init_service_last_exit_code", "gauge", "Exit status of the last run (128+N: signal N), -1: none.");
  for (const ServiceStatus& s : services)
    out += "init_service_last_exit_code{service=\"" + s.name + "\"} " + std::to_string(s.exit_code) + "\n";
  family(out, "init_service_state", "gauge", "1 for the state the service is in.");
  for (const ServiceStatus& s : services)
    out += "init_service_state{service=\"" + s.name + "\",state=\"" + std::string(to_string(s.state)) + "\"} 1\n";
  return out;
}

}  // namespace ef::init
