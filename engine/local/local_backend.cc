#include "engine/local/local_backend.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <linux/vm_sockets.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <regex>
#include <thread>

#include "base/atomic_file.h"
#include "base/error.h"
#include "base/file.h"
#include "base/hash.h"
#include "base/log.h"
#include "builder/eif_reader.h"
#include "engine/init_control.h"
#include "engine/local/process.h"
#include "engine/local/qmp.h"

namespace ef::engine::local {
namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

constexpr std::uint32_t kFirstCid = 16;
constexpr std::uint32_t kLastCid = 0xfffffffe;

bool valid_name(const std::string& n) {
  static const std::regex re("[a-z0-9][a-z0-9_.-]*");
  return !n.empty() && n.size() <= 64 && std::regex_match(n, re);
}

std::string tail_of(const fs::path& p, std::size_t bytes = 2000) {
  std::ifstream f(p);
  std::string s((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  return s.size() > bytes ? s.substr(s.size() - bytes) : s;
}

void copy_section(const eif::EifImage& image, const eif::Section& s, int fd, const fs::path& out) {
  image.copy_section(s, fd, out.string());
}

/// write_all for sockets without SIGPIPE (the caller may not ignore it).
void send_all(int fd, std::string_view data, const std::string& what) {
  while (!data.empty()) {
    ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw_errno("send", what);
    data.remove_prefix(static_cast<std::size_t>(n));
  }
}

bool wait_until(std::chrono::milliseconds limit, const std::function<bool()>& done) {
  auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    if (done()) return true;
    std::this_thread::sleep_for(50ms);
  }
  return done();
}

void kill_if_ours(int pid, std::uint64_t start, const std::string& marker, int sig) {
  if (pid > 0 && process_matches(pid, start, marker)) ::kill(pid, sig);
}

}  // namespace

nlohmann::json LocalAttach::to_json() const {
  return {{"transport", transport},   {"state_dir", state_dir.string()}, {"uds", uds.string()},
          {"qmp", qmp.string()},      {"console", console.string()},     {"qemu_pid", qemu_pid},
          {"qemu_start", qemu_start}, {"bridge_pid", bridge_pid},        {"bridge_start", bridge_start},
          {"cid", cid},               {"pcr0", pcr0},                    {"pcr1", pcr1},
          {"pcr2", pcr2}};
}

LocalAttach LocalAttach::parse(const std::string& text) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_object()) throw Error("local attach JSON: not a JSON object");
  auto str = [&](const char* k) {
    if (!j.contains(k) || !j[k].is_string()) throw Error(std::string("local attach JSON: key '") + k + "' missing or not a string");
    return j[k].get<std::string>();
  };
  auto num = [&](const char* k) {
    if (!j.contains(k) || !j[k].is_number_unsigned())
      throw Error(std::string("local attach JSON: key '") + k + "' missing or not a number");
    return j[k].get<std::uint64_t>();
  };
  LocalAttach a;
  a.transport = str("transport");
  if (a.transport != "bridge" && a.transport != "vhost-vsock")
    throw Error("local attach JSON: transport '" + a.transport + "' is neither bridge nor vhost-vsock");
  a.state_dir = str("state_dir");
  a.uds = str("uds");
  a.qmp = str("qmp");
  a.console = str("console");
  a.qemu_pid = static_cast<int>(num("qemu_pid"));
  a.qemu_start = num("qemu_start");
  a.bridge_pid = static_cast<int>(num("bridge_pid"));
  a.bridge_start = num("bridge_start");
  a.cid = static_cast<std::uint32_t>(num("cid"));
  a.pcr0 = str("pcr0");
  a.pcr1 = str("pcr1");
  a.pcr2 = str("pcr2");
  return a;
}

LocalBackend::LocalBackend(LocalOptions options) : options_(std::move(options)) {}

