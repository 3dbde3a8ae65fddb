#include "engine/pipeline_app.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>

#include "attest/aws_root.h"
#include "base/cli.h"
#include "base/error.h"
#include "base/file.h"
#include "engine/api_client.h"
#include "engine/backends.h"
#include "engine/compose.h"
#include "engine/image.h"
#include "engine/pipeline_build.h"
#include "engine/record.h"
#include "runtime/agent/client.h"

namespace ef::engine {
namespace fs = std::filesystem;
namespace {

/// Options every command takes.
struct Common {
  std::string host;
  bool json = false;
  void add(CLI::App& app) {
    const char* env = std::getenv("ENCLAVED_SOCKET");
    host = env ? env : "/run/enclaved.sock";
    app.add_option("-H,--host", host, "enclaved's API socket (env ENCLAVED_SOCKET)")->capture_default_str();
    app.add_flag("--json", json, "print JSON");
  }
  ApiClient client() const { return ApiClient(host); }
};

void print_json(const nlohmann::json& j) { std::printf("%s\n", j.dump(2).c_str()); }

std::string ports_text(const nlohmann::json& spec) {
  std::string s;
  for (const auto& p : spec.at("ports")) s += (s.empty() ? "" : ",") + p.get<std::string>();
  return s.empty() ? "-" : s;
}

// ---- run ----------------------------------------------------------------

struct AgentOptions {
  std::string root, key, pcrs;
  void add(CLI::App& app) {
    const char* k = std::getenv("EF_OPERATOR_KEY");
    key = k ? k : "";
    const char* r = std::getenv("EF_ATTEST_ROOT");
    root = r ? r : "";
    app.add_option("--key", key,
                   "operator private key (PEM; env EF_OPERATOR_KEY; default: local backend: the default image's "
                   "DEVELOPMENT key specs/default/dev-operator/operator.key, nitro: "
                   "~/.config/enclave-framework/operator.pem)");
    app.add_option("--expect-pcrs", pcrs,
                   "expect these PCRs instead of the image's (pcrs.json, rbuild describe JSON or PCRn=hex lines)");
    app.add_option("--root", root,
                   "attestation trust anchor PEM (env EF_ATTEST_ROOT; default: nitro: the AWS root, local: the "
                   "development CA specs/default/dev-ca/dev-root.pem that the simulated NSM chains to)");
  }
};

/// The default image's committed development files (dev CA, dev operator
/// key): $EF_DEV_DIR, else the source tree this pipeline was built from.
fs::path dev_dir() {
  if (const char* d = std::getenv("EF_DEV_DIR")) return d;
  return fs::path(EF_SOURCE_DIR) / "specs" / "default";
}

/// The operator key for `backend`: the flag/env, else local mode's dev key
/// (made 0600 if git left it group/world-readable: it is public anyway), else
/// the user's own key.
std::string operator_key(const AgentOptions& a, const std::string& backend) {
  if (!a.key.empty()) return a.key;
  if (backend == "local") {
    fs::path k = dev_dir() / "dev-operator" / "operator.key";
    std::error_code ec;
    auto perms = fs::status(k, ec).permissions();
    if (!ec && (perms & (fs::perms::group_all | fs::perms::others_all)) != fs::perms::none) {
      fs::permissions(k, fs::perms::owner_read | fs::perms::owner_write, ec);
      if (ec) throw Error(k.string() + ": mode is group/world-accessible and chmod 600 failed: " + ec.message());
    }
    return k.string();
  }
  const char* home = std::getenv("HOME");
  if (!home) throw Error("no operator key: pass --key or set EF_OPERATOR_KEY");
  return std::string(home) + "/.config/enclave-framework/operator.pem";
}

/// Verified connection to the enclave's agent: the record gives the expected
/// PCRs and the agent port; enclaved passes the raw stream; the TLS handshake
/// and attestation checks run here, in the process that holds the key.
std::unique_ptr<agent::Client> open_agent(const Common& c, const AgentOptions& a, const std::string& name) {
  ApiClient api = c.client();
  nlohmann::json rec = api.call("GET", "/v1/enclaves/" + url_encode(name));
  agent::Expectations exp;
  for (const auto& [k, v] : rec.at("pcrs").items()) exp.pcrs[static_cast<unsigned>(std::stoul(k.substr(3)))] = v.get<std::string>();
  for (const auto& [k, v] : rec.at("spec").at("expected_pcrs").items()) exp.pcrs[static_cast<unsigned>(std::stoul(k))] = v.get<std::string>();
  if (!a.pcrs.empty()) exp.pcrs = agent::load_expected_pcrs(a.pcrs);
  std::string backend = rec.at("handle").at("backend").get<std::string>();
  if (!a.root.empty()) {
    exp.root_pem = read_text_file(a.root);
  } else if (backend == "nitro") {
    exp.root_pem = std::string(attest::aws_root_pem());
  } else if (backend == "local") {
    exp.root_pem = read_text_file(dev_dir() / "dev-ca" / "dev-root.pem");
  } else {
    throw Error("enclave " + name + " runs on the " + backend + " backend: pass --root (the trust anchor its NSM chains to)");
  }
  std::string key = operator_key(a, backend);
  auto port = rec.at("spec").at("agent_port").get<std::uint32_t>();
  UniqueFd stream = api.connect_enclave(name, port);
  return agent::Client::connect(std::move(stream), exp, agent::OperatorKey{key});
}

/// Polls the record until health is "healthy"; throws naming the last state
/// (and the status: an enclave that exited stops the wait) after `limit`.
nlohmann::json wait_healthy(ApiClient api, const std::string& name, std::chrono::seconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (true) {
    nlohmann::json r = api.call("GET", "/v1/enclaves/" + url_encode(name));
    std::string health = r.at("health").get<std::string>(), status = r.at("status").get<std::string>();
    if (health == "healthy") return r;
    if (status == "exited" || status == "stopped")
      throw Error("enclave " + name + " " + status + " before it became healthy (pipeline logs " + name + ")");
    if (std::chrono::steady_clock::now() >= deadline)
      throw Error("enclave " + name + " not healthy after " + std::to_string(limit.count()) + " s (status " + status +
                  ", health " + health + ")");
    usleep(500 * 1000);
  }
}

/// `run --backend local` with no enclaved answering at `socket`: starts one
/// (`enclaved --backend local --detach`, state in $ENCLAVED_STATE_DIR or its
/// default) so that local mode is one command. Any other case is left to the
/// API call's own error.
void ensure_local_daemon(const std::string& socket) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (socket.size() >= sizeof addr.sun_path) return;
  std::memcpy(addr.sun_path, socket.c_str(), socket.size());
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd || ::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) return;
  if (errno != ENOENT && errno != ECONNREFUSED) return;
  fs::path enclaved = resolve_program("enclaved", "enclaved", "engine");
  std::vector<std::string> argv = {enclaved.string(), "--backend", "local", "--detach", "--socket", socket};
  if (const char* d = std::getenv("ENCLAVED_STATE_DIR")) argv.insert(argv.end(), {"--state-dir", d});
  std::fprintf(stderr, "no enclaved at %s: starting one (backend local): %s --detach\n", socket.c_str(), enclaved.c_str());
  pid_t pid = fork();
  if (pid < 0) throw SysError("fork", "enclaved", errno);
  if (pid == 0) {
    std::vector<char*> cargv;
    for (auto& a : argv) cargv.push_back(a.data());
    cargv.push_back(nullptr);
    execv(cargv[0], cargv.data());
    _exit(127);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) throw Error("could not start enclaved (" + enclaved.string() + ")");
}

