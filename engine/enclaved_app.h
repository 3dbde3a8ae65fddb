#pragma once
// enclaved's program logic behind its thin main: flags, backends, engine,
// API server, signals.

namespace ef::engine {

/// Runs the daemon until SIGTERM/SIGINT; returns the exit code.
int enclaved_main(int argc, char** argv);

}  // namespace ef::engine
