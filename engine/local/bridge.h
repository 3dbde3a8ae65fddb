#pragma once
// ef-vsock-bridge as a library: listen on the vhost-user socket QEMU connects
// to (-chardev socket,path=…), serve that one front end and the vsock device
// behind it until QEMU hangs up.

#include <cstdint>
#include <filesystem>

#include "engine/local/vsock_device.h"

namespace ef::engine::local {

struct BridgeOptions {
  std::filesystem::path vhost_user_socket;  ///< where QEMU's chardev connects
  VsockDeviceConfig device;                 ///< guest CID, host UDS, buffers
  int ready_fd = -1;                        ///< written "ready\n" and closed once both sockets listen
};

/// Runs the bridge; returns when the front end disconnected (0) or throws
/// Error on a setup failure (socket paths, bind).
int run_bridge(const BridgeOptions& options);

}  // namespace ef::engine::local
