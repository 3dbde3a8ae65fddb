#pragma once
// The engine's view of one enclave: what was asked (spec), what was measured
// (image digest, PCRs), how to find it (backend handle) and where it stands.

#include <cstdint>
#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "engine/backend.h"
#include "engine/spec.h"

namespace ef::engine {

/// created → running → exited | stopped; restarting between a crash and the
/// next launch by policy.
enum class Status { created, running, restarting, exited, stopped };
/// none = no check configured; starting until the first result.
enum class Health { none, starting, healthy, unhealthy };

std::string to_string(Status s);
std::string to_string(Health h);
Status status_from_string(const std::string& s);
Health health_from_string(const std::string& s);

/// A host process the engine started beside the enclave (pf-proxy). The start
/// time (from /proc/PID/stat) tells a live proxy from a reused PID.
struct HostProcess {
  int pid = 0;
  std::uint64_t start_time = 0;
  std::string config;  ///< its config file
};

struct EnclaveRecord {
  EnclaveSpec spec;
  std::string id;                         ///< 16 random hex digits, stable across restarts
  std::string image_sha256;
  std::map<unsigned, std::string> pcrs;   ///< what the image measures to (the expected PCRs)
  std::string pcr_source;                 ///< "pcrs.json", "computed", "spec"
  EnclaveHandle handle;
  Status status = Status::created;
  Health health = Health::none;
  unsigned restart_count = 0;
  bool user_stopped = false;
  std::int64_t created_ms = 0, started_ms = 0, finished_ms = 0;
  HostProcess proxy;
  std::string last_error;
};

nlohmann::json to_json(const EnclaveHandle& h);
EnclaveHandle handle_from_json(const nlohmann::json& j);
nlohmann::json to_json(const EnclaveRecord& r);

}  // namespace ef::engine
