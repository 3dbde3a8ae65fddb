#include <utility>

#include "attest/websrv/server.h"

#include <openssl/ssl.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/generic/stream_protocol.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/core/detect_ssl.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <sys/socket.h>

#include <algorithm>
#include <chrono>
#include <thread>

#include "attest/websrv/vsock.h"
#include "base/error.h"
#include "base/log.h"

namespace ef::websrv {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;
using std::chrono::milliseconds;

std::unique_ptr<ssl::context> make_tls_context(const std::string& min_version, EVP_PKEY* key, X509* cert,
                                               const std::string& client_ca) {
  auto ctx = std::make_unique<ssl::context>(ssl::context::tls_server);
  SSL_CTX* native = ctx->native_handle();
  SSL_CTX_set_options(native, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  if (SSL_CTX_set_min_proto_version(native, min_version == "1.2" ? TLS1_2_VERSION : TLS1_3_VERSION) != 1)
    throw Error("TLS: cannot set the minimum protocol version");
  if (min_version == "1.2" &&
      SSL_CTX_set_cipher_list(native, "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-AES128-GCM-SHA256:"
                                      "ECDHE-ECDSA-CHACHA20-POLY1305") != 1)
    throw Error("TLS: cannot set the TLS 1.2 cipher list");
  if (SSL_CTX_use_certificate(native, cert) != 1 || SSL_CTX_use_PrivateKey(native, key) != 1 ||
      SSL_CTX_check_private_key(native) != 1)
    throw Error("TLS: the key does not match the certificate");
  if (!client_ca.empty()) {
    if (SSL_CTX_load_verify_locations(native, client_ca.c_str(), nullptr) != 1)
      throw Error("TLS: cannot load client CA " + client_ca);
    STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(client_ca.c_str());
    if (names) SSL_CTX_set_client_CA_list(native, names);
    SSL_CTX_set_verify(native, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  }
  return ctx;
}

struct Server::Impl : std::enable_shared_from_this<Impl> {
  net::io_context& io;
  const Config& cfg;
  const Api& api;
  Metrics& metrics;
  ssl::context* tls;
  std::vector<std::unique_ptr<tcp::acceptor>> tcp_acceptors;  // second: is redirect
  std::vector<bool> is_redirect;
  std::unique_ptr<net::basic_socket_acceptor<net::generic::stream_protocol>> vsock_acceptor;
  std::uint16_t https_port = 443;
  // Connections live on worker contexts, one thread each, dealt round-robin by
  // the accepting thread: a connection never changes thread, so no strand or
  // scheduler lock is contended on its path (the listeners run on `io`).
  std::vector<std::unique_ptr<net::io_context>> workers;
  std::vector<net::executor_work_guard<net::io_context::executor_type>> worker_guards;
  std::vector<std::thread> worker_threads;
  std::size_t next_worker = 0;

  net::io_context& pick_worker() { return *workers[next_worker++ % workers.size()]; }

  Impl(net::io_context& i, const Config& c, const Api& a, Metrics& m, ssl::context* t)
      : io(i), cfg(c), api(a), metrics(m), tls(t) {}

  // ---- responses ----------------------------------------------------------

  template <class Stream>
  net::awaitable<bool> write_response(Stream& stream, beast::tcp_stream& lowest, unsigned version, bool keep_alive,
                                      ApiResponse& r) {
    beast::error_code ec;
    lowest.expires_after(milliseconds(cfg.request_timeout_ms));
    if (r.stream && version >= 11) {
      http::response<http::empty_body> res{static_cast<http::status>(r.status), version};
      res.set(http::field::server, "ra-web-srv");
      res.set(http::field::content_type, r.content_type);
      res.set(http::field::cache_control, "no-store");
      res.keep_alive(keep_alive);
      res.chunked(true);
      http::response_serializer<http::empty_body> sr{res};
      co_await http::async_write_header(stream, sr, net::redirect_error(net::use_awaitable, ec));
      if (ec) co_return false;
      std::string chunk;
      while (api.next_chunk(*r.stream, chunk)) {
        if (chunk.empty()) continue;
        lowest.expires_after(milliseconds(cfg.request_timeout_ms));
        co_await net::async_write(stream, http::make_chunk(net::buffer(chunk)),
                                  net::redirect_error(net::use_awaitable, ec));
        if (ec) co_return false;
        chunk.clear();
      }
      co_await net::async_write(stream, http::make_chunk_last(), net::redirect_error(net::use_awaitable, ec));
      co_return !ec;
    }
    if (r.stream) {  // HTTP/1.0: no chunking, so the listing is built whole
      while (api.next_chunk(*r.stream, r.body)) {
      }
      r.stream.reset();
    }
    http::response<http::string_body> res{static_cast<http::status>(r.status), version};
    res.set(http::field::server, "ra-web-srv");
    res.set(http::field::content_type, r.content_type);
    res.set(http::field::cache_control, "no-store");
    for (const auto& [k, v] : r.headers) res.set(k, v);
    res.keep_alive(keep_alive);
    res.body() = std::move(r.body);
    res.prepare_payload();
    co_await http::async_write(stream, res, net::redirect_error(net::use_awaitable, ec));
    co_return !ec;
  }

  template <class Stream>
  net::awaitable<void> send_error(Stream& stream, beast::tcp_stream& lowest, int status, std::string_view field,
                                  std::string_view message) {
    ApiResponse r;
    r.status = status;
    nlohmann::json j = {{"error", message}};
    if (!field.empty()) j["field"] = field;
    r.body = j.dump() + "\n";
    co_await write_response(stream, lowest, 11, false, r);
    metrics.observe(SIZE_MAX, status, 0);
  }

  ApiResponse redirect_response(const http::request<http::string_body>& req) {
    ApiResponse r;
    std::string host(req[http::field::host]);
    if (!host.empty() && host[0] == '[') {
      host = host.substr(0, host.find(']') + 1);
    } else if (auto colon = host.find(':'); colon != std::string::npos) {
      host.resize(colon);
    }
    const bool ok_host = !host.empty() && host.size() <= 255 &&
                         host.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-[]:") ==
                             std::string::npos;
    const std::string target(req.target());
    if (!ok_host || target.empty() || target[0] != '/') {
      r.status = 400;
      r.body = R"({"error":"redirect needs a valid Host header and an origin-form target","field":"host"})" "\n";
      return r;
    }
    r.status = 301;
    r.headers.emplace_back("Location", "https://" + host + (https_port == 443 ? "" : ":" + std::to_string(https_port)) +
                                           target);
    r.body = R"({"error":"use https","field":""})" "\n";
    return r;
  }

  // ---- the request loop ---------------------------------------------------

  template <class Stream>
  net::awaitable<void> serve(Stream& stream, beast::tcp_stream& lowest, beast::flat_buffer& buf, bool redirect) {
    beast::error_code ec;
    for (bool first = true;; first = false) {
      if (!first && buf.size() == 0) {  // keep-alive: wait for the next request's first byte
        lowest.expires_after(milliseconds(cfg.idle_timeout_ms));
        const std::size_t n =
            co_await stream.async_read_some(buf.prepare(1024), net::redirect_error(net::use_awaitable, ec));
        if (ec) {
          if (ec == beast::error::timeout) metrics.timeout();
          co_return;
        }
        buf.commit(n);
      }
      lowest.expires_after(milliseconds(cfg.header_timeout_ms));
      http::request_parser<http::string_body> parser;
      parser.header_limit(cfg.max_header_bytes);
      parser.body_limit(cfg.max_body_bytes);
      co_await http::async_read_header(stream, buf, parser, net::redirect_error(net::use_awaitable, ec));
      const auto start = std::chrono::steady_clock::now();
      if (ec == http::error::header_limit || ec == http::error::buffer_overflow) {
        co_await send_error(stream, lowest, 431, "headers", "request headers exceed max_header_bytes");
        co_return;
      }
      if (ec == http::error::body_limit) {
        co_await send_error(stream, lowest, 413, "body", "request body exceeds max_body_bytes");
        co_return;
      }
      if (ec == beast::error::timeout) {
        metrics.timeout();
        co_return;
      }
      if (ec == http::error::end_of_stream || ec == net::error::eof || ec == net::error::connection_reset ||
          ec == net::ssl::error::stream_truncated || ec.category() == net::error::get_ssl_category() ||
          ec == net::error::operation_aborted)
        co_return;
      if (ec) {
        co_await send_error(stream, lowest, 400, "request", "malformed HTTP request: " + ec.message());
        co_return;
      }
      lowest.expires_after(milliseconds(cfg.request_timeout_ms));
      if (redirect) {
        ApiResponse r = redirect_response(parser.get());
        co_await write_response(stream, lowest, parser.get().version(), false, r);
        metrics.observe(SIZE_MAX, r.status, 0);
        co_return;
      }
      if (!parser.is_done()) {
        if (beast::iequals(parser.get()[http::field::expect], "100-continue")) {
          http::response<http::empty_body> cont{http::status::continue_, 11};
          co_await http::async_write(stream, cont, net::redirect_error(net::use_awaitable, ec));
          if (ec) co_return;
        }
        co_await http::async_read(stream, buf, parser, net::redirect_error(net::use_awaitable, ec));
        if (ec == http::error::body_limit) {
          co_await send_error(stream, lowest, 413, "body", "request body exceeds max_body_bytes");
          co_return;
        }
        if (ec == beast::error::timeout) metrics.timeout();
        if (ec) co_return;
      }
      auto& req = parser.get();
      ApiRequest ar;
      ar.method = std::string(req.method_string());
      ar.target = std::string(req.target());
      ar.accept = std::string(req[http::field::accept]);
      ar.content_type = std::string(req[http::field::content_type]);
      ar.body = std::move(req.body());
      ApiResponse r = api.handle(ar);
      const bool keep_alive = req.keep_alive() && r.status < 500;
      const bool written = co_await write_response(stream, lowest, req.version(), keep_alive, r);
      metrics.observe(r.route, r.status,
                      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
      if (!written || !keep_alive) co_return;
    }
  }

  net::awaitable<void> session(tcp::socket socket, bool redirect) {
    struct Count {
      Metrics& m;
      ~Count() { m.connection_closed(); }
    } count{metrics};
    beast::tcp_stream ts(std::move(socket));
    beast::flat_buffer buf(static_cast<std::size_t>(cfg.max_header_bytes) + cfg.max_body_bytes + 4096);
    beast::error_code ec;
    if (redirect || !tls) {
      co_await serve(ts, ts, buf, redirect);
      ts.socket().shutdown(tcp::socket::shutdown_both, ec);
      co_return;
    }
    ts.expires_after(milliseconds(cfg.header_timeout_ms));
    const bool is_tls = co_await beast::async_detect_ssl(ts, buf, net::redirect_error(net::use_awaitable, ec));
    if (ec) {
      if (ec == beast::error::timeout) metrics.timeout();
      co_return;
    }
    if (!is_tls) {  // plain HTTP (or garbage) on the TLS port: one clear answer, then close
      metrics.tls_handshake_failed();
      co_await send_error(ts, ts, 400, "scheme", "plain HTTP sent to the HTTPS port; use https://");
      ts.socket().shutdown(tcp::socket::shutdown_both, ec);
      co_return;
    }
    // beast::ssl_stream flattens buffer sequences: one TLS record per response, not one per buffer.
    beast::ssl_stream<beast::tcp_stream> ss(std::move(ts), *tls);
    const std::size_t used = co_await ss.async_handshake(ssl::stream_base::server, buf.data(),
                                                         net::redirect_error(net::use_awaitable, ec));
    if (ec) {
      metrics.tls_handshake_failed();
      if (ec == beast::error::timeout) metrics.timeout();
      log::debug("TLS handshake failed", {{"error", ec.message()}});
      co_return;
    }
    buf.consume(used);
    co_await serve(ss, beast::get_lowest_layer(ss), buf, false);
    beast::get_lowest_layer(ss).expires_after(std::chrono::seconds(1));
    co_await ss.async_shutdown(net::redirect_error(net::use_awaitable, ec));
  }

  /// Admits a connection under max_connections; false = refused (closed).
  bool admit() {
    if (metrics.open_connections() >= static_cast<std::int64_t>(cfg.max_connections)) {
      metrics.connection_rejected();
      return false;
    }
    metrics.connection_opened();
    return true;
  }

  net::awaitable<void> accept_tcp(tcp::acceptor& acceptor, bool redirect) {
    auto self = shared_from_this();
    for (;;) {
      beast::error_code ec;
      tcp::socket s = co_await acceptor.async_accept(pick_worker(), net::redirect_error(net::use_awaitable, ec));
      if (ec == net::error::operation_aborted || !acceptor.is_open()) co_return;
      if (ec) {  // EMFILE and friends: log, back off a little, go on
        log::warn("accept failed", {{"error", ec.message()}});
        net::steady_timer t(io, milliseconds(50));
        co_await t.async_wait(net::redirect_error(net::use_awaitable, ec));
        continue;
      }
      if (!admit()) continue;  // `s` closes here
      s.set_option(tcp::no_delay(true), ec);
      net::co_spawn(s.get_executor(), session(std::move(s), redirect), net::detached);
    }
  }

  net::awaitable<void> accept_vsock() {
    auto self = shared_from_this();
    for (;;) {
      beast::error_code ec;
      auto s = co_await vsock_acceptor->async_accept(net::redirect_error(net::use_awaitable, ec));
      if (ec == net::error::operation_aborted || !vsock_acceptor->is_open()) co_return;
      if (ec) {
        log::warn("vsock accept failed", {{"error", ec.message()}});
        net::steady_timer t(io, milliseconds(50));
        co_await t.async_wait(net::redirect_error(net::use_awaitable, ec));
        continue;
      }
      if (!admit()) continue;
      // From here a vsock connection is just a stream socket: adopt the fd into
      // the TCP socket type the sessions use (only read/write/shutdown/close are called).
      const int fd = s.release();
      tcp::socket t(pick_worker());
      t.assign(tcp::v4(), fd, ec);
      if (ec) {
        ::close(fd);
        metrics.connection_closed();
        continue;
      }
      net::co_spawn(t.get_executor(), session(std::move(t), false), net::detached);
    }
  }

  std::string bind_tcp(const HostPort& hp, bool redirect) {
    const tcp::endpoint ep(net::ip::make_address(hp.host), hp.port);
    auto a = std::make_unique<tcp::acceptor>(io);
    beast::error_code ec;
    a->open(ep.protocol(), ec);
    if (!ec) a->set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec) a->bind(ep, ec);
    if (!ec) a->listen(net::socket_base::max_listen_connections, ec);
    const std::string what = hp.host + ":" + std::to_string(hp.port);
    if (ec) throw Error("listen on " + what + ": " + ec.message());
    const auto bound = a->local_endpoint();
    tcp_acceptors.push_back(std::move(a));
    is_redirect.push_back(redirect);
    const std::string host = bound.address().is_v6() ? "[" + bound.address().to_string() + "]" : bound.address().to_string();
    return host + ":" + std::to_string(bound.port());
  }
};

Server::Server(net::io_context& io, const Config& config, const Api& api, Metrics& metrics, ssl::context* tls,
               unsigned threads)
    : impl_(std::make_shared<Impl>(io, config, api, metrics, tls)) {
  if (config.tls && !tls) throw Error("TLS enabled but no TLS context");
  for (unsigned i = 0; i < std::max(1u, threads); ++i) {
    impl_->workers.push_back(std::make_unique<net::io_context>(1));
    impl_->worker_guards.push_back(net::make_work_guard(*impl_->workers.back()));
  }
}

Server::~Server() {
  stop();
  join();
}

void Server::join() {
  for (auto& t : impl_->worker_threads)
    if (t.joinable()) t.join();
}

std::vector<std::string> Server::start() {
  std::vector<std::string> out;
  auto& s = *impl_;
  for (const auto& hp : s.cfg.tcp) out.push_back((s.cfg.tls ? "https " : "http ") + s.bind_tcp(hp, false));
  if (!s.tcp_acceptors.empty()) s.https_port = s.tcp_acceptors.front()->local_endpoint().port();
  if (s.cfg.redirect_https_port) s.https_port = *s.cfg.redirect_https_port;
  if (s.cfg.redirect) out.push_back("redirect " + s.bind_tcp(*s.cfg.redirect, true));
  if (s.cfg.vsock_port) {
    UniqueFd fd = listen_vsock(*s.cfg.vsock_port, SOMAXCONN);
    s.vsock_acceptor = std::make_unique<net::basic_socket_acceptor<net::generic::stream_protocol>>(
        s.io, net::generic::stream_protocol(AF_VSOCK, SOCK_STREAM), fd.release());
    out.push_back(std::string(s.cfg.tls ? "https" : "http") + " vsock:" + std::to_string(*s.cfg.vsock_port));
    net::co_spawn(s.io, s.accept_vsock(), net::detached);
  }
  for (std::size_t i = 0; i < s.tcp_acceptors.size(); ++i)
    net::co_spawn(s.io, s.accept_tcp(*s.tcp_acceptors[i], s.is_redirect[i]), net::detached);
  if (s.worker_threads.empty())
    for (auto& w : s.workers) s.worker_threads.emplace_back([ctx = w.get()] { ctx->run(); });
  return out;
}

void Server::stop() {
  auto self = impl_;
  net::post(impl_->io, [self] {
    beast::error_code ec;
    for (auto& a : self->tcp_acceptors) a->close(ec);
    if (self->vsock_acceptor) self->vsock_acceptor->close(ec);
  });
  impl_->worker_guards.clear();
  for (auto& w : impl_->workers) w->stop();
}

}  // namespace ef::websrv