int cmd_run(std::vector<std::string> args) {
  CLI::App app("Run an enclave from an EIF, or from an rbuild spec built and verified against its lock.", "pipeline run");
  Common c;
  c.add(app);
  std::string image, name, memory = "512M", restart = "no", backend, pcrs_file, lock, out_dir = "out", rbuild = "rbuild";
  unsigned cpus = 2;
  std::optional<std::uint32_t> cid;
  std::vector<std::string> ports, allow, deny;
  std::uint32_t health_port = 0, egress_port = 0, agent_port = 7000;
  std::string health_http;
  bool debug = false;
  unsigned wait_s = 0;
  app.add_option("IMAGE", image, "IMAGE.eif or SPEC.yaml")->required();
  app.add_option("--wait", wait_s,
                 "wait up to N s until the enclave is healthy (needs --health-port; without one: until its "
                 "first -p port answers, which then becomes the health check)");
  app.add_option("--name", name, "enclave name (default: the image's file name)");
  app.add_option("--cpus", cpus, "vCPUs")->capture_default_str();
  app.add_option("--memory", memory, "memory (512M, 2G)")->capture_default_str();
  app.add_option("--cid", cid, "enclave CID (default: the backend picks)");
  app.add_option("-p,--publish", ports, "[HOST_ADDR:]HOST_PORT:ENCLAVE_PORT (TCP on the host → vsock in the enclave)");
  app.add_option("--restart", restart, "no | on-failure[:N] | always | unless-stopped")->capture_default_str();
  app.add_option("--backend", backend, "local | nitro (default: enclaved's)");
  app.add_option("--health-port", health_port, "vsock port whose connect (or HTTP answer) means healthy");
  app.add_option("--health-http", health_http, "HTTP path to GET on --health-port (2xx = healthy)");
  app.add_option("--egress-port", egress_port, "vsock port the enclave dials the parent on for egress");
  app.add_option("--allow", allow, "egress allow rule (pf-proxy syntax: CIDR[:PORT], HOST[:PORT], *:PORT)");
  app.add_option("--deny", deny, "egress deny rule");
  app.add_option("--pcrs", pcrs_file, "PCRs the image must measure to (pcrs.json)");
  app.add_option("--agent-port", agent_port, "the in-enclave agent's vsock port")->capture_default_str();
  app.add_flag("--debug-mode", debug, "Nitro debug mode (console; PCRs read as zero)");
  app.add_option("--lock", lock, "for a SPEC.yaml: its lockfile (default: rbuild's)");
  app.add_option("-o,--output", out_dir, "for a SPEC.yaml: rbuild's output directory")->capture_default_str();
  app.add_option("--rbuild", rbuild, "the rbuild binary");
  if (auto rc = cli::parse_args(app, std::move(args))) return *rc;
  EnclaveSpec s;
  fs::path img(image);
  if (img.extension() == ".yaml" || img.extension() == ".yml") {
    fs::path rb = resolve_program(rbuild, "rbuild", "builder");
    fs::path lk = lock.empty() ? img.parent_path() / ".." / "lockfiles" / (img.stem().string() + ".lock.json") : fs::path(lock);
    BuiltImage b = build_spec(rb, img, lk, out_dir);
    s.image = fs::absolute(b.eif).string();
    s.expected_pcrs = b.measurements;
    if (!c.json) std::fprintf(stderr, "built and verified %s\n", b.eif.c_str());
  } else {
    s.image = fs::absolute(img).string();
  }
  s.name = name.empty() ? fs::path(s.image).stem().string() : name;
  s.cpus = cpus;
  s.memory_mib = parse_memory_mib(memory);
  s.cid = cid;
  for (const auto& p : ports) s.ports.push_back(PortMapping::parse(p));
  s.restart = RestartPolicy::parse(restart);
  s.backend = backend;
  s.health.port = health_port;
  s.health.http_path = health_http;
  s.egress = {egress_port, allow, deny};
  if (!pcrs_file.empty()) s.expected_pcrs = read_pcrs_json(pcrs_file);
  s.agent_port = agent_port;
  s.debug_mode = debug;
  if (wait_s && s.health.port == 0) {
    if (s.ports.empty()) throw Error("--wait needs --health-port or a -p port to check");
    s.health.port = s.ports.front().enclave_port;
  }
  nlohmann::json body = to_json(s);
  if (backend == "local") ensure_local_daemon(c.host);
  nlohmann::json rec = c.client().call("POST", "/v1/enclaves", &body);
  if (wait_s) rec = wait_healthy(c.client(), s.name, std::chrono::seconds(wait_s));
  if (c.json) print_json(rec);
  else std::printf("%s\n", rec.at("name").get<std::string>().c_str());
  return 0;
}

