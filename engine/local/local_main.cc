// ef-local: the local backend by hand (launch, status, terminate, connect,
// forward). enclaved drives the same library; this tool serves tests,
// benchmarks and debugging. See docs/local-mode.md.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <thread>

#include "base/atomic_file.h"
#include "base/cli.h"
#include "base/error.h"
#include "base/file.h"
#include "base/log.h"
#include "engine/local/local_backend.h"
#include "engine/local/splice.h"

namespace {
using namespace ef;
using namespace ef::engine;
using namespace ef::engine::local;

EnclaveHandle read_handle(const std::string& path) {
  nlohmann::json j = nlohmann::json::parse(read_text_file(path), nullptr, false);
  if (!j.is_object() || !j.contains("attach") || !j["attach"].is_string())
    throw Error(path + ": not a handle written by 'ef-local launch'");
  return EnclaveHandle{j.value("backend", "local"), j.value("id", ""), j.value("cid", 0u), j.value("pid", 0),
                       j["attach"].get<std::string>()};
}

void add_common(CLI::App& app, LocalOptions& o, std::string& transport) {
  app.add_option("--qemu", o.qemu, "QEMU binary");
  app.add_option("--bridge", o.bridge, "ef-vsock-bridge binary");
  app.add_option("--transport", transport, "auto | bridge | vhost-vsock")
      ->check(CLI::IsMember({"auto", "bridge", "vhost-vsock"}));
  app.add_option("--registry", o.registry, "directory of the CIDs local enclaves use");
}

void apply_transport(LocalOptions& o, const std::string& t) {
  if (t == "bridge") o.transport = LocalOptions::Transport::bridge;
  if (t == "vhost-vsock") o.transport = LocalOptions::Transport::vhost_vsock;
}

int cmd_launch(std::vector<std::string> args) {
  CLI::App app("Boot an EIF in QEMU; prints the handle JSON (also written to --handle)", "ef-local launch");
  LocalOptions o;
  LaunchRequest rq;
  std::string eif, state, handle_out, transport = "auto", accel = "auto";
  std::uint32_t cid = 0;
  app.add_option("EIF", eif, "the image")->required();
  app.add_option("--state-dir", state, "private directory (sockets, console.log)")->required();
  app.add_option("--name", rq.name, "enclave name")->required();
  app.add_option("--cpus", rq.cpus, "vCPUs");
  app.add_option("--memory", rq.memory_mib, "MiB");
  app.add_option("--cid", cid, "guest CID (default: the lowest free from 16)");
  app.add_option("--accel", accel, "auto | kvm | tcg")->check(CLI::IsMember({"auto", "kvm", "tcg"}));
  app.add_option("--extra-cmdline", o.extra_cmdline, "appended to the kernel command line");
  app.add_option("--handle", handle_out, "write the handle JSON here too");
  add_common(app, o, transport);
  if (auto rc = cli::parse_args(app, std::move(args))) return *rc;
  apply_transport(o, transport);
  if (accel != "auto") o.kvm = accel == "kvm";
  rq.eif = eif;
  rq.state_dir = state;
  if (cid) rq.cid = cid;
  LocalBackend backend(o);
  EnclaveHandle h = backend.launch(rq);
  std::string out =
      nlohmann::json{{"backend", h.backend}, {"id", h.id}, {"cid", h.cid}, {"pid", h.pid}, {"attach", h.attach}}.dump();
  if (!handle_out.empty()) write_file_atomic(handle_out, out + "\n", 0600);
  std::printf("%s\n", out.c_str());
  return 0;
}

int cmd_status(std::vector<std::string> args) {
  CLI::App app("Print running or exited (exit code 0 or 3)", "ef-local status");
  std::string handle;
  app.add_option("HANDLE", handle, "handle JSON file")->required();
  if (auto rc = cli::parse_args(app, std::move(args))) return *rc;
  LocalBackend backend;
  bool running = backend.status(read_handle(handle)) == EnclaveStatus::running;
  std::printf("%s\n", running ? "running" : "exited");
  return running ? 0 : 3;
}

int cmd_terminate(std::vector<std::string> args) {
  CLI::App app("Stop the enclave (ACPI power button, then quit, then SIGKILL) and clean up", "ef-local terminate");
  std::string handle;
  int grace_ms = 5000;
  app.add_option("HANDLE", handle, "handle JSON file")->required();
  app.add_option("--grace-ms", grace_ms, "time for an orderly power-off");
  if (auto rc = cli::parse_args(app, std::move(args))) return *rc;
  LocalBackend backend;
  backend.terminate(read_handle(handle), std::chrono::milliseconds(grace_ms));
  return 0;
}

int cmd_endpoint(std::vector<std::string> args) {
  CLI::App app("Print where a host process must listen for the enclave's connections to the parent on PORT",
               "ef-local endpoint");
  std::string handle;
  std::uint32_t port = 0;
  app.add_option("HANDLE", handle, "handle JSON file")->required();
  app.add_option("PORT", port, "vsock port")->required();
  if (auto rc = cli::parse_args(app, std::move(args))) return *rc;
  LocalBackend backend;
  std::printf("%s\n", backend.host_listen_endpoint(read_handle(handle), port).c_str());
  return 0;
}

int cmd_connect(std::vector<std::string> args) {
  CLI::App app("Connect stdin/stdout to the enclave's vsock PORT", "ef-local connect");
  std::string handle;
  std::uint32_t port = 0;
  app.add_option("HANDLE", handle, "handle JSON file")->required();
  app.add_option("PORT", port, "vsock port")->required();
  if (auto rc = cli::parse_args(app, std::move(args))) return *rc;
  LocalBackend backend;
  UniqueFd fd = backend.connect(read_handle(handle), port);
  // stdin → fd, fd → stdout, with the half-close passed on.
  std::thread up([&] {
    char buf[65536];
    for (;;) {
      ssize_t n = ::read(0, buf, sizeof buf);
      if (n <= 0) break;
      write_all(fd.get(), std::string_view(buf, static_cast<std::size_t>(n)), "enclave stream");
    }
    ::shutdown(fd.get(), SHUT_WR);
  });
  std::vector<char> buf(256 * 1024);
  for (;;) {
    ssize_t n = ::read(fd.get(), buf.data(), buf.size());
    if (n <= 0) break;
    write_all(1, std::string_view(buf.data(), static_cast<std::size_t>(n)), "stdout");
  }
  up.join();
  return 0;
}

int cmd_forward(std::vector<std::string> args) {
  CLI::App app("Listen on 127.0.0.1:LISTEN and connect each client to the enclave's vsock PORT", "ef-local forward");
  std::string handle;
  std::uint32_t port = 0;
  std::uint16_t listen_port = 0;
  app.add_option("HANDLE", handle, "handle JSON file")->required();
  app.add_option("PORT", port, "vsock port")->required();
  app.add_option("--listen", listen_port, "TCP port on 127.0.0.1")->required();
  if (auto rc = cli::parse_args(app, std::move(args))) return *rc;
  EnclaveHandle h = read_handle(handle);
  UniqueFd ls(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  int one = 1;
  ::setsockopt(ls.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(listen_port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(ls.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(ls.get(), 64) != 0)
    throw_errno("listen", "127.0.0.1:" + std::to_string(listen_port));
  log::info("forwarding", {{"listen", "127.0.0.1:" + std::to_string(listen_port)}, {"vsock_port", std::to_string(port)}});
  for (;;) {
    int c = ::accept4(ls.get(), nullptr, nullptr, SOCK_CLOEXEC);
    if (c < 0) continue;
    std::thread([c, h, port] {
      UniqueFd client(c);
      try {
        LocalBackend backend;
        UniqueFd e = backend.connect(h, port);
        relay(client.get(), e.get());
      } catch (const Error& err) {
        log::warn("forward failed", {{"error", err.what()}});
      }
    }).detach();
  }
}

}  // namespace

int main(int argc, char** argv) {
  ef::log::configure_from_env("ef-local");
  std::signal(SIGPIPE, SIG_IGN);
  static const ef::cli::Command commands[] = {
      {"launch", "boot an EIF in QEMU (KVM or TCG) with its vsock bridged to the host", cmd_launch},
      {"status", "running or exited", cmd_status},
      {"terminate", "stop the enclave and clean up its files", cmd_terminate},
      {"connect", "stdin/stdout to a vsock port of the enclave", cmd_connect},
      {"forward", "a local TCP port to a vsock port of the enclave", cmd_forward},
      {"endpoint", "where to listen for the enclave's connections to the parent", cmd_endpoint},
  };
  return ef::cli::dispatch("ef-local", "local enclaves in QEMU (the local backend of enclaved)", commands, argc, argv);
}
