// Fuzzes the agent's frame layer and every payload decoder: the input is a byte
// stream as it would arrive inside TLS, fed in uneven pieces. Anything either
// decodes or throws ef::Error; nothing crashes or allocates beyond the limits.
#include <cstddef>
#include <cstdint>

#include "base/error.h"
#include "runtime/agent/frame.h"
#include "runtime/agent/messages.h"

using namespace ef::agent;

static void decode(const Frame& f) {
  switch (f.type) {
    case FrameType::kHello: (void)decode_hello(f.payload); break;
    case FrameType::kAuth: (void)decode_auth(f.payload); break;
    case FrameType::kError: (void)decode_error(f.payload); break;
    case FrameType::kExec: (void)decode_exec(f.payload); break;
    case FrameType::kCpIn: (void)decode_path_request(f.payload, "dest", "CP_IN"); break;
    case FrameType::kCpOut: (void)decode_path_request(f.payload, "src", "CP_OUT"); break;
    case FrameType::kLogs: (void)decode_logs(f.payload); break;
    case FrameType::kSecretPut: (void)decode_secret_put(f.payload); break;
    case FrameType::kSignal: (void)decode_signal(f.payload); break;
    case FrameType::kExit: (void)decode_exit(f.payload); break;
    case FrameType::kWinch: (void)decode_winch(f.payload); break;
    case FrameType::kLog: (void)decode_log(f.payload); break;
    default: break;
  }
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FrameParser p("fuzz", 64 * 1024);
  std::size_t pos = 0, step = 1;
  try {
    while (pos < size) {
      const std::size_t n = std::min(step, size - pos);
      p.feed({data + pos, n});
      pos += n;
      step = step * 3 + 1;
      while (auto f = p.next()) {
        try {
          decode(*f);
        } catch (const ef::Error&) {
        }
      }
    }
  } catch (const ef::Error&) {
  }
  return 0;
}
