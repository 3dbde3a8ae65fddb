#include "runtime/init_app.h"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/reboot.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/sysinfo.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <exception>
#include <memory>

#include "base/error.h"
#include "base/fd.h"
#include "base/file.h"
#include "base/log.h"
#include "runtime/boot.h"
#include "runtime/control_server.h"
#include "runtime/event_loop.h"
#include "runtime/heartbeat.h"
#include "runtime/metrics.h"
#include "runtime/namespace_os.h"
#include "runtime/nsm_entropy.h"
#include "runtime/supervisor.h"

namespace ef::init {
namespace {

enum class Finish { kPowerOff, kReboot };

constexpr int kHandledSignals[] = {SIGCHLD, SIGTERM, SIGINT,  SIGHUP,  SIGUSR1,
                                   SIGUSR2, SIGPWR,  SIGQUIT, SIGWINCH, SIGALRM};

[[noreturn]] void power_off(Finish how) {
  sync();
  log::info(how == Finish::kReboot ? "rebooting" : "powering off");
  reboot(how == Finish::kReboot ? RB_AUTOBOOT : RB_POWER_OFF);
  // reboot(2) failing leaves nothing sensible to do but wait for the end.
  while (true) pause();
}

nlohmann::json status_json(const ServiceStatus& s) {
  return {{"name", s.name},         {"state", to_string(s.state)}, {"pid", s.pid},
          {"enabled", s.enabled},   {"uptime_ms", s.uptime},       {"restarts", s.restarts},
          {"exit_code", s.exit_code}, {"last_exit", s.last_exit},  {"error", s.error},
          {"exec", s.exec},         {"restart", s.restart_policy}};
}

class InitApp {
 public:
  explicit InitApp(const InitOptions& o) : opts_(o) {}
  int run();

 private:
  void setup_signals();
  InitConfig load_initial_config(const NitroLayout* layout);
  void start_control(const ControlSpec& spec);
  void on_signal();
  void reap();
  void begin_shutdown(Finish how, const std::string& reason);
  void finish();
  Reply handle(const Request& r);
  nlohmann::json system_info();

