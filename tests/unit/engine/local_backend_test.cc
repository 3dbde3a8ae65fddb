// The local backend's decisions without QEMU: the QEMU argv, the booted
// command line, the attach JSON, process identity and the bridge handshake.
#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <thread>

#include "base/error.h"
#include "engine/local/local_backend.h"
#include "engine/local/process.h"
#include "engine/local/qemu_argv.h"

using namespace ef;
using namespace ef::engine;
using namespace ef::engine::local;

namespace {
bool has_pair(const std::vector<std::string>& a, const std::string& k, const std::string& v) {
  for (std::size_t i = 0; i + 1 < a.size(); ++i)
    if (a[i] == k && a[i + 1] == v) return true;
  return false;
}
}  // namespace

TEST_CASE("qemu argv: TCG + bridge (this machine)") {
  QemuConfig c;
  c.kernel = "/s/kernel";
  c.initrd = "/s/initrd";
  c.cmdline = "console=ttyS0 pci=off ef.local";
  c.memory_mib = 768;
  c.cpus = 3;
  c.vhost_user_socket = "/s/vhost-user.sock";
  c.console_log = "/s/console.log";
  c.qmp_socket = "/s/qmp.sock";
  c.pid_file = "/s/qemu.pid";
  auto a = qemu_argv(c);
  CHECK(a[0] == "qemu-system-x86_64");
  CHECK(has_pair(a, "-M", "microvm,x-option-roms=off,rtc=on,acpi=on"));
  CHECK(has_pair(a, "-accel", "tcg"));
  CHECK(has_pair(a, "-cpu", "max,+invtsc"));
  CHECK(has_pair(a, "-m", "768M"));
  CHECK(has_pair(a, "-smp", "3"));
  CHECK(has_pair(a, "-object", "memory-backend-memfd,id=mem,size=768M,share=on"));
  CHECK(has_pair(a, "-machine", "memory-backend=mem"));
  CHECK(has_pair(a, "-chardev", "socket,id=vsock,path=/s/vhost-user.sock"));
  CHECK(has_pair(a, "-device", "vhost-user-vsock-device,chardev=vsock"));
  CHECK(has_pair(a, "-append", "console=ttyS0 pci=off ef.local"));
  CHECK(has_pair(a, "-serial", "file:/s/console.log"));
  CHECK(has_pair(a, "-qmp", "unix:/s/qmp.sock,server=on,wait=off"));
  CHECK(has_pair(a, "-name", "ef-local"));  // how status() recognises our QEMU
}

TEST_CASE("qemu argv: KVM + vhost-vsock with a real CID (Nitro hosts, laptops)") {
  QemuConfig c;
  c.accel = Accel::kvm;
  c.transport = VsockTransport::vhost_vsock;
  c.cid = 21;
  auto a = qemu_argv(c);
  CHECK(has_pair(a, "-accel", "kvm"));
  CHECK(has_pair(a, "-cpu", "host"));
  CHECK(has_pair(a, "-device", "vhost-vsock-device,guest-cid=21"));
  CHECK(std::none_of(a.begin(), a.end(), [](const std::string& s) { return s.find("memfd") != std::string::npos; }));
}

TEST_CASE("booted command line: the EIF's, then the local-mode additions") {
  std::string p0(96, 'a'), p1(96, 'b'), p2(96, 'c');
  CHECK(local_cmdline("reboot=k pci=off console=ttyS0\n", p0, p1, p2, Accel::tcg, 2596165, "ef.heartbeat=on") ==
        "reboot=k pci=off console=ttyS0 ef.local ef.pcr0=" + p0 + " ef.pcr1=" + p1 + " ef.pcr2=" + p2 +
            " tsc_early_khz=2596165 tsc=reliable ef.heartbeat=on");
  CHECK(local_cmdline("x", p0, p1, p2, Accel::kvm, 2596165, "") ==
        "x ef.local ef.pcr0=" + p0 + " ef.pcr1=" + p1 + " ef.pcr2=" + p2);
  std::uint64_t khz = measure_tsc_khz();
  CHECK(khz > 100000);     // > 100 MHz
  CHECK(khz < 10000000);   // < 10 GHz
}

TEST_CASE("attach JSON round-trips and names what is wrong") {
  LocalAttach a;
  a.transport = "bridge";
  a.state_dir = "/s";
  a.uds = "/s/vsock.sock";
  a.qmp = "/s/qmp.sock";
  a.console = "/s/console.log";
  a.qemu_pid = 1234;
  a.qemu_start = 99;
  a.cid = 16;
  a.pcr0 = "00";
  LocalAttach b = LocalAttach::parse(a.to_json().dump());
  CHECK(b.uds == a.uds);
  CHECK(b.qemu_pid == 1234);
  CHECK(b.qemu_start == 99);
  CHECK(b.cid == 16);
  CHECK_THROWS_WITH(LocalAttach::parse("[]"), Catch::Contains("not a JSON object"));
  nlohmann::json j = a.to_json();
  j.erase("qmp");
  CHECK_THROWS_WITH(LocalAttach::parse(j.dump()), Catch::Contains("'qmp'"));
  j = a.to_json();
  j["transport"] = "serial";
  CHECK_THROWS_WITH(LocalAttach::parse(j.dump()), Catch::Contains("neither bridge nor vhost-vsock"));
  LocalBackend backend;
  EnclaveHandle h{"local", "qemu-1234", 16, 1234, a.to_json().dump()};
  CHECK(backend.host_listen_endpoint(h, 8002) == "unix:/s/vsock.sock_8002");
  CHECK(backend.console_log(h) == "/s/console.log");
}

