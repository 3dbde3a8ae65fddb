#include "engine/engine.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/wait.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <sstream>

#include "base/error.h"
#include "base/hash.h"
#include "base/log.h"
#include "engine/health.h"
#include "engine/image.h"
#include "engine/proc.h"
#include "engine/proxy.h"

namespace ef::engine {
namespace fs = std::filesystem;

namespace {

std::string random_id() {
  std::uint8_t b[8];
  if (getrandom(b, sizeof b, 0) != static_cast<ssize_t>(sizeof b)) throw_errno("getrandom", "enclave id");
  return to_hex(b);
}

int open_pidfd(int pid) {
  if (pid <= 0) return -1;
  return static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
}

void make_private_dir(const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw Error("create directory " + dir.string() + ": " + ec.message());
  if (chmod(dir.c_str(), 0700) != 0) throw_errno("chmod 0700", dir.string());
}

}  // namespace

Engine::Engine(EngineConfig config, std::map<std::string, std::unique_ptr<Backend>> backends)
    : config_(std::move(config)), backends_(std::move(backends)) {
  make_private_dir(config_.state_dir);
  make_private_dir(config_.state_dir / "enclaves");
  db_ = std::make_unique<StateDb>(config_.state_dir / "state.db");
  auto last = db_->events_after(0, 1000000);
  if (!last.empty()) last_seq_ = last.back().seq;
  wake_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake_fd_ < 0) throw_errno("create eventfd", "supervisor");
}

Engine::~Engine() {
  shutdown();
  for (auto& [n, fd] : pidfds_)
    if (fd >= 0) close(fd);
  if (wake_fd_ >= 0) close(wake_fd_);
}

Backend& Engine::backend_for(const std::string& name) {
  auto it = backends_.find(name);
  if (it == backends_.end()) {
    std::string have;
    for (const auto& [n, b] : backends_) have += (have.empty() ? "" : ", ") + n;
    throw Error("backend '" + name + "' is not available in this enclaved (have: " + have + ")");
  }
  return *it->second;
}

fs::path Engine::enclave_dir(const std::string& name) const { return config_.state_dir / "enclaves" / name; }

void Engine::emit_locked(const std::string& enclave, const std::string& type, nlohmann::json detail) {
  Event e;
  e.ts_ms = now_ms();
  e.enclave = enclave;
  e.type = type;
  e.detail = std::move(detail);
  e = db_->append_event(std::move(e));
  last_seq_ = e.seq;
  log::Fields f = {{"enclave", enclave}, {"event", type}, {"detail", e.detail.dump()}};
  log::info("event", f);
  events_cv_.notify_all();
}

void Engine::start_relays_locked(const EnclaveRecord& r, Backend& b, const EnclaveHandle& h) {
  std::vector<std::unique_ptr<PortRelay>> relays;
  for (const auto& p : r.spec.ports)
    if (b.connect_endpoint(h, p.enclave_port).empty()) relays.push_back(std::make_unique<PortRelay>(b, h, p));
  relays_[r.spec.name] = std::move(relays);
}

void Engine::reattach_locked(EnclaveRecord& r) {
  Backend& b = backend_for(r.handle.backend);
  if (b.status(r.handle) != EnclaveStatus::running) {
    handle_exit_locked(r);
    return;
  }
  if (!process_alive(r.proxy.pid, r.proxy.start_time) && !proxy_config(r.spec, b, r.handle).empty())
    r.proxy = start_proxy(config_.pf_proxy, enclave_dir(r.spec.name), r.spec, b, r.handle);
  start_relays_locked(r, b, r.handle);
  pidfds_[r.spec.name] = open_pidfd(r.handle.pid);
  db_->put(r);
  log::info("re-attached", {{"enclave", r.spec.name}, {"id", r.handle.id}, {"pid", std::to_string(r.handle.pid)}});
  emit_locked(r.spec.name, "reattached", {{"handle", r.handle.id}});
}

void Engine::start() {
  {
    std::lock_guard lk(mu_);
    for (auto& r : db_->all()) {
      if (r.status == Status::restarting) {
        restart_at_[r.spec.name] = std::chrono::steady_clock::now();
        continue;
      }
      if (r.status != Status::running) continue;
      try {
        reattach_locked(r);
      } catch (const std::exception& e) {
        // One enclave that cannot be re-attached (its backend is not built in,
        // the backend fails) must not keep the daemon from serving the others.
        r.last_error = std::string("re-attach: ") + e.what();
        db_->put(r);
        log::error("re-attach failed", {{"enclave", r.spec.name}, {"error", e.what()}});
        emit_locked(r.spec.name, "error", {{"message", r.last_error}});
      }
    }
  }
  stopping_ = false;
  supervisor_ = std::thread([this] { supervise(); });
}

