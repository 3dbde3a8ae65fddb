#include "engine/enclaved_app.h"

#include <signal.h>
#include <fcntl.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <iostream>
#include <sstream>
#include <thread>

#include "base/error.h"
#include "base/log.h"
#include "engine/backends.h"
#include "engine/engine.h"
#include "engine/server.h"
#include "engine/tls_listener.h"

namespace ef::engine {
namespace {

std::atomic<bool> g_stop{false};

std::string join(const std::vector<std::uint32_t>& v) {
  std::string s;
  for (auto x : v) s += (s.empty() ? "" : ",") + std::to_string(x);
  return s;
}

/// --detach: forks; the parent waits until the child's API socket listens
/// (a byte on a pipe) and exits 0, or 1 when the child died first. The child
/// starts a new session with stdio on STATE_DIR/enclaved.log. Called before
/// any thread exists. Returns the pipe's write end in the child.
int detach_daemon(const std::filesystem::path& state_dir) {
  int p[2];
  if (pipe2(p, O_CLOEXEC) != 0) throw SysError("create", "the detach pipe", errno);
  pid_t pid = fork();
  if (pid < 0) throw SysError("fork", "enclaved", errno);
  if (pid > 0) {
    close(p[1]);
    char c;
    ssize_t n;
    do n = read(p[0], &c, 1);
    while (n < 0 && errno == EINTR);
    if (n == 1) std::exit(0);
    std::cerr << "enclaved: error: the daemon did not start (see " << (state_dir / "enclaved.log").string() << ")\n";
    std::exit(1);
  }
  close(p[0]);
  setsid();
  std::error_code ec;
  std::filesystem::create_directories(state_dir, ec);
  int log = open((state_dir / "enclaved.log").c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (null >= 0) dup2(null, 0);
  if (log >= 0) {
    dup2(log, 1);
    dup2(log, 2);
  }
  return p[1];
}

}  // namespace

int enclaved_main(int argc, char** argv) {
  CLI::App app("enclaved: owns this host's enclaves (state, proxies, health, restarts) and serves the pipeline API.",
               "enclaved");
  app.set_version_flag("--version", "enclaved " EF_VERSION);
  EngineConfig ec;
  ServerConfig sc;
  BackendOptions bo;
  std::string mode = "0660";
  unsigned poll_ms = 500;
  std::string log_format = "text";
  TlsConfig tls;
  bool detach = false;
  app.add_flag("-d,--detach", detach,
               "run in the background; return once the API socket accepts (log: STATE_DIR/enclaved.log)");
  app.add_option("--state-dir", ec.state_dir, "state database and per-enclave files (0700)")->capture_default_str();
  app.add_option("--socket", sc.socket, "API unix socket")->capture_default_str();
  app.add_option("--socket-mode", mode, "API socket permissions (octal)")->capture_default_str();
  app.add_option("--backend", ec.default_backend, "default backend: local, nitro or fake (tests)")->capture_default_str();
  app.add_option("--pf-proxy", ec.pf_proxy, "the pf-proxy binary for host-side port forwards and egress");
  app.add_option("--fake-enclave", bo.fake_enclave, "ef-fake-enclave binary (backend fake)");
  app.add_option("--fake-ports", bo.fake_ports, "vsock ports every fake enclave serves")->delimiter(',');
  app.add_option("--nitro-cli", bo.nitro_cli, "nitro-cli binary (backend nitro)")->capture_default_str();
  app.add_option("--qemu", bo.qemu, "QEMU binary (backend local)")->capture_default_str();
  app.add_option("--vsock-bridge", bo.vsock_bridge, "ef-vsock-bridge binary (backend local)");
  app.add_option("--accel", bo.accel, "backend local: auto (KVM when /dev/kvm works), kvm or tcg")->capture_default_str();
  app.add_option("--local-registry", bo.local_registry, "backend local: CID registry directory")->capture_default_str();
  app.add_option("--poll-interval-ms", poll_ms, "status() polling interval")->capture_default_str();
  app.add_option("--tcp", tls.listen, "also serve the API on HOST:PORT over mutual TLS 1.3");
  app.add_option("--tls-cert", tls.cert, "server certificate chain (PEM) for --tcp");
  app.add_option("--tls-key", tls.key, "server private key (PEM) for --tcp");
  app.add_option("--tls-client-ca", tls.client_ca, "CA that client certificates must chain to (--tcp)");
  app.add_option("--log-format", log_format, "text or json (default: $EF_LOG_FORMAT, else text)")->check(CLI::IsMember({"text", "json"}));
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  log::configure_from_env("enclaved");  // EF_LOG_FORMAT / EF_LOG_LEVEL
  if (app.count("--log-format"))
    log::configure("enclaved", log_format == "json" ? log::Format::kJson : log::Format::kText);
  try {
    std::size_t used = 0;
    sc.mode = static_cast<mode_t>(std::stoul(mode, &used, 8));
    if (used != mode.size() || sc.mode > 0777) throw Error("");
  } catch (...) {
    std::cerr << "enclaved: error: --socket-mode " << mode << ": expected octal like 0660\n";
    return 2;
  }
  ec.poll_interval = std::chrono::milliseconds(std::max(50u, poll_ms));
  int ready_fd = -1;
  try {
    if (detach) ready_fd = detach_daemon(ec.state_dir);
    ec.pf_proxy = resolve_program(ec.pf_proxy, "pf-proxy", "netproxy");
    auto backends = make_backends(ec.default_backend, bo);
    std::string names;
    for (const auto& [n, b] : backends) names += (names.empty() ? "" : ",") + n;
    if (!tls.listen.empty() && (tls.cert.empty() || tls.key.empty() || tls.client_ca.empty()))
      throw Error("--tcp needs --tls-cert, --tls-key and --tls-client-ca (the TCP API is mutual TLS only)");
    log::info("enclaved starting", {{"state_dir", ec.state_dir.string()},
                                    {"tcp", tls.listen.empty() ? std::string("off") : tls.listen + " (mTLS)"},
                                    {"socket", sc.socket.string()},
                                    {"socket_mode", mode},
                                    {"default_backend", ec.default_backend},
                                    {"backends", names},
                                    {"pf_proxy", ec.pf_proxy.string()},
                                    {"poll_interval_ms", std::to_string(ec.poll_interval.count())},
                                    {"fake_ports", join(bo.fake_ports)},
                                    {"version", EF_VERSION}});
    // Detached enclaves and proxies reparent to this daemon while it runs (so
    // it reaps them at once) and to init after it exits.
    prctl(PR_SET_CHILD_SUBREAPER, 1);
    Engine engine(ec, std::move(backends));
    engine.start();
    Api api(engine);
    Server server(api, sc);
    struct sigaction sa {};
    sa.sa_handler = [](int) { g_stop = true; };
    sigaction(SIGTERM, &sa, nullptr);
    sigaction(SIGINT, &sa, nullptr);
    signal(SIGPIPE, SIG_IGN);
    std::unique_ptr<TlsListener> tcp;
    std::thread tcp_thread;
    if (!tls.listen.empty()) {
      tcp = std::make_unique<TlsListener>(api, tls);
      tcp_thread = std::thread([&] { tcp->run(g_stop); });
    }
    log::info("enclaved ready", {{"socket", sc.socket.string()}, {"tcp_port", std::to_string(tcp ? tcp->port() : 0)}});
    if (ready_fd >= 0) {
      (void)!write(ready_fd, "1", 1);
      close(ready_fd);
      ready_fd = -1;
    }
    server.run(g_stop);
    if (tcp_thread.joinable()) tcp_thread.join();
    engine.shutdown();
    log::info("enclaved stopped (enclaves keep running; the next start re-attaches)");
    return 0;
  } catch (const std::exception& e) {
    log::error("enclaved failed", {{"error", e.what()}});
    std::cerr << "enclaved: error: " << e.what() << "\n";
    return 1;
  }
}

}  // namespace ef::engine
