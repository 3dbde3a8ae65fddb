#pragma once
// The control API's listeners (unix socket, vsock) on init's event loop. Every
// client is non-blocking, has a request size limit and a deadline, so a hostile
// or slow client costs a little memory and never stalls init.

#include <sys/types.h>

#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "base/fd.h"
#include "runtime/config.h"
#include "runtime/control_protocol.h"
#include "runtime/event_loop.h"
#include "runtime/log_sink.h"

namespace ef::init {

/// What a handled request produces: the response, and for `logs --follow` the
/// sink to stream further lines from.
struct Reply {
  nlohmann::json body;
  std::shared_ptr<LogSink> follow;
  /// Runs once the response has been handed to the socket (shutdown, reboot).
  std::function<void()> after;
};

using Handler = std::function<Reply(const Request&)>;

/// One JSON line, invalid UTF-8 replaced rather than thrown on.
std::string json_line(const nlohmann::json& j);

class ControlServer {
 public:
  ControlServer(EventLoop& loop, ControlSpec spec, Handler handler);
  ~ControlServer();

  /// Binds the unix socket at spec.socket (replacing a stale one). Throws on failure.
  void listen_unix();
  /// Listens on vsock spec.vsock_port (any CID). Throws on failure.
  void listen_vsock();
  std::size_t clients() const { return clients_.size(); }

  static constexpr std::size_t kMaxClients = 64;
  static constexpr std::size_t kMaxPending = 1 << 20;  // unread output before a client is dropped

 private:
  struct Client;
  void accept_on(int listen_fd, bool vsock);
  void on_client(int fd, std::uint32_t events);
  void handle_request(Client& c, std::string_view line);
  void send(Client& c, const nlohmann::json& j);
  void flush(Client& c);
  void close_client(int fd);

  EventLoop& loop_;
  ControlSpec spec_;
  Handler handler_;
  UniqueFd unix_fd_;
  UniqueFd vsock_fd_;
  std::map<int, std::unique_ptr<Client>> clients_;
};

}  // namespace ef::init
