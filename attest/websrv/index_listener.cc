#include <utility>

#include "attest/websrv/index_listener.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cstdio>
#include <cstring>

#include "base/error.h"
#include "base/log.h"

namespace ef::websrv {

namespace net = boost::asio;
using unix_stream = net::local::stream_protocol;

struct IndexListener::Impl : std::enable_shared_from_this<Impl> {
  net::io_context& io;
  FileIndex& index;
  std::filesystem::path path;
  uid_t producer_uid;
  Metrics* metrics;
  std::unique_ptr<unix_stream::acceptor> acceptor;
  bool producer_live = false;  // only touched on `io`'s one thread

  Impl(net::io_context& i, FileIndex& x, std::filesystem::path p, uid_t uid, Metrics* m)
      : io(i), index(x), path(std::move(p)), producer_uid(uid), metrics(m) {}

  /// Checks the peer; refuses (logs, counts, closes) or marks the producer live.
  bool admit(unix_stream::socket& s) {
    ucred cred{};
    socklen_t len = sizeof cred;
    if (::getsockopt(s.native_handle(), SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) {
      log::error("file index: cannot read the peer's credentials (SO_PEERCRED); refusing",
                 {{"error", std::strerror(errno)}});
      if (metrics) metrics->index_refused(Metrics::IndexRefusal::kUid);
      return false;
    }
    IndexAdmission a = admit_index_peer(cred.uid, producer_uid, producer_live);
    if (a == IndexAdmission::kAccept) {
      producer_live = true;
      return true;
    }
    const bool uid = a == IndexAdmission::kWrongUid;
    log::warn(uid ? "file index: refused a connection from a uid that is not the producer's"
                  : "file index: refused a second connection while the producer is connected",
              {{"peer_pid", std::to_string(cred.pid)}, {"peer_uid", std::to_string(cred.uid)},
               {"producer_uid", std::to_string(producer_uid)}});
    if (metrics) metrics->index_refused(uid ? Metrics::IndexRefusal::kUid : Metrics::IndexRefusal::kBusy);
    return false;
  }

  net::awaitable<void> connection(unix_stream::socket s) {
    auto self = shared_from_this();
    struct Live {
      bool& flag;
      ~Live() { flag = false; }
    } live{producer_live};
    IndexFeed feed(index);
    std::string buf;
    auto dyn = net::dynamic_buffer(buf, kMaxIndexLine + 1);
    std::uint64_t offset = 0;
    log::info("file index: fs-monitor connected", {{"socket", path.string()}});
    for (;;) {
      boost::system::error_code ec;
      const std::size_t n = co_await net::async_read_until(s, dyn, '\n', net::redirect_error(net::use_awaitable, ec));
      if (ec == net::error::not_found) {
        log::error("file index: line longer than 64 KiB; dropping the connection",
                   {{"offset", std::to_string(offset)}});
        co_return;
      }
      if (ec) {
        if (!buf.empty())
          log::warn("file index: connection ended inside a line", {{"offset", std::to_string(offset)}});
        log::info("file index: fs-monitor disconnected",
                  {{"lines", std::to_string(feed.lines())}, {"mid_snapshot", feed.in_snapshot() ? "yes" : "no"}});
        co_return;
      }
      try {
        feed.apply_line(std::string_view(buf).substr(0, n - 1), offset);
      } catch (const Error& e) {
        log::error("file index: malformed line; dropping the connection",
                   {{"offset", std::to_string(offset)}, {"error", e.what()}});
        co_return;
      }
      offset += n;
      buf.erase(0, n);
    }
  }

  net::awaitable<void> accept_loop() {
    auto self = shared_from_this();
    for (;;) {
      boost::system::error_code ec;
      unix_stream::socket s = co_await acceptor->async_accept(net::redirect_error(net::use_awaitable, ec));
      if (ec == net::error::operation_aborted || !acceptor->is_open()) co_return;
      if (ec) {
        log::warn("file index: accept failed", {{"error", ec.message()}});
        continue;
      }
      if (!admit(s)) {
        s.close(ec);
        continue;
      }
      net::co_spawn(io, connection(std::move(s)), net::detached);
    }
  }
};

IndexListener::IndexListener(net::io_context& io, FileIndex& index, std::filesystem::path socket_path,
                             uid_t producer_uid, Metrics* metrics)
    : impl_(std::make_shared<Impl>(io, index, std::move(socket_path), producer_uid, metrics)) {}

IndexListener::~IndexListener() = default;

void IndexListener::start() {
  const auto& path = impl_->path;
  const auto dir = path.parent_path().empty() ? std::filesystem::path(".") : path.parent_path();
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) {
    if (errno != ENOENT) throw_errno("stat", dir.string());
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) throw Error("create " + dir.string() + ": " + ec.message());
    if (::chmod(dir.c_str(), 0700) != 0) throw_errno("chmod", dir.string());
  } else if ((st.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%o", st.st_mode & 0777);
    throw Error("file-index socket directory " + dir.string() + " has mode " + mode +
                "; it must be accessible by its owner only (0700)");
  }
  if (::lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) throw Error(path.string() + " exists and is not a socket");
    if (::unlink(path.c_str()) != 0) throw_errno("remove stale socket", path.string());
  }
  impl_->acceptor = std::make_unique<unix_stream::acceptor>(impl_->io);
  boost::system::error_code ec;
  impl_->acceptor->open(unix_stream(), ec);
  if (!ec) impl_->acceptor->bind(unix_stream::endpoint(path.string()), ec);
  if (ec) throw Error("bind file-index socket " + path.string() + ": " + ec.message());
  if (::chmod(path.c_str(), 0600) != 0) throw_errno("chmod", path.string());
  impl_->acceptor->listen(8, ec);
  if (ec) throw Error("listen on " + path.string() + ": " + ec.message());
  net::co_spawn(impl_->io, impl_->accept_loop(), net::detached);
}

void IndexListener::stop() {
  auto self = impl_;
  net::post(impl_->io, [self] {
    boost::system::error_code ec;
    if (self->acceptor) self->acceptor->close(ec);
  });
}

}  // namespace ef::websrv
