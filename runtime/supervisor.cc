#include "runtime/supervisor.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>

#include "base/error.h"
#include "base/log.h"
#include "runtime/deps.h"
#include "runtime/probe.h"
#include "runtime/spawn.h"

namespace ef::init {

namespace {
constexpr const char* kDefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
constexpr Millis kReadyPoll = 50;

std::string describe_exit(int status) {
  if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return "killed by " + signal_name(WTERMSIG(status));
  return "ended (status " + std::to_string(status) + ")";
}

int exit_code(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 255;
}
}  // namespace

std::string_view to_string(State s) {
  switch (s) {
    case State::kStopped: return "stopped";
    case State::kWaiting: return "waiting";
    case State::kStarting: return "starting";
    case State::kRunning: return "running";
    case State::kStopping: return "stopping";
    case State::kBackoff: return "backoff";
    case State::kExited: return "exited";
    case State::kFailed: return "failed";
  }
  return "?";
}

struct Supervisor::Service {
  ServiceSpec spec;
  State state = State::kStopped;
  bool want_up = false;
  bool enabled = true;
  bool removed = false;         // dropped by a reload, erased once stopped
  bool restart_after_stop = false;
  bool ready_failed = false;
  pid_t pid = 0;
  Millis started_at = 0;
  Millis ready_deadline = 0;
  int exit_code = -1;
  std::string last_exit;
  std::string error;
  RestartTracker tracker;
  EventLoop::TimerId timer = 0;
  std::shared_ptr<LogSink> sink;
};

Supervisor::Supervisor(EventLoop& loop, int console_fd, Hooks hooks)
    : loop_(loop), console_fd_(console_fd), hooks_(std::move(hooks)) {}

Supervisor::~Supervisor() {
  for (auto& [fd, p] : pipes_) loop_.remove(fd);
  for (auto& [name, s] : services_) cancel_timer(*s);
}

Supervisor::Service& Supervisor::get(const std::string& name) const {
  auto it = services_.find(name);
  if (it == services_.end()) throw Error("no service named '" + name + "'");
  return *it->second;
}

std::string Supervisor::configure(const InitConfig& cfg) {
  std::vector<std::string> added, removed, changed;
  for (const ServiceSpec& spec : cfg.services) {
    auto it = services_.find(spec.name);
    auto log_path = cfg.log_dir.empty() ? std::string() : cfg.log_dir + "/" + spec.name + ".log";
    if (it == services_.end()) {
      auto s = std::make_unique<Service>();
      s->spec = spec;
      s->enabled = spec.enabled;
      s->sink = std::make_shared<LogSink>(spec.name, log_path, spec.log, console_fd_);
      services_.emplace(spec.name, std::move(s));
      added.push_back(spec.name);
      continue;
    }
    Service& s = *it->second;
    s.removed = false;
    ServiceSpec same = spec;
    same.line = s.spec.line;  // moving a service in the file changes nothing
    if (s.spec == same) continue;
    bool was_up = s.want_up;
    s.spec = spec;
    s.enabled = spec.enabled;
    s.sink = std::make_shared<LogSink>(spec.name, log_path, spec.log, console_fd_);
    changed.push_back(spec.name);
    if (configured_ && s.pid > 0) {
      s.restart_after_stop = spec.enabled;
      begin_stop(s);
    } else if (configured_ && was_up && !spec.enabled) {
      s.want_up = false;
    }
  }
  for (auto& [name, s] : services_) {
    if (cfg.find(name)) continue;
    removed.push_back(name);
    s->removed = true;
    s->want_up = false;
    cancel_timer(*s);
    if (s->pid > 0) begin_stop(*s);
  }
  std::erase_if(services_, [](const auto& kv) { return kv.second->removed && kv.second->pid == 0; });
  config_ = cfg;
  rebuild_order();
  if (configured_) {
    for (const std::string& name : added) want(get(name));
    pump();
  }
  configured_ = true;
  auto join = [](const std::vector<std::string>& v) {
    std::string out;
    for (const auto& n : v) out += (out.empty() ? "" : ",") + n;
    return out.empty() ? std::string("-") : out;
  };
  return "added " + join(added) + "; removed " + join(removed) + "; changed " + join(changed);
}

void Supervisor::rebuild_order() {
  std::vector<ServiceSpec> specs;
  for (const ServiceSpec& spec : config_.services)
    if (services_.count(spec.name)) specs.push_back(services_.at(spec.name)->spec);
  order_.clear();
  for (std::size_t i : start_order(specs)) order_.push_back(specs[i].name);
  for (auto& [name, s] : services_)
    if (s->removed) order_.push_back(name);
}

void Supervisor::want(Service& s) {
  if (!s.enabled || s.removed) return;
  s.want_up = true;
  if (s.state == State::kStopped || s.state == State::kExited || s.state == State::kFailed) {
    if (s.state == State::kFailed) s.tracker.reset();
    s.state = State::kWaiting;
    s.error.clear();
  }
}

void Supervisor::start_all() {
  for (const std::string& name : order_) want(get(name));
  pump();
}

std::vector<std::string> Supervisor::dependents(const std::string& name) const {
  std::vector<std::string> out;
  for (const auto& [n, s] : services_) {
    auto lists = {&s->spec.after, &s->spec.requires_};
    for (const auto* l : lists)
      if (std::find(l->begin(), l->end(), name) != l->end()) out.push_back(n);
  }
  return out;
}

void Supervisor::pump() {
  if (shutting_down_) return pump_stops();
  // Repeat until nothing changes: a failure can fail dependents further down.
  bool progress = true;
  while (progress) {
    progress = false;
    for (const std::string& name : order_) {
      Service& s = get(name);
      if (s.want_up && s.state == State::kWaiting && s.pid == 0) progress = try_start(s) || progress;
    }
  }
  announce_settled();
}

void Supervisor::announce_settled() {
  int running = 0;
  for (const auto& [name, s] : services_) {
    if (s->want_up && (s->state == State::kWaiting || s->state == State::kStarting)) return;
    running += s->state == State::kRunning;
  }
  if (settled_announced_) return;
  settled_announced_ = true;
  log::info("all services started (" + std::to_string(running) + " running)");
}

bool Supervisor::try_start(Service& s) {
  for (const std::string& dep : s.spec.requires_) {
    const Service& d = get(dep);
    bool ok = d.state == State::kRunning || (d.state == State::kExited && d.exit_code == 0);
    bool dead = d.state == State::kFailed || (d.state == State::kExited && d.exit_code != 0) || !d.want_up;
    if (dead) {
      fail(s, "not started: required service '" + dep + "' is " + std::string(to_string(d.state)));
      return true;
    }
    if (!ok) {
      s.error = "waiting for " + dep;
      return false;
    }
  }
  for (const std::string& dep : s.spec.after) {
    const Service& d = get(dep);
    bool settled = !d.want_up || d.state == State::kRunning || d.state == State::kExited ||
                   d.state == State::kFailed || d.state == State::kStopped;
    if (!settled) {
      s.error = "waiting for " + dep;
      return false;
    }
  }
  s.error.clear();
  launch(s);
  return true;
}

void Supervisor::launch(Service& s) {
  SpawnRequest req;
  std::string path_var = kDefaultPath;
  for (const auto& [k, v] : s.spec.env)
    if (k == "PATH") path_var = v;
  try {
    req.exec = search_path(s.spec.exec, path_var);
    req.argv.push_back(s.spec.exec);
    req.argv.insert(req.argv.end(), s.spec.args.begin(), s.spec.args.end());
    req.env.push_back("PATH=" + path_var);
    if (!s.spec.user.empty() || !s.spec.group.empty()) {
      req.creds = resolve_credentials(s.spec.user.empty() ? "0" : s.spec.user, s.spec.group);
      req.env.push_back("HOME=" + req.creds->home);
    }
    for (const auto& [k, v] : s.spec.env)
      if (k != "PATH") req.env.push_back(k + "=" + v);
    req.workdir = s.spec.workdir;
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0) throw_errno("create", "output pipe");
    UniqueFd rd(p[0]), wr(p[1]);
    req.output_fd = wr.get();
    s.pid = spawn(req);
    watch_output(rd.release(), s.sink);
  } catch (const Error& e) {
    fail(s, std::string("cannot start: ") + e.what());
    return;
  }
  pids_[s.pid] = s.spec.name;
  s.started_at = monotonic_ms();
  s.ready_failed = false;
  log::info("started service " + s.spec.name + " (pid " + std::to_string(s.pid) + ")");
  if (s.spec.ready.kind == Readiness::Kind::kNone) {
    s.state = State::kRunning;
    return;
  }
  s.state = State::kStarting;
  s.ready_deadline = s.started_at + s.spec.ready.timeout;
  poll_ready(s);
}