fs::path LocalBackend::bridge_binary() const {
  if (!options_.bridge.empty()) return options_.bridge;
  std::error_code ec;
  fs::path self = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    for (fs::path cand : {self.parent_path() / "ef-vsock-bridge", self.parent_path() / "local" / "ef-vsock-bridge",
                          self.parent_path().parent_path() / "engine" / "local" / "ef-vsock-bridge"})
      if (::access(cand.c_str(), X_OK) == 0) return cand;
  }
  return "ef-vsock-bridge";
}

std::uint32_t LocalBackend::allocate_cid(std::optional<std::uint32_t> wanted, const fs::path& state_dir) {
  fs::create_directories(options_.registry);
  ::chmod(options_.registry.c_str(), 01777);
  // Drop entries of enclaves that no longer run.
  for (const auto& e : fs::directory_iterator(options_.registry)) {
    if (e.path().extension() != ".json") continue;
    nlohmann::json j = nlohmann::json::parse(tail_of(e.path(), 1 << 16), nullptr, false);
    bool alive = false;
    if (j.is_object() && j.contains("qemu_pid") && j["qemu_pid"].get<int>() == 0) {
      // Being launched: trust it for a minute.
      alive = fs::last_write_time(e.path()) > fs::file_time_type::clock::now() - 60s;
    } else if (j.is_object() && j.contains("qemu_pid") && j.contains("qemu_start")) {
      alive = process_matches(j["qemu_pid"].get<int>(), j["qemu_start"].get<std::uint64_t>(), "ef-local");
    }
    if (!alive) fs::remove(e.path());
  }
  auto claim = [&](std::uint32_t cid) {
    fs::path f = options_.registry / (std::to_string(cid) + ".json");
    int fd = ::open(f.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) return false;
    UniqueFd owned(fd);
    write_all(fd, nlohmann::json{{"state_dir", state_dir.string()}, {"qemu_pid", 0}}.dump(), f.string());
    return true;
  };
  if (wanted) {
    if (*wanted < 3 || *wanted > kLastCid) throw Error("CID " + std::to_string(*wanted) + " is not in 3..4294967294");
    if (!claim(*wanted))
      throw Error("CID " + std::to_string(*wanted) + " is taken by another local enclave (" +
                  (options_.registry / (std::to_string(*wanted) + ".json")).string() + ")");
    return *wanted;
  }
  for (std::uint32_t cid = kFirstCid; cid < kFirstCid + 4096; ++cid)
    if (claim(cid)) return cid;
  throw Error("no free CID among 16..4111 in " + options_.registry.string());
}

