#pragma once
// Mirrors the index into a NATS JetStream key-value bucket (libnats).

#include <atomic>
#include <string>
#include <thread>

#include "attest/fsmon/config.h"
#include "attest/fsmon/index.h"

namespace ef::fsmon {

/// Key = kv_key(key_prefix, path), value = kv_value(...) (docs/fs-monitor.md).
/// On every (re)connect and after a queue overflow it writes a full snapshot:
/// puts every record and deletes the keys under the prefix that are not in it.
class NatsSink {
 public:
  NatsSink(Index& index, NatsConfig config, std::size_t queue_bound);
  ~NatsSink();
  void start();
  void stop();
  std::uint64_t puts() const { return puts_; }

 private:
  void run();

  Index& index_;
  Index::Sink* sink_;
  NatsConfig cfg_;
  std::atomic<bool> stop_{false};
  std::atomic<std::uint64_t> puts_{0};
  std::thread thread_;
};

}  // namespace ef::fsmon
