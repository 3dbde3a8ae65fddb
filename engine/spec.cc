#include "engine/spec.h"

#include <charconv>
#include <set>

#include "base/error.h"

namespace ef::engine {
namespace {

template <typename T>
bool parse_uint(std::string_view s, T& out) {
  if (s.empty() || s.size() > 12) return false;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && end == s.data() + s.size();
}

bool is_hex48(const std::string& s) {
  if (s.size() != 96) return false;
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

}  // namespace

PortMapping PortMapping::parse(std::string_view text) {
  auto bad = [&](const char* why) -> Error {
    return Error("port mapping '" + std::string(text) + "': " + why +
                 " (expected [HOST_ADDR:]HOST_PORT:ENCLAVE_PORT)");
  };
  PortMapping m;
  std::string_view rest = text;
  if (!rest.empty() && rest.front() == '[') {
    auto close = rest.find(']');
    if (close == std::string_view::npos || close + 1 >= rest.size() || rest[close + 1] != ':')
      throw bad("unterminated [IPv6] address");
    m.host_addr = std::string(rest.substr(0, close + 1));
    rest.remove_prefix(close + 2);
  } else {
    auto first = rest.find(':');
    auto last = rest.rfind(':');
    if (first == std::string_view::npos) throw bad("missing ':'");
    if (first != last) {
      m.host_addr = std::string(rest.substr(0, first));
      rest.remove_prefix(first + 1);
    }
    if (m.host_addr.empty()) throw bad("empty host address");
    for (char c : m.host_addr)
      if (!((c >= '0' && c <= '9') || c == '.' || (c >= 'a' && c <= 'z') || c == '-')) throw bad("bad host address");
  }
  auto colon = rest.find(':');
  if (colon == std::string_view::npos) throw bad("missing ':'");
  unsigned host_port = 0;
  if (!parse_uint(rest.substr(0, colon), host_port) || host_port == 0 || host_port > 65535)
    throw bad("host port must be 1..65535");
  if (!parse_uint(rest.substr(colon + 1), m.enclave_port) || m.enclave_port == 0)
    throw bad("enclave port must be 1..4294967295");
  m.host_port = static_cast<std::uint16_t>(host_port);
  return m;
}

std::string PortMapping::to_string() const {
  return host_addr + ":" + std::to_string(host_port) + ":" + std::to_string(enclave_port);
}

void check_name(std::string_view name) {
  bool ok = !name.empty() && name.size() <= 63;
  for (std::size_t i = 0; ok && i < name.size(); ++i) {
    char c = name[i];
    bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    ok = alnum || (i > 0 && (c == '_' || c == '.' || c == '-'));
  }
  if (!ok) throw Error("enclave name '" + std::string(name) + "': expected [a-z0-9][a-z0-9_.-]*, at most 63 characters");
}

std::uint64_t parse_memory_mib(std::string_view text) {
  std::string_view num = text;
  std::uint64_t scale = 1;
  for (auto [suffix, s] : {std::pair<std::string_view, std::uint64_t>{"GiB", 1024}, {"MiB", 1}, {"G", 1024}, {"M", 1}}) {
    if (num.ends_with(suffix)) {
      num.remove_suffix(suffix.size());
      scale = s;
      break;
    }
  }
  std::uint64_t v = 0;
  if (!parse_uint(num, v) || v == 0 || v > (1u << 20))
    throw Error("memory '" + std::string(text) + "': expected a size like 512, 512M, 512MiB or 2G");
  return v * scale;
}

void validate(const EnclaveSpec& s) {
  check_name(s.name);
  if (s.image.empty()) throw Error("image: missing");
  if (s.cpus < 1 || s.cpus > 256) throw Error("cpus: " + std::to_string(s.cpus) + " is outside 1..256");
  if (s.memory_mib < 64 || s.memory_mib > (1u << 20))
    throw Error("memory: " + std::to_string(s.memory_mib) + " MiB is outside 64 MiB..1 TiB");
  if (s.cid && (*s.cid < 4 || *s.cid == 0xffffffffu))
    throw Error("cid: " + std::to_string(*s.cid) + " is reserved (enclave CIDs start at 4)");
  std::set<std::pair<std::string, unsigned>> seen;
  for (const auto& p : s.ports)
    if (!seen.insert({p.host_addr, p.host_port}).second)
      throw Error("ports: host port " + p.host_addr + ":" + std::to_string(p.host_port) + " is mapped twice");
  for (const auto& [idx, hex] : s.expected_pcrs) {
    if (idx > 31) throw Error("pcrs: index " + std::to_string(idx) + " is outside 0..31");
    if (!is_hex48(hex)) throw Error("pcrs: PCR" + std::to_string(idx) + " must be 96 lowercase hex digits");
  }
  if (s.agent_port == 0) throw Error("agent_port: must be 1..4294967295");
  if (s.health.interval_ms < 100 || s.health.timeout_ms < 10 || s.health.retries < 1)
    throw Error("health: interval must be ≥ 100 ms, timeout ≥ 10 ms, retries ≥ 1");
  if (!s.health.http_path.empty() && s.health.http_path.front() != '/')
    throw Error("health.http: path must start with '/'");
  for (char c : s.health.http_path)
    if (static_cast<unsigned char>(c) <= ' ' || c == 0x7f) throw Error("health.http: path has a control or space character");
  if (s.backend != "" && s.backend != "local" && s.backend != "nitro" && s.backend != "fake")
    throw Error("backend: '" + s.backend + "' is not local, nitro or fake");
}

nlohmann::json to_json(const EnclaveSpec& s) {
  nlohmann::json ports = nlohmann::json::array();
  for (const auto& p : s.ports) ports.push_back(p.to_string());
  nlohmann::json pcrs = nlohmann::json::object();
  for (const auto& [i, h] : s.expected_pcrs) pcrs[std::to_string(i)] = h;
  nlohmann::json j = {{"name", s.name},
                      {"image", s.image},
                      {"cpus", s.cpus},
                      {"memory_mib", s.memory_mib},
                      {"ports", ports},
                      {"egress", {{"port", s.egress.port}, {"allow", s.egress.allow}, {"deny", s.egress.deny}}},
                      {"health",
                       {{"port", s.health.port},
                        {"http", s.health.http_path},
                        {"interval_ms", s.health.interval_ms},
                        {"timeout_ms", s.health.timeout_ms},
                        {"retries", s.health.retries}}},
                      {"restart", s.restart.to_string()},
                      {"expected_pcrs", pcrs},
                      {"agent_port", s.agent_port},
                      {"debug_mode", s.debug_mode},
                      {"backend", s.backend},
                      {"project", s.project}};
  j["cid"] = s.cid ? nlohmann::json(*s.cid) : nlohmann::json(nullptr);
  return j;
}

namespace {

void only_keys(const nlohmann::json& j, const std::string& where, std::initializer_list<const char*> keys) {
  if (!j.is_object()) throw Error(where + ": expected an object");
  for (const auto& [k, v] : j.items()) {
    bool ok = false;
    for (const char* a : keys) ok = ok || k == a;
    if (!ok) throw Error(where + "." + k + ": unknown key");
  }
}

template <typename T>
T get_uint(const nlohmann::json& j, const char* key, T fallback, const std::string& where) {
  if (!j.contains(key)) return fallback;
  const auto& v = j.at(key);
  bool non_negative = v.is_number_unsigned() || (v.is_number_integer() && v.get<std::int64_t>() >= 0);
  if (!non_negative || v.get<std::uint64_t>() > std::numeric_limits<T>::max())
    throw Error(where + "." + key + ": expected an unsigned integer within range");
  return static_cast<T>(v.get<std::uint64_t>());
}

std::string get_str(const nlohmann::json& j, const char* key, std::string fallback, const std::string& where) {
  if (!j.contains(key)) return fallback;
  if (!j.at(key).is_string()) throw Error(where + "." + key + ": expected a string");
  return j.at(key).get<std::string>();
}

std::vector<std::string> get_strs(const nlohmann::json& j, const char* key, const std::string& where) {
  std::vector<std::string> out;
  if (!j.contains(key)) return out;
  if (!j.at(key).is_array()) throw Error(where + "." + key + ": expected a list of strings");
  for (const auto& v : j.at(key)) {
    if (!v.is_string()) throw Error(where + "." + key + ": expected a list of strings");
    out.push_back(v.get<std::string>());
  }
  return out;
}

}  // namespace

EnclaveSpec spec_from_json(const nlohmann::json& j) {
  const std::string w = "spec";
  only_keys(j, w, {"name", "image", "cpus", "memory_mib", "cid", "ports", "egress", "health", "restart",
                   "expected_pcrs", "agent_port", "debug_mode", "backend", "project"});
  EnclaveSpec s;
  s.name = get_str(j, "name", "", w);
  s.image = get_str(j, "image", "", w);
  s.cpus = get_uint<unsigned>(j, "cpus", 2, w);
  s.memory_mib = get_uint<std::uint64_t>(j, "memory_mib", 512, w);
  if (j.contains("cid") && !j.at("cid").is_null()) s.cid = get_uint<std::uint32_t>(j, "cid", 0, w);
  std::size_t i = 0;
  for (const auto& p : get_strs(j, "ports", w))
    s.ports.push_back(with_context(w + ".ports[" + std::to_string(i++) + "]", [&] { return PortMapping::parse(p); }));
  if (j.contains("egress")) {
    const auto& e = j.at("egress");
    only_keys(e, w + ".egress", {"port", "allow", "deny"});
    s.egress.port = get_uint<std::uint32_t>(e, "port", 0, w + ".egress");
    s.egress.allow = get_strs(e, "allow", w + ".egress");
    s.egress.deny = get_strs(e, "deny", w + ".egress");
  }
  if (j.contains("health")) {
    const auto& h = j.at("health");
    only_keys(h, w + ".health", {"port", "http", "interval_ms", "timeout_ms", "retries"});
    s.health.port = get_uint<std::uint32_t>(h, "port", 0, w + ".health");
    s.health.http_path = get_str(h, "http", "", w + ".health");
    s.health.interval_ms = get_uint<unsigned>(h, "interval_ms", 1000, w + ".health");
    s.health.timeout_ms = get_uint<unsigned>(h, "timeout_ms", 1000, w + ".health");
    s.health.retries = get_uint<unsigned>(h, "retries", 3, w + ".health");
  }
  s.restart = with_context(w + ".restart", [&] { return RestartPolicy::parse(get_str(j, "restart", "no", w)); });
  if (j.contains("expected_pcrs")) {
    const auto& p = j.at("expected_pcrs");
    if (!p.is_object()) throw Error(w + ".expected_pcrs: expected an object {\"0\": hex, …}");
    for (const auto& [k, v] : p.items()) {
      unsigned idx = 0;
      if (!parse_uint(k, idx) || !v.is_string()) throw Error(w + ".expected_pcrs." + k + ": expected index → hex string");
      s.expected_pcrs[idx] = v.get<std::string>();
    }
  }
  s.agent_port = get_uint<std::uint32_t>(j, "agent_port", 7000, w);
  if (j.contains("debug_mode")) {
    if (!j.at("debug_mode").is_boolean()) throw Error(w + ".debug_mode: expected true or false");
    s.debug_mode = j.at("debug_mode").get<bool>();
  }
  s.backend = get_str(j, "backend", "", w);
  s.project = get_str(j, "project", "", w);
  validate(s);
  return s;
}

}  // namespace ef::engine
