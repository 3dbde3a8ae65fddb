#include "runtime/config.h"

#include <cctype>
#include <charconv>
#include <cmath>
#include <set>

#include "base/error.h"
#include "base/file.h"
#include "base/yaml_config.h"
#include "runtime/deps.h"

namespace ef::init {
namespace {

struct SignalName {
  const char* name;
  int number;
};
constexpr SignalName kSignals[] = {
    {"HUP", SIGHUP},   {"INT", SIGINT},     {"QUIT", SIGQUIT}, {"KILL", SIGKILL}, {"USR1", SIGUSR1},
    {"USR2", SIGUSR2}, {"TERM", SIGTERM},   {"CONT", SIGCONT}, {"STOP", SIGSTOP}, {"WINCH", SIGWINCH},
    {"PWR", SIGPWR},   {"ALRM", SIGALRM},   {"ABRT", SIGABRT}, {"PIPE", SIGPIPE}, {"TSTP", SIGTSTP},
};

Millis duration_of(const ConfigNode& n) {
  try {
    return parse_duration(n.as_string());
  } catch (const Error& e) {
    n.fail(e.what());
  }
}

int signal_of(const ConfigNode& n) {
  try {
    return parse_signal(n.as_string());
  } catch (const Error& e) {
    n.fail(e.what());
  }
}

RestartPolicy policy_of(const ConfigNode& n) {
  std::string s = n.as_string();
  // YAML 1.1 reads a bare `no` as false; yaml-cpp keeps the scalar text.
  if (s == "no" || s == "false" || s == "never") return RestartPolicy::kNo;
  if (s == "always") return RestartPolicy::kAlways;
  if (s == "on-failure") return RestartPolicy::kOnFailure;
  if (s == "on-success") return RestartPolicy::kOnSuccess;
  n.fail("expected no, always, on-failure or on-success, got '" + s + "'");
}

Backoff backoff_of(const ConfigNode& n) {
  n.expect_keys({"initial", "factor", "maximum", "reset_after"});
  Backoff b;
  if (auto v = n.optional("initial")) b.initial = duration_of(*v);
  if (auto v = n.optional("maximum")) b.maximum = duration_of(*v);
  if (auto v = n.optional("reset_after")) b.reset_after = duration_of(*v);
  if (auto v = n.optional("factor")) {
    std::string s = v->as_string();
    double f = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), f);
    if (ec != std::errc() || p != s.data() + s.size() || !(f >= 1.0 && f <= 100.0))
      v->fail("expected a number from 1 to 100, got '" + s + "'");
    b.factor = f;
  }
  if (b.maximum < b.initial) n.fail("maximum is smaller than initial");
  return b;
}

RestartLimit limit_of(const ConfigNode& n) {
  n.expect_keys({"count", "window"});
  RestartLimit l;
  l.count = static_cast<int>(n.int_or("count", l.count, 0, 1'000'000));
  if (auto v = n.optional("window")) l.window = duration_of(*v);
  return l;
}

Readiness readiness_of(const ConfigNode& n) {
  n.expect_keys({"tcp", "vsock", "cid", "file", "timeout"});
  Readiness r;
  int kinds = 0;
  if (auto v = n.optional("tcp")) {
    r.kind = Readiness::Kind::kTcp;
    r.port = static_cast<int>(v->as_int(1, 65535));
    ++kinds;
  }
  if (auto v = n.optional("vsock")) {
    r.kind = Readiness::Kind::kVsock;
    r.port = static_cast<int>(v->as_int(1, 0xFFFFFFFE));
    ++kinds;
  }
  if (auto v = n.optional("file")) {
    r.kind = Readiness::Kind::kFile;
    r.path = v->as_string();
    if (r.path.empty() || r.path[0] != '/') v->fail("expected an absolute path");
    ++kinds;
  }
  if (kinds != 1) n.fail("expected exactly one of tcp, vsock or file");
  if (auto v = n.optional("cid")) r.cid = static_cast<std::uint32_t>(v->as_int(0, 0xFFFFFFFF));
  if (auto v = n.optional("timeout")) r.timeout = duration_of(*v);
  return r;
}

LogSpec log_of(const ConfigNode& n) {
  n.expect_keys({"file", "console", "max_bytes", "keep"});
  LogSpec l;
  l.file = n.bool_or("file", l.file);
  l.console = n.bool_or("console", l.console);
  l.max_bytes = static_cast<std::uint64_t>(n.int_or("max_bytes", static_cast<std::int64_t>(l.max_bytes), 1024,
                                                    std::int64_t{1} << 40));
  l.keep = static_cast<int>(n.int_or("keep", l.keep, 0, 100));
  return l;
}

