#pragma once
// The orderly half of stopping an enclave, shared by the backends: ask the
// image's init, over its control port (docs/init.md, "Control"), to stop its
// services and power off. init accepts this from the parent (CID 3), which is
// what both Nitro and the local bridge present. Images without our init, or
// whose control port is closed, simply do not answer; the caller then falls
// back to its hard stop.

#include <chrono>

#include "base/fd.h"

namespace ef::engine {

/// Sends `{"cmd":"shutdown"}` on the connected control stream `fd` and waits
/// up to `reply_timeout` for init's reply. True when init answered (it is then
/// stopping its services and will power off); false when the peer closed,
/// failed or stayed silent. Never throws; never raises SIGPIPE.
bool ask_init_to_shut_down(const UniqueFd& fd, std::chrono::milliseconds reply_timeout);

}  // namespace ef::engine
