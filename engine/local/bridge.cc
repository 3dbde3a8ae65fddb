#include "engine/local/bridge.h"

#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "base/error.h"
#include "base/log.h"
#include "engine/local/vhost_user_server.h"

namespace ef::engine::local {

int run_bridge(const BridgeOptions& o) {
  EventLoop loop;
  VhostUserServer server(loop, o.device);
  server.device().listen();

  std::string path = o.vhost_user_socket.string();
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) throw Error("vhost-user socket path " + path + " is too long");
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  UniqueFd listener(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!listener) throw_errno("socket", path);
  ::unlink(path.c_str());
  if (::bind(listener.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) throw_errno("bind", path);
  if (::listen(listener.get(), 1) != 0) throw_errno("listen", path);
  log::info("vsock bridge listening",
            {{"vhost_user", path},
             {"uds", o.device.uds.string()},
             {"guest_cid", std::to_string(o.device.guest_cid)},
             {"host_cid", std::to_string(o.device.host_cid)},
             {"buf_alloc", std::to_string(o.device.buf_alloc)}});
  if (o.ready_fd >= 0) {
    (void)!::write(o.ready_fd, "ready\n", 6);
    ::close(o.ready_fd);
  }
  int conn;
  do conn = ::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC);
  while (conn < 0 && errno == EINTR);
  if (conn < 0) throw_errno("accept", path);
  listener.reset();
  ::unlink(path.c_str());  // one front end per bridge
  log::info("front end connected");
  server.serve(UniqueFd(conn));
  auto next_tick = std::chrono::steady_clock::now() + std::chrono::seconds(1);
  while (server.connected()) {
    loop.run_once(1000);
    if (std::chrono::steady_clock::now() >= next_tick) {
      server.device().tick();
      next_tick = std::chrono::steady_clock::now() + std::chrono::seconds(1);
    }
  }
  const VsockDeviceStats& st = server.device().stats();
  log::info("front end gone; bridge exits", {{"to_guest_bytes", std::to_string(st.to_guest_bytes)},
                                              {"to_host_bytes", std::to_string(st.to_host_bytes)},
                                              {"connections", std::to_string(st.connections)},
                                              {"resets", std::to_string(st.resets)}});
  ::unlink(o.device.uds.c_str());
  return 0;
}

}  // namespace ef::engine::local
