#pragma once
// Which backends this build offers and how enclaved makes them. The local
// (QEMU) backend lives in engine/local/ (LocalBackend).

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "engine/backend.h"

namespace ef::engine {

struct BackendOptions {
  std::filesystem::path fake_enclave = "ef-fake-enclave";
  std::vector<std::uint32_t> fake_ports = {80, 7000};
  std::filesystem::path nitro_cli = "nitro-cli";
  std::string qemu = "qemu-system-x86_64";              ///< backend local
  std::filesystem::path vsock_bridge = "ef-vsock-bridge";  ///< backend local
  std::string accel = "auto";                           ///< backend local: auto | kvm | tcg
  std::filesystem::path local_registry = "/tmp/ef-local";  ///< backend local: CID registry
};

/// The backends available in this build; "fake" only when it is the default
/// (it exists for tests). Throws Error when `default_backend` is not built.
std::map<std::string, std::unique_ptr<Backend>> make_backends(const std::string& default_backend,
                                                              const BackendOptions& options);

/// Adds "local" when this build has engine/local (backends_local.cc);
/// a no-op otherwise (backends_no_local.cc).
void add_local_backend(std::map<std::string, std::unique_ptr<Backend>>& out, const BackendOptions& options);

/// An absolute path for `program`: as given when it contains '/', else next
/// to this executable, else in the build tree's `build_subdir`, else $PATH.
std::filesystem::path resolve_program(const std::filesystem::path& program, const std::string& name,
                                      const std::string& build_subdir);

}  // namespace ef::engine
