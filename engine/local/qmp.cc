#include "engine/local/qmp.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "base/error.h"
#include "base/file.h"

namespace ef::engine::local {

QmpClient::QmpClient(const std::filesystem::path& socket, int timeout_ms)
    : describe_("QMP " + socket.string()), timeout_ms_(timeout_ms) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::string p = socket.string();
  if (p.size() >= sizeof addr.sun_path) throw Error(describe_ + ": path too long");
  std::memcpy(addr.sun_path, p.c_str(), p.size() + 1);
  fd_ = UniqueFd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd_) throw_errno("socket", describe_);
  if (::connect(fd_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) throw_errno("connect", describe_);
  nlohmann::json greeting = read_message();
  if (!greeting.contains("QMP")) throw Error(describe_ + ": no QMP greeting");
  execute("qmp_capabilities");
}

nlohmann::json QmpClient::read_message() {
  for (;;) {
    std::size_t nl = buf_.find('\n');
    if (nl != std::string::npos) {
      std::string line = buf_.substr(0, nl);
      buf_.erase(0, nl + 1);
      nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
      if (j.is_discarded()) throw Error(describe_ + ": malformed reply: " + line.substr(0, 200));
      if (j.contains("event")) continue;
      return j;
    }
    pollfd pfd{fd_.get(), POLLIN, 0};
    int r = ::poll(&pfd, 1, timeout_ms_);
    if (r < 0 && errno == EINTR) continue;
    if (r == 0) throw Error(describe_ + ": no answer within " + std::to_string(timeout_ms_) + " ms");
    char tmp[4096];
    ssize_t n = ::read(fd_.get(), tmp, sizeof tmp);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw_errno("read", describe_);
    if (n == 0) throw Error(describe_ + ": QEMU closed the connection");
    buf_.append(tmp, static_cast<std::size_t>(n));
  }
}

nlohmann::json QmpClient::execute(const std::string& command, const nlohmann::json& arguments) {
  nlohmann::json req = {{"execute", command}};
  if (!arguments.is_null()) req["arguments"] = arguments;
  write_all(fd_.get(), req.dump() + "\n", describe_);
  nlohmann::json reply = read_message();
  if (reply.contains("error"))
    throw Error(describe_ + ": " + command + ": " + reply["error"].value("desc", reply["error"].dump()));
  return reply.value("return", nlohmann::json::object());
}

}  // namespace ef::engine::local
