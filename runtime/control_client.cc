#include "runtime/control_client.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
// clang-format off
#include <linux/vm_sockets.h>
// clang-format on

#include <charconv>
#include <cstring>

#include "base/error.h"
#include "base/file.h"

namespace ef::init {
namespace {

std::uint32_t parse_u32(std::string_view s, const std::string& what) {
  std::uint32_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || p != s.data() + s.size()) throw Error("bad " + what + " '" + std::string(s) + "'");
  return v;
}

}  // namespace

Endpoint Endpoint::parse(const std::string& text) {
  Endpoint ep;
  if (!text.starts_with("vsock:")) {
    ep.unix_path = text;
    return ep;
  }
  ep.vsock = true;
  std::string_view rest = std::string_view(text).substr(6);
  std::size_t colon = rest.find(':');
  ep.cid = parse_u32(rest.substr(0, colon), "vsock CID");
  if (colon != std::string_view::npos) ep.port = parse_u32(rest.substr(colon + 1), "vsock port");
  return ep;
}

std::string Endpoint::describe() const {
  return vsock ? "vsock:" + std::to_string(cid) + ":" + std::to_string(port) : unix_path;
}

ControlClient::ControlClient(const Endpoint& ep, int timeout_ms) : describe_(ep.describe()), timeout_ms_(timeout_ms) {
  if (ep.vsock) {
    fd_.reset(socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd_) throw_errno("create", "vsock socket");
    timeval tv{timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    setsockopt(fd_.get(), AF_VSOCK, SO_VM_SOCKETS_CONNECT_TIMEOUT_OLD, &tv, sizeof tv);
    sockaddr_vm a{};
    a.svm_family = AF_VSOCK;
    a.svm_cid = ep.cid;
    a.svm_port = ep.port;
    if (connect(fd_.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) < 0) throw_errno("connect to", describe_);
    return;
  }
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  if (ep.unix_path.size() >= sizeof a.sun_path) throw Error("socket path too long: " + ep.unix_path);
  std::memcpy(a.sun_path, ep.unix_path.c_str(), ep.unix_path.size() + 1);
  fd_.reset(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd_) throw_errno("create", "unix socket");
  if (connect(fd_.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) < 0) throw_errno("connect to", describe_);
}

nlohmann::json ControlClient::call(const Request& req) {
  std::string line = request_json(req).dump() + "\n";
  write_all(fd_.get(), line, describe_);
  auto r = next();
  if (!r) throw Error(describe_ + ": connection closed without a response");
  return *r;
}

std::optional<nlohmann::json> ControlClient::next(bool wait_forever) {
  while (true) {
    std::size_t nl = buf_.find('\n');
    if (nl != std::string::npos) {
      std::string line = buf_.substr(0, nl);
      buf_.erase(0, nl + 1);
      auto j = nlohmann::json::parse(line, nullptr, false);
      if (j.is_discarded()) throw Error(describe_ + ": malformed response");
      return j;
    }
    pollfd p{fd_.get(), POLLIN, 0};
    int r = poll(&p, 1, wait_forever ? -1 : timeout_ms_);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) throw_errno("wait for", describe_);
    if (r == 0) throw Error(describe_ + ": no response within " + std::to_string(timeout_ms_) + "ms");
    char buf[65536];
    ssize_t n = read(fd_.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw_errno("read from", describe_);
    if (n == 0) return std::nullopt;
    buf_.append(buf, static_cast<std::size_t>(n));
  }
}

}  // namespace ef::init
