#pragma once
// A backend whose "enclave" is a host process (ef-fake-enclave): its exit
// means the enclave died, and each vsock port it serves is a unix socket
// STATE_DIR/vsock-PORT.sock. Used by the engine's tests and by
// `enclaved --backend fake`, so that state, restart policy, events,
// re-attach, proxies and compose are tested without QEMU or Nitro.

#include <filesystem>
#include <string>
#include <vector>

#include "engine/backend.h"

namespace ef::engine {

class FakeBackend : public Backend {
 public:
  /// `program`: the ef-fake-enclave binary. `ports`: the vsock ports every
  /// fake enclave serves (echo, or HTTP 200 "ok" for a request starting "GET ").
  FakeBackend(std::filesystem::path program, std::vector<std::uint32_t> ports);

  std::string name() const override { return "fake"; }
  EnclaveHandle launch(const LaunchRequest& request) override;
  EnclaveStatus status(const EnclaveHandle& handle) override;
  void terminate(const EnclaveHandle& handle, std::chrono::milliseconds grace) override;
  UniqueFd connect(const EnclaveHandle& handle, std::uint32_t port) override;
  std::string host_listen_endpoint(const EnclaveHandle& handle, std::uint32_t port) override;
  std::filesystem::path console_log(const EnclaveHandle& handle) override;
  std::string connect_endpoint(const EnclaveHandle& handle, std::uint32_t port) override;
  /// false: connect_endpoint() returns "" (like local mode), so enclaved relays ports itself.
  bool plain_endpoints = true;

 private:
  std::filesystem::path dir_of(const EnclaveHandle& handle) const;
  std::filesystem::path program_;
  std::vector<std::uint32_t> ports_;
  std::uint32_t next_cid_ = 16;
};

/// Connects a unix stream socket to `path` (O_CLOEXEC); throws SysError.
UniqueFd connect_unix(const std::filesystem::path& path);

}  // namespace ef::engine
