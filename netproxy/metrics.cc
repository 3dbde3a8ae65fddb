#include "netproxy/metrics.h"

#include <functional>

namespace ef::netproxy {

std::string_view error_kind_name(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::kAccept: return "accept";
    case ErrorKind::kConnect: return "connect";
    case ErrorKind::kConnectTimeout: return "connect_timeout";
    case ErrorKind::kIdleTimeout: return "idle_timeout";
    case ErrorKind::kReset: return "reset";
    case ErrorKind::kHeader: return "header";
    case ErrorKind::kOriginalDst: return "original_dst";
    case ErrorKind::kPolicy: return "policy";
    case ErrorKind::kLimit: return "limit";
    case ErrorKind::kDatagramDropped: return "datagram_dropped";
    case ErrorKind::kCount: break;
  }
  return "unknown";
}

ForwardMetrics& Metrics::add(std::string name) {
  std::lock_guard lock(mutex_);
  return forwards_.emplace_back(std::move(name));
}

namespace {

std::string label(const std::string& forward) {
  std::string out = "forward=\"";
  for (char c : forward) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c == '\n' ? ' ' : c);
  }
  return out + "\"";
}

}  // namespace

std::string Metrics::render() const {
  std::lock_guard lock(mutex_);
  std::string out;
  auto family = [&](const char* name, const char* type, const char* help,
                    const std::function<void(const ForwardMetrics&)>& each) {
    out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
    for (const auto& f : forwards_) each(f);
  };
  auto line = [&](const char* name, const std::string& labels, std::uint64_t v) {
    out += std::string(name) + "{" + labels + "} " + std::to_string(v) + "\n";
  };
  family("pf_proxy_connections_open", "gauge", "Connections currently open.", [&](const ForwardMetrics& f) {
    line("pf_proxy_connections_open", label(f.name), static_cast<std::uint64_t>(std::max<std::int64_t>(0, f.open)));
  });
  family("pf_proxy_connections_total", "counter", "Connections accepted.",
         [&](const ForwardMetrics& f) { line("pf_proxy_connections_total", label(f.name), f.total); });
  family("pf_proxy_connections_refused_total", "counter", "Connections refused (limit, policy, bad header).",
         [&](const ForwardMetrics& f) { line("pf_proxy_connections_refused_total", label(f.name), f.refused); });
  family("pf_proxy_bytes_total", "counter", "Bytes delivered, by direction.", [&](const ForwardMetrics& f) {
    line("pf_proxy_bytes_total", label(f.name) + ",direction=\"up\"", f.bytes_up);
    line("pf_proxy_bytes_total", label(f.name) + ",direction=\"down\"", f.bytes_down);
  });
  family("pf_proxy_errors_total", "counter", "Errors by kind.", [&](const ForwardMetrics& f) {
    for (std::size_t k = 0; k < static_cast<std::size_t>(ErrorKind::kCount); ++k)
      line("pf_proxy_errors_total",
           label(f.name) + ",kind=\"" + std::string(error_kind_name(static_cast<ErrorKind>(k))) + "\"",
           f.errors[k].load());
  });
  return out;
}

}  // namespace ef::netproxy