EnclaveHandle LocalBackend::launch(const LaunchRequest& rq) {
  if (!valid_name(rq.name)) throw Error("enclave name '" + rq.name + "' is not [a-z0-9][a-z0-9_.-]* (64 at most)");
  if (rq.cpus == 0) throw Error("cpus must be at least 1");
  if (rq.memory_mib < 64) throw Error("memory " + std::to_string(rq.memory_mib) + " MiB is below 64 MiB");
  fs::path dir = fs::absolute(rq.state_dir);
  fs::create_directories(dir);
  ::chmod(dir.c_str(), 0700);
  LocalAttach a;
  a.state_dir = dir;
  a.uds = dir / "vsock.sock";
  a.qmp = dir / "qmp.sock";
  a.console = dir / "console.log";
  if ((a.uds.string() + "_4294967295").size() >= sizeof(sockaddr_un::sun_path))
    throw Error("state dir " + dir.string() + " is too long for its unix sockets (" +
                std::to_string(sizeof(sockaddr_un::sun_path) - 1 - std::string("/vsock.sock_4294967295").size()) +
                " bytes at most)");

  // The image: sections out of the EIF, and its PCRs as Nitro measures them.
  eif::EifImage image = with_context("local launch: " + rq.eif.string(), [&] {
    eif::EifImage im = eif::EifImage::open(rq.eif);
    im.check_crc();
    return im;
  });
  eif::Measurements m = image.measure();
  a.pcr0 = to_hex(m.pcr0);
  a.pcr1 = to_hex(m.pcr1);
  a.pcr2 = to_hex(m.pcr2);
  std::string cmdline;
  AtomicFile kernel(dir / "kernel", 0600), initrd(dir / "initrd", 0600);
  for (const eif::Section& s : image.sections()) {
    if (s.type == eif::SectionType::kKernel) copy_section(image, s, kernel.fd(), dir / "kernel");
    if (s.type == eif::SectionType::kRamdisk) copy_section(image, s, initrd.fd(), dir / "initrd");
    if (s.type == eif::SectionType::kCmdline) {
      Bytes b = image.read_section(s, 1 << 16);
      cmdline.assign(b.begin(), b.end());
    }
  }
  kernel.commit();
  initrd.commit();

  bool auto_kvm = !options_.kvm.has_value();
  bool kvm = options_.kvm.value_or(kvm_usable());
  bool vhost = options_.transport == LocalOptions::Transport::vhost_vsock ||
               (options_.transport == LocalOptions::Transport::automatic && kvm && vhost_vsock_usable());
  if (vhost && !vhost_vsock_usable()) throw Error("vhost-vsock requested but /dev/vhost-vsock cannot be opened");
  a.cid = allocate_cid(rq.cid, dir);
  fs::path registry_entry = options_.registry / (std::to_string(a.cid) + ".json");
  try {
    try {
      start(rq, a, cmdline, kvm, vhost);
    } catch (const Error& e) {
      // /dev/kvm may open and still not run guests (nested setups): TCG then.
      if (!kvm || !auto_kvm) throw;
      log::warn("QEMU with KVM failed; retrying with TCG", {{"error", e.what()}});
      start(rq, a, cmdline, false, options_.transport == LocalOptions::Transport::vhost_vsock);
    }
    write_file_atomic(registry_entry, nlohmann::json{{"state_dir", dir.string()},
                                                     {"qemu_pid", a.qemu_pid},
                                                     {"qemu_start", a.qemu_start}}.dump());
  } catch (...) {
    fs::remove(registry_entry);
    throw;
  }
  std::string attach = a.to_json().dump();
  write_file_atomic(dir / "attach.json", attach, 0600);
  return EnclaveHandle{"local", "qemu-" + std::to_string(a.qemu_pid), a.cid, a.qemu_pid, attach};
}

void LocalBackend::start(const LaunchRequest& rq, LocalAttach& a, const std::string& cmdline, bool kvm, bool vhost) {
  const fs::path& dir = a.state_dir;
  a.transport = vhost ? "vhost-vsock" : "bridge";
  a.qemu_pid = a.bridge_pid = 0;
  a.qemu_start = a.bridge_start = 0;
  try {
    QemuConfig q;
    q.qemu = options_.qemu;
    q.accel = kvm ? Accel::kvm : Accel::tcg;
    q.transport = vhost ? VsockTransport::vhost_vsock : VsockTransport::bridge;
    q.kernel = dir / "kernel";
    q.initrd = dir / "initrd";
    q.cmdline = local_cmdline(cmdline, a.pcr0, a.pcr1, a.pcr2, q.accel, kvm ? 0 : measure_tsc_khz(),
                              options_.extra_cmdline);
    q.memory_mib = rq.memory_mib;
    q.cpus = rq.cpus;
    q.cid = a.cid;
    q.vhost_user_socket = dir / "vhost-user.sock";
    q.console_log = a.console;
    q.qmp_socket = a.qmp;
    q.pid_file = dir / "qemu.pid";
    fs::remove(a.console);
    fs::remove(a.qmp);
    if (!vhost) {
      int p[2];
      if (::pipe2(p, O_CLOEXEC) != 0) throw_errno("pipe2", "bridge ready pipe");
      UniqueFd rd(p[0]), wr(p[1]);
      std::vector<std::string> argv = {bridge_binary().string(), "--vhost-user", q.vhost_user_socket.string(),
                                       "--uds", a.uds.string(), "--guest-cid", std::to_string(a.cid),
                                       "--ready-fd", std::to_string(wr.get())};
      Spawned b = spawn_detached(argv, dir / "bridge.log", wr.get());
      a.bridge_pid = b.pid;
      a.bridge_start = b.start_time;
      wr.reset();
      pollfd pfd{rd.get(), POLLIN, 0};
      char buf[8] = {};
      if (::poll(&pfd, 1, static_cast<int>(options_.start_timeout.count())) != 1 || ::read(rd.get(), buf, 6) != 6)
        throw Error("ef-vsock-bridge did not get ready: " + tail_of(dir / "bridge.log"));
    }
    std::vector<std::string> argv = qemu_argv(q);
    log::info("starting QEMU", {{"name", rq.name}, {"accel", kvm ? "kvm" : "tcg"}, {"transport", a.transport},
                                {"cid", std::to_string(a.cid)}, {"state_dir", dir.string()}});
    fs::remove(dir / "qemu.log");
    // A QEMU that fails at once (bad argument, no KVM) may be gone before
    // spawn_detached reads its start time: either way, show QEMU's own words.
    Spawned qemu{};
    try {
      qemu = spawn_detached(argv, dir / "qemu.log");
    } catch (const Error& e) {
      throw Error(std::string("QEMU did not start (") + e.what() + "): " + tail_of(dir / "qemu.log"));
    }
    a.qemu_pid = qemu.pid;
    a.qemu_start = qemu.start_time;
    // Up when QMP answers (the vhost-user device is realized by then).
    bool up = wait_until(options_.start_timeout, [&] {
      if (!process_start_time(a.qemu_pid)) return true;
      try {
        QmpClient(a.qmp, 2000).execute("query-status");
        return true;
      } catch (const Error&) {
        return false;
      }
    });
    if (!up || !process_start_time(a.qemu_pid)) throw Error("QEMU did not start: " + tail_of(dir / "qemu.log"));
  } catch (...) {
    kill_if_ours(a.qemu_pid, a.qemu_start, "ef-local", SIGKILL);
    kill_if_ours(a.bridge_pid, a.bridge_start, "ef-vsock-bridge", SIGKILL);
    throw;
  }
}

