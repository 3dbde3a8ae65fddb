#include "netproxy/proxy.h"

#include <sys/socket.h>

#include <cerrno>
#include <csignal>
#include <cstring>

#include "base/error.h"
#include "base/log.h"
#include "netproxy/metrics_server.h"
#include "netproxy/socket_ops.h"
#include "netproxy/tcp_session.h"
#include "netproxy/udp_session.h"
#include "netproxy/worker.h"

namespace ef::netproxy {
namespace {

constexpr std::chrono::milliseconds kTick{100};

/// Accepts on one listener for one worker; the listener is registered in every
/// worker with EPOLLEXCLUSIVE so a new connection wakes one of them.
class Acceptor : public Handler {
 public:
  Acceptor(Worker& worker, ForwardRuntime& forward, int fd) : worker_(worker), forward_(forward), fd_(fd) {}

  void on_event(std::uint32_t) override {
    for (;;) {
      int fd = ::accept4(fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) {
        if (errno == EINTR || errno == ECONNABORTED) continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK) accept_failed(errno);
        return;
      }
      UniqueFd accepted(fd);
      worker_.accepted().fetch_add(1, std::memory_order_relaxed);
      if (static_cast<std::size_t>(forward_.metrics->open.load(std::memory_order_relaxed)) >=
          forward_.spec.max_connections) {
        forward_.metrics->refused.fetch_add(1, std::memory_order_relaxed);
        forward_.metrics->error(ErrorKind::kLimit);
        abort_close(accepted);
        continue;
      }
      if (forward_.spec.mode == Mode::kStreamToUdp) {
        auto s = std::make_shared<StreamUdpSession>(worker_, forward_, std::move(accepted));
        worker_.adopt(s);
        s->start();
      } else {
        auto s = std::make_shared<TcpSession>(worker_, forward_, std::move(accepted));
        worker_.adopt(s);
        s->start();
      }
    }
  }

 private:
  void accept_failed(int err) {
    forward_.metrics->error(ErrorKind::kAccept);
    auto now = worker_.loop().now();
    if (now - last_warning_ > std::chrono::seconds(5)) {
      last_warning_ = now;
      log::warn("accept failed", {{"forward", forward_.spec.name}, {"error", std::strerror(err)}});
    }
  }
  Worker& worker_;
  ForwardRuntime& forward_;
  int fd_;
  Clock::time_point last_warning_{};
};

std::optional<OriginalDst> resolve_dial_host(const std::string& host) {
  if (host.empty()) return std::nullopt;
  Endpoint e;
  e.host = host;
  return OriginalDst::from_sockaddr(resolve(e));
}

}  // namespace

Proxy::Proxy(Config config, HostResolver resolver) : config_(std::move(config)), resolver_(std::move(resolver)) {
  config_.validate();
}

Proxy::~Proxy() { stop(); }

void Proxy::bind_forward(ForwardRuntime& f) {
  const ForwardSpec& s = f.spec;
  if (s.connect) f.connect_address = resolve(*s.connect);
  f.dial_override = resolve_dial_host(s.dial_host);
  auto policy = std::make_shared<Policy>(s.policy);
  if (policy->has_hosts()) policy->resolve_hosts(resolver_);
  f.set_policy(policy);
  if (s.mode == Mode::kUdpToStream) {
    f.listeners.push_back(bind_datagram(s.listen));
  } else {
    // TCP: one SO_REUSEPORT socket per worker. With a single socket woken by
    // EPOLLEXCLUSIVE, the worker that wakes drains the whole accept queue, so
    // a burst of connections lands on one core (measured: 100 streams, one
    // worker 4x busier than the other); the kernel's reuseport hash spreads
    // them. Other transports share one socket.
    const bool shard = s.listen.transport == Transport::kTcp && config_.workers > 1;
    std::vector<Endpoint> endpoints;
    if (s.mode == Mode::kIngress && !s.ports.empty()) {
      for (std::uint16_t port : s.ports) {
        endpoints.push_back(s.listen);
        endpoints.back().port = port;
      }
    } else {
      endpoints.push_back(s.listen);
    }
    for (const Endpoint& e : endpoints) {
      f.listeners.push_back(listen_stream(e, 4096, shard));
      f.shards.emplace_back();
      if (!shard) continue;
      const SockAddr at = local_address(f.listeners.back().get());
      for (int k = 1; k < config_.workers; ++k) f.shards.back().push_back(listen_shard(at));
    }
  }
  for (const auto& l : f.listeners) f.bound.push_back(local_address(l.get()));
}

