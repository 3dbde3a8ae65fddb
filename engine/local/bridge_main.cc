// ef-vsock-bridge: a vhost-user-vsock back end for QEMU (see docs/local-mode.md).
#include <csignal>

#include "base/cli.h"
#include "base/error.h"
#include "base/log.h"
#include "engine/local/bridge.h"

int main(int argc, char** argv) {
  ef::log::configure_from_env("ef-vsock-bridge");
  std::signal(SIGPIPE, SIG_IGN);
  CLI::App app("vhost-user-vsock back end: QEMU's guest vsock ⇄ host unix sockets (hybrid vsock)",
               "ef-vsock-bridge");
  app.set_version_flag("--version", "ef-vsock-bridge " EF_VERSION);
  ef::engine::local::BridgeOptions o;
  std::string vhost, uds;
  std::uint64_t cid = 0, host_cid = 3;
  std::uint32_t buf = o.device.buf_alloc;
  app.add_option("--vhost-user", vhost, "unix socket QEMU's -chardev socket connects to")->required();
  app.add_option("--uds", uds, "host socket: CONNECT <port> goes in; guest → host port P goes to UDS_P")->required();
  app.add_option("--guest-cid", cid, "the guest's CID (>= 3)")->required()->check(CLI::Range(3ull, 0xfffffffeull));
  app.add_option("--host-cid", host_cid, "CID host-initiated connections come from (3: Nitro parent)")
      ->check(CLI::Range(2ull, 3ull));
  app.add_option("--buf-alloc", buf, "per-connection receive buffer advertised to the guest")
      ->check(CLI::Range(4096u, 1u << 30));
  app.add_option("--ready-fd", o.ready_fd, "fd to write \"ready\\n\" to once listening");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  o.vhost_user_socket = vhost;
  o.device.uds = uds;
  o.device.guest_cid = cid;
  o.device.host_cid = host_cid;
  o.device.buf_alloc = buf;
  try {
    return ef::engine::local::run_bridge(o);
  } catch (const ef::Error& e) {
    ef::log::error(e.what());
    return 1;
  }
}