  InitOptions opts_;
  bool vm() const { return opts_.mode == Mode::kVm; }
  EventLoop loop_;
  UniqueFd signal_fd_;
  std::unique_ptr<Supervisor> sup_;
  std::unique_ptr<ControlServer> control_;
  InitConfig config_;
  std::optional<Finish> finishing_;
  bool done_ = false;
  Millis boot_ms_ = monotonic_ms();
  std::uint64_t orphans_reaped_ = 0;
  std::string config_error_;  // why the service file did not load ("" when it did)
  bool own_pid_namespace_ = false;  // namespace mode as PID 1, with a /proc of its own
};

void InitApp::setup_signals() {
  sigset_t set;
  sigemptyset(&set);
  for (int s : kHandledSignals) sigaddset(&set, s);
  sigaddset(&set, SIGPIPE);
  sigprocmask(SIG_BLOCK, &set, nullptr);
  sigdelset(&set, SIGPIPE);
  signal_fd_.reset(signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC));
  if (!signal_fd_) throw_errno("create", "signalfd");
  loop_.add(signal_fd_.get(), EPOLLIN, [this](std::uint32_t) { on_signal(); });
}

InitConfig InitApp::load_initial_config(const NitroLayout* layout) {
  struct stat st{};
  // In namespace mode there is someone to tell: a broken or missing file ends init.
  if (!vm()) return with_context("configuration error", [&] { return load_config(opts_.config_path); });
  if (::stat(opts_.config_path.c_str(), &st) == 0) {
    // PID 1 must not exit: on an error start nothing, keep the control channel
    // (where the file asks, if that part parses) so the error can be read and fixed by reload.
    Pid1Config loaded = load_config_never_throw(opts_.config_path);
    if (loaded.error.empty()) return loaded.config;
    config_error_ = loaded.error;
    log::error("configuration error: " + config_error_ + "; starting no services; control API on " +
               (loaded.control_from_file ? "the file's control: settings" : "the default settings") +
               " (fix the file, then `initctl reload`)");
    return loaded.config;
  }
  if (layout && !layout->cmd.empty()) {
    log::info("no " + opts_.config_path + "; running /cmd as service main");
    return config_from_cmd(*layout);
  }
  log::warn("no " + opts_.config_path + " and no /cmd: no services to run");
  return InitConfig{};
}

void InitApp::start_control(const ControlSpec& spec) {
  control_ = std::make_unique<ControlServer>(loop_, spec, [this](const Request& r) { return handle(r); });
  try {
    control_->listen_unix();
  } catch (const Error& e) {
    log::error(std::string("control socket: ") + e.what());
  }
  if (spec.vsock_port == 0) return;
  try {
    control_->listen_vsock();
  } catch (const Error& e) {
    log::warn(std::string("control vsock: ") + e.what());
  }
}

void InitApp::on_signal() {
  signalfd_siginfo si{};
  while (read(signal_fd_.get(), &si, sizeof si) == static_cast<ssize_t>(sizeof si)) {
    int sig = static_cast<int>(si.ssi_signo);
    if (sig == SIGCHLD) {
      reap();
      continue;
    }
    if (sup_ && sup_->forward_signal(sig) > 0) continue;
    if (sig == SIGTERM || sig == SIGPWR || sig == SIGUSR2) begin_shutdown(Finish::kPowerOff, signal_name(sig));
    else if (sig == SIGINT) begin_shutdown(Finish::kReboot, signal_name(sig));
    else if (sig == SIGHUP) {
      try {
        (void)handle(Request{"reload", "", 0, false});
      } catch (const std::exception& e) {
        log::error(std::string("reload on SIGHUP: ") + e.what());
      }
    }
  }
  reap();  // a SIGCHLD may have been merged with others
}

void InitApp::reap() {
  int status = 0;
  pid_t pid;
  while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
    if (!sup_ || !sup_->on_child_exit(pid, status)) ++orphans_reaped_;
}

void InitApp::begin_shutdown(Finish how, const std::string& reason) {
  if (finishing_) return;
  finishing_ = how;
  log::info("shutting down (" + reason + ")");
  Millis guard = 5'000;
  for (const ServiceSpec& s : config_.services) guard += s.stop_timeout;
  loop_.after(guard, [this] {
    if (done_) return;
    log::error("services did not stop in time; forcing shutdown");
    finish();
  });
  sup_->shutdown([this] {
    log::info("all services stopped");
    finish();
  });
}

void InitApp::finish() {
  done_ = true;
  if (getpid() == 1) {
    kill(-1, SIGTERM);
    Millis until = monotonic_ms() + 1000;
    while (monotonic_ms() < until && waitpid(-1, nullptr, WNOHANG) >= 0) usleep(10'000);
    kill(-1, SIGKILL);
    while (waitpid(-1, nullptr, WNOHANG) > 0) {
    }
  }
  sync();
}

nlohmann::json InitApp::system_info() {
  struct sysinfo si{};
  sysinfo(&si);
  auto unit = static_cast<std::uint64_t>(si.mem_unit ? si.mem_unit : 1);
  nlohmann::json services = nlohmann::json::array();
  for (const ServiceStatus& s : sup_->list())
    services.push_back({{"name", s.name}, {"state", to_string(s.state)}, {"restarts", s.restarts},
                        {"exit_code", s.exit_code}, {"last_exit", s.last_exit}});
  // sysinfo(2) is the machine's; PID 1 of a PID namespace reports the namespace's own.
  std::int64_t uptime_s = si.uptime;
  std::uint64_t processes = si.procs;
  if (own_pid_namespace_) {
    uptime_s = (monotonic_ms() - boot_ms_) / 1000;
    try {
      processes = count_processes("/proc");
    } catch (const Error& e) {
      log::warn(std::string("system: ") + e.what());
    }
  }
  return {{"ok", true},
          {"uptime_s", uptime_s},
          {"init_uptime_ms", monotonic_ms() - boot_ms_},
          {"load", {si.loads[0] / 65536.0, si.loads[1] / 65536.0, si.loads[2] / 65536.0}},
          {"memory", {{"total", si.totalram * unit}, {"free", si.freeram * unit}, {"shared", si.sharedram * unit},
                      {"buffers", si.bufferram * unit}}},
          {"processes", processes},
          {"orphans_reaped", orphans_reaped_},
          {"mode", vm() ? "vm" : "namespace"},
          {"config", config_.file},
          {"config_error", config_error_},
          {"services", services}};
}

Reply InitApp::handle(const Request& r) {
  Reply out;
  out.body = {{"ok", true}};
  const std::string& c = r.cmd;
  if (c == "ping") {
    out.body["pong"] = true;
    out.body["version"] = EF_VERSION;
  } else if (c == "list") {
    nlohmann::json list = nlohmann::json::array();
    for (const ServiceStatus& s : sup_->list()) list.push_back(status_json(s));
    out.body["services"] = list;
  } else if (c == "status" && r.name.empty()) {
    out.body["mode"] = vm() ? "vm" : "namespace";
    out.body["config"] = config_.file;
    out.body["config_error"] = config_error_;
    out.body["services"] = sup_->list().size();
    out.body["finishing"] = finishing_.has_value();
  } else if (c == "status") {
    out.body["service"] = status_json(sup_->status(r.name));
  } else if (c == "start") {
    sup_->start(r.name);
  } else if (c == "stop") {
    sup_->stop(r.name);
  } else if (c == "restart") {
    sup_->restart(r.name);
  } else if (c == "enable") {
    sup_->enable(r.name);
  } else if (c == "disable") {
    sup_->disable(r.name);
  } else if (c == "logs") {
    auto sink = sup_->logs(r.name);
    out.body["lines"] = sink->tail(static_cast<std::size_t>(r.tail));
    if (r.follow) out.follow = sink;
  } else if (c == "metrics") {
    out.body["text"] = format_metrics(sup_->list(), monotonic_ms() - boot_ms_, orphans_reaped_);
  } else if (c == "system") {
    out.body = system_info();
  } else if (c == "reload") {
    if (finishing_) throw Error("the system is shutting down");
    InitConfig cfg = load_config(opts_.config_path);
    std::string changes = sup_->configure(cfg);
    config_ = cfg;
    config_error_.clear();
    log::info("reloaded " + opts_.config_path + ": " + changes);
    out.body["changes"] = changes;
  } else if (c == "shutdown" || c == "reboot") {
    Finish how = c == "reboot" ? Finish::kReboot : Finish::kPowerOff;
    out.after = [this, how, c] { begin_shutdown(how, "initctl " + c); };
  }
  return out;
}

int InitApp::run() {
  setup_signals();
  NitroLayout layout;
  CmdlineFlags flags;
  if (vm()) {
    std::string cmdline;
    layout = early_boot(linux_boot_ops(), cmdline);
    flags = parse_cmdline(cmdline);
    enter_root(linux_boot_ops(), layout);
    if (linux_boot_ops().exists("/dev/nsm")) {
      try {
        log::info("seeded " + std::to_string(seed_entropy_from_nsm()) + " bytes of entropy from the NSM");
      } catch (const Error& e) {
        log::warn(std::string("entropy: ") + e.what());
      }
    }
    reboot(RB_DISABLE_CAD);  // ctrl-alt-del arrives as SIGINT: an orderly reboot
  } else if (getpid() != 1) {
    prctl(PR_SET_CHILD_SUBREAPER, 1);
  } else {
    // PID 1 of a PID namespace: a mount namespace and a /proc of its own, made
    // here so the caller needs only `unshare --pid --fork` (whatever "/" is).
    enter_private_mount_namespace();
    own_pid_namespace_ = proc_is_own_namespace();
  }
  config_ = load_initial_config(vm() ? &layout : nullptr);
  if (opts_.socket) config_.control.socket = *opts_.socket;
  if (opts_.vsock_port) config_.control.vsock_port = *opts_.vsock_port;
  bool heartbeat = vm() && config_.heartbeat.enabled && !flags.local;
  if (flags.heartbeat) heartbeat = vm() && *flags.heartbeat;
  if (vm()) {
    bring_up_network(linux_boot_ops(), config_.hostname);
    for (const std::string& m : config_.modules) {
      try {
        linux_boot_ops().load_module(m);
        log::info("loaded module " + m);
      } catch (const Error& e) {
        log::error(std::string("module: ") + e.what());
      }
    }
  }

  log::info(std::string("starting: mode=") + (vm() ? "vm" : "namespace") + " config=" + config_.file +
            " services=" + std::to_string(config_.services.size()) + " heartbeat=" + (heartbeat ? "on" : "off") +
            " control=" + config_.control.socket +
            (config_.control.vsock_port ? ",vsock:" + std::to_string(config_.control.vsock_port) : ""));
  sup_ = std::make_unique<Supervisor>(loop_, 2, Supervisor::Hooks{[this](const std::string& why) {
                                        loop_.after(0, [this, why] { begin_shutdown(Finish::kPowerOff, why); });
                                      }});
  sup_->configure(config_);
  start_control(config_.control);
  if (heartbeat) {
    try {
      send_heartbeat(config_.heartbeat);
      log::info("heartbeat sent");
    } catch (const Error& e) {
      log::error(std::string("heartbeat: ") + e.what());
    }
  }
  sup_->start_all();
  log::info("system up in " + std::to_string(monotonic_ms() - boot_ms_) + "ms");

  int faults = 0;
  while (!done_) {
    try {
      loop_.run_once();
      faults = 0;
    } catch (const std::exception& e) {
      log::error(std::string("fault in main loop: ") + e.what());
      if (++faults > 100) {
        log::error("too many consecutive faults");
        finishing_ = finishing_.value_or(Finish::kPowerOff);
        finish();
      }
    }
  }
  control_.reset();
  if (vm()) power_off(finishing_.value_or(Finish::kPowerOff));
  log::info(finishing_ == Finish::kReboot ? "reboot requested; exiting (namespace mode)" : "exiting (namespace mode)");
  return 0;
}

}  // namespace

InitOptions parse_init_args(const std::vector<std::string>& args, bool is_pid1, std::vector<std::string>& warnings) {
  InitOptions o;
  o.mode = is_pid1 ? Mode::kVm : Mode::kNamespace;
  // As PID 1 the kernel hands over stray words: only a user types --help there.
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string a = args[i];
    std::string value;
    auto eq = a.find('=');
    bool has_inline = a.starts_with("--") && eq != std::string::npos;
    if (has_inline) {
      value = a.substr(eq + 1);
      a = a.substr(0, eq);
    }
    auto take = [&]() -> std::optional<std::string> {
      if (has_inline) return value;
      if (i + 1 < args.size()) return args[++i];
      warnings.push_back(a + " needs a value");
      return std::nullopt;
    };
    if (a == "--help" || a == "-h") {
      o.help = true;
    } else if (a == "--version") {
      o.version = true;
    } else if (a == "--mode") {
      auto v = take();
      if (v == "vm") o.mode = Mode::kVm, o.mode_given = true;
      else if (v == "namespace") o.mode = Mode::kNamespace, o.mode_given = true;
      else if (v) warnings.push_back("unknown mode '" + *v + "' (vm or namespace)");
    } else if (a == "--config") {
      if (auto v = take()) o.config_path = *v;
    } else if (a == "--socket") {
      if (auto v = take()) o.socket = *v;
    } else if (a == "--vsock-port") {
      if (auto v = take()) {
        try {
          o.vsock_port = static_cast<std::uint32_t>(std::stoul(*v));
        } catch (const std::exception&) {
          warnings.push_back("bad --vsock-port '" + *v + "'");
        }
      }
    } else if (a.starts_with("-")) {
      warnings.push_back("ignoring unknown option '" + args[i] + "'");
    }  // plain words are kernel command line leftovers (e.g. Nitro's `nomodules`)
  }
  return o;
}