EnclaveStatus LocalBackend::status(const EnclaveHandle& h) {
  LocalAttach a = LocalAttach::parse(h.attach);
  return process_matches(a.qemu_pid, a.qemu_start, "ef-local") ? EnclaveStatus::running : EnclaveStatus::exited;
}

void LocalBackend::terminate(const EnclaveHandle& h, std::chrono::milliseconds grace) {
  LocalAttach a = LocalAttach::parse(h.attach);
  auto qemu_alive = [&] { return process_matches(a.qemu_pid, a.qemu_start, "ef-local"); };
  if (qemu_alive()) {
    // Orderly: ask the image's init to stop its services and power off (its
    // control port accepts the parent, CID 3, which the bridge presents);
    // else the ACPI power button, for images whose init handles it.
    bool asked = false;
    if (options_.init_control_port) {
      try {
        asked = ask_init_to_shut_down(connect(h, options_.init_control_port), 2000ms);
      } catch (const Error& e) {
        log::info("init control port unavailable; using the ACPI power button", {{"error", e.what()}});
      }
    }
    if (!asked) {
      try {
        QmpClient(a.qmp, 2000).execute("system_powerdown");
      } catch (const Error& e) {
        log::warn("system_powerdown failed", {{"error", e.what()}});
      }
    }
    if (!wait_until(grace, [&] { return !qemu_alive(); })) {
      try {
        QmpClient(a.qmp, 2000).execute("quit");
      } catch (const Error&) {
      }
      if (!wait_until(2s, [&] { return !qemu_alive(); })) {
        kill_if_ours(a.qemu_pid, a.qemu_start, "ef-local", SIGKILL);
        wait_until(2s, [&] { return !qemu_alive(); });
      }
    }
  }
  // The bridge exits when QEMU hangs up; make sure.
  auto bridge_alive = [&] { return process_matches(a.bridge_pid, a.bridge_start, "ef-vsock-bridge"); };
  if (a.bridge_pid && !wait_until(2s, [&] { return !bridge_alive(); })) {
    kill_if_ours(a.bridge_pid, a.bridge_start, "ef-vsock-bridge", SIGKILL);
    wait_until(2s, [&] { return !bridge_alive(); });
  }
  std::error_code ec;
  for (const char* f : {"kernel", "initrd", "qmp.sock", "vhost-user.sock", "vsock.sock", "qemu.pid", "attach.json"})
    fs::remove(a.state_dir / f, ec);
  if (fs::is_directory(a.state_dir, ec))
    for (const auto& e : fs::directory_iterator(a.state_dir, ec))
      if (e.path().filename().string().rfind("vsock.sock_", 0) == 0 && e.is_socket()) fs::remove(e.path(), ec);
  fs::path entry = options_.registry / (std::to_string(a.cid) + ".json");
  nlohmann::json j = nlohmann::json::parse(tail_of(entry, 1 << 16), nullptr, false);
  if (j.is_object() && j.value("qemu_pid", 0) == a.qemu_pid) fs::remove(entry, ec);
}

