#pragma once
// Restart policies as docker spells them: no | on-failure[:N] | always |
// unless-stopped, with an exponential backoff between attempts.

#include <chrono>
#include <string>
#include <string_view>

namespace ef::engine {

struct RestartPolicy {
  enum class Kind { no, on_failure, always, unless_stopped };
  Kind kind = Kind::no;
  unsigned max_retries = 0;  ///< on-failure only; 0 = unlimited

  /// Parses "no", "on-failure", "on-failure:N", "always", "unless-stopped";
  /// throws Error naming the text and the accepted forms.
  static RestartPolicy parse(std::string_view text);
  std::string to_string() const;
};

/// Why an enclave stopped, as far as the engine knows.
struct ExitInfo {
  bool failed = true;          ///< exit status non-zero / killed (the engine cannot tell for enclaves, so true unless known)
  bool stopped_by_user = false;
};

/// Whether the policy restarts after `exit` when `restarts_so_far` restarts
/// already happened. A user stop never restarts.
bool should_restart(const RestartPolicy& policy, const ExitInfo& exit, unsigned restarts_so_far);

/// Delay before restart number `attempt` (0-based): 100 ms doubling, capped
/// at `cap` (docker's shape).
std::chrono::milliseconds restart_backoff(unsigned attempt,
                                          std::chrono::milliseconds cap = std::chrono::milliseconds(30000));

}  // namespace ef::engine
