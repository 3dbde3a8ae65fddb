#include "engine/nitro/nitro_backend.h"

#include <linux/vm_sockets.h>
#include <sys/socket.h>

#include <algorithm>
#include <fstream>
#include <thread>

#include "base/error.h"
#include "base/json_integer.h"
#include "base/log.h"
#include "engine/init_control.h"
#include "engine/nitro/allocator.h"

namespace ef::engine::nitro {
namespace {

nlohmann::json parse_json(const std::string& text, const std::string& what) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded()) throw Error(what + ": nitro-cli printed no JSON: " + text.substr(0, 200));
  return j;
}

template <typename T>
T field(const nlohmann::json& j, const char* key, const std::string& what) {
  if (!j.is_object() || !j.contains(key)) throw Error(what + ": missing " + key);
  if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) return json_integer<T>(j.at(key), what + ": " + key);
  try {
    return j.at(key).get<T>();
  } catch (const nlohmann::json::exception&) {
    throw Error(what + ": " + key + " has the wrong type");
  }
}

}  // namespace

std::vector<DescribedEnclave> parse_describe(const std::string& text) {
  auto j = parse_json(text, "describe-enclaves");
  if (!j.is_array()) throw Error("describe-enclaves: expected a JSON array");
  std::vector<DescribedEnclave> out;
  for (std::size_t i = 0; i < j.size(); ++i) {
    std::string w = "describe-enclaves[" + std::to_string(i) + "]";
    const auto& e = j[i];
    DescribedEnclave d;
    d.name = e.is_object() && e.contains("EnclaveName") ? field<std::string>(e, "EnclaveName", w) : "";
    d.id = field<std::string>(e, "EnclaveID", w);
    d.state = field<std::string>(e, "State", w);
    d.cid = static_cast<std::uint32_t>(field<std::uint64_t>(e, "EnclaveCID", w));
    d.process_id = static_cast<int>(field<std::uint32_t>(e, "ProcessID", w));
    for (unsigned c : field<std::vector<unsigned>>(e, "CPUIDs", w)) d.cpu_ids.insert(c);
    d.memory_mib = field<std::uint64_t>(e, "MemoryMiB", w);
    out.push_back(std::move(d));
  }
  return out;
}

EnclaveHandle parse_run(const std::string& text) {
  auto j = parse_json(text, "run-enclave");
  const std::string w = "run-enclave";
  EnclaveHandle h;
  h.backend = "nitro";
  h.id = field<std::string>(j, "EnclaveID", w);
  h.cid = static_cast<std::uint32_t>(field<std::uint64_t>(j, "EnclaveCID", w));
  h.pid = static_cast<int>(field<std::uint32_t>(j, "ProcessID", w));
  h.attach = nlohmann::json{{"enclave_name", field<std::string>(j, "EnclaveName", w)},
                            {"cpu_ids", field<std::vector<unsigned>>(j, "CPUIDs", w)},
                            {"memory_mib", field<std::uint64_t>(j, "MemoryMiB", w)}}
                 .dump();
  return h;
}

NitroBackend::NitroBackend(std::unique_ptr<CommandRunner> runner, std::string nitro_cli, std::filesystem::path root,
                           NitroOptions options)
    : runner_(std::move(runner)), cli_(std::move(nitro_cli)), root_(std::move(root)), options_(std::move(options)) {}

nlohmann::json NitroBackend::run_json(const std::vector<std::string>& args, const std::string& what) {
  std::vector<std::string> argv = {cli_};
  argv.insert(argv.end(), args.begin(), args.end());
  CommandResult r = runner_->run(argv);
  if (r.exit_code != 0) {
    std::string err = r.err.empty() ? r.out : r.err;
    while (!err.empty() && err.back() == '\n') err.pop_back();
    throw Error("nitro-cli " + what + " failed (exit " + std::to_string(r.exit_code) + "): " + err.substr(0, 800));
  }
  return parse_json(r.out, what);
}

std::vector<DescribedEnclave> NitroBackend::describe() {
  return parse_describe(run_json({"describe-enclaves"}, "describe-enclaves").dump());
}