std::string init_usage() {
  return "usage: init --mode namespace --config FILE [--socket PATH] [--vsock-port N]\n"
         "       init                      (as PID 1 of a VM: the kernel starts it)\n\n"
         "PID 1 for enclaves: boots the VM, supervises the services of the service\n"
         "file, answers initctl on a unix socket and vsock. See docs/init.md.\n\n"
         "options:\n"
         "  --mode vm|namespace  vm: the real PID 1 of a VM (the default as PID 1);\n"
         "                       namespace: PID 1 of a PID namespace, or a plain supervisor\n"
         "                       (e.g. unshare --pid --fork init --mode namespace ...)\n"
         "  --config FILE        the service file (default /etc/init.yaml)\n"
         "  --socket PATH        control socket (overrides control.socket)\n"
         "  --vsock-port N       control vsock port, 0 for none (overrides control.vsock_port)\n"
         "  --help, --version    print this or the version, and exit\n";
}

std::optional<std::string> refusal(const InitOptions& o, bool is_pid1, int pid) {
  if (is_pid1) return std::nullopt;
  const std::string how =
      "; to supervise services here, run it in namespace mode: init --mode namespace --config FILE "
      "[--socket PATH] [--vsock-port 0] (as PID 1 of a new PID namespace: unshare --pid --fork init --mode "
      "namespace ...)";
  if (o.mode_given && o.mode == Mode::kVm)
    return "vm mode runs only as PID 1 of a VM, and this is PID " + std::to_string(pid) + how;
  if (!o.mode_given)
    return "init is not PID 1 (this is PID " + std::to_string(pid) + "), so it will not act as a VM's PID 1" + how;
  return std::nullopt;
}

