#include "runtime/agent/client_cli.h"

#include <openssl/crypto.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <iostream>

#include <nlohmann/json.hpp>

#include "base/cli.h"
#include "base/error.h"
#include "base/file.h"
#include "netproxy/endpoint.h"
#include "runtime/agent/client.h"

namespace ef::agent {
namespace {

struct Globals {
  std::string connect, root, pcrs, key;
  long max_age = 300;
};

Globals g;

std::unique_ptr<Client> open_client() {
  if (g.connect.empty() || g.root.empty() || g.pcrs.empty() || g.key.empty())
    throw Error("--connect, --root, --pcrs and --key are required");
  Expectations e;
  e.pcrs = load_expected_pcrs(g.pcrs);
  e.root_pem = read_text_file(g.root);
  e.max_age = std::chrono::seconds(g.max_age);
  return Client::connect(connect_endpoint(g.connect), e, OperatorKey{g.key});
}

void write_out(int fd, const std::uint8_t* p, std::size_t n) { write_all(fd, std::span<const std::uint8_t>(p, n), "output"); }

struct RawTerminal {
  int fd;
  termios saved{};
  bool active = false;
  explicit RawTerminal(int f) : fd(f) {
    if (!::isatty(fd) || ::tcgetattr(fd, &saved) != 0) return;
    termios raw = saved;
    ::cfmakeraw(&raw);
    active = ::tcsetattr(fd, TCSANOW, &raw) == 0;
  }
  ~RawTerminal() {
    if (active) ::tcsetattr(fd, TCSANOW, &saved);
  }
};

int cmd_exec(std::vector<std::string> args) {
  CLI::App app{"Run a command in the enclave; exits with its status (128+N if killed by signal N)", "exec"};
  bool tty = false, interactive = false;
  std::vector<std::string> env, argv;
  std::string cwd;
  app.add_flag("-t,--tty", tty, "allocate a pseudo-terminal");
  app.add_flag("-i,--interactive", interactive, "pass this process's stdin to the command");
  app.add_option("-e,--env", env, "extra NAME=VALUE (repeatable)")
      ->expected(1)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  app.add_option("-w,--workdir", cwd, "working directory in the enclave (default /)");
  app.add_option("command", argv, "the command and its arguments (after --)");
  // Everything after the first "--" is the command, untouched by option parsing.
  std::vector<std::string> command;
  if (auto dd = std::find(args.begin(), args.end(), "--"); dd != args.end()) {
    command.assign(dd + 1, args.end());
    args.erase(dd, args.end());
  }
  if (auto rc = cli::parse_args(app, std::move(args))) return *rc;
  argv.insert(argv.end(), command.begin(), command.end());
  if (argv.empty()) throw Error("exec needs a command: exec [OPTIONS] -- CMD [ARGS...]");
  auto client = open_client();
  ExecRequest req{argv, env, cwd, tty, interactive};
  sigset_t set;
  sigemptyset(&set);
  for (int s : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGWINCH}) sigaddset(&set, s);
  ::sigprocmask(SIG_BLOCK, &set, nullptr);
  UniqueFd sfd(::signalfd(-1, &set, SFD_CLOEXEC));
  ExecIo io;
  io.on_stdout = [](const std::uint8_t* p, std::size_t n) { write_out(1, p, n); };
  io.on_stderr = [](const std::uint8_t* p, std::size_t n) { write_out(2, p, n); };
  io.stdin_fd = interactive ? 0 : -1;
  io.signal_fd = sfd.get();
  io.winsize_fd = tty && ::isatty(0) ? 0 : -1;
  std::optional<RawTerminal> raw;
  if (tty && interactive) raw.emplace(0);
  return client->exec(req, io);
}

int cmd_cp_in(std::vector<std::string> args) {
  CLI::App app{"Copy a local file or directory tree into the enclave", "cp-in"};
  std::string local, remote;
  app.add_option("local", local, "local file or directory")->required();
  app.add_option("remote", remote, "absolute destination in the enclave")->required();
  if (auto rc = cli::parse_args(app, std::move(args))) return *rc;
  open_client()->copy_in(local, remote);
  return 0;
}

int cmd_cp_in_tar(std::vector<std::string> args) {
  CLI::App app{"Send an existing tar archive to be extracted in the enclave (same safety rules as cp-in)", "cp-in-tar"};
  std::string tar, remote;
  app.add_option("tar", tar, "tar archive ('-' = stdin)")->required();
  app.add_option("remote", remote, "absolute destination in the enclave")->required();
  if (auto rc = cli::parse_args(app, std::move(args))) return *rc;
  UniqueFd fd(tar == "-" ? ::dup(0) : -1);
  if (tar != "-") fd = open_read(tar);
  open_client()->copy_in_archive(fd.get(), remote);
  return 0;
}

int cmd_cp_out(std::vector<std::string> args) {
  CLI::App app{"Copy a file or directory tree out of the enclave", "cp-out"};
  std::string local, remote;
  app.add_option("remote", remote, "absolute path in the enclave")->required();
  app.add_option("local", local, "local destination")->required();
  if (auto rc = cli::parse_args(app, std::move(args))) return *rc;
  open_client()->copy_out(remote, local);
  return 0;
}

int cmd_logs(std::vector<std::string> args) {
  CLI::App app{"Print init's service logs (all services, or one)", "logs"};
  bool follow = false;
  std::string service;
  app.add_flag("-f,--follow", follow, "keep printing new lines");
  app.add_option("service", service, "one service (default: all)");
  if (auto rc = cli::parse_args(app, std::move(args))) return *rc;
  open_client()->logs(service, follow, [](const std::string& line) {
    std::fwrite(line.data(), 1, line.size(), stdout);
    std::fputc('\n', stdout);
    std::fflush(stdout);
    return true;
  });
  return 0;
}

int cmd_secret(std::vector<std::string> args) {
  CLI::App app{"Deliver a secret into the enclave's secret_dir: secret put NAME FILE ('-' = stdin)", "secret"};
  std::string verb, name, file;
  app.add_option("verb", verb, "put")->required();
  app.add_option("name", name, "secret name ([A-Za-z0-9_.-])")->required();
  app.add_option("file", file, "file holding the value, or - for stdin")->required();
  if (auto rc = cli::parse_args(app, std::move(args))) return *rc;
  if (verb != "put") throw Error("unknown secret verb '" + verb + "' (only 'put')");
  Bytes value;
  if (file == "-") {
    std::uint8_t buf[65536];
    for (;;) {
      const std::size_t n = read_some(0, buf, "stdin");
      if (n == 0) break;
      value.insert(value.end(), buf, buf + n);
    }
    OPENSSL_cleanse(buf, sizeof buf);
  } else {
    value = read_file(file);
  }
  auto client = open_client();
  client->put_secret(name, value);
  OPENSSL_cleanse(value.data(), value.size());
  return 0;
}

int cmd_attest(std::vector<std::string> args) {
  CLI::App app{"Verify the enclave's attestation and print what it established", "attest"};
  bool json = false;
  app.add_flag("--json", json, "print JSON");
  if (auto rc = cli::parse_args(app, std::move(args))) return *rc;
  auto client = open_client();
  const PeerInfo& p = client->peer();
  nlohmann::json j = {{"verified", true}, {"module_id", p.module_id}, {"timestamp_ms", p.timestamp_ms},
                      {"tls_public_key_sha256", p.public_key_sha256}};
  for (const auto& [i, v] : p.pcrs) j["pcrs"][std::to_string(i)] = v;
  if (json) {
    std::cout << j.dump(2) << "\n";
  } else {
    std::cout << "attestation verified\nmodule_id: " << p.module_id << "\ntimestamp_ms: " << p.timestamp_ms
              << "\ntls_public_key_sha256: " << p.public_key_sha256 << "\n";
    for (unsigned i : {0u, 1u, 2u})
      if (p.pcrs.count(i)) std::cout << "PCR" << i << ": " << p.pcrs.at(i) << "\n";
  }
  return 0;
}

const cli::Command kCommands[] = {
    {"exec", "run a command in the enclave", cmd_exec},
    {"cp-in", "copy a file or directory into the enclave", cmd_cp_in},
    {"cp-in-tar", "send an existing tar archive into the enclave", cmd_cp_in_tar},
    {"cp-out", "copy a file or directory out of the enclave", cmd_cp_out},
    {"logs", "print (or follow) init's service logs", cmd_logs},
    {"secret", "secret put NAME FILE: deliver a secret", cmd_secret},
    {"attest", "verify the enclave's attestation and print it", cmd_attest},
};

}  // namespace

