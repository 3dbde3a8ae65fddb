// Compiled only when engine/local/ (target ef_engine_local) is in the tree:
// registers the QEMU local backend with enclaved.
#include "base/error.h"
#include "engine/backends.h"
#include "engine/local/local_backend.h"

namespace ef::engine {

void add_local_backend(std::map<std::string, std::unique_ptr<Backend>>& out, const BackendOptions& o) {
  local::LocalOptions lo;
  lo.qemu = o.qemu;
  lo.registry = o.local_registry;
  if (o.accel == "kvm") lo.kvm = true;
  else if (o.accel == "tcg") lo.kvm = false;
  else if (o.accel != "auto") throw Error("--accel " + o.accel + ": expected auto, kvm or tcg");
  // A bare name: LocalBackend looks beside enclaved, in the build tree, then $PATH.
  if (o.vsock_bridge.native().find('/') != std::string::npos) lo.bridge = o.vsock_bridge;
  out["local"] = std::make_unique<local::LocalBackend>(lo);
}

}  // namespace ef::engine
