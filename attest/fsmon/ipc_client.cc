#include "attest/fsmon/ipc_client.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "base/fd.h"
#include "base/log.h"

namespace ef::fsmon {

IpcClient::IpcClient(Index& index, std::string socket_path, std::size_t queue_bound)
    : index_(index), sink_(index.add_sink(queue_bound)), path_(std::move(socket_path)) {}

IpcClient::~IpcClient() { stop(); }

void IpcClient::start() { thread_ = std::thread([this] { run(); }); }

void IpcClient::stop() {
  stop_ = true;
  int fd = fd_.load();
  if (fd >= 0) ::shutdown(fd, SHUT_RDWR);
  index_.wake_all();
  if (thread_.joinable()) thread_.join();
}

bool IpcClient::send_all(int fd, const std::string& data) {
  std::size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    off += static_cast<std::size_t>(n);
  }
  return true;
}

void IpcClient::run() {
  auto backoff = std::chrono::milliseconds(50);
  bool was_connected = false;
  while (!stop_) {
    UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    bool ok = fd && path_.size() < sizeof addr.sun_path;
    if (ok) {
      std::memcpy(addr.sun_path, path_.data(), path_.size());
      ok = ::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    }
    if (!ok) {
      if (was_connected) log::warn("ra-web-srv socket unreachable; retrying", {{"socket", path_}});
      was_connected = false;
      // Sleep in small steps so stop() is quick.
      auto until = std::chrono::steady_clock::now() + backoff;
      while (!stop_ && std::chrono::steady_clock::now() < until)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      backoff = std::min(backoff * 2, std::chrono::milliseconds(2000));
      continue;
    }
    backoff = std::chrono::milliseconds(50);
    fd_ = fd.get();
    ++connects_;
    was_connected = true;
    log::info("connected to ra-web-srv", {{"socket", path_}});
    bool force = true;
    std::string buf;
    while (!stop_) {
      Batch b = index_.take(sink_, std::chrono::milliseconds(200), force);
      force = false;
      buf.clear();
      std::uint64_t lines = 0;
      bool failed = false;
      if (b.snapshot) {
        buf += ipc_snapshot_begin();
        for (auto& r : b.records) {
          buf += ipc_put(r.path, r.kind, r.hex, r.size);
          if (buf.size() > (1 << 20)) {
            if (!send_all(fd.get(), buf)) {
              failed = true;
              break;
            }
            buf.clear();
          }
        }
        buf += ipc_snapshot_end();
        lines = b.records.size() + 2;
      } else {
        for (auto& op : b.ops)
          buf += op.del ? ipc_del(op.rec.path) : ipc_put(op.rec.path, op.rec.kind, op.rec.hex, op.rec.size);
        lines = b.ops.size();
      }
      if (failed || (!buf.empty() && !send_all(fd.get(), buf))) {
        // Whatever was lost goes again in the snapshot of the next connection.
        log::warn("ra-web-srv connection lost", {{"socket", path_}, {"error", std::strerror(errno)}});
        break;
      }
      lines_ += lines;
      // ra-web-srv never writes: readable means it closed (or misbehaves): reconnect.
      pollfd p{fd.get(), POLLIN | POLLRDHUP, 0};
      if (::poll(&p, 1, 0) > 0) {
        log::warn("ra-web-srv closed the connection", {{"socket", path_}});
        break;
      }
    }
    fd_ = -1;
    index_.detach(sink_);  // nothing piles up while ra-web-srv is away
  }
}

}  // namespace ef::fsmon