// ---- ps / inspect / stop / rm -------------------------------------------

int cmd_ps(std::vector<std::string> args) {
  CLI::App app("List enclaves.", "pipeline ps");
  Common c;
  c.add(app);
  if (auto rc = cli::parse_args(app, std::move(args))) return *rc;
  nlohmann::json list = c.client().call("GET", "/v1/enclaves").at("enclaves");
  if (c.json) {
    print_json(list);
    return 0;
  }
  std::printf("%-20s %-11s %-10s %-8s %-6s %-9s %-24s %s\n", "NAME", "STATUS", "HEALTH", "BACKEND", "CID", "RESTARTS",
              "PORTS", "IMAGE");
  for (const auto& r : list) {
    std::printf("%-20s %-11s %-10s %-8s %-6u %-9u %-24s %s\n", r.at("name").get<std::string>().c_str(),
                r.at("status").get<std::string>().c_str(), r.at("health").get<std::string>().c_str(),
                r.at("handle").at("backend").get<std::string>().c_str(), r.at("handle").at("cid").get<unsigned>(),
                r.at("restart_count").get<unsigned>(), ports_text(r.at("spec")).c_str(),
                r.at("spec").at("image").get<std::string>().c_str());
  }
  return 0;
}

int cmd_inspect(std::vector<std::string> args) {
  CLI::App app("Print enclaves' records as JSON.", "pipeline inspect");
  Common c;
  c.add(app);
  std::vector<std::string> names;
  app.add_option("ENCLAVE", names, "names")->required();
  if (auto rc = cli::parse_args(app, std::move(args))) return *rc;
  nlohmann::json out = nlohmann::json::array();
  for (const auto& n : names) out.push_back(c.client().call("GET", "/v1/enclaves/" + url_encode(n)));
  print_json(out);
  return 0;
}

