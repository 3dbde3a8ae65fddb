#include "engine/testing/fake_backend.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <nlohmann/json.hpp>
#include <thread>

#include "base/error.h"
#include "engine/proc.h"

namespace ef::engine {

UniqueFd connect_unix(const std::filesystem::path& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.native().size() >= sizeof addr.sun_path) throw Error("unix socket path too long: " + path.string());
  std::memcpy(addr.sun_path, path.c_str(), path.native().size());
  UniqueFd fd(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) throw_errno("create socket for", path.string());
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) throw_errno("connect to", path.string());
  return fd;
}

FakeBackend::FakeBackend(std::filesystem::path program, std::vector<std::uint32_t> ports)
    : program_(std::move(program)), ports_(std::move(ports)) {}

EnclaveHandle FakeBackend::launch(const LaunchRequest& r) {
  std::vector<std::string> argv = {program_.string(), "--dir", r.state_dir.string(), "--image", r.eif.string()};
  for (auto p : ports_) argv.push_back("--port=" + std::to_string(p));
  for (auto p : ports_) std::filesystem::remove(r.state_dir / ("vsock-" + std::to_string(p) + ".sock"));
  int pid = spawn_detached(argv, r.state_dir / "console.log");
  EnclaveHandle h;
  h.backend = "fake";
  h.id = "fake-" + std::to_string(pid);
  h.cid = r.cid ? *r.cid : next_cid_++;
  h.pid = pid;
  h.attach = nlohmann::json{{"dir", r.state_dir.string()}, {"start_time", process_start_time(pid)}}.dump();
  // Like QEMU, the enclave is "booting" on return; wait briefly for its sockets.
  for (int i = 0; i < 200 && !ports_.empty(); ++i) {
    if (std::filesystem::exists(r.state_dir / ("vsock-" + std::to_string(ports_.back()) + ".sock"))) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return h;
}

std::filesystem::path FakeBackend::dir_of(const EnclaveHandle& h) const {
  return nlohmann::json::parse(h.attach).at("dir").get<std::string>();
}

EnclaveStatus FakeBackend::status(const EnclaveHandle& h) {
  auto start = nlohmann::json::parse(h.attach).value("start_time", std::uint64_t{0});
  return process_alive(h.pid, start) ? EnclaveStatus::running : EnclaveStatus::exited;
}

void FakeBackend::terminate(const EnclaveHandle& h, std::chrono::milliseconds grace) {
  auto start = nlohmann::json::parse(h.attach).value("start_time", std::uint64_t{0});
  stop_process(h.pid, start, grace);
}

UniqueFd FakeBackend::connect(const EnclaveHandle& h, std::uint32_t port) {
  return connect_unix(dir_of(h) / ("vsock-" + std::to_string(port) + ".sock"));
}

std::string FakeBackend::connect_endpoint(const EnclaveHandle& h, std::uint32_t port) {
  if (!plain_endpoints) return "";
  return "unix:" + (dir_of(h) / ("vsock-" + std::to_string(port) + ".sock")).string();
}

std::string FakeBackend::host_listen_endpoint(const EnclaveHandle& h, std::uint32_t port) {
  return "unix:" + (dir_of(h) / ("parent-" + std::to_string(port) + ".sock")).string();
}

std::filesystem::path FakeBackend::console_log(const EnclaveHandle& h) { return dir_of(h) / "console.log"; }

}  // namespace ef::engine
