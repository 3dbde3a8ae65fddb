#include "engine/compose.h"

#include <charconv>
#include <functional>
#include <map>
#include <set>

#include "base/error.h"
#include "base/file.h"
#include "base/yaml_config.h"
#include "builder/provenance.h"
#include "engine/image.h"
#include "engine/proxy.h"

namespace ef::engine {
namespace fs = std::filesystem;

unsigned parse_duration_ms(std::string_view text) {
  std::string_view num = text;
  unsigned scale = 1000;
  if (num.ends_with("ms")) {
    num.remove_suffix(2);
    scale = 1;
  } else if (num.ends_with("s")) {
    num.remove_suffix(1);
  } else if (num.ends_with("m")) {
    num.remove_suffix(1);
    scale = 60000;
  }
  unsigned v = 0;
  auto [end, ec] = std::from_chars(num.data(), num.data() + num.size(), v);
  if (num.empty() || ec != std::errc() || end != num.data() + num.size() || v > 86400000u / scale)
    throw Error("duration '" + std::string(text) + "': expected e.g. 250ms, 10s or 5m");
  return v * scale;
}

std::vector<std::size_t> start_order(const std::vector<std::string>& names,
                                     const std::vector<std::vector<std::string>>& deps) {
  std::map<std::string, std::size_t> index;
  for (std::size_t i = 0; i < names.size(); ++i) index[names[i]] = i;
  for (std::size_t i = 0; i < names.size(); ++i)
    for (const auto& d : deps[i])
      if (!index.count(d)) throw Error("enclave " + names[i] + ": depends_on '" + d + "', which is not defined");
  std::vector<int> state(names.size(), 0);  // 0 new, 1 on the path, 2 done
  std::vector<std::size_t> order, path;
  std::function<void(std::size_t)> visit = [&](std::size_t i) {
    if (state[i] == 2) return;
    if (state[i] == 1) {
      std::string cycle;
      auto from = std::find(path.begin(), path.end(), i);
      for (auto it = from; it != path.end(); ++it) cycle += names[*it] + " -> ";
      throw Error("depends_on cycle: " + cycle + names[i]);
    }
    state[i] = 1;
    path.push_back(i);
    for (const auto& d : deps[i]) visit(index[d]);
    path.pop_back();
    state[i] = 2;
    order.push_back(i);
  };
  for (std::size_t i = 0; i < names.size(); ++i) visit(i);
  return order;
}

namespace {

fs::path resolve(const fs::path& base, const std::string& p) {
  fs::path path(p);
  return path.is_absolute() ? path : (base / path).lexically_normal();
}

std::map<unsigned, std::string> pcrs_from_node(const ConfigNode& n) {
  std::map<unsigned, std::string> out;
  for (const auto& [k, v] : n.entries()) {
    unsigned idx = 0;
    std::string_view digits = k;
    if (digits.starts_with("PCR")) digits.remove_prefix(3);
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), idx);
    if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size() || idx > 31)
      v.fail("expected PCR0..PCR31 as the key");
    std::string hex = v.as_string();
    if (hex.size() != 96 || hex.find_first_not_of("0123456789abcdef") != std::string::npos)
      v.fail("expected 96 lowercase hex digits");
    out[idx] = hex;
  }
  return out;
}

