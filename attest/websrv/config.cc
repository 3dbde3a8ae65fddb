#include "attest/websrv/config.h"

#include <arpa/inet.h>

#include "base/error.h"
#include "base/file.h"
#include "base/yaml_config.h"

namespace ef::websrv {

HostPort parse_host_port(std::string_view text) {
  HostPort hp;
  std::string_view host, port;
  if (!text.empty() && text[0] == '[') {
    const auto close = text.find("]:");
    if (close == std::string_view::npos) throw Error("expected [V6]:PORT, got \"" + std::string(text) + "\"");
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos) throw Error("expected HOST:PORT, got \"" + std::string(text) + "\"");
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  hp.host = std::string(host);
  unsigned char buf[16];
  if (inet_pton(AF_INET, hp.host.c_str(), buf) != 1 && inet_pton(AF_INET6, hp.host.c_str(), buf) != 1)
    throw Error("host \"" + hp.host + "\" is not an IP address literal");
  if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string_view::npos ||
      std::stoul(std::string(port)) > 65535)
    throw Error("port \"" + std::string(port) + "\" is not 0..65535");
  hp.port = static_cast<std::uint16_t>(std::stoul(std::string(port)));
  return hp;
}

namespace {

HostPort host_port(const ConfigNode& n) {
  try {
    return parse_host_port(n.as_string());
  } catch (const Error& e) {
    n.fail(e.what());
  }
}

std::string one_of(const ConfigNode& n, std::initializer_list<std::string_view> allowed) {
  std::string v = n.as_string();
  for (auto a : allowed)
    if (v == a) return v;
  std::string list;
  for (auto a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
  n.fail("expected one of " + list + ", got \"" + v + "\"");
}

void load_listen(const ConfigNode& n, Config& c) {
  n.expect_keys({"tcp", "vsock_port", "redirect", "redirect_https_port"});
  if (auto t = n.optional("tcp")) {
    c.tcp.clear();
    if (t->is_sequence()) {
      for (const auto& item : t->items()) c.tcp.push_back(host_port(item));
    } else {
      c.tcp.push_back(host_port(*t));
    }
  }
  if (auto v = n.optional("vsock_port")) c.vsock_port = static_cast<std::uint32_t>(v->as_int(1, 0xffffffffLL - 1));
  if (auto r = n.optional("redirect")) c.redirect = host_port(*r);
  if (auto p = n.optional("redirect_https_port")) c.redirect_https_port = static_cast<std::uint16_t>(p->as_int(1, 65535));
}

void load_tls(const ConfigNode& n, Config& c) {
  n.expect_keys({"enabled", "min_version", "key_type", "cert_file", "key_file", "write_dir", "common_name", "client_ca"});
  c.tls = n.bool_or("enabled", true);
  if (auto v = n.optional("min_version")) c.tls_min_version = one_of(*v, {"1.3", "1.2"});
  if (auto v = n.optional("key_type")) c.tls_key_type = one_of(*v, {"P-384", "P-256"});
  c.tls_cert_file = n.string_or("cert_file", "");
  c.tls_key_file = n.string_or("key_file", "");
  if (c.tls_cert_file.empty() != c.tls_key_file.empty())
    n.fail("cert_file and key_file go together (give both, or neither to generate a key in the enclave)");
  c.tls_write_dir = n.string_or("write_dir", "");
  c.tls_common_name = n.string_or("common_name", c.tls_common_name);
  c.client_ca = n.string_or("client_ca", "");
}

void load_nsm(const ConfigNode& n, Config& c) {
  n.expect_keys({"mode", "device", "state_dir", "extra_roots", "pcrs_from", "cmdline_file"});
  if (auto m = n.optional("mode")) {
    const std::string mode = one_of(*m, {"auto", "device", "simulated"});
    c.nsm_mode = mode == "auto" ? NsmMode::kAuto : mode == "device" ? NsmMode::kDevice : NsmMode::kSimulated;
  }
  c.nsm_device = n.string_or("device", c.nsm_device);
  c.nsm_state_dir = n.string_or("state_dir", c.nsm_state_dir);
  if (auto r = n.optional("extra_roots")) c.extra_roots = r->as_string_list();
  if (auto v = n.optional("pcrs_from")) c.nsm_pcrs_from_cmdline = one_of(*v, {"state_dir", "cmdline"}) == "cmdline";
  c.nsm_cmdline_file = n.string_or("cmdline_file", c.nsm_cmdline_file);
}

void load_limits(const ConfigNode& n, Config& c) {
  n.expect_keys({"io_threads", "max_connections", "max_header_bytes", "max_body_bytes", "header_timeout_ms",
                 "request_timeout_ms", "idle_timeout_ms"});
  c.io_threads = static_cast<unsigned>(n.int_or("io_threads", c.io_threads, 0, 256));
  c.max_connections = static_cast<std::uint32_t>(n.int_or("max_connections", c.max_connections, 1, 1'000'000));
  c.max_header_bytes = static_cast<std::uint32_t>(n.int_or("max_header_bytes", c.max_header_bytes, 512, 1 << 20));
  c.max_body_bytes = static_cast<std::uint32_t>(n.int_or("max_body_bytes", c.max_body_bytes, 0, 16 << 20));
  c.header_timeout_ms = static_cast<std::uint32_t>(n.int_or("header_timeout_ms", c.header_timeout_ms, 10, 3'600'000));
  c.request_timeout_ms =
      static_cast<std::uint32_t>(n.int_or("request_timeout_ms", c.request_timeout_ms, 10, 3'600'000));
  c.idle_timeout_ms = static_cast<std::uint32_t>(n.int_or("idle_timeout_ms", c.idle_timeout_ms, 10, 3'600'000));
}

}  // namespace

Config parse_config(std::string_view text, const std::string& file_name) {
  Config c;
  c.source = file_name;
  const ConfigNode root = ConfigNode::load_string(text, file_name);
  if (root.is_null()) return c;
  root.expect_keys({"listen", "tls", "vrf", "nsm", "files", "limits", "log"});
  if (auto n = root.optional("listen")) load_listen(*n, c);
  if (auto n = root.optional("tls")) load_tls(*n, c);
  if (auto n = root.optional("vrf")) {
    n->expect_keys({"key_file"});
    c.vrf_key_file = n->string_or("key_file", "");
  }
  if (auto n = root.optional("nsm")) load_nsm(*n, c);
  if (auto n = root.optional("files")) {
    n->expect_keys({"socket", "producer_uid"});
    c.files_socket = n->string_or("socket", c.files_socket);
    if (auto u = n->optional("producer_uid")) c.files_producer_uid = static_cast<std::uint32_t>(u->as_int(0, 4294967294));
  }
  if (auto n = root.optional("limits")) load_limits(*n, c);
  if (auto n = root.optional("log")) {
    n->expect_keys({"format", "level"});
    if (auto f = n->optional("format")) c.log_format = one_of(*f, {"text", "json"});
    if (auto l = n->optional("level")) c.log_level = one_of(*l, {"debug", "info", "warn", "error"});
  }
  if (c.tcp.empty() && !c.vsock_port) root.fail("listen: no tcp address and no vsock_port: nothing to serve");
  return c;
}

Config load_config(const std::filesystem::path& path) {
  return parse_config(read_text_file(path), path.string());
}

nlohmann::json Config::to_json() const {
  nlohmann::json j;
  j["source"] = source;
  auto hp = [](const HostPort& h) { return (h.host.find(':') != std::string::npos ? "[" + h.host + "]" : h.host) + ":" + std::to_string(h.port); };
  j["listen"]["tcp"] = nlohmann::json::array();
  for (const auto& t : tcp) j["listen"]["tcp"].push_back(hp(t));
  j["listen"]["vsock_port"] = vsock_port ? nlohmann::json(*vsock_port) : nlohmann::json();
  j["listen"]["redirect"] = redirect ? nlohmann::json(hp(*redirect)) : nlohmann::json();
  j["tls"] = {{"enabled", tls}, {"min_version", tls_min_version}, {"key_type", tls_key_type},
              {"cert_file", tls_cert_file}, {"key_file", tls_key_file}, {"write_dir", tls_write_dir},
              {"client_ca", client_ca}, {"mtls", !client_ca.empty()}};
  j["vrf"] = {{"key_file", vrf_key_file.empty() ? "(ephemeral)" : vrf_key_file}};
  j["nsm"] = {{"mode", nsm_mode == NsmMode::kAuto ? "auto" : nsm_mode == NsmMode::kDevice ? "device" : "simulated"},
              {"device", nsm_device}, {"state_dir", nsm_state_dir}, {"extra_roots", extra_roots},
              {"pcrs_from", nsm_pcrs_from_cmdline ? "cmdline" : "state_dir"}, {"cmdline_file", nsm_cmdline_file}};
  j["files"] = {{"socket", files_socket},
                {"producer_uid", files_producer_uid ? nlohmann::json(*files_producer_uid) : nlohmann::json("(own uid)")}};
  j["limits"] = {{"io_threads", io_threads}, {"max_connections", max_connections},
                 {"max_header_bytes", max_header_bytes}, {"max_body_bytes", max_body_bytes},
                 {"header_timeout_ms", header_timeout_ms}, {"request_timeout_ms", request_timeout_ms},
                 {"idle_timeout_ms", idle_timeout_ms}};
  j["log"] = {{"format", log_format}, {"level", log_level}};
  return j;
}

}  // namespace ef::websrv
