#include "engine/init_control.h"

#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace ef::engine {
namespace {

bool send_line(int fd, std::string_view line) {
  while (!line.empty()) {
    ssize_t n = ::send(fd, line.data(), line.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    line.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

/// Reads one reply line, or what arrives before the deadline / the peer's close.
std::string read_line(int fd, std::chrono::milliseconds timeout) {
  const auto end = std::chrono::steady_clock::now() + timeout;
  std::string got;
  while (got.find('\n') == std::string::npos && got.size() < 4096) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    pollfd pfd{fd, POLLIN, 0};
    int r = ::poll(&pfd, 1, static_cast<int>(left.count()));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    char buf[512];
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got.append(buf, static_cast<std::size_t>(n));
  }
  return got.substr(0, got.find('\n'));
}

}  // namespace

bool ask_init_to_shut_down(const UniqueFd& fd, std::chrono::milliseconds reply_timeout) {
  if (!fd || !send_line(fd.get(), "{\"cmd\":\"shutdown\"}\n")) return false;
  auto reply = nlohmann::json::parse(read_line(fd.get(), reply_timeout), nullptr, false);
  // {"ok":true,...} means init has begun its orderly power-off.
  return reply.is_object() && reply.value("ok", false) == true;
}

}  // namespace ef::engine
