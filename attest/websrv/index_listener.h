#pragma once
// The FILE-INDEX IPC listener: a unix stream socket (0600 in a 0700 directory)
// where fs-monitor connects and sends newline-terminated JSON lines
// (file_index.h). ra-web-srv never writes to it.

#include <boost/asio/io_context.hpp>

#include <filesystem>
#include <memory>

#include "attest/websrv/file_index.h"

namespace ef::websrv {

inline constexpr std::size_t kMaxIndexLine = 64 * 1024;

class IndexListener {
 public:
  IndexListener(boost::asio::io_context& io, FileIndex& index, std::filesystem::path socket_path);
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
