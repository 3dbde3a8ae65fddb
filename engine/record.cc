#include "engine/record.h"

#include "base/error.h"

namespace ef::engine {

std::string to_string(Status s) {
  switch (s) {
    case Status::created: return "created";
    case Status::running: return "running";
    case Status::restarting: return "restarting";
    case Status::exited: return "exited";
    case Status::stopped: return "stopped";
  }
  return "exited";
}

std::string to_string(Health h) {
  switch (h) {
    case Health::none: return "none";
    case Health::starting: return "starting";
    case Health::healthy: return "healthy";
    case Health::unhealthy: return "unhealthy";
  }
  return "none";
}

Status status_from_string(const std::string& s) {
  for (Status v : {Status::created, Status::running, Status::restarting, Status::exited, Status::stopped})
    if (to_string(v) == s) return v;
  throw Error("state database: unknown status '" + s + "'");
}

Health health_from_string(const std::string& s) {
  for (Health v : {Health::none, Health::starting, Health::healthy, Health::unhealthy})
    if (to_string(v) == s) return v;
  throw Error("state database: unknown health '" + s + "'");
}

nlohmann::json to_json(const EnclaveHandle& h) {
  return {{"backend", h.backend}, {"id", h.id}, {"cid", h.cid}, {"pid", h.pid}, {"attach", h.attach}};
}

EnclaveHandle handle_from_json(const nlohmann::json& j) {
  EnclaveHandle h;
  h.backend = j.value("backend", "");
  h.id = j.value("id", "");
  h.cid = j.value("cid", 0u);
  h.pid = j.value("pid", 0);
  h.attach = j.value("attach", "");
  return h;
}

nlohmann::json to_json(const EnclaveRecord& r) {
  nlohmann::json pcrs = nlohmann::json::object();
  for (const auto& [i, h] : r.pcrs) pcrs["PCR" + std::to_string(i)] = h;
  return {{"name", r.spec.name},
          {"id", r.id},
          {"spec", to_json(r.spec)},
          {"image_sha256", r.image_sha256},
          {"pcrs", pcrs},
          {"pcr_source", r.pcr_source},
          {"handle", to_json(r.handle)},
          {"status", to_string(r.status)},
          {"health", to_string(r.health)},
          {"restart_count", r.restart_count},
          {"user_stopped", r.user_stopped},
          {"created_ms", r.created_ms},
          {"started_ms", r.started_ms},
          {"finished_ms", r.finished_ms},
          {"proxy", {{"pid", r.proxy.pid}, {"start_time", r.proxy.start_time}, {"config", r.proxy.config}}},
          {"last_error", r.last_error}};
}

}  // namespace ef::engine