void Supervisor::poll_ready(Service& s) {
  s.timer = 0;
  if (s.state != State::kStarting) return;
  if (probe_ready(s.spec.ready)) {
    s.state = State::kRunning;
    log::info("service " + s.spec.name + " is ready");
    announce_settled();
    pump();
    return;
  }
  if (monotonic_ms() >= s.ready_deadline) {
    log::error("service " + s.spec.name + " not ready after " + std::to_string(s.spec.ready.timeout) +
               "ms; killing it");
    s.ready_failed = true;
    kill(-s.pid, SIGKILL);
    kill(s.pid, SIGKILL);
    return;
  }
  std::string name = s.spec.name;
  s.timer = loop_.after(kReadyPoll, [this, name] {
    if (has(name)) poll_ready(get(name));
  });
}

void Supervisor::fail(Service& s, const std::string& why) {
  s.state = State::kFailed;
  s.error = why;
  log::error("service " + s.spec.name + " " + why);
  if (s.spec.critical && !shutting_down_ && hooks_.critical_exit)
    hooks_.critical_exit("critical service " + s.spec.name + " failed");
}

void Supervisor::watch_output(int fd, std::shared_ptr<LogSink> sink) {
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  pipes_.emplace(fd, std::make_pair(UniqueFd(fd), sink));
  loop_.add(fd, EPOLLIN, [this, fd](std::uint32_t) {
    auto it = pipes_.find(fd);
    if (it == pipes_.end()) return;
    char buf[16384];
    for (int i = 0; i < 4; ++i) {  // bounded: a chatty service must not starve the loop
      ssize_t n = read(fd, buf, sizeof buf);
      if (n > 0) {
        it->second.second->append(std::string_view(buf, static_cast<std::size_t>(n)));
        continue;
      }
      if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
      it->second.second->flush_partial();
      loop_.remove(fd);
      pipes_.erase(it);
      return;
    }
  });
}