bool valid_name(std::string_view s) {
  if (s.empty() || s.size() > 64) return false;
  for (char c : s)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.')) return false;
  return s[0] != '.';
}

ServiceSpec service_of(const std::string& name, const ConfigNode& n) {
  n.expect_keys({"exec", "args", "env", "workdir", "user", "group", "enabled", "restart", "backoff",
                 "restart_limit", "after", "requires", "ready", "stop_signal", "stop_timeout",
                 "forward_signals", "critical", "log"});
  if (!valid_name(name)) n.fail("service names use letters, digits, '-', '_' and '.'");
  ServiceSpec s;
  s.name = name;
  s.line = n.line();
  s.exec = n.required("exec").as_string();
  if (s.exec.empty()) n.required("exec").fail("must not be empty");
  if (auto v = n.optional("args")) s.args = v->as_string_list();
  if (auto v = n.optional("env")) {
    for (auto& [k, val] : v->entries()) {
      if (k.empty() || k.find('=') != std::string::npos) val.fail("bad variable name");
      s.env.emplace_back(k, val.is_null() ? "" : val.as_string());
    }
  }
  s.workdir = n.string_or("workdir", s.workdir);
  s.user = n.string_or("user", "");
  s.group = n.string_or("group", "");
  s.enabled = n.bool_or("enabled", true);
  if (auto v = n.optional("restart")) s.restart = policy_of(*v);
  if (auto v = n.optional("backoff")) s.backoff = backoff_of(*v);
  if (auto v = n.optional("restart_limit")) s.limit = limit_of(*v);
  if (auto v = n.optional("after")) s.after = v->as_string_list();
  if (auto v = n.optional("requires")) s.requires_ = v->as_string_list();
  if (auto v = n.optional("ready")) s.ready = readiness_of(*v);
  if (auto v = n.optional("stop_signal")) s.stop_signal = signal_of(*v);
  if (auto v = n.optional("stop_timeout")) s.stop_timeout = duration_of(*v);
  if (auto v = n.optional("forward_signals"))
    for (const ConfigNode& item : v->items()) s.forward_signals.push_back(signal_of(item));
  s.critical = n.bool_or("critical", false);
  if (auto v = n.optional("log")) s.log = log_of(*v);
  return s;
}

HeartbeatSpec heartbeat_of(const ConfigNode& n) {
  HeartbeatSpec h;
  if (n.is_scalar()) {
    h.enabled = n.as_bool();
    return h;
  }
  n.expect_keys({"enabled", "cid", "port", "timeout"});
  h.enabled = n.bool_or("enabled", true);
  h.cid = static_cast<std::uint32_t>(n.int_or("cid", h.cid, 0, 0xFFFFFFFF));
  h.port = static_cast<std::uint32_t>(n.int_or("port", h.port, 1, 0xFFFFFFFF));
  if (auto v = n.optional("timeout")) h.timeout = duration_of(*v);
  return h;
}

ControlSpec control_of(const ConfigNode& n) {
  n.expect_keys({"socket", "vsock_port", "vsock_allow", "max_request", "request_timeout"});
  ControlSpec c;
  c.socket = n.string_or("socket", c.socket);
  c.vsock_port = static_cast<std::uint32_t>(n.int_or("vsock_port", c.vsock_port, 0, 0xFFFFFFFE));
  if (auto v = n.optional("vsock_allow")) {
    c.vsock_allow.clear();
    if (v->is_scalar()) {
      if (v->as_string() != "any") v->fail("expected 'any' or a list of CIDs");
    } else {
      for (const ConfigNode& item : v->items())
        c.vsock_allow.push_back(static_cast<std::uint32_t>(item.as_int(0, 0xFFFFFFFF)));
    }
  }
  c.max_request = static_cast<std::size_t>(n.int_or("max_request", static_cast<std::int64_t>(c.max_request),
                                                    256, 16 << 20));
  if (auto v = n.optional("request_timeout")) c.request_timeout = duration_of(*v);
  return c;
}

