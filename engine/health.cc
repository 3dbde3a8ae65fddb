#include "engine/health.h"

#include <poll.h>
#include <unistd.h>

#include <chrono>

#include "base/error.h"

namespace ef::engine {

int parse_status_line(std::string_view head) {
  if (head.size() < 12 || !head.starts_with("HTTP/1.") || head[8] != ' ') return -1;
  int code = 0;
  for (int i = 9; i < 12; ++i) {
    if (head[i] < '0' || head[i] > '9') return -1;
    code = code * 10 + (head[i] - '0');
  }
  if (head.size() > 12 && head[12] != ' ' && head[12] != '\r') return -1;
  return code;
}

ProbeResult probe_health(Backend& backend, const EnclaveHandle& handle, const HealthSpec& health) {
  if (health.port == 0) return {true, "no check"};
  UniqueFd fd;
  try {
    fd = backend.connect(handle, health.port);
  } catch (const std::exception& e) {
    return {false, std::string("connect: ") + e.what()};
  }
  if (health.http_path.empty()) return {true, "connected"};
  std::string req = "GET " + health.http_path + " HTTP/1.0\r\nHost: enclave\r\nConnection: close\r\n\r\n";
  if (write(fd.get(), req.data(), req.size()) != static_cast<ssize_t>(req.size())) return {false, "write failed"};
  std::string head;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(health.timeout_ms);
  while (head.find('\n') == std::string::npos && head.size() < 512) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return {false, "timeout"};
    pollfd p{fd.get(), POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(left.count())) <= 0) return {false, "timeout"};
    char buf[256];
    ssize_t n = read(fd.get(), buf, sizeof buf);
    if (n <= 0) break;
    head.append(buf, static_cast<std::size_t>(n));
  }
  int code = parse_status_line(head);
  if (code < 0) return {false, "not an HTTP answer"};
  if (code < 200 || code > 299) return {false, "status " + std::to_string(code)};
  return {true, "status " + std::to_string(code)};
}

}  // namespace ef::engine
