#pragma once
// A minimal HTTP/1.0 endpoint: GET /metrics returns the Prometheus text,
// anything else 404. One small thread; requests are tiny and rare.

#include <functional>
#include <string>
#include <thread>

#include "base/fd.h"
#include "netproxy/endpoint.h"

namespace ef::netproxy {

class MetricsServer {
 public:
  MetricsServer(const Endpoint& listen, std::function<std::string()> render);
  ~MetricsServer();
  SockAddr address() const { return address_; }

 private:
  void serve();
  void answer(int fd);
  UniqueFd listener_;
  UniqueFd stop_;
  SockAddr address_;
  std::function<std::string()> render_;
  std::thread thread_;
};

}  // namespace ef::netproxy