UniqueFd connect_endpoint(const std::string& endpoint) {
  const netproxy::Endpoint ep = netproxy::parse_endpoint(endpoint);
  if (ep.transport == netproxy::Transport::kUdp) throw Error(endpoint + ": the agent speaks stream sockets only");
  const netproxy::SockAddr addr = netproxy::resolve(ep);
  UniqueFd fd(::socket(addr.family(), SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) throw_errno("socket for", endpoint);
  for (;;) {
    if (::connect(fd.get(), addr.get(), addr.length) == 0) break;
    if (errno == EINTR) continue;
    throw_errno("connect to", endpoint);
  }
  return fd;
}

int client_cli_main(int argc, char** argv) {
  // Global options come before the command: --connect EP --root PEM --pcrs FILE --key KEY [--max-age S].
  std::vector<char*> rest{argv[0]};
  int i = 1;
  for (; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&](std::string& out) {
      if (i + 1 >= argc) throw Error(a + " needs a value");
      out = argv[++i];
    };
    if (a == "--connect") value(g.connect);
    else if (a == "--root") value(g.root);
    else if (a == "--pcrs") value(g.pcrs);
    else if (a == "--key") value(g.key);
    else if (a == "--max-age") {
      std::string v;
      value(v);
      g.max_age = std::stol(v);
    } else break;
  }
  for (; i < argc; ++i) rest.push_back(argv[i]);
  return cli::dispatch("ef-agent-client",
                       "Talks to an enclave's ef-agent over the attested channel. Global options (before COMMAND):\n"
                       "  --connect EP  --root PEM  --pcrs FILE  --key OPERATOR_KEY  [--max-age SECONDS]",
                       kCommands, static_cast<int>(rest.size()), rest.data());
}

}  // namespace ef::agent
