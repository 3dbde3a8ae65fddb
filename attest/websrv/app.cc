#include "attest/websrv/app.h"

#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <iostream>
#include <thread>

#include "attest/aws_root.h"
#include "attest/ossl.h"
#include "attest/websrv/api.h"
#include "attest/websrv/config.h"
#include "attest/websrv/index_listener.h"
#include "attest/websrv/nsm_setup.h"
#include "attest/websrv/server.h"
#include "attest/websrv/tls_identity.h"
#include "base/cli.h"
#include "base/error.h"
#include "base/file.h"
#include "base/hash.h"
#include "base/log.h"

namespace ef::websrv {
namespace {

constexpr std::string_view kUsage =
    "ra-web-srv: attestation documents, PCRs and attested file hashes over HTTPS\n"
    "\n"
    "usage:\n"
    "  ra-web-srv --config FILE        run the server (SIGINT/SIGTERM stop it)\n"
    "  ra-web-srv check-config FILE    validate FILE and print the effective configuration\n"
    "  ra-web-srv --help | --version\n"
    "\n"
    "See docs/ra-web-srv.md for the API, the configuration keys and RA-TLS.\n";

int run(const Config& cfg) {
  log::configure("ra-web-srv", cfg.log_format == "json" ? log::Format::kJson : log::Format::kText,
                 cfg.log_level == "debug" ? log::Level::kDebug
                 : cfg.log_level == "warn" ? log::Level::kWarn
                 : cfg.log_level == "error" ? log::Level::kError
                                            : log::Level::kInfo);
  ::signal(SIGPIPE, SIG_IGN);
  // Thousands of connections need thousands of descriptors: raise the soft limit to the hard one.
  rlimit nofile{};
  if (::getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur < nofile.rlim_max) {
    nofile.rlim_cur = nofile.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &nofile);
  }
  log::info("starting", {{"version", EF_VERSION}, {"config", cfg.to_json().dump()}});

  NsmSetup nsm = open_nsm(cfg);
  TlsIdentity id = cfg.tls_cert_file.empty() ? generate_tls_identity(cfg.tls_key_type, cfg.tls_common_name)
                                             : load_tls_identity(cfg.tls_cert_file, cfg.tls_key_file);
  if (!cfg.tls_write_dir.empty() && cfg.tls_cert_file.empty()) write_tls_identity(id, cfg.tls_write_dir);
  const VrfKey vrf = cfg.vrf_key_file.empty() ? VrfKey::ephemeral() : VrfKey::load_or_create(cfg.vrf_key_file);
  FileIndex index;

  std::vector<Bytes> roots{attest::aws_root_der()};
  if (nsm.simulated) roots.push_back(nsm.dev_root_der);
  for (const auto& file : cfg.extra_roots)
    for (auto& c : ossl::certs_from_pem(read_text_file(file), file)) roots.push_back(ossl::cert_to_der(c.get()));

  Metrics metrics(Api::route_names());
  ApiContext ctx;
  ctx.nsm = nsm.device.get();
  ctx.index = &index;
  ctx.vrf = &vrf;
  ctx.tls_spki_der = id.spki_der;
  ctx.tls_cert_pem = ossl::cert_to_pem(id.cert.get());
  ctx.tls_key_type = id.key_type;
  ctx.trusted_roots = roots;
  ctx.simulated_nsm = nsm.simulated;
  ctx.metrics = &metrics;
  const Api api(std::move(ctx));

  std::unique_ptr<boost::asio::ssl::context> tls;
  if (cfg.tls) {
    tls = make_tls_context(cfg.tls_min_version, id.key.get(), id.cert.get(), cfg.client_ca);
  } else {
    log::warn("TLS is DISABLED (tls.enabled: false): plain HTTP, for tests and benchmarks only");
  }

  const unsigned threads = cfg.io_threads ? cfg.io_threads : std::max(1u, std::thread::hardware_concurrency());
  boost::asio::io_context io(1);  // listeners, the file index, signals
  Server server(io, cfg, api, metrics, tls.get(), threads);
  const auto bound = server.start();
  std::unique_ptr<IndexListener> index_listener;
  if (!cfg.files_socket.empty()) {
    index_listener = std::make_unique<IndexListener>(io, index, cfg.files_socket,
                                                     cfg.files_producer_uid.value_or(::geteuid()), &metrics);
    index_listener->start();
  }
  std::string listening;
  for (const auto& b : bound) listening += (listening.empty() ? "" : ", ") + b;
  log::info("listening", {{"on", listening},
                          {"io_threads", std::to_string(threads)},
                          {"tls_key_type", id.key_type},
                          {"tls_spki_sha256", to_hex(digest(HashAlgo::kSha256, id.spki_der))},
                          {"vrf_public_key", to_hex(vrf.public_key())},
                          {"nsm", nsm.simulated ? "simulated" : "device"},
                          {"files_socket", cfg.files_socket}});

  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code& ec, int sig) {
    if (ec) return;
    log::info("stopping", {{"signal", std::to_string(sig)}});
    server.stop();
    if (index_listener) index_listener->stop();
    io.stop();
  });
  io.run();
  server.join();
  log::info("stopped");
  return 0;
}

}  // namespace

int main_command(std::vector<std::string> args) {
  if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    std::cout << kUsage;
    return args.empty() ? 2 : 0;
  }
  if (args[0] == "--version") {
    std::cout << "ra-web-srv " << EF_VERSION << "\n";
    return 0;
  }
  if (args[0] == "check-config") {
    if (args.size() != 2) {
      std::cerr << "usage: ra-web-srv check-config FILE\n";
      return 2;
    }
    const Config cfg = load_config(args[1]);
    std::cout << cfg.to_json().dump(2) << "\n";
    return 0;
  }
  if (args[0] == "--config" && args.size() == 2) return run(load_config(args[1]));
  if (args[0].rfind("--config=", 0) == 0 && args.size() == 1) return run(load_config(args[0].substr(9)));
  std::cerr << "ra-web-srv: unknown arguments (see --help)\n";
  return 2;
}

}  // namespace ef::websrv
