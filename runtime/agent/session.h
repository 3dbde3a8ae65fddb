#pragma once
// One authenticated connection on the agent side, and the request handlers it
// dispatches to (exec.cc, copy.cc, logs.cc, secrets.cc).

#include <atomic>
#include <string>

#include "runtime/agent/channel.h"
#include "runtime/agent/config.h"
#include "runtime/agent/messages.h"

namespace ef::agent {

/// Process-wide counters (logged at exit and per connection).
struct AgentCounters {
  std::atomic<std::uint64_t> connections{0};
  std::atomic<std::uint64_t> attested{0};       ///< ATTESTATION sent
  std::atomic<std::uint64_t> authenticated{0};  ///< AUTH_OK sent
  std::atomic<std::uint64_t> auth_refused{0};
  std::atomic<std::uint64_t> requests{0};
  std::atomic<std::uint64_t> refused{0};        ///< requests refused by configuration
};

struct RequestContext {
  Channel& channel;
  const AgentConfig& config;
  std::string operator_fp;
};

void send_error(Channel& ch, ErrorCode code, const std::string& message);

/// Each handler runs one request to completion (including its streams) and
/// leaves the channel ready for the next request, or throws when the
/// connection cannot go on.
void handle_exec(RequestContext& ctx, const Frame& request);
void handle_cp_in(RequestContext& ctx, const Frame& request);
void handle_cp_out(RequestContext& ctx, const Frame& request);
void handle_logs(RequestContext& ctx, const Frame& request);
void handle_secret_put(RequestContext& ctx, Frame& request);

/// Kills (SIGKILL, whole process group) every exec child still running; for shutdown.
void kill_all_exec_children();

}  // namespace ef::agent
