#pragma once
// ef-agent-client: a small CLI over ef::agent::Client for shell tests and
// debugging (`pipeline` is the user-facing tool). See docs/agent.md.

#include <string>

#include "base/fd.h"

namespace ef::agent {

/// A connected stream socket to a netproxy endpoint ("tcp:H:P", "unix:/p",
/// "vsock:CID:PORT"). Throws ef::Error naming the endpoint.
UniqueFd connect_endpoint(const std::string& endpoint);

/// The whole CLI: `ef-agent-client --connect EP --root PEM --pcrs FILE --key KEY COMMAND …`.
int client_cli_main(int argc, char** argv);

}  // namespace ef::agent
