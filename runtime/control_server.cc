#include "runtime/control_server.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
// clang-format off
#include <linux/vm_sockets.h>
// clang-format on

#include <algorithm>
#include <cstring>
#include <filesystem>

#include "base/error.h"
#include "base/log.h"

namespace ef::init {

struct ControlServer::Client {
  UniqueFd fd;
  std::string in;
  std::string out;
  bool answered = false;    // request handled; close once `out` drains (unless following)
  bool closing = false;
  std::shared_ptr<LogSink> follow;
  int follow_id = 0;
  EventLoop::TimerId deadline = 0;
  std::function<void()> after;
};

std::string json_line(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

ControlServer::ControlServer(EventLoop& loop, ControlSpec spec, Handler handler)
    : loop_(loop), spec_(std::move(spec)), handler_(std::move(handler)) {}

ControlServer::~ControlServer() {
  while (!clients_.empty()) close_client(clients_.begin()->first);
  if (unix_fd_) loop_.remove(unix_fd_.get());
  if (vsock_fd_) loop_.remove(vsock_fd_.get());
}

void ControlServer::listen_unix() {
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  if (spec_.socket.size() >= sizeof a.sun_path) throw Error("control socket path too long: " + spec_.socket);
  std::memcpy(a.sun_path, spec_.socket.c_str(), spec_.socket.size() + 1);
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(spec_.socket).parent_path(), ec);
  unlink(spec_.socket.c_str());
  UniqueFd fd(socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) throw_errno("create", "unix socket");
  if (bind(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) < 0) throw_errno("bind", spec_.socket);
  chmod(spec_.socket.c_str(), 0600);  // the API can stop the system: root only
  if (listen(fd.get(), 64) < 0) throw_errno("listen on", spec_.socket);
  unix_fd_ = std::move(fd);
  int lfd = unix_fd_.get();
  loop_.add(lfd, EPOLLIN, [this, lfd](std::uint32_t) { accept_on(lfd, false); });
}

void ControlServer::listen_vsock() {
  std::string what = "vsock port " + std::to_string(spec_.vsock_port);
  UniqueFd fd(socket(AF_VSOCK, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) throw_errno("create", "vsock socket");
  sockaddr_vm a{};
  a.svm_family = AF_VSOCK;
  a.svm_cid = VMADDR_CID_ANY;
  a.svm_port = spec_.vsock_port;
  if (bind(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) < 0) throw_errno("bind", what);
  if (listen(fd.get(), 64) < 0) throw_errno("listen on", what);
  vsock_fd_ = std::move(fd);
  int lfd = vsock_fd_.get();
  loop_.add(lfd, EPOLLIN, [this, lfd](std::uint32_t) { accept_on(lfd, true); });
}

void ControlServer::accept_on(int listen_fd, bool vsock) {
  for (int i = 0; i < 16; ++i) {
    sockaddr_storage peer{};
    socklen_t len = sizeof peer;
    UniqueFd fd(accept4(listen_fd, reinterpret_cast<sockaddr*>(&peer), &len, SOCK_NONBLOCK | SOCK_CLOEXEC));
    if (!fd) return;
    if (vsock) {
      auto cid = reinterpret_cast<sockaddr_vm*>(&peer)->svm_cid;
      const auto& allow = spec_.vsock_allow;
      if (!allow.empty() && std::find(allow.begin(), allow.end(), cid) == allow.end()) {
        log::warn("control: refused vsock client from CID " + std::to_string(cid));
        continue;
      }
    }
    if (clients_.size() >= kMaxClients) {
      std::string busy = json_line(error_response("too many control clients"));
      (void)!::write(fd.get(), busy.data(), busy.size());
      continue;
    }
    int cfd = fd.get();
    auto c = std::make_unique<Client>();
    c->fd = std::move(fd);
    c->deadline = loop_.after(spec_.request_timeout, [this, cfd] {
      auto it = clients_.find(cfd);
      if (it == clients_.end()) return;
      Client& cl = *it->second;
      cl.deadline = 0;
      if (cl.answered) return;
      send(cl, error_response("request timed out after " + std::to_string(spec_.request_timeout) + "ms"));
      cl.answered = true;
      flush(cl);
    });
    clients_.emplace(cfd, std::move(c));
    loop_.add(cfd, EPOLLIN | EPOLLRDHUP, [this, cfd](std::uint32_t ev) { on_client(cfd, ev); });
  }
}

void ControlServer::on_client(int fd, std::uint32_t events) {
  auto it = clients_.find(fd);
  if (it == clients_.end()) return;
  Client& c = *it->second;
  if (events & EPOLLOUT) {
    flush(c);
    if (!clients_.count(fd)) return;
  }
  if (!(events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))) return;
  char buf[4096];
  ssize_t n = read(fd, buf, sizeof buf);
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
  if (n <= 0) {
    // End of input: a request without a final newline still counts.
    if (!c.answered && !c.in.empty()) {
      std::string line = std::move(c.in);
      handle_request(c, line);
      return;
    }
    return close_client(fd);
  }
  if (c.answered) return;  // one request per connection; extra input is ignored
  c.in.append(buf, static_cast<std::size_t>(n));
  std::size_t nl = c.in.find('\n');
  if (nl == std::string::npos) {
    if (c.in.size() > spec_.max_request) {
      c.in.clear();
      send(c, error_response("request larger than " + std::to_string(spec_.max_request) + " bytes"));
      c.answered = true;
      flush(c);
    }
    return;
  }
  if (nl > spec_.max_request) {
    send(c, error_response("request larger than " + std::to_string(spec_.max_request) + " bytes"));
    c.answered = true;
    return flush(c);
  }
  std::string line = c.in.substr(0, nl);
  c.in.clear();
  handle_request(c, line);
}

void ControlServer::handle_request(Client& c, std::string_view line) {
  int fd = c.fd.get();
  c.answered = true;
  if (c.deadline) loop_.cancel(c.deadline);
  c.deadline = 0;
  Reply reply;
  try {
    reply = handler_(parse_request(line));
  } catch (const std::exception& e) {
    reply.body = error_response(e.what());
  }
  send(c, reply.body);
  c.after = std::move(reply.after);
  if (reply.follow) {
    c.follow = reply.follow;
    c.follow_id = reply.follow->follow([this, fd](std::string_view l) {
      auto it = clients_.find(fd);
      if (it == clients_.end()) return;
      send(*it->second, nlohmann::json{{"line", l}});
      flush(*it->second);
    });
  }
  flush(c);
}

void ControlServer::send(Client& c, const nlohmann::json& j) {
  if (c.out.size() > kMaxPending) {
    c.closing = true;  // a follower that does not read: drop it
    return;
  }
  c.out += json_line(j);
}

void ControlServer::flush(Client& c) {
  int fd = c.fd.get();
  while (!c.out.empty() && !c.closing) {
    ssize_t n = ::send(fd, c.out.data(), c.out.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) break;
    if (n <= 0) {
      c.closing = true;
      break;
    }
    c.out.erase(0, static_cast<std::size_t>(n));
  }
  if (c.after && c.out.empty()) {
    auto after = std::move(c.after);
    c.after = nullptr;
    after();
    if (!clients_.count(fd)) return;
  }
  bool done = c.closing || (c.answered && c.out.empty() && !c.follow);
  if (done) return close_client(fd);
  loop_.modify(fd, EPOLLIN | EPOLLRDHUP | (c.out.empty() ? 0u : static_cast<std::uint32_t>(EPOLLOUT)));
}

void ControlServer::close_client(int fd) {
  auto it = clients_.find(fd);
  if (it == clients_.end()) return;
  Client& c = *it->second;
  if (c.deadline) loop_.cancel(c.deadline);
  if (c.follow) c.follow->unfollow(c.follow_id);
  if (c.after) c.after();
  loop_.remove(fd);
  clients_.erase(it);
}

}  // namespace ef::init
