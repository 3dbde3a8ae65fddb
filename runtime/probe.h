#pragma once
// Readiness probes: a local TCP or vsock port accepting, or a file existing.

#include "runtime/config.h"

namespace ef::init {

/// One non-blocking-ish check (loopback connects answer at once). kNone is always ready.
bool probe_ready(const Readiness& r);

}  // namespace ef::init
