#include "engine/backends.h"

#include <unistd.h>

#include <cstdlib>
#include <sstream>

#include "base/error.h"
#include "engine/nitro/nitro_backend.h"
#include "engine/testing/fake_backend.h"

namespace ef::engine {
namespace fs = std::filesystem;

fs::path resolve_program(const fs::path& program, const std::string& name, const std::string& build_subdir) {
  if (program.native().find('/') != std::string::npos) return fs::absolute(program);
  std::error_code ec;
  fs::path self = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    for (fs::path candidate : {self.parent_path() / program, self.parent_path().parent_path() / build_subdir / program})
      if (access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  if (const char* path = std::getenv("PATH")) {
    std::stringstream ss(path);
    std::string dir;
    while (std::getline(ss, dir, ':'))
      if (!dir.empty() && access((fs::path(dir) / program).c_str(), X_OK) == 0) return fs::path(dir) / program;
  }
  throw Error("cannot find " + name + " (" + program.string() + ") beside this program, in the build tree or on $PATH");
}

std::map<std::string, std::unique_ptr<Backend>> make_backends(const std::string& default_backend,
                                                              const BackendOptions& o) {
  std::map<std::string, std::unique_ptr<Backend>> out;
  if (default_backend == "fake")
    out["fake"] = std::make_unique<FakeBackend>(resolve_program(o.fake_enclave, "ef-fake-enclave", "engine"), o.fake_ports);
  out["nitro"] = std::make_unique<nitro::NitroBackend>(nitro::system_runner(), o.nitro_cli.string());
  add_local_backend(out, o);
  if (!out.count(default_backend)) {
    std::string have;
    for (const auto& [n, b] : out) have += (have.empty() ? "" : ", ") + n;
    throw Error("backend '" + default_backend + "' is not built into this enclaved (available: " +
                (have.empty() ? std::string("none") : have) + ")");
  }
  return out;
}

}  // namespace ef::engine
