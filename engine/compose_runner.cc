#include "engine/compose_runner.h"

#include <algorithm>
#include <thread>

#include "base/log.h"

namespace ef::engine {

void wait_healthy(Engine& engine, const std::string& name, std::chrono::steady_clock::time_point deadline) {
  while (true) {
    EnclaveRecord r = engine.inspect(name);
    if (r.status == Status::running && (r.health == Health::healthy || r.health == Health::none)) return;
    if (r.status == Status::exited || r.status == Status::stopped)
      throw Error("enclave " + name + " is " + to_string(r.status) + (r.last_error.empty() ? "" : ": " + r.last_error));
    if (std::chrono::steady_clock::now() >= deadline)
      throw Error("enclave " + name + " not healthy in time (status " + to_string(r.status) + ", health " +
                  to_string(r.health) + ")");
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

ComposeResult compose_up(Engine& engine, const ComposeFile& compose, std::chrono::milliseconds timeout) {
  ComposeResult out;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (const auto& e : compose.enclaves) {
    for (const auto& d : e.depends_on) wait_healthy(engine, d, deadline);
    bool exists = false;
    try {
      EnclaveRecord r = engine.inspect(e.spec.name);
      exists = true;
      if (r.spec.project != compose.project)
        throw Conflict("enclave " + e.spec.name + " exists and belongs to " +
                       (r.spec.project.empty() ? std::string("no project") : "project " + r.spec.project));
      if (r.status == Status::running || r.status == Status::restarting) {
        out.kept.push_back(e.spec.name);
        continue;
      }
      engine.remove(e.spec.name, false);
    } catch (const NotFound&) {
    }
    (void)exists;
    with_context("enclave " + e.spec.name, [&] { engine.run(e.spec); });
    out.started.push_back(e.spec.name);
  }
  for (const auto& e : compose.enclaves) wait_healthy(engine, e.spec.name, deadline);
  log::info("compose up", {{"project", compose.project}, {"started", std::to_string(out.started.size())},
                           {"kept", std::to_string(out.kept.size())}});
  return out;
}

ComposeResult compose_down(Engine& engine, const std::string& project) {
  ComposeResult out;
  std::vector<EnclaveRecord> mine;
  for (auto& r : engine.list())
    if (r.spec.project == project) mine.push_back(std::move(r));
  // Created in start order, so the newest first removes dependents first.
  std::sort(mine.begin(), mine.end(), [](const auto& a, const auto& b) { return a.created_ms > b.created_ms; });
  for (const auto& r : mine) {
    engine.remove(r.spec.name, true);
    out.removed.push_back(r.spec.name);
  }
  log::info("compose down", {{"project", project}, {"removed", std::to_string(out.removed.size())}});
  return out;
}

}  // namespace ef::engine
