#pragma once
// The FILE-INDEX IPC listener: a unix stream socket (0600 in a 0700 directory)
// where fs-monitor connects and sends newline-terminated JSON lines
// (file_index.h). ra-web-srv never writes to it. One producer feeds it: a
// connection is accepted only from the configured uid (SO_PEERCRED) and only
// while no other producer connection is live; refusals are logged and counted.

#include <boost/asio/io_context.hpp>

#include <sys/types.h>

#include <filesystem>
#include <memory>

#include "attest/websrv/file_index.h"
#include "attest/websrv/metrics.h"

namespace ef::websrv {

inline constexpr std::size_t kMaxIndexLine = 64 * 1024;

class IndexListener {
 public:
  /// `metrics` (may be null) counts refused connections.
  IndexListener(boost::asio::io_context& io, FileIndex& index, std::filesystem::path socket_path, uid_t producer_uid,
                Metrics* metrics);
  ~IndexListener();
  /// Creates the directory (0700) when absent, refuses one that group or others
  /// can access, removes a stale socket, binds (0600), listens, starts accepting.
  /// Throws ef::Error naming the path.
  void start();
  void stop();

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace ef::websrv