TEST_CASE("process identity: pid AND start time AND command line") {
  auto me = process_start_time(::getpid());
  REQUIRE(me);
  CHECK(process_matches(::getpid(), *me, "engine_tests"));
  CHECK_FALSE(process_matches(::getpid(), *me + 1, "engine_tests"));  // a recycled pid
  CHECK_FALSE(process_matches(::getpid(), *me, "qemu-system"));
  CHECK_FALSE(process_start_time(0));
  auto s = spawn_detached({"sleep", "5"}, "/dev/null");
  // spawn_detached returns once exec has closed the child's CLOEXEC pipe; the
  // kernel sets the new command line a moment later (create_elf_tables runs
  // after the close), so under load /proc/PID/cmdline can still be empty.
  bool matched = false;
  for (int i = 0; i < 200 && !(matched = process_matches(s.pid, s.start_time, "sleep")); ++i) ::usleep(10000);
  CHECK(matched);
  ::kill(s.pid, SIGKILL);
  for (int i = 0; i < 100 && process_start_time(s.pid); ++i) ::usleep(20000);
  CHECK_FALSE(process_start_time(s.pid));  // reaped by init, not left a zombie of ours
  CHECK_THROWS_WITH(spawn_detached({"/nonexistent/qemu"}, "/dev/null"), Catch::Contains("exec /nonexistent/qemu"));
}

TEST_CASE("bridge handshake: OK, refusal and garbage") {
  int sv[2];
  REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
  UniqueFd a(sv[0]), b(sv[1]);
  std::thread t([&] {
    char buf[32] = {};
    (void)!::read(b.get(), buf, 13);
    (void)!::write(b.get(), "OK 1073741824\nDATA", 18);
  });
  CHECK_NOTHROW(bridge_handshake(a.get(), 8443, 2000));
  t.join();
  char rest[4];
  CHECK(::read(a.get(), rest, 4) == 4);  // bytes after the line are left for the caller
  CHECK(std::string(rest, 4) == "DATA");
  // The bridge reads the line and closes: nothing listens on that port in the guest.
  std::thread t2([&] {
    char buf[32] = {};
    (void)!::read(b.get(), buf, 13);
    b.reset();
  });
  CHECK_THROWS_WITH(bridge_handshake(a.get(), 8443, 2000), Catch::Contains("refused"));
  t2.join();
}

TEST_CASE("launch: the EIF's PCRs reach the command line; a QEMU that fails leaves nothing behind") {
  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() / ("ef-local-launch-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  // A stand-in QEMU: records its argv and fails.
  fs::path fake = dir / "fake-qemu";
  {
    std::ofstream f(fake);
    f << "#!/bin/sh\nfor a in \"$@\"; do printf '%s\\n' \"$a\"; done > " << (dir / "argv").string()
      << "\necho 'fake qemu: no' >&2\nexit 1\n";
  }
  fs::permissions(fake, fs::perms::owner_all);
  LocalOptions o;
  o.qemu = fake.string();
  o.bridge = EF_VSOCK_BRIDGE;
  o.kvm = false;
  o.registry = dir / "registry";
  o.start_timeout = std::chrono::milliseconds(5000);
  LocalBackend backend(o);
  LaunchRequest rq;
  rq.name = "t1";
  rq.eif = fs::path(EF_VECTORS_DIR) / "eif_selfgenerated/unsigned.eif";
  rq.state_dir = dir / "s";
  rq.memory_mib = 256;
  CHECK_THROWS_WITH(backend.launch(rq), Catch::Contains("QEMU did not start") && Catch::Contains("fake qemu: no"));
  std::ifstream in(dir / "argv");
  std::string argv((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  // Expected values from tests/vectors/eif_selfgenerated/expected.json (nitro-cli's Measurements).
  CHECK(argv.find("ef.local ef.pcr0=4881724a53b46ed85c99a87ffb6457737fff4f7429b0a40bfda89c5b1110a8f9f2c209306834ad01e3633ef748ed52a1"
                  " ef.pcr1=096afb025d8b00cf21a790a3bba44af374bb8d7f43dd15aec0fd74c77038d35f4acb8f9bd3540415e06231c9681d7121"
                  " ef.pcr2=fc904593767c62abaacb22f8982bf5daab0edd205ef9c44ad46cbd4670fa5d83d50ad345ab273f7ff6cdbaac104f8479") !=
        std::string::npos);
  CHECK(argv.find("vhost-user-vsock-device,chardev=vsock") != std::string::npos);
  CHECK(argv.find("256M") != std::string::npos);
  // The bridge it started is gone, and the CID is free again.
  for (int i = 0; i < 50; ++i) {
    bool any = false;
    for (const auto& e : fs::directory_iterator("/proc")) {
      std::ifstream c(e.path() / "cmdline");
      std::string s((std::istreambuf_iterator<char>(c)), std::istreambuf_iterator<char>());
      if (s.find("ef-vsock-bridge") != std::string::npos && s.find((dir / "s").string()) != std::string::npos &&
          process_start_time(std::atoi(e.path().filename().c_str())))
        any = true;
    }
    if (!any) break;
    ::usleep(50000);
    CHECK(i < 49);
  }
  CHECK(fs::is_empty(dir / "registry"));
  // Requests it refuses before starting anything.
  rq.name = "Bad Name";
  CHECK_THROWS_WITH(backend.launch(rq), Catch::Contains("is not [a-z0-9]"));
  rq.name = "t2";
  rq.state_dir = dir / std::string(100, 'x');
  CHECK_THROWS_WITH(backend.launch(rq), Catch::Contains("too long for its unix sockets"));
  fs::remove_all(dir);
}
