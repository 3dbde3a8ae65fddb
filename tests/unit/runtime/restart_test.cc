#include <catch2/catch.hpp>

#include "runtime/restart.h"

using namespace ef::init;

TEST_CASE("restart policies") {
  CHECK_FALSE(policy_restarts(RestartPolicy::kNo, false));
  CHECK_FALSE(policy_restarts(RestartPolicy::kNo, true));
  CHECK(policy_restarts(RestartPolicy::kAlways, true));
  CHECK(policy_restarts(RestartPolicy::kAlways, false));
  CHECK(policy_restarts(RestartPolicy::kOnFailure, false));
  CHECK_FALSE(policy_restarts(RestartPolicy::kOnFailure, true));
  CHECK(policy_restarts(RestartPolicy::kOnSuccess, true));
  CHECK_FALSE(policy_restarts(RestartPolicy::kOnSuccess, false));
}

TEST_CASE("backoff grows geometrically up to the maximum") {
  Backoff b{100, 2.0, 1000, 10'000};
  // 100 * 2^(n-1): 100, 200, 400, 800, then capped at 1000.
  CHECK(backoff_delay(b, 1) == 100);
  CHECK(backoff_delay(b, 2) == 200);
  CHECK(backoff_delay(b, 3) == 400);
  CHECK(backoff_delay(b, 4) == 800);
  CHECK(backoff_delay(b, 5) == 1000);
  CHECK(backoff_delay(b, 500) == 1000);
  Backoff c{300, 1.5, 60'000, 0};
  CHECK(backoff_delay(c, 3) == 675);  // 300 * 2.25
}

TEST_CASE("restart tracker: backoff, reset after a long run, and the limit in a window") {
  ServiceSpec s;
  s.restart = RestartPolicy::kOnFailure;
  s.backoff = {100, 2.0, 1000, 5000};
  s.limit = {3, 10'000};
  RestartTracker t;
  auto d = t.on_exit(s, false, 0, 10);
  CHECK(d.restart);
  CHECK(d.delay == 100);
  CHECK(t.on_exit(s, false, 200, 10).delay == 200);
  // A run of 6 s (>= reset_after) resets the backoff but still counts in the window.
  d = t.on_exit(s, false, 6500, 6000);
  CHECK(d.delay == 100);
  // The 4th restart within 10 s is refused.
  d = t.on_exit(s, false, 7000, 10);
  CHECK_FALSE(d.restart);
  CHECK(d.gave_up);
  CHECK(t.total_restarts() == 3);
  // Once the window has moved past the first restarts, restarts are allowed again.
  RestartTracker u;
  for (int i = 0; i < 3; ++i) REQUIRE(u.on_exit(s, false, i * 100, 10).restart);
  CHECK(u.on_exit(s, false, 10'050, 10).restart);
  // A success under on-failure is no restart and no give-up.
  d = u.on_exit(s, true, 10'100, 10);
  CHECK_FALSE(d.restart);
  CHECK_FALSE(d.gave_up);
}
