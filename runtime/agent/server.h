#pragma once
// ef-agent's server: listens on the configured endpoints, runs the attested
// handshake on each connection (thread per connection: few connections, big
// streams) and dispatches its requests. See docs/agent.md.

#include <memory>
#include <vector>

#include "attest/nsm.h"
#include "base/fd.h"
#include "runtime/agent/channel.h"
#include "runtime/agent/config.h"
#include "runtime/agent/session.h"

namespace ef::agent {

class AgentServer {
 public:
  /// Makes the P-384 TLS key and self-signed certificate; opens no sockets yet.
  AgentServer(AgentConfig config, nsm::NsmDevice& nsm);
  ~AgentServer();

  /// Binds every listen endpoint (throws ef::Error naming the one that fails).
  void bind();
  /// Accepts until `stop_fd` becomes readable (e.g. a signalfd).
  void run(int stop_fd);
  /// Runs one connection to its end (the handshake and all requests); never throws.
  void serve_connection(UniqueFd fd, const std::string& peer);

  const AgentCounters& counters() const { return counters_; }
  /// SubjectPublicKeyInfo DER of the TLS key (what documents carry as public_key).
  const Bytes& spki() const { return spki_; }

 private:
  /// The handshake; returns the operator fingerprint, or "" when refused/closed.
  std::string handshake(Channel& ch);
  void dispatch(Channel& ch, const std::string& operator_fp, std::uint64_t& requests);

  AgentConfig config_;
  nsm::NsmDevice& nsm_;
  SslCtxPtr ctx_;
  Bytes spki_;
  std::vector<std::pair<UniqueFd, std::string>> listeners_;
  AgentCounters counters_;
  std::atomic<std::uint32_t> active_{0};
};

}  // namespace ef::agent
