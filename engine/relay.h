#pragma once
// A host TCP port forwarded to an enclave's vsock port by enclaved itself,
// through Backend::connect — for backends whose vsock is not reachable by a
// plain pf-proxy endpoint (connect_endpoint() == "", e.g. local mode's
// hybrid-vsock bridge, which wants a CONNECT handshake). pf-proxy does the
// forwarding everywhere else.

#include <atomic>
#include <memory>
#include <thread>

#include "base/fd.h"
#include "engine/backend.h"
#include "engine/spec.h"

namespace ef::engine {

class PortRelay {
 public:
  /// Binds HOST_ADDR:HOST_PORT now (throws Error naming it); serves until destroyed.
  PortRelay(Backend& backend, EnclaveHandle handle, PortMapping mapping);
  ~PortRelay();
  PortRelay(const PortRelay&) = delete;
  PortRelay& operator=(const PortRelay&) = delete;

 private:
  void serve();
  Backend& backend_;
  EnclaveHandle handle_;
  PortMapping mapping_;
  UniqueFd listen_fd_;
  UniqueFd wake_;
  std::shared_ptr<std::atomic<bool>> stop_ = std::make_shared<std::atomic<bool>>(false);
  std::thread thread_;
};

/// Copies both ways between two connected streams until both directions end.
void relay_streams(int a, int b, const std::atomic<bool>& stop);

}  // namespace ef::engine
