#pragma once
// ef-agent's program: load the config, open the NSM, serve until SIGTERM.

namespace ef::agent {

/// `ef-agent [--config PATH] [--check]`; returns the exit code.
int agent_main(int argc, char** argv);

}  // namespace ef::agent