/// A crash of PID 1 would panic the kernel: say why on the console and power
/// off instead. Only async-signal-safe calls here.
static void on_fatal_signal(int sig) {
  const char* name = sig == SIGSEGV ? "SIGSEGV" : sig == SIGBUS ? "SIGBUS" : sig == SIGILL ? "SIGILL" : "SIGFPE";
  (void)!write(2, "init: error: fatal: ", 20);
  (void)!write(2, name, std::strlen(name));
  (void)!write(2, "; powering off\n", 15);
  sync();
  reboot(RB_POWER_OFF);
  _exit(1);
}

int run_init(const InitOptions& options) {
  if (options.mode == Mode::kVm) {
    struct sigaction sa{};
    sa.sa_handler = on_fatal_signal;
    for (int sig : {SIGSEGV, SIGBUS, SIGILL, SIGFPE}) sigaction(sig, &sa, nullptr);
    std::set_terminate([] {
      log::error("fatal: unexpected termination");
      power_off(Finish::kPowerOff);
    });
  }
  try {
    InitApp app(options);
    return app.run();
  } catch (const std::exception& e) {
    log::error(std::string("fatal: ") + e.what());
    if (options.mode == Mode::kVm) power_off(Finish::kPowerOff);
    return 1;
  }
}

}  // namespace ef::init
