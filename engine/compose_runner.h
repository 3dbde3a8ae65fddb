#pragma once
// Runs a validated compose file against the engine: up starts enclaves in
// dependency order, each only once its dependencies are healthy, and returns
// when all are; down removes every enclave of the project, dependents first.

#include <chrono>
#include <string>
#include <vector>

#include "engine/compose.h"
#include "engine/engine.h"

namespace ef::engine {

struct ComposeResult {
  std::vector<std::string> started, kept, removed;
};

/// Throws Error naming the enclave that failed to start or to become healthy
/// within `timeout` (what started stays; `down` removes it).
ComposeResult compose_up(Engine& engine, const ComposeFile& compose, std::chrono::milliseconds timeout);
ComposeResult compose_down(Engine& engine, const std::string& project);

/// Waits until `name` is healthy (or running, without a health check).
/// Throws Error with its last state on timeout or when it exits.
void wait_healthy(Engine& engine, const std::string& name, std::chrono::steady_clock::time_point deadline);

}  // namespace ef::engine