void Engine::shutdown() {
  if (!supervisor_.joinable()) return;
  stopping_ = true;
  std::uint64_t one = 1;
  (void)!write(wake_fd_, &one, sizeof one);
  supervisor_.join();
}

EnclaveRecord Engine::run(EnclaveSpec spec) {
  if (spec.backend.empty()) spec.backend = config_.default_backend;
  validate(spec);
  check_egress_rules(spec.egress);
  std::error_code ec;
  fs::path image = fs::absolute(spec.image, ec);
  if (ec || !fs::is_regular_file(image)) throw Error("image " + spec.image + ": not a file");
  spec.image = image.string();
  std::lock_guard lk(mu_);
  if (db_->get(spec.name)) throw Conflict("enclave name '" + spec.name + "' is already in use");
  Backend& b = backend_for(spec.backend);
  EnclaveRecord r;
  ImageInfo info = inspect_image(image);
  for (const auto& [idx, want] : spec.expected_pcrs) {
    auto have = info.pcrs.find(idx);
    if (have == info.pcrs.end() || have->second != want)
      throw Error("image " + spec.image + ": PCR" + std::to_string(idx) + " is " +
                  (have == info.pcrs.end() ? std::string("not measured") : have->second) + ", expected " + want);
  }
  r.pcrs = info.pcrs;
  r.pcr_source = spec.expected_pcrs.empty() ? info.pcr_source : info.pcr_source + "+spec";
  r.image_sha256 = info.sha256;
  r.spec = std::move(spec);
  r.id = random_id();
  r.created_ms = now_ms();
  (void)b;
  make_private_dir(enclave_dir(r.spec.name));
  try {
    launch_locked(r);
  } catch (...) {
    fs::remove_all(enclave_dir(r.spec.name), ec);
    counters_.launch_failures++;
    throw;
  }
  db_->put(r);
  emit_locked(r.spec.name, "started",
              {{"id", r.id}, {"handle", r.handle.id}, {"cid", r.handle.cid}, {"image_sha256", r.image_sha256}});
  return r;
}

void Engine::launch_locked(EnclaveRecord& r) {
  Backend& b = backend_for(r.spec.backend);
  LaunchRequest req;
  req.name = r.spec.name;
  req.eif = r.spec.image;
  req.cpus = r.spec.cpus;
  req.memory_mib = r.spec.memory_mib;
  req.cid = r.spec.cid;
  req.state_dir = enclave_dir(r.spec.name);
  req.debug_mode = r.spec.debug_mode;
  EnclaveHandle h = b.launch(req);
  try {
    r.proxy = start_proxy(config_.pf_proxy, req.state_dir, r.spec, b, h);
    try {
      start_relays_locked(r, b, h);
    } catch (...) {
      stop_proxy(r.proxy);
      r.proxy = {};
      throw;
    }
  } catch (...) {
    b.terminate(h, config_.stop_grace);
    throw;
  }
  counters_.launches++;
  r.handle = h;
  r.status = Status::running;
  r.health = r.spec.health.port ? Health::starting : Health::none;
  r.started_ms = now_ms();
  r.user_stopped = false;
  r.last_error.clear();
  if (auto it = pidfds_.find(r.spec.name); it != pidfds_.end() && it->second >= 0) close(it->second);
  pidfds_[r.spec.name] = open_pidfd(h.pid);
  health_failures_[r.spec.name] = 0;
  next_health_[r.spec.name] = std::chrono::steady_clock::now();
  log::info("enclave running", {{"enclave", r.spec.name}, {"backend", h.backend}, {"handle", h.id},
                                {"cid", std::to_string(h.cid)}, {"proxy_pid", std::to_string(r.proxy.pid)}});
}

void Engine::handle_exit_locked(EnclaveRecord& r) {
  relays_.erase(r.spec.name);
  stop_proxy(r.proxy);
  r.proxy = {};
  if (auto it = pidfds_.find(r.spec.name); it != pidfds_.end()) {
    if (it->second >= 0) close(it->second);
    pidfds_.erase(it);
  }
  counters_.exits++;
  r.finished_ms = now_ms();
  emit_locked(r.spec.name, "exited", {{"handle", r.handle.id}, {"restart_count", r.restart_count}});
  if (should_restart(r.spec.restart, ExitInfo{true, r.user_stopped}, r.restart_count)) {
    r.status = Status::restarting;
    restart_at_[r.spec.name] = std::chrono::steady_clock::now() + restart_backoff(r.restart_count);
  } else {
    r.status = Status::exited;
  }
  db_->put(r);
}