void Supervisor::cancel_timer(Service& s) {
  if (s.timer) loop_.cancel(s.timer);
  s.timer = 0;
}

void Supervisor::begin_stop(Service& s) {
  cancel_timer(s);
  if (s.pid <= 0) {
    if (s.state == State::kBackoff || s.state == State::kWaiting) s.state = State::kStopped;
    return;
  }
  if (s.state == State::kStopping) return;
  s.state = State::kStopping;
  log::info("stopping service " + s.spec.name + " (pid " + std::to_string(s.pid) + ") with " +
            signal_name(s.spec.stop_signal));
  if (kill(-s.pid, s.spec.stop_signal) < 0) kill(s.pid, s.spec.stop_signal);
  std::string name = s.spec.name;
  s.timer = loop_.after(s.spec.stop_timeout, [this, name] {
    if (!has(name)) return;
    Service& t = get(name);
    t.timer = 0;
    if (t.pid <= 0) return;
    log::warn("service " + name + " did not stop within " + std::to_string(t.spec.stop_timeout) +
              "ms; sending SIGKILL");
    kill(-t.pid, SIGKILL);
    kill(t.pid, SIGKILL);
  });
}

bool Supervisor::on_child_exit(pid_t pid, int wait_status) {
  auto it = pids_.find(pid);
  if (it == pids_.end()) return false;
  std::string name = it->second;
  pids_.erase(it);
  if (has(name)) on_exit(get(name), wait_status);
  return true;
}

void Supervisor::on_exit(Service& s, int wait_status) {
  // The group may hold leftovers (daemons the service forked); they go with it.
  kill(-s.pid, SIGKILL);
  s.pid = 0;
  cancel_timer(s);
  s.exit_code = exit_code(wait_status);
  s.last_exit = describe_exit(wait_status);
  Millis now = monotonic_ms();
  Millis ran = now - s.started_at;
  bool requested = s.state == State::kStopping;
  log::info("service " + s.spec.name + " " + s.last_exit);
  if (s.removed) {
    std::string name = s.spec.name;
    services_.erase(name);
    rebuild_order();
    return pump();
  }
  if (requested || shutting_down_) {
    s.state = State::kStopped;
    if (s.restart_after_stop && !shutting_down_) {
      s.restart_after_stop = false;
      s.tracker.reset();
      want(s);
    }
    return pump();
  }
  bool success = !s.ready_failed && WIFEXITED(wait_status) && WEXITSTATUS(wait_status) == 0;
  auto d = s.want_up ? s.tracker.on_exit(s.spec, success, now, ran) : RestartTracker::Decision{};
  if (d.restart) {
    s.state = State::kBackoff;
    log::info("restarting service " + s.spec.name + " in " + std::to_string(d.delay) + "ms (restart " +
              std::to_string(s.tracker.total_restarts()) + ")");
    std::string name = s.spec.name;
    s.timer = loop_.after(d.delay, [this, name] {
      if (!has(name)) return;
      Service& t = get(name);
      t.timer = 0;
      if (t.state != State::kBackoff || shutting_down_) return;
      t.state = State::kWaiting;
      pump();
    });
    return;
  }
  if (d.gave_up) {
    fail(s, "restarted " + std::to_string(s.spec.limit.count) + " times within " +
                std::to_string(s.spec.limit.window) + "ms; giving up");
    return pump();
  }
  s.state = success ? State::kExited : State::kFailed;
  if (!success) s.error = s.ready_failed ? "not ready within " + std::to_string(s.spec.ready.timeout) + "ms" : s.last_exit;
  if (s.spec.critical && !shutting_down_ && hooks_.critical_exit)
    hooks_.critical_exit("critical service " + s.spec.name + " " + s.last_exit);
  pump();
}

