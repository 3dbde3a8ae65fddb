#pragma once
// One health probe of an enclave: a stream to its vsock port opened through
// the backend, optionally an HTTP GET whose answer must be 2xx.

#include <string>

#include "engine/backend.h"
#include "engine/spec.h"

namespace ef::engine {

struct ProbeResult {
  bool ok = false;
  std::string detail;  ///< why it failed ("connect: …", "status 503", "timeout")
};

/// Runs the probe of `health` against `handle`; never throws.
ProbeResult probe_health(Backend& backend, const EnclaveHandle& handle, const HealthSpec& health);

/// Parses an HTTP status line ("HTTP/1.1 200 OK"); returns the code or -1.
int parse_status_line(std::string_view head);

}  // namespace ef::engine