EnclaveRecord Engine::stop(const std::string& name) {
  std::lock_guard lk(mu_);
  auto r = db_->get(name);
  if (!r) throw NotFound("no enclave named '" + name + "'");
  relays_.erase(name);
  if (r->status == Status::running) {
    backend_for(r->handle.backend).terminate(r->handle, config_.stop_grace);
    stop_proxy(r->proxy);
    r->proxy = {};
    r->finished_ms = now_ms();
  }
  if (auto it = pidfds_.find(name); it != pidfds_.end()) {
    if (it->second >= 0) close(it->second);
    pidfds_.erase(it);
  }
  restart_at_.erase(name);
  bool was_active = r->status == Status::running || r->status == Status::restarting;
  r->user_stopped = true;
  r->status = Status::stopped;
  r->health = r->spec.health.port ? Health::unhealthy : Health::none;
  db_->put(*r);
  if (was_active) emit_locked(name, "stopped");
  return *r;
}

void Engine::remove(const std::string& name, bool force) {
  {
    std::lock_guard lk(mu_);
    auto r = db_->get(name);
    if (!r) throw NotFound("no enclave named '" + name + "'");
    if ((r->status == Status::running || r->status == Status::restarting) && !force)
      throw Conflict("enclave '" + name + "' is " + to_string(r->status) + ": stop it first or remove with force");
  }
  stop(name);
  std::lock_guard lk(mu_);
  std::error_code ec;
  fs::remove_all(enclave_dir(name), ec);
  if (ec) throw Error("remove " + enclave_dir(name).string() + ": " + ec.message());
  db_->remove(name);
  health_failures_.erase(name);
  next_health_.erase(name);
  emit_locked(name, "removed");
}

std::vector<EnclaveRecord> Engine::list() {
  std::lock_guard lk(mu_);
  return db_->all();
}

EnclaveRecord Engine::inspect(const std::string& name) {
  std::lock_guard lk(mu_);
  auto r = db_->get(name);
  if (!r) throw NotFound("no enclave named '" + name + "'");
  return *r;
}

UniqueFd Engine::connect(const std::string& name, std::uint32_t port) {
  EnclaveRecord r = inspect(name);
  if (r.status != Status::running) throw Conflict("enclave '" + name + "' is " + to_string(r.status));
  return backend_for(r.handle.backend).connect(r.handle, port);
}

fs::path Engine::console_log(const std::string& name) {
  EnclaveRecord r = inspect(name);
  if (r.handle.backend.empty()) return {};
  return backend_for(r.handle.backend).console_log(r.handle);
}

std::vector<Event> Engine::events_after(std::int64_t seq, std::chrono::milliseconds wait) {
  std::unique_lock lk(mu_);
  if (last_seq_ <= seq && wait.count() > 0)
    events_cv_.wait_for(lk, wait, [&] { return last_seq_ > seq || stopping_.load(); });
  return db_->events_after(seq);
}

void Engine::tick() {
  std::vector<EnclaveRecord> due_health;
  {
    std::lock_guard lk(mu_);
    auto now = std::chrono::steady_clock::now();
    for (auto& r : db_->all()) {
      if (r.status == Status::running) {
        if (backend_for(r.handle.backend).status(r.handle) == EnclaveStatus::exited) {
          log::warn("enclave exited", {{"enclave", r.spec.name}, {"handle", r.handle.id}});
          handle_exit_locked(r);
        } else if (r.spec.health.port && next_health_[r.spec.name] <= now) {
          next_health_[r.spec.name] = now + std::chrono::milliseconds(r.spec.health.interval_ms);
          due_health.push_back(r);
        }
      }
      if (r.status == Status::restarting) {
        auto at = restart_at_.find(r.spec.name);
        if (at != restart_at_.end() && at->second > now) continue;
        r.restart_count++;
        counters_.restarts++;
        try {
          launch_locked(r);
          db_->put(r);
          emit_locked(r.spec.name, "restarted", {{"handle", r.handle.id}, {"restart_count", r.restart_count}});
        } catch (const std::exception& e) {
          r.last_error = e.what();
          counters_.launch_failures++;
          log::error("restart failed", {{"enclave", r.spec.name}, {"error", e.what()}});
          emit_locked(r.spec.name, "error", {{"message", e.what()}});
          if (should_restart(r.spec.restart, ExitInfo{true, false}, r.restart_count)) {
            restart_at_[r.spec.name] = now + restart_backoff(r.restart_count);
          } else {
            r.status = Status::exited;
          }
          db_->put(r);
        }
      }
    }
  }
  if (!due_health.empty()) check_health(std::move(due_health));
}

