#pragma once
// When and how soon a service that ended is started again. Pure logic, no clock.

#include <deque>
#include <string>

#include "runtime/config.h"

namespace ef::init {

/// Whether the policy asks for a restart after an exit that did (not) succeed.
bool policy_restarts(RestartPolicy policy, bool success);

/// Delay before the `n`th consecutive restart (n >= 1): initial * factor^(n-1), capped at maximum.
Millis backoff_delay(const Backoff& b, int n);

/// Tracks one service's restarts: the consecutive count for the backoff and the
/// restart times inside the limit's window.
class RestartTracker {
 public:
  struct Decision {
    bool restart = false;
    Millis delay = 0;
    bool gave_up = false;  // the restart limit was hit
  };

  /// Called when the service ended at `now` after running `ran_for`.
  Decision on_exit(const ServiceSpec& spec, bool success, Millis now, Millis ran_for);
  /// Forgets the history (a manual start).
  void reset();
  int total_restarts() const { return total_; }

 private:
  int consecutive_ = 0;
  int total_ = 0;
  std::deque<Millis> recent_;
};

}  // namespace ef::init