void Proxy::start() {
  if (started_) return;
  started_ = true;
  std::signal(SIGPIPE, SIG_IGN);  // a peer that vanished is an errno, never a signal
  for (const auto& spec : config_.forwards) {
    auto f = std::make_unique<ForwardRuntime>();
    f->spec = spec;
    f->metrics = &metrics_.add(spec.name);
    with_context("forward '" + spec.name + "'", [&] { bind_forward(*f); });
    forwards_.push_back(std::move(f));
  }
  for (int i = 0; i < config_.workers; ++i) workers_.push_back(std::make_unique<Worker>(i));
  for (auto& f : forwards_) {
    for (const auto& l : f->listeners) {
      if (f->spec.mode == Mode::kUdpToStream) {
        auto fe = std::make_shared<UdpFrontend>(*workers_[0], *f, l.get());
        workers_[0]->loop().add(l.get(), EPOLLIN, fe.get());
        acceptors_.push_back(fe);
        continue;
      }
      const std::size_t index = static_cast<std::size_t>(&l - f->listeners.data());
      const bool sharded = f->shards.size() > index && !f->shards[index].empty();
      for (std::size_t k = 0; k < workers_.size(); ++k) {
        Worker& w = *workers_[k];
        const int fd = !sharded || k == 0 ? l.get() : f->shards[index][k - 1].get();
        auto a = std::make_shared<Acceptor>(w, *f, fd);
        w.loop().add(fd, sharded ? EPOLLIN : EPOLLIN | EPOLLEXCLUSIVE, a.get());
        acceptors_.push_back(a);
      }
    }
  }
  if (config_.metrics)
    metrics_server_ = std::make_unique<MetricsServer>(*config_.metrics, [this] { return metrics_.render(); });
  for (auto& w : workers_) {
    Worker* worker = w.get();
    threads_.emplace_back([worker] {
      try {
        worker->loop().run(kTick, [worker] { worker->tick(); });
      } catch (const std::exception& e) {
        log::error("worker stopped", {{"worker", std::to_string(worker->index())}, {"error", e.what()}});
      }
      worker->abort_all();
    });
  }
  refresher_ = std::thread([this] { refresh_policies(); });
}

void Proxy::refresh_policies() {
  int interval = 0;
  for (auto& f : forwards_)
    if (f->spec.policy.has_hosts())
      interval = interval == 0 ? f->spec.policy.refresh_seconds() : std::min(interval, f->spec.policy.refresh_seconds());
  std::unique_lock lock(refresh_mutex_);
  while (!stopping_) {
    if (interval == 0) {
      refresh_cv_.wait(lock, [this] { return stopping_; });
      return;
    }
    if (refresh_cv_.wait_for(lock, std::chrono::seconds(interval), [this] { return stopping_; })) return;
    lock.unlock();
    for (auto& f : forwards_) {
      if (!f->spec.policy.has_hosts()) continue;
      auto p = std::make_shared<Policy>(*f->policy());
      p->resolve_hosts(resolver_);
      f->set_policy(p);
    }
    lock.lock();
  }
}

void Proxy::stop() {
  if (!started_) return;
  {
    std::lock_guard lock(refresh_mutex_);
    if (stopping_) return;
    stopping_ = true;
  }
  refresh_cv_.notify_all();
  if (refresher_.joinable()) refresher_.join();
  for (auto& w : workers_) w->loop().stop();
  for (auto& t : threads_) t.join();
  metrics_server_.reset();
  acceptors_.clear();
  workers_.clear();
  for (auto& f : forwards_) {
    for (const auto& e : {f->spec.listen})
      if (e.transport == Transport::kUnix && !e.path.empty() && e.path[0] != '@') ::unlink(e.path.c_str());
    f->listeners.clear();
    f->shards.clear();
  }
}

const std::vector<SockAddr>& Proxy::bound(std::size_t forward) const { return forwards_.at(forward)->bound; }

std::optional<SockAddr> Proxy::metrics_address() const {
  if (!metrics_server_) return std::nullopt;
  return metrics_server_->address();
}

std::vector<std::uint64_t> Proxy::accepted_per_worker() const {
  std::vector<std::uint64_t> out;
  for (const auto& w : workers_) out.push_back(w->accepted().load(std::memory_order_relaxed));
  return out;
}

std::size_t Proxy::session_count() const {
  std::size_t n = 0;
  for (const auto& f : forwards_) n += static_cast<std::size_t>(std::max<std::int64_t>(0, f->metrics->open.load()));
  return n;
}

}  // namespace ef::netproxy