UniqueFd connect_unix(const fs::path& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::string p = path.string();
  if (p.size() >= sizeof addr.sun_path) throw Error("unix socket path " + p + " is too long");
  std::memcpy(addr.sun_path, p.c_str(), p.size() + 1);
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) throw_errno("socket", p);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) throw_errno("connect", p);
  return fd;
}

void bridge_handshake(int fd, std::uint32_t port, int timeout_ms) {
  send_all(fd, "CONNECT " + std::to_string(port) + "\n", "vsock bridge");
  std::string line;
  auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (line.empty() || line.back() != '\n') {
    int left = static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                    end - std::chrono::steady_clock::now()).count());
    pollfd pfd{fd, POLLIN, 0};
    if (left <= 0 || ::poll(&pfd, 1, left) == 0)
      throw Error("vsock port " + std::to_string(port) + ": no answer from the enclave within " +
                  std::to_string(timeout_ms) + " ms");
    char c;
    ssize_t n = ::read(fd, &c, 1);  // byte by byte: nothing after the line may be consumed
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw_errno("read", "vsock bridge");
    if (n == 0)
      throw Error("vsock port " + std::to_string(port) + ": the enclave refused the connection (nothing listens there)");
    if (line.size() > 64) throw Error("vsock bridge: answer line too long");
    line += c;
  }
  if (line.rfind("OK ", 0) != 0) throw Error("vsock bridge: " + line.substr(0, line.size() - 1));
}

UniqueFd LocalBackend::connect(const EnclaveHandle& h, std::uint32_t port) {
  LocalAttach a = LocalAttach::parse(h.attach);
  if (a.transport == "vhost-vsock") {
    UniqueFd fd(::socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd) throw_errno("socket", "AF_VSOCK");
    sockaddr_vm addr{};
    addr.svm_family = AF_VSOCK;
    addr.svm_cid = a.cid;
    addr.svm_port = port;
    if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
      throw_errno("connect", "vsock " + std::to_string(a.cid) + ":" + std::to_string(port));
    return fd;
  }
  UniqueFd fd = with_context("enclave " + h.id, [&] { return connect_unix(a.uds); });
  with_context("enclave " + h.id, [&] { bridge_handshake(fd.get(), port, 10000); });
  return fd;
}

std::string LocalBackend::host_listen_endpoint(const EnclaveHandle& h, std::uint32_t port) {
  LocalAttach a = LocalAttach::parse(h.attach);
  if (a.transport == "vhost-vsock") return "vsock:any:" + std::to_string(port);
  return "unix:" + a.uds.string() + "_" + std::to_string(port);
}

std::string LocalBackend::connect_endpoint(const EnclaveHandle& h, std::uint32_t port) {
  LocalAttach a = LocalAttach::parse(h.attach);
  if (a.transport == "vhost-vsock") return "vsock:" + std::to_string(a.cid) + ":" + std::to_string(port);
  return "hvsock:" + a.uds.string() + ":" + std::to_string(port);
}

fs::path LocalBackend::console_log(const EnclaveHandle& h) { return LocalAttach::parse(h.attach).console; }

}  // namespace ef::engine::local
