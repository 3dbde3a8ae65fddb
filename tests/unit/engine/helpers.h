#pragma once
// Shared set-up for the engine tests: a temporary state dir and an Engine
// over a FakeBackend whose enclaves are ef-fake-enclave processes.

#include <unistd.h>

#include <filesystem>
#include <map>
#include <memory>
#include <string>

#include "engine/engine.h"
#include "engine/testing/fake_backend.h"

namespace ef::engine::test {

inline std::filesystem::path temp_dir(const std::string& tag) {
  std::string tmpl = (std::filesystem::temp_directory_path() / ("ef-engine-" + tag + "-XXXXXX")).string();
  if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
  return tmpl;
}

inline std::string vector_eif() { return std::string(EF_VECTORS_DIR) + "/eif_selfgenerated/unsigned.eif"; }

inline EngineConfig config_for(const std::filesystem::path& dir) {
  EngineConfig c;
  c.state_dir = dir / "state";
  c.default_backend = "fake";
  c.pf_proxy = EF_PF_PROXY;
  c.poll_interval = std::chrono::milliseconds(50);
  c.stop_grace = std::chrono::milliseconds(2000);
  return c;
}

inline std::unique_ptr<Engine> make_engine(const std::filesystem::path& dir) {
  std::map<std::string, std::unique_ptr<Backend>> b;
  b["fake"] = std::make_unique<FakeBackend>(EF_FAKE_ENCLAVE, std::vector<std::uint32_t>{80, 7000});
  return std::make_unique<Engine>(config_for(dir), std::move(b));
}

inline EnclaveSpec spec_named(const std::string& name) {
  EnclaveSpec s;
  s.name = name;
  s.image = vector_eif();
  s.backend = "fake";
  return s;
}

/// Polls `pred` for up to `ms`.
template <typename Pred>
bool eventually(Pred pred, int ms = 5000) {
  for (int i = 0; i < ms / 20; ++i) {
    if (pred()) return true;
    usleep(20000);
  }
  return pred();
}

}  // namespace ef::engine::test