int cmd_stop(std::vector<std::string> args) {
  CLI::App app("Stop enclaves (orderly, then forced); records stay until rm.", "pipeline stop");
  Common c;
  c.add(app);
  std::vector<std::string> names;
  app.add_option("ENCLAVE", names, "names")->required();
  if (auto rc = cli::parse_args(app, std::move(args))) return *rc;
  for (const auto& n : names) {
    auto r = c.client().call("POST", "/v1/enclaves/" + url_encode(n) + "/stop");
    if (c.json) print_json(r);
    else std::printf("%s\n", n.c_str());
  }
  return 0;
}

int cmd_rm(std::vector<std::string> args) {
  CLI::App app("Remove enclaves and their state (files, proxies).", "pipeline rm");
  Common c;
  c.add(app);
  std::vector<std::string> names;
  bool force = false;
  app.add_option("ENCLAVE", names, "names")->required();
  app.add_flag("-f,--force", force, "stop running enclaves first");
  if (auto rc = cli::parse_args(app, std::move(args))) return *rc;
  for (const auto& n : names) {
    auto r = c.client().call("DELETE", "/v1/enclaves/" + url_encode(n) + (force ? "?force=1" : ""));
    if (c.json) print_json(r);
    else std::printf("%s\n", n.c_str());
  }
  return 0;
}

// ---- logs / events ------------------------------------------------------

int cmd_logs(std::vector<std::string> args) {
  CLI::App app("Print an enclave's console log, or (with SERVICE) a service's log through the attested channel.",
               "pipeline logs");
  Common c;
  c.add(app);
  AgentOptions a;
  a.add(app);
  std::string name, service;
  bool follow = false;
  unsigned tail = 0;
  app.add_option("ENCLAVE", name, "enclave")->required();
  app.add_option("SERVICE", service, "init service (through the agent)");
  app.add_flag("-f,--follow", follow, "keep following");
  app.add_option("--tail", tail, "console: start with the last N lines");
  if (auto rc = cli::parse_args(app, std::move(args))) return *rc;
  if (!service.empty()) {
    auto client = open_agent(c, a, name);
    client->logs(service, follow, [](const std::string& line) {
      std::printf("%s\n", line.c_str());
      std::fflush(stdout);
      return true;
    });
    return 0;
  }
  std::string target = "/v1/enclaves/" + url_encode(name) + "/logs?follow=" + (follow ? "1" : "0");
  if (tail) target += "&tail=" + std::to_string(tail);
  c.client().stream(target, [](std::string_view data) {
    std::fwrite(data.data(), 1, data.size(), stdout);
    std::fflush(stdout);
    return true;
  });
  return 0;
}

