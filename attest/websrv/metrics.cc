#include "attest/websrv/metrics.h"

#include <cstdio>

namespace ef::websrv {

Metrics::Metrics(std::vector<std::string> routes) : names_(std::move(routes)) {
  names_.push_back("unmatched");
  routes_ = std::make_unique<Route[]>(names_.size());
}

void Metrics::observe(std::size_t route, int status, double seconds) {
  Route& r = routes_[route < names_.size() ? route : names_.size() - 1];
  std::size_t s = 0;
  while (s + 1 < kStatuses.size() && kStatuses[s] != status) ++s;  // stops at the last: "other"
  r.by_status[s].fetch_add(1, std::memory_order_relaxed);
  std::size_t b = 0;
  while (b < kBuckets.size() && seconds > kBuckets[b]) ++b;
  r.buckets[b].fetch_add(1, std::memory_order_relaxed);
  r.sum_us.fetch_add(static_cast<std::uint64_t>(seconds * 1e6), std::memory_order_relaxed);
  r.count.fetch_add(1, std::memory_order_relaxed);
}

std::string Metrics::render(std::size_t files_tracked) const {
  std::string out;
  char line[512];
  out += "# HELP ra_web_srv_requests_total HTTP requests by route and status.\n"
         "# TYPE ra_web_srv_requests_total counter\n";
  for (std::size_t i = 0; i < names_.size(); ++i)
    for (std::size_t s = 0; s < kStatuses.size(); ++s) {
      const auto n = routes_[i].by_status[s].load(std::memory_order_relaxed);
      if (n == 0) continue;
      const std::string code = kStatuses[s] == 0 ? "other" : std::to_string(kStatuses[s]);
      std::snprintf(line, sizeof line, "ra_web_srv_requests_total{route=\"%s\",status=\"%s\"} %llu\n",
                    names_[i].c_str(), code.c_str(), static_cast<unsigned long long>(n));
      out += line;
    }
  out += "# HELP ra_web_srv_request_duration_seconds Time from request headers read to response written.\n"
         "# TYPE ra_web_srv_request_duration_seconds histogram\n";
  for (std::size_t i = 0; i < names_.size(); ++i) {
    const Route& r = routes_[i];
    const auto count = r.count.load(std::memory_order_relaxed);
    if (count == 0) continue;
    std::uint64_t cum = 0;
    for (std::size_t b = 0; b <= kBuckets.size(); ++b) {
      cum += r.buckets[b].load(std::memory_order_relaxed);
      const std::string le = b < kBuckets.size() ? std::to_string(kBuckets[b]) : "+Inf";
      std::snprintf(line, sizeof line, "ra_web_srv_request_duration_seconds_bucket{route=\"%s\",le=\"%s\"} %llu\n",
                    names_[i].c_str(), le.c_str(), static_cast<unsigned long long>(cum));
      out += line;
    }
    std::snprintf(line, sizeof line,
                  "ra_web_srv_request_duration_seconds_sum{route=\"%s\"} %.6f\n"
                  "ra_web_srv_request_duration_seconds_count{route=\"%s\"} %llu\n",
                  names_[i].c_str(), static_cast<double>(r.sum_us.load(std::memory_order_relaxed)) / 1e6,
                  names_[i].c_str(), static_cast<unsigned long long>(count));
    out += line;
  }
  auto counter = [&](const char* name, const char* help, const char* type, long long v) {
    std::snprintf(line, sizeof line, "# HELP %s %s\n# TYPE %s %s\n%s %lld\n", name, help, name, type, name, v);
    out += line;
  };
  counter("ra_web_srv_documents_issued_total", "Attestation documents issued.", "counter",
          static_cast<long long>(documents_.load()));
  counter("ra_web_srv_files_tracked", "Entries in the file index.", "gauge", static_cast<long long>(files_tracked));
  std::snprintf(line, sizeof line,
                "# HELP ra_web_srv_index_refusals_total File-index connections refused: uid = not the producer's "
                "uid, busy = the producer is already connected.\n# TYPE ra_web_srv_index_refusals_total counter\n"
                "ra_web_srv_index_refusals_total{reason=\"uid\"} %llu\nra_web_srv_index_refusals_total{reason=\"busy\"} "
                "%llu\n",
                static_cast<unsigned long long>(index_refused_uid_.load()),
                static_cast<unsigned long long>(index_refused_busy_.load()));
  out += line;
  counter("ra_web_srv_connections_open", "Open client connections.", "gauge", static_cast<long long>(open_.load()));
  counter("ra_web_srv_connections_accepted_total", "Connections accepted.", "counter",
          static_cast<long long>(accepted_.load()));
  counter("ra_web_srv_connections_rejected_total", "Connections refused at max_connections.", "counter",
          static_cast<long long>(rejected_.load()));
  counter("ra_web_srv_tls_handshake_failures_total", "TLS handshakes that failed.", "counter",
          static_cast<long long>(tls_failed_.load()));
  counter("ra_web_srv_timeouts_total", "Connections closed by a header, request or idle timeout.", "counter",
          static_cast<long long>(timeouts_.load()));
  return out;
}

}  // namespace ef::websrv