void Supervisor::start(const std::string& name) {
  Service& s = get(name);
  if (shutting_down_) throw Error("the system is shutting down");
  if (!s.enabled) throw Error("service '" + name + "' is disabled");
  for (const std::string& dep : s.spec.requires_) {
    Service& d = get(dep);
    if (!d.want_up && d.enabled) start(dep);
  }
  if (s.state == State::kBackoff) {
    cancel_timer(s);
    s.state = State::kWaiting;
  }
  s.tracker.reset();
  want(s);
  pump();
}

void Supervisor::stop(const std::string& name) {
  Service& s = get(name);
  s.want_up = false;
  s.restart_after_stop = false;
  begin_stop(s);
  pump();
}

void Supervisor::restart(const std::string& name) {
  Service& s = get(name);
  if (shutting_down_) throw Error("the system is shutting down");
  if (!s.enabled) throw Error("service '" + name + "' is disabled");
  if (s.pid > 0) {
    s.want_up = true;
    s.restart_after_stop = true;
    begin_stop(s);
    return;
  }
  start(name);
}

void Supervisor::enable(const std::string& name) {
  Service& s = get(name);
  s.enabled = true;
  if (!shutting_down_) start(name);
}

void Supervisor::disable(const std::string& name) {
  Service& s = get(name);
  stop(name);
  s.enabled = false;
}

void Supervisor::shutdown(std::function<void()> done) {
  if (shutting_down_) return;
  shutting_down_ = true;
  shutdown_done_ = std::move(done);
  for (auto& [name, s] : services_) {
    s->want_up = false;
    if (s->pid <= 0) begin_stop(*s);
  }
  pump_stops();
}

void Supervisor::pump_stops() {
  bool any_running = false;
  for (auto it = order_.rbegin(); it != order_.rend(); ++it) {
    Service& s = get(*it);
    if (s.pid <= 0) continue;
    any_running = true;
    if (s.state == State::kStopping) continue;
    bool dependents_up = false;
    for (const std::string& d : dependents(s.spec.name)) dependents_up = dependents_up || get(d).pid > 0;
    if (!dependents_up) begin_stop(s);
  }
  if (!any_running && shutdown_done_) {
    auto done = std::move(shutdown_done_);
    shutdown_done_ = nullptr;
    done();
  }
}

int Supervisor::forward_signal(int sig) {
  int n = 0;
  for (auto& [name, s] : services_) {
    if (s->pid <= 0) continue;
    const auto& f = s->spec.forward_signals;
    if (std::find(f.begin(), f.end(), sig) == f.end()) continue;
    if (kill(s->pid, sig) == 0) ++n;
  }
  return n;
}

ServiceStatus Supervisor::status(const std::string& name) const {
  const Service& s = get(name);
  ServiceStatus st;
  st.name = name;
  st.state = s.state;
  st.pid = s.pid;
  st.enabled = s.enabled;
  st.uptime = s.pid > 0 ? monotonic_ms() - s.started_at : 0;
  st.restarts = s.tracker.total_restarts();
  st.exit_code = s.exit_code;
  st.last_exit = s.last_exit;
  st.error = s.error;
  st.exec = s.spec.exec;
  st.restart_policy = std::string(to_string(s.spec.restart));
  return st;
}

std::vector<ServiceStatus> Supervisor::list() const {
  std::vector<ServiceStatus> out;
  for (const std::string& name : order_) out.push_back(status(name));
  return out;
}

std::shared_ptr<LogSink> Supervisor::logs(const std::string& name) { return get(name).sink; }

}  // namespace ef::init