int cmd_events(std::vector<std::string> args) {
  CLI::App app("Print the event log (started, exited, restarted, health, stopped, removed).", "pipeline events");
  Common c;
  c.add(app);
  bool follow = false;
  std::uint64_t since = 0;
  std::string enclave;
  app.add_flag("-f,--follow", follow, "keep following");
  app.add_option("--since", since, "events after this sequence number");
  app.add_option("--enclave", enclave, "only this enclave's");
  if (auto rc = cli::parse_args(app, std::move(args))) return *rc;
  std::string target = "/v1/events?since=" + std::to_string(since) + "&follow=" + (follow ? "1" : "0");
  if (!enclave.empty()) target += "&enclave=" + url_encode(enclave);
  std::string partial;
  c.client().stream(target, [&](std::string_view data) {
    partial += data;
    std::size_t nl;
    while ((nl = partial.find('\n')) != std::string::npos) {
      std::string line = partial.substr(0, nl);
      partial.erase(0, nl + 1);
      if (c.json) {
        std::printf("%s\n", line.c_str());
      } else {
        auto e = nlohmann::json::parse(line, nullptr, false);
        if (e.is_discarded()) continue;
        std::printf("%lld %-8s %-10s %s\n", e.at("seq").get<long long>(), e.at("enclave").get<std::string>().c_str(),
                    e.at("type").get<std::string>().c_str(), e.at("detail").dump().c_str());
      }
      std::fflush(stdout);
    }
    return true;
  });
  return 0;
}

// ---- exec / cp / attest / secret (attested channel) ----------------------

int cmd_exec(std::vector<std::string> args) {
  CLI::App app("Run a command in an enclave over the attested channel; exits with its status.", "pipeline exec");
  Common c;
  c.add(app);
  AgentOptions a;
  a.add(app);
  std::string name, cwd;
  std::vector<std::string> cmd, env;
  bool interactive = false, tty = false;
  app.add_option("ENCLAVE", name, "enclave")->required();
  app.add_option("CMD", cmd, "command and arguments (after --)")->required();
  app.add_flag("-i,--interactive", interactive, "pass stdin");
  app.add_flag("-t,--tty", tty, "allocate a TTY");
  app.add_option("-e,--env", env, "NAME=VALUE");
  app.add_option("-w,--workdir", cwd, "working directory");
  if (auto rc = cli::parse_args(app, std::move(args))) return *rc;
  auto client = open_agent(c, a, name);
  agent::ExecRequest req{cmd, env, cwd, tty, interactive};
  agent::ExecIo io;
  io.read_stdin = [&](std::uint8_t* buf, std::size_t n) -> std::size_t {
    if (!interactive) return 0;
    ssize_t r = read(0, buf, n);
    return r > 0 ? static_cast<std::size_t>(r) : 0;
  };
  io.on_stdout = [](const std::uint8_t* d, std::size_t n) {
    std::fwrite(d, 1, n, stdout);
    std::fflush(stdout);
  };
  io.on_stderr = [](const std::uint8_t* d, std::size_t n) {
    std::fwrite(d, 1, n, stderr);
    std::fflush(stderr);
  };
  return client->exec(req, io);
}