void check_references(const InitConfig& cfg, const ConfigNode& services) {
  for (const ServiceSpec& s : cfg.services) {
    auto check = [&](const std::vector<std::string>& names, std::string_view key) {
      for (const std::string& d : names) {
        if (d == s.name) services.required(s.name).required(key).fail("service depends on itself");
        if (!cfg.find(d)) services.required(s.name).required(key).fail("unknown service '" + d + "'");
      }
    };
    check(s.after, "after");
    check(s.requires_, "requires");
  }
  try {
    (void)start_order(cfg.services);
  } catch (const Error& e) {
    services.fail(e.what());
  }
}

}  // namespace

const ServiceSpec* InitConfig::find(std::string_view name) const {
  for (const ServiceSpec& s : services)
    if (s.name == name) return &s;
  return nullptr;
}

Millis parse_duration(std::string_view text) {
  std::int64_t value = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || p == text.data() || value < 0)
    throw Error("expected a duration such as 250ms, 5s or 2m, got '" + std::string(text) + "'");
  std::string_view unit(p, static_cast<std::size_t>(text.data() + text.size() - p));
  std::int64_t scale = 0;
  if (unit.empty() || unit == "ms") scale = 1;
  else if (unit == "s") scale = 1000;
  else if (unit == "m") scale = 60'000;
  else if (unit == "h") scale = 3'600'000;
  else throw Error("unknown duration unit '" + std::string(unit) + "' (use ms, s, m or h)");
  if (value > (std::int64_t{1} << 40) / scale) throw Error("duration '" + std::string(text) + "' is too long");
  return value * scale;
}

int parse_signal(std::string_view text) {
  std::string_view s = text;
  if (s.starts_with("SIG")) s.remove_prefix(3);
  for (const SignalName& n : kSignals)
    if (s == n.name) return n.number;
  int number = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), number);
  if (ec == std::errc() && p == text.data() + text.size() && number >= 1 && number <= 64) return number;
  throw Error("unknown signal '" + std::string(text) + "'");
}

std::string signal_name(int sig) {
  for (const SignalName& n : kSignals)
    if (n.number == sig) return std::string("SIG") + n.name;
  return std::to_string(sig);
}

std::string_view to_string(RestartPolicy p) {
  switch (p) {
    case RestartPolicy::kNo: return "no";
    case RestartPolicy::kAlways: return "always";
    case RestartPolicy::kOnFailure: return "on-failure";
    case RestartPolicy::kOnSuccess: return "on-success";
  }
  return "?";
}

InitConfig parse_config(std::string_view text, const std::string& file) {
  ConfigNode root = ConfigNode::load_string(text, file);
  InitConfig cfg;
  cfg.file = file;
  if (root.is_null()) return cfg;
  root.expect_keys({"hostname", "heartbeat", "control", "log_dir", "modules", "services"});
  cfg.hostname = root.string_or("hostname", "");
  if (auto v = root.optional("heartbeat")) cfg.heartbeat = heartbeat_of(*v);
  if (auto v = root.optional("control")) cfg.control = control_of(*v);
  cfg.log_dir = root.string_or("log_dir", cfg.log_dir);
  if (auto v = root.optional("modules")) cfg.modules = v->as_string_list();
  if (auto services = root.optional("services")) {
    for (auto& [name, node] : services->entries()) {
      if (cfg.find(name)) node.fail("service defined twice");
      cfg.services.push_back(service_of(name, node));
    }
    // A service's line is where its name stands, not where its body starts.
    std::size_t i = 0;
    for (const auto& kv : services->raw())
      if (i < cfg.services.size()) cfg.services[i++].line = kv.first.Mark().line + 1;
    check_references(cfg, *services);
  }
  return cfg;
}

InitConfig load_config(const std::string& path) { return parse_config(read_text_file(path), path); }

std::optional<ControlSpec> parse_control_section(std::string_view text, const std::string& file) {
  try {
    ConfigNode root = ConfigNode::load_string(text, file);
    if (!root.is_map()) return root.is_null() ? std::optional<ControlSpec>(ControlSpec{}) : std::nullopt;
    if (auto v = root.optional("control")) return control_of(*v);
    return ControlSpec{};
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

Pid1Config load_config_never_throw(const std::string& path) {
  Pid1Config out;
  std::string text;
  try {
    text = read_text_file(path);
    out.config = parse_config(text, path);
    return out;
  } catch (const std::exception& e) {
    out.error = e.what();
  }
  out.config = InitConfig{};
  out.config.file = path;
  std::optional<ControlSpec> control = parse_control_section(text, path);
  out.control_from_file = control.has_value();
  if (control) out.config.control = *control;
  return out;
}

}  // namespace ef::init