ComposeEnclave parse_enclave(const std::string& name, const ConfigNode& n, const fs::path& base,
                             const std::string& project) {
  n.expect_map();
  n.expect_keys({"image", "spec", "lock", "cpus", "memory", "cid", "ports", "egress", "health", "restart",
                 "depends_on", "pcrs", "pcrs_file", "provenance", "agent_port", "debug"});
  ComposeEnclave e;
  e.line = n.line();
  EnclaveSpec& s = e.spec;
  s.name = name;
  s.project = project;
  try {
    check_name(name);
  } catch (const Error& err) {
    n.fail(err.what());
  }
  bool has_image = n.has("image"), has_spec = n.has("spec");
  if (has_image == has_spec) n.fail("set exactly one of image (an EIF) or spec (an rbuild spec)");
  if (has_image) s.image = resolve(base, n.required("image").as_string()).string();
  if (has_spec) {
    e.build_spec = resolve(base, n.required("spec").as_string()).string();
    if (!n.has("lock")) n.fail("spec needs lock (the lock file it is verified against)");
    e.build_lock = resolve(base, n.required("lock").as_string()).string();
    if (!fs::is_regular_file(e.build_spec)) n.required("spec").fail("no such file: " + e.build_spec);
    if (!fs::is_regular_file(e.build_lock)) n.required("lock").fail("no such file: " + e.build_lock);
  } else if (n.has("lock")) {
    n.required("lock").fail("lock goes with spec, not image");
  }
  s.cpus = static_cast<unsigned>(n.int_or("cpus", 2, 1, 256));
  if (auto m = n.optional("memory")) {
    try {
      s.memory_mib = parse_memory_mib(m->as_string());
    } catch (const Error& err) {
      m->fail(err.what());
    }
  }
  if (auto c = n.optional("cid")) s.cid = static_cast<std::uint32_t>(c->as_int(4, 0xfffffffe));
  if (auto ports = n.optional("ports")) {
    for (const auto& p : ports->items()) {
      try {
        s.ports.push_back(PortMapping::parse(p.as_string()));
      } catch (const Error& err) {
        p.fail(err.what());
      }
    }
  }
  if (auto eg = n.optional("egress")) {
    eg->expect_keys({"port", "allow", "deny"});
    s.egress.port = static_cast<std::uint32_t>(eg->required("port").as_int(1, 0xffffffff));
    for (const char* key : {"allow", "deny"}) {
      auto list = eg->optional(key);
      if (!list) continue;
      for (const auto& item : list->items()) {
        std::string rule = item.as_string();
        try {
          check_egress_rules(EgressSpec{1, {rule}, {}});
        } catch (const Error& err) {
          item.fail(err.what());
        }
        (std::string_view(key) == "allow" ? s.egress.allow : s.egress.deny).push_back(rule);
      }
    }
  }
  if (auto h = n.optional("health")) {
    h->expect_keys({"port", "http", "interval", "timeout", "retries"});
    s.health.port = static_cast<std::uint32_t>(h->required("port").as_int(1, 0xffffffff));
    s.health.http_path = h->string_or("http", "");
    for (const char* key : {"interval", "timeout"}) {
      auto d = h->optional(key);
      if (!d) continue;
      try {
        (std::string_view(key) == "interval" ? s.health.interval_ms : s.health.timeout_ms) = parse_duration_ms(d->as_string());
      } catch (const Error& err) {
        d->fail(err.what());
      }
    }
    s.health.retries = static_cast<unsigned>(h->int_or("retries", 3, 1, 1000));
  }
  if (auto r = n.optional("restart")) {
    try {
      s.restart = RestartPolicy::parse(r->as_string());
    } catch (const Error& err) {
      r->fail(err.what());
    }
  }
  if (auto d = n.optional("depends_on")) e.depends_on = d->as_string_list();
  int pcr_sources = n.has("pcrs") + n.has("pcrs_file") + n.has("provenance");
  if (pcr_sources > 1) n.fail("set at most one of pcrs, pcrs_file or provenance");
  if (auto p = n.optional("pcrs")) s.expected_pcrs = pcrs_from_node(*p);
  if (auto p = n.optional("pcrs_file")) {
    try {
      s.expected_pcrs = read_pcrs_json(resolve(base, p->as_string()));
    } catch (const Error& err) {
      p->fail(err.what());
    }
  }
  if (auto p = n.optional("provenance")) {
    fs::path file = resolve(base, p->as_string());
    try {
      auto claims = build::read_provenance(read_text_file(file), file.string());
      for (const auto& [k, v] : claims.pcrs.items()) {
        if (!k.starts_with("PCR") || !v.is_string()) continue;
        s.expected_pcrs[static_cast<unsigned>(std::stoul(k.substr(3)))] = v.get<std::string>();
      }
    } catch (const Error& err) {
      p->fail(err.what());
    } catch (const std::exception& err) {
      p->fail(std::string("bad provenance: ") + err.what());
    }
  }
  s.agent_port = static_cast<std::uint32_t>(n.int_or("agent_port", 7000, 1, 0xffffffff));
  s.debug_mode = n.bool_or("debug", false);
  try {
    if (s.image.empty()) s.image = "(built from " + e.build_spec + ")";
    validate(s);
    if (!e.build_spec.empty()) s.image.clear();
  } catch (const Error& err) {
    n.fail(err.what());
  }
  return e;
}

}  // namespace