int cmd_cp(std::vector<std::string> args) {
  CLI::App app("Copy files or directories into (SRC ENCLAVE:DST) or out of (ENCLAVE:SRC DST) an enclave.", "pipeline cp");
  Common c;
  c.add(app);
  AgentOptions a;
  a.add(app);
  std::string src, dst;
  app.add_option("SRC", src, "source")->required();
  app.add_option("DST", dst, "destination")->required();
  if (auto rc = cli::parse_args(app, std::move(args))) return *rc;
  auto remote = [](const std::string& s) -> std::optional<std::pair<std::string, std::string>> {
    auto colon = s.find(':');
    if (colon == std::string::npos || colon == 0 || s.find('/') < colon) return std::nullopt;
    return std::make_pair(s.substr(0, colon), s.substr(colon + 1));
  };
  auto rs = remote(src), rd = remote(dst);
  if (rs.has_value() == rd.has_value()) throw Error("cp: exactly one of SRC and DST must be ENCLAVE:PATH");
  if (rd) {
    open_agent(c, a, rd->first)->copy_in(src, rd->second);
  } else {
    open_agent(c, a, rs->first)->copy_out(rs->second, dst);
  }
  return 0;
}

int cmd_attest(std::vector<std::string> args) {
  CLI::App app("Fetch and verify the enclave's attestation against its expected PCRs, and print it.", "pipeline attest");
  Common c;
  c.add(app);
  AgentOptions a;
  a.add(app);
  std::string name;
  app.add_option("ENCLAVE", name, "enclave")->required();
  if (auto rc = cli::parse_args(app, std::move(args))) return *rc;
  auto client = open_agent(c, a, name);
  const auto& p = client->peer();
  nlohmann::json pcrs = nlohmann::json::object();
  for (const auto& [i, h] : p.pcrs) pcrs["PCR" + std::to_string(i)] = h;
  nlohmann::json j = {{"enclave", name}, {"verified", true}, {"module_id", p.module_id},
                      {"timestamp_ms", p.timestamp_ms}, {"public_key_sha256", p.public_key_sha256}, {"pcrs", pcrs}};
  if (c.json) print_json(j);
  else {
    std::printf("attestation of %s verified (module %s)\n", name.c_str(), p.module_id.c_str());
    for (const auto& [i, h] : p.pcrs) std::printf("  PCR%u: %s\n", i, h.c_str());
    std::printf("  TLS key sha256: %s\n", p.public_key_sha256.c_str());
  }
  return 0;
}

int cmd_secret(std::vector<std::string> args) {
  CLI::App app("Deliver a secret, sealed to the enclave's attested key (never written to disk in clear).",
               "pipeline secret");
  Common c;
  c.add(app);
  AgentOptions a;
  a.add(app);
  std::string verb, name, secret, file;
  app.add_option("VERB", verb, "put")->required()->check(CLI::IsMember({"put"}));
  app.add_option("ENCLAVE", name, "enclave")->required();
  app.add_option("NAME", secret, "secret name")->required();
  app.add_option("FILE", file, "file holding the value ('-' = stdin)")->required();
  if (auto rc = cli::parse_args(app, std::move(args))) return *rc;
  std::vector<std::uint8_t> value;
  if (file == "-") {
    char buf[4096];
    ssize_t n;
    while ((n = read(0, buf, sizeof buf)) > 0) value.insert(value.end(), buf, buf + n);
  } else {
    value = read_file(file);
  }
  open_agent(c, a, name)->put_secret(secret, value);
  std::fill(value.begin(), value.end(), 0);
  if (!c.json) std::printf("secret %s delivered to %s\n", secret.c_str(), name.c_str());
  return 0;
}

// ---- up / down ----------------------------------------------------------

