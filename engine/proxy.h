#pragma once
// The host-side pf-proxy of one enclave. This is the one place that maps an
// enclave's ports to pf-proxy forwards:
//   -p HOST_ADDR:HOST_PORT:ENCLAVE_PORT → forward, listen tcp:HOST_ADDR:HOST_PORT,
//       connect backend.connect_endpoint(handle, ENCLAVE_PORT); when that is ""
//       (local mode's bridge) enclaved relays the port itself (relay.h)
//   egress {port, allow, deny}          → dialer, listen backend.host_listen_endpoint(handle, port),
//       with the allow/deny rules as its policy (pf-proxy's flag syntax)

#include <filesystem>
#include <string>

#include "engine/backend.h"
#include "engine/record.h"

namespace ef::engine {

/// The pf-proxy YAML configuration for `spec` running behind `handle`, or ""
/// when the enclave needs no proxy (no ports, no egress).
std::string proxy_config(const EnclaveSpec& spec, Backend& backend, const EnclaveHandle& handle);

/// Checks every egress rule with pf-proxy's own parser; throws Error naming
/// "egress.allow[N]" and the rule.
void check_egress_rules(const EgressSpec& egress);

/// Writes the config to `dir`/pf-proxy.yaml and starts `pf_proxy_bin run
/// --config …` detached, its output in `dir`/pf-proxy.log. Returns the empty
/// HostProcess when no proxy is needed. Waits until its TCP listeners accept
/// (or it died, which throws with the tail of its log).
HostProcess start_proxy(const std::filesystem::path& pf_proxy_bin, const std::filesystem::path& dir,
                        const EnclaveSpec& spec, Backend& backend, const EnclaveHandle& handle);

/// Stops a proxy started by start_proxy (no-op for the empty one or a dead PID).
void stop_proxy(const HostProcess& proxy);

}  // namespace ef::engine