ComposeFile parse_compose(std::string_view text, const std::string& file_name, const fs::path& base_dir) {
  ConfigNode root = ConfigNode::load_string(text, file_name);
  root.expect_map();
  root.expect_keys({"project", "enclaves"});
  ComposeFile c;
  c.file = file_name;
  // Like docker compose: the directory's name, lower-cased, other characters as '-'.
  std::string dir_name;
  for (char ch : base_dir.filename().string()) {
    char l = (ch >= 'A' && ch <= 'Z') ? static_cast<char>(ch - 'A' + 'a') : ch;
    bool ok = (l >= 'a' && l <= 'z') || (l >= '0' && l <= '9') || l == '_' || l == '.' || l == '-';
    if (dir_name.empty() && !((l >= 'a' && l <= 'z') || (l >= '0' && l <= '9'))) continue;
    if (dir_name.size() < 63) dir_name.push_back(ok ? l : '-');
  }
  c.project = root.string_or("project", dir_name);
  if (c.project.empty()) c.project = "default";
  try {
    check_name(c.project);
  } catch (const Error& err) {
    if (root.has("project")) root.required("project").fail(std::string("project ") + err.what());
    throw Error(file_name + ": project name from the directory: " + err.what() + " (set project:)");
  }
  ConfigNode list = root.required("enclaves");
  list.expect_map();
  std::vector<ComposeEnclave> parsed;
  std::vector<std::string> names;
  std::vector<std::vector<std::string>> deps;
  std::set<std::uint32_t> cids;
  std::set<std::pair<std::string, unsigned>> host_ports;
  for (const auto& [name, node] : list.entries()) {
    parsed.push_back(parse_enclave(name, node, base_dir, c.project));
    const auto& s = parsed.back().spec;
    if (s.cid && !cids.insert(*s.cid).second) node.required("cid").fail("CID " + std::to_string(*s.cid) + " is used twice");
    for (const auto& p : s.ports)
      if (!host_ports.insert({p.host_addr, p.host_port}).second)
        node.required("ports").fail("host port " + p.to_string() + " is used by another enclave");
    names.push_back(name);
    deps.push_back(parsed.back().depends_on);
  }
  if (parsed.empty()) list.fail("no enclaves defined");
  if (parsed.size() > 64) list.fail("more than 64 enclaves");
  std::vector<std::size_t> order;
  try {
    order = start_order(names, deps);
  } catch (const Error& err) {
    list.fail(err.what());
  }
  for (auto i : order) c.enclaves.push_back(std::move(parsed[i]));
  return c;
}

ComposeFile load_compose(const fs::path& file) {
  std::string text = read_text_file(file);
  fs::path base = fs::absolute(file).parent_path();
  return parse_compose(text, file.string(), base);
}

nlohmann::json compose_to_json(const ComposeFile& c) {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& e : c.enclaves) list.push_back({{"spec", to_json(e.spec)}, {"depends_on", e.depends_on}});
  return {{"project", c.project}, {"enclaves", list}};
}

ComposeFile compose_from_json(const nlohmann::json& j) {
  if (!j.is_object() || !j.contains("project") || !j.at("project").is_string() || !j.contains("enclaves") ||
      !j.at("enclaves").is_array())
    throw Error("compose body: expected {\"project\": NAME, \"enclaves\": [{\"spec\": …, \"depends_on\": […]}]}");
  for (const auto& [k, v] : j.items())
    if (k != "project" && k != "enclaves" && k != "timeout_ms") throw Error("compose body." + k + ": unknown key");
  ComposeFile c;
  c.project = j.at("project").get<std::string>();
  check_name(c.project);
  std::vector<std::string> names;
  std::vector<std::vector<std::string>> deps;
  std::vector<ComposeEnclave> parsed;
  std::size_t i = 0;
  for (const auto& item : j.at("enclaves")) {
    std::string where = "compose body.enclaves[" + std::to_string(i++) + "]";
    if (!item.is_object() || !item.contains("spec")) throw Error(where + ": expected {\"spec\": …}");
    ComposeEnclave e;
    e.spec = with_context(where, [&] { return spec_from_json(item.at("spec")); });
    if (e.spec.project != c.project) throw Error(where + ": spec.project must be " + c.project);
    if (item.contains("depends_on")) {
      if (!item.at("depends_on").is_array()) throw Error(where + ".depends_on: expected a list");
      for (const auto& d : item.at("depends_on")) {
        if (!d.is_string()) throw Error(where + ".depends_on: expected names");
        e.depends_on.push_back(d.get<std::string>());
      }
    }
    names.push_back(e.spec.name);
    deps.push_back(e.depends_on);
    parsed.push_back(std::move(e));
  }
  if (parsed.empty() || parsed.size() > 64) throw Error("compose body: 1 to 64 enclaves");
  std::set<std::string> unique(names.begin(), names.end());
  if (unique.size() != names.size()) throw Error("compose body: an enclave name appears twice");
  for (auto k : start_order(names, deps)) c.enclaves.push_back(std::move(parsed[k]));
  return c;
}

}  // namespace ef::engine
