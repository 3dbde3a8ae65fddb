#include "runtime/agent/server.h"

#include <openssl/rand.h>
#include <poll.h>
#include <sys/socket.h>

#include <thread>

#include "attest/websrv/tls_identity.h"
#include "base/error.h"
#include "base/log.h"
#include "netproxy/endpoint.h"
#include "netproxy/socket_ops.h"
#include "runtime/agent/operators.h"

namespace ef::agent {

AgentServer::AgentServer(AgentConfig config, nsm::NsmDevice& nsm) : config_(std::move(config)), nsm_(nsm) {
  websrv::TlsIdentity id = websrv::generate_tls_identity("P-384", "ef-agent");
  ctx_ = make_server_ctx(id.cert.get(), id.key.get());
  spki_ = id.spki_der;
}

AgentServer::~AgentServer() = default;

void AgentServer::bind() {
  for (const auto& text : config_.listen) {
    with_context("listening on " + text, [&] {
      const netproxy::Endpoint ep = netproxy::parse_endpoint(text);
      UniqueFd fd = netproxy::listen_stream(ep, 64);
      log::info("listening", {{"endpoint", text}, {"address", netproxy::local_address(fd.get()).to_string()}});
      listeners_.emplace_back(std::move(fd), text);
    });
  }
}

void AgentServer::run(int stop_fd) {
  std::vector<pollfd> fds;
  for (const auto& [fd, name] : listeners_) fds.push_back({fd.get(), POLLIN, 0});
  fds.push_back({stop_fd, POLLIN, 0});
  for (;;) {
    if (::poll(fds.data(), fds.size(), -1) < 0) {
      if (errno == EINTR) continue;
      throw_errno("poll", "listeners");
    }
    if (fds.back().revents) return;
    for (std::size_t i = 0; i + 1 < fds.size(); ++i) {
      if (!(fds[i].revents & POLLIN)) continue;
      netproxy::SockAddr addr;
      addr.length = sizeof addr.storage;
      UniqueFd client(::accept4(fds[i].fd, addr.get(), &addr.length, SOCK_CLOEXEC));
      if (!client) {
        if (errno != EAGAIN && errno != EINTR)
          log::warn("accept failed", {{"listener", listeners_[i].second}, {"error", std::strerror(errno)}});
        continue;
      }
      const std::string peer = addr.length ? addr.to_string() : listeners_[i].second;
      if (active_.load() >= config_.max_connections) {
        log::warn("connection refused: too many connections",
                  {{"peer", peer}, {"max_connections", std::to_string(config_.max_connections)}});
        continue;
      }
      netproxy::tune_stream(client.get());
      active_++;
      std::thread([this, fd = std::move(client), peer]() mutable {
        serve_connection(std::move(fd), peer);
        active_--;
      }).detach();
    }
  }
}

void AgentServer::serve_connection(UniqueFd fd, const std::string& peer) {
  counters_.connections++;
  std::string stage = "tls";
  std::uint64_t requests = 0;
  try {
    Channel ch(ctx_.get(), std::move(fd), Channel::Role::kServer, peer, static_cast<int>(config_.handshake_timeout_ms));
    stage = "attestation";
    const std::string op = handshake(ch);
    if (!op.empty()) {
      stage = "requests";
      dispatch(ch, op, requests);
      stage = "closed";
    }
    ch.close();
  } catch (const std::exception& e) {
    // A bare connect-and-close (init's readiness probe, a port scan) is not a fault.
    const bool probe = stage == "tls" && std::string_view(e.what()).find("connection closed by peer") != std::string_view::npos;
    if (probe) log::debug("connection closed before TLS", {{"peer", peer}});
    else log::warn("connection failed", {{"peer", peer}, {"stage", stage}, {"error", e.what()}});
    if (probe) return;
  }
  log::info("connection closed", {{"peer", peer}, {"stage", stage}, {"requests", std::to_string(requests)}});
}

std::string AgentServer::handshake(Channel& ch) {
  const int timeout = static_cast<int>(config_.handshake_timeout_ms);
  auto first = ch.recv(timeout);
  if (!first) return {};
  if (first->type != FrameType::kHello) {
    send_error(ch, ErrorCode::kProtocol, "expected HELLO, got " + frame_type_name(static_cast<std::uint8_t>(first->type)));
    return {};
  }
  const Hello hello = decode_hello(first->payload);
  if (hello.version != kProtocolVersion) {
    send_error(ch, ErrorCode::kProtocol, "unsupported protocol version " + std::to_string(hello.version) +
                                             " (this agent speaks " + std::to_string(kProtocolVersion) + ")");
    return {};
  }
  Bytes challenge(32);
  if (RAND_bytes(challenge.data(), 32) != 1) throw Error("RAND_bytes failed");
  nsm::req::Attestation req;
  req.nonce = Bytes(hello.nonce.begin(), hello.nonce.end());
  req.user_data = challenge;
  req.public_key = spki_;
  const Bytes document = nsm_.attestation(req);
  ch.send(FrameType::kAttestation, document);
  counters_.attested++;

  auto auth_frame = ch.recv(timeout);
  if (!auth_frame) {
    log::info("client closed after ATTESTATION without authenticating (it may have refused the attestation)",
              {{"peer", ch.peer()}});
    return {};
  }
  if (auth_frame->type == FrameType::kError) {
    const ErrorMsg e = decode_error(auth_frame->payload);
    log::info("client refused the attestation", {{"peer", ch.peer()}, {"reason", e.message}});
    return {};
  }
  if (auth_frame->type != FrameType::kAuth) {
    send_error(ch, ErrorCode::kProtocol,
               "expected AUTH, got " + frame_type_name(static_cast<std::uint8_t>(auth_frame->type)));
    return {};
  }
  const Auth auth = decode_auth(auth_frame->payload);
  const std::string fp = spki_fingerprint(auth.spki);
  if (!config_.operators.allows(auth.spki)) {
    counters_.auth_refused++;
    const std::string msg = "operator key " + fp + " is not listed in " + config_.source;
    log::warn("operator refused", {{"peer", ch.peer()}, {"operator", fp}, {"reason", "not listed"}});
    send_error(ch, ErrorCode::kRefused, msg);
    return {};
  }
  bool good = false;
  try {
    good = verify_operator_signature(auth.spki, auth_message(document, challenge), auth.signature);
  } catch (const Error& e) {
    log::warn("operator key unusable", {{"peer", ch.peer()}, {"operator", fp}, {"error", e.what()}});
  }
  if (!good) {
    counters_.auth_refused++;
    log::warn("operator refused", {{"peer", ch.peer()}, {"operator", fp}, {"reason", "bad signature"}});
    send_error(ch, ErrorCode::kRefused, "the AUTH signature by operator key " + fp + " does not verify");
    return {};
  }
  ch.send(FrameType::kAuthOk);
  counters_.authenticated++;
  log::info("operator authenticated", {{"peer", ch.peer()}, {"operator", fp}});
  return fp;
}

void AgentServer::dispatch(Channel& ch, const std::string& op, std::uint64_t& requests) {
  RequestContext ctx{ch, config_, op};
  for (;;) {
    auto f = ch.recv();
    if (!f) return;
    const std::string type = frame_type_name(static_cast<std::uint8_t>(f->type));
    requests++;
    counters_.requests++;
    log::info("request", {{"peer", ch.peer()}, {"operator", op}, {"type", type}});
    const auto refuse = [&](const char* feature, const char* key) {
      counters_.refused++;
      log::warn("request refused", {{"peer", ch.peer()}, {"type", type}, {"reason", std::string(key) + ": false"}});
      send_error(ch, ErrorCode::kRefused,
                 std::string(feature) + " is disabled in " + config_.source + " (" + key + ": false)");
    };
    switch (f->type) {
      case FrameType::kExec:
        if (!config_.exec) refuse("exec", "exec");
        else handle_exec(ctx, *f);
        break;
      case FrameType::kCpIn:
        if (!config_.copy) refuse("copying files in", "copy");
        else handle_cp_in(ctx, *f);
        break;
      case FrameType::kCpOut:
        if (!config_.copy) refuse("copying files out", "copy");
        else handle_cp_out(ctx, *f);
        break;
      case FrameType::kLogs:
        if (!config_.logs) refuse("reading logs", "logs");
        else handle_logs(ctx, *f);
        break;
      case FrameType::kSecretPut:
        if (!config_.secrets) refuse("secret delivery", "secrets");
        else handle_secret_put(ctx, *f);
        break;
      default:
        send_error(ch, ErrorCode::kProtocol, "expected a request, got " + type);
        return;
    }
  }
}

void send_error(Channel& ch, ErrorCode code, const std::string& message) {
  ch.send(FrameType::kError, encode_error({code, message}));
}

}  // namespace ef::agent
