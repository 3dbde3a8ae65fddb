#include "netproxy/config.h"

#include <charconv>

#include "base/error.h"

namespace ef::netproxy {

std::string_view mode_name(Mode mode) {
  switch (mode) {
    case Mode::kForward: return "forward";
    case Mode::kTransparent: return "transparent";
    case Mode::kIngress: return "ingress";
    case Mode::kDialer: return "dialer";
    case Mode::kUdpToStream: return "udp-to-stream";
    case Mode::kStreamToUdp: return "stream-to-udp";
  }
  return "?";
}

Mode parse_mode(std::string_view text) {
  for (Mode m : {Mode::kForward, Mode::kTransparent, Mode::kIngress, Mode::kDialer, Mode::kUdpToStream,
                 Mode::kStreamToUdp})
    if (mode_name(m) == text) return m;
  throw Error("unknown mode '" + std::string(text) +
              "' (expected forward, transparent, ingress, dialer, udp-to-stream or stream-to-udp)");
}

void Config::validate() const {
  if (forwards.empty()) throw Error("no forwards configured");
  for (const auto& f : forwards) {
    auto need = [&](bool ok, const std::string& what) {
      if (!ok) throw Error("forward '" + f.name + "' (" + std::string(mode_name(f.mode)) + "): " + what);
    };
    need(f.mode == Mode::kDialer || f.connect.has_value(), "needs 'connect'");
    need(f.mode != Mode::kDialer || !f.connect.has_value(), "a dialer takes its destination from the header, not 'connect'");
    bool udp_listen = f.listen.transport == Transport::kUdp;
    need(udp_listen == (f.mode == Mode::kUdpToStream), f.mode == Mode::kUdpToStream
                                                           ? "listen must be udp:HOST:PORT"
                                                           : "listen must be a stream endpoint (tcp, vsock, unix)");
    bool udp_connect = f.connect && f.connect->transport == Transport::kUdp;
    if (f.connect)
      need(udp_connect == (f.mode == Mode::kStreamToUdp),
           f.mode == Mode::kStreamToUdp ? "connect must be udp:HOST:PORT" : "connect must be a stream endpoint");
    need(f.mode == Mode::kIngress || f.ports.empty(), "'ports' is for ingress only");
    need(f.mode != Mode::kIngress || f.listen.transport == Transport::kTcp, "ingress listens on tcp");
    need(f.mode != Mode::kTransparent || f.listen.transport == Transport::kTcp, "transparent listens on tcp");
    need(f.listen.hybrid_port == 0, "hvsock: is a connect endpoint only");
    need(!f.connect || f.connect->hybrid_port == 0 || f.mode == Mode::kForward || f.mode == Mode::kTransparent ||
             f.mode == Mode::kIngress,
         "hvsock: needs a TCP stream mode (forward, transparent, ingress)");
    need(f.max_connections > 0, "max_connections must be positive");
  }
}

std::string Config::describe() const {
  std::string s;
  for (const auto& f : forwards) {
    s += f.name + ": " + std::string(mode_name(f.mode)) + " " + f.listen.to_string();
    for (auto p : f.ports) s += "," + std::to_string(p);
    s += " -> " + (f.connect ? f.connect->to_string() : f.dial_host.empty() ? "header" : f.dial_host + ":header");
    if (f.mode == Mode::kDialer) s += " policy{" + f.policy.describe() + "}";
    s += "; ";
  }
  return s;
}

namespace {

ForwardSpec parse_forward(const ConfigNode& n, std::size_t index) {
  n.expect_keys({"name", "mode", "listen", "ports", "connect", "dial_host", "policy", "max_connections",
                 "connect_timeout", "idle_timeout", "zero_copy", "buffer_size"});
  ForwardSpec f;
  auto wrap = [&](const ConfigNode& node, auto fn) {
    try {
      return fn();
    } catch (const Error& e) {
      node.fail(e.what());
    }
  };
  f.name = n.string_or("name", "forward" + std::to_string(index + 1));
  f.mode = wrap(n.required("mode"), [&] { return parse_mode(n.required("mode").as_string()); });
  f.listen = wrap(n.required("listen"), [&] { return parse_endpoint(n.required("listen").as_string()); });
  if (auto c = n.optional("connect")) f.connect = wrap(*c, [&] { return parse_endpoint(c->as_string()); });
  if (auto p = n.optional("ports"))
    for (const auto& item : p->items()) f.ports.push_back(static_cast<std::uint16_t>(item.as_int(1, 65535)));
  f.dial_host = n.string_or("dial_host", "");
  if (auto p = n.optional("policy")) f.policy = Policy::from_config(*p);
  f.max_connections = static_cast<std::size_t>(n.int_or("max_connections", 10000, 1, 1'000'000));
  if (auto d = n.optional("connect_timeout")) f.connect_timeout = wrap(*d, [&] { return parse_duration(d->as_string()); });
  if (auto d = n.optional("idle_timeout")) f.idle_timeout = wrap(*d, [&] { return parse_duration(d->as_string()); });
  f.zero_copy = n.bool_or("zero_copy", true);
  f.buffer_size = static_cast<std::size_t>(n.int_or("buffer_size", 256 * 1024, 4096, 64 * 1024 * 1024));
  if (f.mode != Mode::kDialer && n.has("policy")) n.required("policy").fail("a policy applies to dialers only");
  return f;
}

Config parse_root(const ConfigNode& root) {
  root.expect_keys({"workers", "metrics", "log", "forwards"});
  Config c;
  c.workers = static_cast<int>(root.int_or("workers", 2, 1, 256));
  if (auto m = root.optional("metrics")) {
    try {
      c.metrics = parse_endpoint(m->as_string());
    } catch (const Error& e) {
      m->fail(e.what());
    }
  }
  if (auto l = root.optional("log")) {
    l->expect_keys({"format", "level"});
    std::string format = l->string_or("format", "text"), level = l->string_or("level", "info");
    if (format != "text" && format != "json") l->required("format").fail("expected text or json");
    c.log_format = format == "json" ? log::Format::kJson : log::Format::kText;
    if (level == "debug") c.log_level = log::Level::kDebug;
    else if (level == "info") c.log_level = log::Level::kInfo;
    else if (level == "warn") c.log_level = log::Level::kWarn;
    else if (level == "error") c.log_level = log::Level::kError;
    else l->required("level").fail("expected debug, info, warn or error");
  }
  auto items = root.required("forwards").items();
  for (std::size_t i = 0; i < items.size(); ++i) c.forwards.push_back(parse_forward(items[i], i));
  try {
    c.validate();
  } catch (const Error& e) {
    root.fail(e.what());
  }
  return c;
}

}  // namespace

Config load_config(const std::filesystem::path& path) { return parse_root(ConfigNode::load_file(path)); }

Config parse_config(std::string_view yaml, const std::string& file_name) {
  return parse_root(ConfigNode::load_string(yaml, file_name));
}

}  // namespace ef::netproxy