int cmd_up(std::vector<std::string> args) {
  CLI::App app("Start every enclave of a compose file in dependency order; wait until all are healthy.", "pipeline up");
  Common c;
  c.add(app);
  std::string file = "enclaves.yaml", out_dir = "out", rbuild = "rbuild";
  unsigned timeout = 300;
  app.add_option("-f,--file", file, "compose file")->capture_default_str();
  app.add_option("--timeout", timeout, "seconds to wait for health")->capture_default_str();
  app.add_option("-o,--output", out_dir, "rbuild output directory for spec: entries")->capture_default_str();
  app.add_option("--rbuild", rbuild, "the rbuild binary");
  if (auto rc = cli::parse_args(app, std::move(args))) return *rc;
  ComposeFile compose = load_compose(file);
  for (auto& e : compose.enclaves) {
    if (e.build_spec.empty()) continue;
    BuiltImage b = with_context(file + ":" + std::to_string(e.line) + ": " + e.spec.name, [&] {
      return build_spec(resolve_program(rbuild, "rbuild", "builder"), e.build_spec, e.build_lock, out_dir);
    });
    e.spec.image = fs::absolute(b.eif).string();
    if (e.spec.expected_pcrs.empty()) e.spec.expected_pcrs = b.measurements;
  }
  nlohmann::json body = compose_to_json(compose);
  body["timeout_ms"] = static_cast<std::uint64_t>(timeout) * 1000;
  auto r = c.client().call("POST", "/v1/compose/up", &body);
  if (c.json) print_json(r);
  else {
    for (const auto& n : r.at("started")) std::printf("started %s\n", n.get<std::string>().c_str());
    for (const auto& n : r.at("kept")) std::printf("running %s\n", n.get<std::string>().c_str());
    std::printf("project %s: %zu enclave(s) healthy\n", compose.project.c_str(), compose.enclaves.size());
  }
  return 0;
}

int cmd_down(std::vector<std::string> args) {
  CLI::App app("Stop and remove every enclave of a compose project, with its proxies and files.", "pipeline down");
  Common c;
  c.add(app);
  std::string file = "enclaves.yaml", project;
  app.add_option("-f,--file", file, "compose file (names the project)")->capture_default_str();
  app.add_option("--project", project, "project name instead of reading the file");
  if (auto rc = cli::parse_args(app, std::move(args))) return *rc;
  if (project.empty()) project = load_compose(file).project;
  nlohmann::json body = {{"project", project}};
  auto r = c.client().call("POST", "/v1/compose/down", &body);
  if (c.json) print_json(r);
  else for (const auto& n : r.at("removed")) std::printf("removed %s\n", n.get<std::string>().c_str());
  return 0;
}

int cmd_config(std::vector<std::string> args) {
  CLI::App app("Validate a compose file and print it resolved (start order, defaults).", "pipeline config");
  std::string file = "enclaves.yaml";
  app.add_option("-f,--file", file, "compose file")->capture_default_str();
  if (auto rc = cli::parse_args(app, std::move(args))) return *rc;
  print_json(compose_to_json(load_compose(file)));
  return 0;
}

int cmd_version(std::vector<std::string> args) {
  CLI::App app("Print pipeline's and enclaved's versions.", "pipeline version");
  Common c;
  c.add(app);
  if (auto rc = cli::parse_args(app, std::move(args))) return *rc;
  nlohmann::json j = {{"pipeline", EF_VERSION}};
  try {
    j["enclaved"] = c.client().call("GET", "/v1/version");
  } catch (const Error& e) {
    j["enclaved"] = {{"error", e.what()}};
  }
  print_json(j);
  return 0;
}

const cli::Command kCommands[] = {
    {"run", "run an enclave from IMAGE.eif or SPEC.yaml", cmd_run},
    {"ps", "list enclaves", cmd_ps},
    {"inspect", "print enclave records as JSON", cmd_inspect},
    {"stop", "stop enclaves", cmd_stop},
    {"rm", "remove enclaves", cmd_rm},
    {"logs", "console log, or a service's log through the agent", cmd_logs},
    {"events", "the event log (started, exited, restarted, health, …)", cmd_events},
    {"exec", "run a command in an enclave (attested channel)", cmd_exec},
    {"cp", "copy files into or out of an enclave (attested channel)", cmd_cp},
    {"attest", "verify and print an enclave's attestation", cmd_attest},
    {"secret", "secret put ENCLAVE NAME FILE: deliver a sealed secret", cmd_secret},
    {"up", "start a compose file's enclaves and wait until healthy", cmd_up},
    {"down", "remove a compose project's enclaves", cmd_down},
    {"config", "validate and print a compose file", cmd_config},
    {"version", "versions of pipeline and enclaved", cmd_version},
};

}  // namespace

int pipeline_main(int argc, char** argv) {
  return cli::dispatch("pipeline", "Run and manage enclaves through enclaved (docker-like).", kCommands, argc, argv);
}

}  // namespace ef::engine