void Engine::check_health(std::vector<EnclaveRecord> snapshot) {
  std::vector<std::pair<EnclaveRecord, ProbeResult>> results;
  for (auto& r : snapshot) {
    counters_.health_checks++;
    auto res = probe_health(backend_for(r.handle.backend), r.handle, r.spec.health);
    if (!res.ok) counters_.health_failures++;
    results.emplace_back(std::move(r), std::move(res));
  }
  std::lock_guard lk(mu_);
  for (auto& [snap, res] : results) {
    auto r = db_->get(snap.spec.name);
    if (!r || r->status != Status::running || r->handle.id != snap.handle.id) continue;
    unsigned& fails = health_failures_[r->spec.name];
    Health next = r->health;
    if (res.ok) {
      fails = 0;
      next = Health::healthy;
    } else if (++fails >= r->spec.health.retries) {
      next = Health::unhealthy;
    }
    if (next != r->health) {
      r->health = next;
      db_->put(*r);
      emit_locked(r->spec.name, "health", {{"status", to_string(next)}, {"detail", res.detail}});
    }
  }
}

void Engine::supervise() {
  while (!stopping_) {
    std::vector<pollfd> fds = {{wake_fd_, POLLIN, 0}};
    {
      std::lock_guard lk(mu_);
      for (const auto& [n, fd] : pidfds_)
        if (fd >= 0) fds.push_back({fd, POLLIN, 0});
    }
    // A pidfd turns readable when its process exits: the exit is noticed at
    // once; status() polling covers handles without a host process.
    poll(fds.data(), fds.size(), static_cast<int>(std::min<long>(config_.poll_interval.count(), 200)));
    std::uint64_t v;
    (void)!read(wake_fd_, &v, sizeof v);
    // enclaved is the child subreaper of what it detaches: reap exited ones.
    while (waitpid(-1, nullptr, WNOHANG) > 0) {
    }
    if (stopping_) break;
    try {
      tick();
    } catch (const std::exception& e) {
      log::error("supervisor pass failed", {{"error", e.what()}});
      std::this_thread::sleep_for(config_.poll_interval);
    }
  }
  events_cv_.notify_all();
}

std::string Engine::metrics_text() {
  std::map<std::string, int> by_status;
  std::map<std::string, int> by_health;
  {
    std::lock_guard lk(mu_);
    for (const auto& r : db_->all()) {
      by_status[to_string(r.status)]++;
      by_health[to_string(r.health)]++;
    }
  }
  std::ostringstream m;
  m << "# HELP enclaved_enclaves Enclaves known to this daemon, by status.\n# TYPE enclaved_enclaves gauge\n";
  for (Status s : {Status::created, Status::running, Status::restarting, Status::exited, Status::stopped})
    m << "enclaved_enclaves{status=\"" << to_string(s) << "\"} " << by_status[to_string(s)] << "\n";
  m << "# HELP enclaved_enclave_health Enclaves by health.\n# TYPE enclaved_enclave_health gauge\n";
  for (Health h : {Health::none, Health::starting, Health::healthy, Health::unhealthy})
    m << "enclaved_enclave_health{health=\"" << to_string(h) << "\"} " << by_health[to_string(h)] << "\n";
  auto counter = [&](const char* name, const char* help, std::uint64_t v) {
    m << "# HELP " << name << " " << help << "\n# TYPE " << name << " counter\n" << name << " " << v << "\n";
  };
  counter("enclaved_launches_total", "Successful enclave launches (first starts and restarts).", counters_.launches);
  counter("enclaved_launch_failures_total", "Launches the backend refused.", counters_.launch_failures);
  counter("enclaved_restarts_total", "Restarts by restart policy.", counters_.restarts);
  counter("enclaved_exits_total", "Enclave exits noticed (not user stops).", counters_.exits);
  counter("enclaved_health_checks_total", "Health probes run.", counters_.health_checks);
  counter("enclaved_health_check_failures_total", "Health probes that failed.", counters_.health_failures);
  counter("enclaved_api_requests_total", "API requests served.", counters_.api_requests);
  counter("enclaved_api_errors_total", "API requests answered with 4xx/5xx.", counters_.api_errors);
  return m.str();
}

}  // namespace ef::engine
