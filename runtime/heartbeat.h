#pragma once
// The Nitro "enclave ready" heartbeat: connect to vsock CID 3 port 9000, send
// 0xB7, read 0xB7 back (what nitro-cli run-enclave waits for).

#include "runtime/config.h"

namespace ef::init {

inline constexpr unsigned char kHeartbeatByte = 0xB7;

/// Sends the heartbeat; throws ef::Error on failure or a wrong answer.
void send_heartbeat(const HeartbeatSpec& spec);

}  // namespace ef::init
