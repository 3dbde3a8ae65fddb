#include "runtime/restart.h"

#include <cmath>

namespace ef::init {

bool policy_restarts(RestartPolicy policy, bool success) {
  switch (policy) {
    case RestartPolicy::kNo: return false;
    case RestartPolicy::kAlways: return true;
    case RestartPolicy::kOnFailure: return !success;
    case RestartPolicy::kOnSuccess: return success;
  }
  return false;
}

Millis backoff_delay(const Backoff& b, int n) {
  if (n < 1) n = 1;
  double d = static_cast<double>(b.initial) * std::pow(b.factor, n - 1);
  if (!(d < static_cast<double>(b.maximum))) return b.maximum;
  return static_cast<Millis>(d);
}

RestartTracker::Decision RestartTracker::on_exit(const ServiceSpec& spec, bool success, Millis now,
                                                 Millis ran_for) {
  Decision d;
  if (!policy_restarts(spec.restart, success)) return d;
  if (ran_for >= spec.backoff.reset_after) consecutive_ = 0;
  while (!recent_.empty() && recent_.front() <= now - spec.limit.window) recent_.pop_front();
  if (static_cast<int>(recent_.size()) >= spec.limit.count) {
    d.gave_up = true;
    return d;
  }
  recent_.push_back(now);
  ++consecutive_;
  ++total_;
  d.restart = true;
  d.delay = backoff_delay(spec.backoff, consecutive_);
  return d;
}

void RestartTracker::reset() {
  consecutive_ = 0;
  recent_.clear();
}

}  // namespace ef::init
