// Compiled only when engine/local/ (target ef_engine_local) is in the tree:
// registers the QEMU local backend with enclaved.
#include "engine/backends.h"
#include "engine/local/local_backend.h"

namespace ef::engine {

void add_local_backend(std::map<std::string, std::unique_ptr<Backend>>& out, const BackendOptions&) {
  out["local"] = std::make_unique<local::LocalBackend>(local::LocalOptions{});
}

}  // namespace ef::engine
