#include "attest/fsmon/daemon.h"

#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <ostream>

#include "attest/fsmon/event_source.h"
#include "attest/fsmon/hash_pool.h"
#include "attest/fsmon/index.h"
#include "attest/fsmon/ipc_client.h"
#include "attest/fsmon/monitor.h"
#include "attest/fsmon/nats_sink.h"
#include "base/error.h"
#include "base/fd.h"
#include "base/file.h"
#include "base/log.h"

namespace ef::fsmon {
namespace {

/// No events at all: for the one-shot scan.
class NullSource final : public EventSource {
 public:
  bool add_watch(const std::string&) override { return true; }
  void rename_tree(const std::string&, const std::string&) override {}
  void remove_tree(const std::string&) override {}
  std::optional<FsEvent> next() override { return std::nullopt; }
  int fd() const override { return -1; }
  std::size_t watch_count() const override { return 0; }
};

int timeout_ms(Monitor::Clock::time_point next, Monitor::Clock::time_point now) {
  if (next == Monitor::Clock::time_point::max()) return 1000;
  if (next <= now) return 0;
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(next - now).count();
  return static_cast<int>(std::min<long long>((us + 999) / 1000, 1000));
}

}  // namespace

IgnoreRules load_ignore_file(const std::string& path) {
  if (path.empty()) return {};
  std::string text = with_context("ignore file " + path, [&] { return read_text_file(path); });
  return IgnoreRules::parse(text);
}

void scan_once(const std::string& dir, const IgnoreRules& ignore, int threads, std::ostream& out) {
  NullSource source;
  HashPool pool(threads);
  Index index;
  MonitorOptions o;
  o.roots = {normalize_path(dir, std::filesystem::current_path().string())};
  o.ignore = ignore;
  o.settle = std::chrono::milliseconds(0);
  Monitor m(o, source, pool, index);
  m.start(Monitor::Clock::now());
  while (!m.idle()) {
    m.apply_results(pool.wait(100));
    m.tick(Monitor::Clock::now());
  }
  for (auto& r : index.all()) {
    out << "{\"path\":" << json_string(r.path) << ",\"kind\":\"" << kind_name(r.kind) << "\",\"sha3_512\":\""
        << r.hex << "\",\"size\":" << r.size << "}\n";
  }
}

int run_daemon(const Config& config) {
  IgnoreRules ignore = load_ignore_file(config.ignore_file);
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);  // threads started below inherit the mask
  UniqueFd sfd(signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC));
  if (!sfd) throw_errno("signalfd", "fs-monitor");

  auto source = make_inotify_source();
  HashPool pool(config.hash_threads);
  Index index;
  std::unique_ptr<IpcClient> ipc;
  std::unique_ptr<NatsSink> nats;
  // A consumer queue holds up to queue_bound changes; past that it gets a snapshot.
  if (!config.socket.empty()) ipc = std::make_unique<IpcClient>(index, config.socket, config.queue_bound);
  if (config.nats) nats = std::make_unique<NatsSink>(index, *config.nats, config.queue_bound);

  MonitorOptions o;
  o.roots = config.roots;
  o.ignore = std::move(ignore);
  o.settle = config.settle;
  o.queue_bound = config.queue_bound;
  Monitor monitor(o, *source, pool, index);
  log::info("starting", {{"config", config.describe()}});
  auto t0 = Monitor::Clock::now();
  monitor.start(t0);
  if (ipc) ipc->start();
  if (nats) nats->start();
  auto last_status = t0;
  bool scanned_logged = false;
  int rc = 0;
  for (;;) {
    auto now = Monitor::Clock::now();
    auto next = monitor.tick(now);
    pollfd fds[3] = {{source->fd(), POLLIN, 0}, {pool.fd(), POLLIN, 0}, {sfd.get(), POLLIN, 0}};
    int n = ::poll(fds, 3, timeout_ms(next, now));
    if (n < 0 && errno != EINTR) throw_errno("poll", "fs-monitor");
    now = Monitor::Clock::now();
    if (fds[2].revents & POLLIN) {
      signalfd_siginfo si;
      if (::read(sfd.get(), &si, sizeof si) == sizeof si && si.ssi_signo != SIGPIPE) {
        log::info("stopping", {{"signal", std::to_string(si.ssi_signo)}});
        break;
      }
    }
    // Results first: the pool wakes us only when something finished.
    if (fds[1].revents & POLLIN) monitor.apply_results(pool.take());
    if (fds[0].revents & POLLIN) monitor.pump_events(now);
    if (!scanned_logged && monitor.idle()) {
      scanned_logged = true;
      log::info("initial scan done", {{"tracked", std::to_string(monitor.tracked())},
                                      {"watches", std::to_string(source->watch_count())},
                                      {"ms", std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(
                                                                now - t0).count())}});
    }
    if (config.status_interval_s > 0 && now - last_status >= std::chrono::seconds(config.status_interval_s)) {
      last_status = now;
      const auto& s = monitor.stats();
      log::info("status", {{"tracked", std::to_string(monitor.tracked())},
                           {"watches", std::to_string(source->watch_count())},
                           {"pending", std::to_string(monitor.pending())},
                           {"events", std::to_string(s.events)},
                           {"hashed", std::to_string(s.hashed)},
                           {"hash_errors", std::to_string(s.hash_errors)},
                           {"rescans", std::to_string(s.rescans)},
                           {"kernel_overflows", std::to_string(s.kernel_overflows)},
                           {"queue_overflows", std::to_string(s.queue_overflows)},
                           {"ipc_connects", std::to_string(ipc ? ipc->connects() : 0)},
                           {"nats_puts", std::to_string(nats ? nats->puts() : 0)}});
    }
  }
  if (ipc) ipc->stop();
  if (nats) nats->stop();
  return rc;
}

}  // namespace ef::fsmon