EnclaveHandle NitroBackend::launch(const LaunchRequest& r) {
  std::set<unsigned> used;
  for (const auto& e : describe()) {
    if (e.name == r.name) throw Error("a Nitro enclave named " + r.name + " already runs (" + e.id + ")");
    if (r.cid && e.cid == *r.cid) throw Error("CID " + std::to_string(*r.cid) + " is taken by enclave " + e.id);
    used.insert(e.cpu_ids.begin(), e.cpu_ids.end());
  }
  std::optional<AllocatorConfig> config;
  if (std::filesystem::exists(root_ / "etc/nitro_enclaves/allocator.yaml")) config = read_allocator_config(root_);
  std::ifstream smt_file(root_ / "sys/devices/system/cpu/smt/active");
  std::string smt;
  smt_file >> smt;
  check_fits(read_host_resources(root_), config, r.cpus, r.memory_mib, used, smt == "1");
  std::vector<std::string> args = {"run-enclave", "--eif-path", r.eif.string(), "--cpu-count", std::to_string(r.cpus),
                                   "--memory", std::to_string(r.memory_mib)};
  if (r.cid) {
    args.push_back("--enclave-cid");
    args.push_back(std::to_string(*r.cid));
  }
  if (r.debug_mode) args.push_back("--debug-mode");
  args.push_back("--enclave-name");
  args.push_back(r.name);
  return parse_run(run_json(args, "run-enclave").dump());
}

EnclaveStatus NitroBackend::status(const EnclaveHandle& h) {
  for (const auto& e : describe())
    if (e.id == h.id) return e.state == "RUNNING" ? EnclaveStatus::running : EnclaveStatus::exited;
  return EnclaveStatus::exited;
}

void NitroBackend::terminate(const EnclaveHandle& h, std::chrono::milliseconds grace) {
  if (status(h) == EnclaveStatus::exited) return;
  bool asked = false;
  if (options_.init_control_port && grace.count() > 0) {
    try {
      asked = ask_init_to_shut_down(connect(h, options_.init_control_port),
                                    std::min<std::chrono::milliseconds>(grace, std::chrono::seconds(2)));
    } catch (const Error& e) {
      log::info("init control port unavailable; terminating at once", {{"enclave", h.id}, {"error", e.what()}});
    }
  }
  if (asked) {
    const auto end = std::chrono::steady_clock::now() + grace;
    while (std::chrono::steady_clock::now() < end) {
      std::this_thread::sleep_for(options_.poll_interval);
      if (status(h) == EnclaveStatus::exited) return;
    }
    log::warn("enclave did not power off in time; terminating it",
              {{"enclave", h.id}, {"grace_ms", std::to_string(grace.count())}});
  }
  nlohmann::json j;
  try {
    j = run_json({"terminate-enclave", "--enclave-id", h.id}, "terminate-enclave");
  } catch (const Error&) {
    // It may have powered off between the last describe and this call.
    if (status(h) == EnclaveStatus::exited) return;
    throw;
  }
  if (!field<bool>(j, "Terminated", "terminate-enclave"))
    throw Error("nitro-cli terminate-enclave: enclave " + h.id + " reports Terminated: false");
}

UniqueFd NitroBackend::connect(const EnclaveHandle& h, std::uint32_t port) {
  if (options_.dial) return options_.dial(h.cid, port);
  UniqueFd fd(socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) throw_errno("create vsock socket for enclave", h.id);
  sockaddr_vm addr{};
  addr.svm_family = AF_VSOCK;
  addr.svm_cid = h.cid;
  addr.svm_port = port;
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
    throw_errno("connect to vsock", std::to_string(h.cid) + ":" + std::to_string(port));
  return fd;
}

std::string NitroBackend::host_listen_endpoint(const EnclaveHandle&, std::uint32_t port) {
  return "vsock:any:" + std::to_string(port);
}

std::filesystem::path NitroBackend::console_log(const EnclaveHandle&) { return {}; }

std::string NitroBackend::connect_endpoint(const EnclaveHandle& h, std::uint32_t port) {
  return "vsock:" + std::to_string(h.cid) + ":" + std::to_string(port);
}

}  // namespace ef::engine::nitro
