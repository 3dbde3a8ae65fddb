#include "engine/restart_policy.h"

#include <charconv>

#include "base/error.h"

namespace ef::engine {

RestartPolicy RestartPolicy::parse(std::string_view text) {
  RestartPolicy p;
  if (text == "no") return p;
  if (text == "always") {
    p.kind = Kind::always;
    return p;
  }
  if (text == "unless-stopped") {
    p.kind = Kind::unless_stopped;
    return p;
  }
  if (text.starts_with("on-failure")) {
    std::string_view rest = text.substr(10);
    p.kind = Kind::on_failure;
    if (rest.empty()) return p;
    if (rest.front() == ':' && rest.size() > 1 && rest.size() <= 6) {
      rest.remove_prefix(1);
      auto [end, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), p.max_retries);
      if (ec == std::errc() && end == rest.data() + rest.size()) return p;
    }
  }
  throw Error("restart policy '" + std::string(text) +
              "': expected no, on-failure, on-failure:N (N up to 999999), always or unless-stopped");
}

std::string RestartPolicy::to_string() const {
  switch (kind) {
    case Kind::no: return "no";
    case Kind::always: return "always";
    case Kind::unless_stopped: return "unless-stopped";
    case Kind::on_failure:
      return max_retries ? "on-failure:" + std::to_string(max_retries) : "on-failure";
  }
  return "no";
}

bool should_restart(const RestartPolicy& policy, const ExitInfo& exit, unsigned restarts_so_far) {
  if (exit.stopped_by_user) return false;
  switch (policy.kind) {
    case RestartPolicy::Kind::no: return false;
    case RestartPolicy::Kind::always:
    case RestartPolicy::Kind::unless_stopped: return true;
    case RestartPolicy::Kind::on_failure:
      return exit.failed && (policy.max_retries == 0 || restarts_so_far < policy.max_retries);
  }
  return false;
}

std::chrono::milliseconds restart_backoff(unsigned attempt, std::chrono::milliseconds cap) {
  std::chrono::milliseconds d(100);
  for (unsigned i = 0; i < attempt && d < cap; ++i) d *= 2;
  return d < cap ? d : cap;
}

}  // namespace ef::engine
