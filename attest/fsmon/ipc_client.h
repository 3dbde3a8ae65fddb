#pragma once
// The FILE-INDEX IPC client: streams the index to ra-web-srv over a unix socket.

#include <atomic>
#include <chrono>
#include <string>
#include <thread>

#include "attest/fsmon/index.h"

namespace ef::fsmon {

/// Connects to `socket_path`, sends a snapshot on every (re)connect and then
/// the changes as they come; reconnects with backoff (50 ms doubling to 2 s).
/// Runs on its own thread: a slow or absent peer never blocks the monitor.
class IpcClient {
 public:
  IpcClient(Index& index, std::string socket_path, std::size_t queue_bound);
  ~IpcClient();
  void start();
  void stop();

  std::uint64_t connects() const { return connects_; }
  std::uint64_t lines_sent() const { return lines_; }

 private:
  void run();
  bool send_all(int fd, const std::string& data);

  Index& index_;
  Index::Sink* sink_;
  std::string path_;
  std::atomic<bool> stop_{false};
  std::atomic<int> fd_{-1};
  std::atomic<std::uint64_t> connects_{0}, lines_{0};
  std::thread thread_;
};

}  // namespace ef::fsmon
