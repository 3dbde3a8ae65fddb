// The VM boot sequence against a recording fake of the OS.
#include <catch2/catch.hpp>
#include <map>
#include <set>

#include "base/error.h"
#include "runtime/boot.h"
#include "runtime/init_app.h"
#include "runtime/nsm_entropy.h"

using namespace ef::init;

namespace {

class FakeOs final : public BootOps {
 public:
  std::map<std::string, std::string> files;
  std::vector<std::string> calls;
  std::set<std::string> fail_mounts;

  void mount(const std::string& source, const std::string& target, const std::string& type, unsigned long,
             const std::string&, bool) override {
    if (fail_mounts.count(target)) throw ef::SysError("mount " + type + " on", target, EPERM);
    calls.push_back("mount " + type + " " + source + " " + target);
  }
  void mkdir(const std::string& path, mode_t) override { calls.push_back("mkdir " + path); }
  void symlink(const std::string& target, const std::string& link) override {
    calls.push_back("symlink " + link + " -> " + target);
  }
  bool exists(const std::string& path) override {
    for (const auto& [name, content] : files)
      if (name == path || name.starts_with(path + "/")) return true;
    return false;
  }
  std::string read(const std::string& path) override {
    auto it = files.find(path);
    if (it == files.end()) throw ef::SysError("open", path, ENOENT);
    return it->second;
  }
  void unlink(const std::string& path) override {
    files.erase(path);
    calls.push_back("unlink " + path);
  }
  void load_module(const std::string& path) override { calls.push_back("load_module " + path); }
  void switch_root(const std::string& dir) override { calls.push_back("switch_root " + dir); }
  void set_hostname(const std::string& name) override { calls.push_back("hostname " + name); }
  void loopback_up() override { calls.push_back("lo up"); }
  void open_console() override { calls.push_back("console"); }

  std::size_t index(const std::string& call) const {
    auto it = std::find(calls.begin(), calls.end(), call);
    return it == calls.end() ? SIZE_MAX : static_cast<std::size_t>(it - calls.begin());
  }
};

}  // namespace

TEST_CASE("early boot follows the nitro-cli layout") {
  FakeOs os;
  os.files = {{"/nsm.ko", "module"},
              {"/cmd", "/bin/server\n--port\n8080\n"},
              {"/env", "A=1\nB=two=2\n"},
              {"/rootfs/bin/server", ""},
              {"/proc/cmdline", "console=ttyS0 ef.local\n"}};
  std::string cmdline;
  NitroLayout layout = early_boot(os, cmdline);
  CHECK(layout.has_rootfs);
  CHECK(layout.cmd == std::vector<std::string>{"/bin/server", "--port", "8080"});
  CHECK(layout.env == std::vector<std::string>{"A=1", "B=two=2"});
  CHECK(parse_cmdline(cmdline).local);
  // /dev before the console, /proc before reading the command line, nsm.ko loaded then removed.
  CHECK(os.index("mount devtmpfs dev /dev") < os.index("console"));
  CHECK(os.index("mount proc proc /proc") < os.index("load_module /nsm.ko"));
  CHECK(os.index("load_module /nsm.ko") < os.index("unlink /nsm.ko"));
  CHECK(os.index("unlink /cmd") != SIZE_MAX);
  CHECK(os.index("unlink /env") != SIZE_MAX);

  InitConfig cfg = config_from_cmd(layout);
  REQUIRE(cfg.services.size() == 1);
  const ServiceSpec& s = cfg.services[0];
  CHECK(s.name == "main");
  CHECK(s.exec == "/bin/server");
  CHECK(s.args == std::vector<std::string>{"--port", "8080"});
  CHECK(s.env == std::vector<std::pair<std::string, std::string>>{{"A", "1"}, {"B", "two=2"}});
  CHECK(s.restart == RestartPolicy::kNo);
  CHECK(s.critical);
}

TEST_CASE("early boot without nsm.ko or rootfs") {
  FakeOs os;
  std::string cmdline;
  NitroLayout layout = early_boot(os, cmdline);
  CHECK_FALSE(layout.has_rootfs);
  CHECK(layout.cmd.empty());
  CHECK(os.index("load_module /nsm.ko") == SIZE_MAX);
  CHECK(config_from_cmd(layout).services.empty());
}

TEST_CASE("entering the root mounts the filesystems inside it; optional failures are tolerated") {
  FakeOs os;
  os.files = {{"/proc/cgroups", "#subsys_name\thierarchy\tnum_cgroups\tenabled\ncpu\t0\t1\t1\nmemory\t0\t1\t0\n"}};
  os.fail_mounts = {"/dev/pts"};
  NitroLayout layout;
  layout.has_rootfs = true;
  enter_root(os, layout);
  CHECK(os.index("switch_root /rootfs") < os.index("mount devtmpfs dev /dev"));
  for (const char* c : {"mount proc proc /proc", "mount tmpfs tmpfs /run", "mount tmpfs tmpfs /tmp",
                        "mount tmpfs shm /dev/shm", "mount sysfs sysfs /sys", "mount tmpfs cgroup_root /sys/fs/cgroup",
                        "mount cgroup cpu /sys/fs/cgroup/cpu", "symlink /dev/fd -> /proc/self/fd"})
    CHECK(os.index(c) != SIZE_MAX);
  CHECK(os.index("mount cgroup memory /sys/fs/cgroup/memory") == SIZE_MAX);  // disabled controller
  CHECK(os.index("mount devpts devpts /dev/pts") == SIZE_MAX);
  bring_up_network(os, "enclave");
  CHECK(os.index("hostname enclave") < os.index("lo up"));
}

TEST_CASE("kernel command line flags and nitro-cli line files") {
  CHECK_FALSE(parse_cmdline("console=ttyS0").local);
  CHECK(parse_cmdline("a ef.local=1 b").local);
  CHECK_FALSE(parse_cmdline("ef.localx").local);
  CHECK(parse_cmdline("ef.heartbeat=off").heartbeat == false);
  CHECK(parse_cmdline("ef.heartbeat=on").heartbeat == true);
  CHECK_FALSE(parse_cmdline("").heartbeat.has_value());
  CHECK(split_lines("a\nb\n") == std::vector<std::string>{"a", "b"});
  CHECK(split_lines("a\n\nb") == std::vector<std::string>{"a", "", "b"});
  CHECK(split_lines("").empty());
}

TEST_CASE("NSM GetRandom: request encoding and response parsing") {
  // RFC 8949: text string of length 9 is head 0x69.
  auto req = ef::init::nsm_get_random_request();
  CHECK(req == std::vector<std::uint8_t>{0x69, 'G', 'e', 't', 'R', 'a', 'n', 'd', 'o', 'm'});
  // {"GetRandom": {"random": h'0102...'}} built by hand: map(1) text(9) map(1) text(6) bytes(4).
  std::vector<std::uint8_t> resp = {0xA1, 0x69, 'G', 'e', 't', 'R', 'a', 'n', 'd', 'o', 'm', 0xA1,
                                    0x66, 'r',  'a', 'n', 'd', 'o', 'm', 0x44, 1,   2,   3,   4};
  auto random = ef::init::parse_get_random_response(resp);
  REQUIRE(random);
  CHECK(*random == std::vector<std::uint8_t>{1, 2, 3, 4});
  // 256 bytes use a two-byte length head (0x59 0x01 0x00).
  std::vector<std::uint8_t> big(resp.begin(), resp.begin() + 19);
  big.insert(big.end(), {0x59, 0x01, 0x00});
  big.insert(big.end(), 256, 0xAB);
  CHECK(ef::init::parse_get_random_response(big)->size() == 256);
  resp.pop_back();  // truncated
  CHECK_FALSE(ef::init::parse_get_random_response(resp));
  // An error response: {"Error": "InvalidOperation"}.
  std::vector<std::uint8_t> err = {0xA1, 0x65, 'E', 'r', 'r', 'o', 'r', 0x70};
  for (char c : std::string("InvalidOperation")) err.push_back(static_cast<std::uint8_t>(c));
  CHECK_FALSE(ef::init::parse_get_random_response(err));
  CHECK_FALSE(ef::init::parse_get_random_response({}));
}

TEST_CASE("init arguments: mode defaults, options, and kernel leftovers") {
  std::vector<std::string> w;
  CHECK(ef::init::parse_init_args({}, true, w).mode == ef::init::Mode::kVm);
  CHECK(ef::init::parse_init_args({}, false, w).mode == ef::init::Mode::kNamespace);
  auto o = ef::init::parse_init_args({"--mode", "namespace", "--config=/x.yaml", "--socket", "/s", "--vsock-port", "0"},
                                     true, w);
  CHECK(o.mode == ef::init::Mode::kNamespace);
  CHECK(o.config_path == "/x.yaml");
  CHECK(o.socket == "/s");
  CHECK(o.vsock_port == 0u);
  CHECK(w.empty());
  o = ef::init::parse_init_args({"nomodules", "--frob", "--mode", "weird", "--config"}, true, w);
  CHECK(o.mode == ef::init::Mode::kVm);
  CHECK(o.config_path == "/etc/init.yaml");
  CHECK(w == std::vector<std::string>{"ignoring unknown option '--frob'", "unknown mode 'weird' (vm or namespace)",
                                      "--config needs a value"});
}

TEST_CASE("init arguments: --help, --version, an explicit mode, and who may run without PID 1") {
  std::vector<std::string> w;
  auto o = ef::init::parse_init_args({"--help"}, false, w);
  CHECK(o.help);
  CHECK(ef::init::parse_init_args({"--version"}, false, w).version);
  CHECK(ef::init::parse_init_args({"-h"}, true, w).help);
  CHECK(w.empty());
  CHECK_FALSE(o.mode_given);
  CHECK(ef::init::init_usage().find("init --mode namespace --config FILE") != std::string::npos);

  // Not PID 1: only an explicit namespace mode runs.
  auto why = ef::init::refusal(o, false, 4242);
  REQUIRE(why);
  CHECK(why->find("this is PID 4242") != std::string::npos);
  CHECK(why->find("init --mode namespace --config FILE") != std::string::npos);
  auto vm = ef::init::parse_init_args({"--mode", "vm"}, false, w);
  CHECK(vm.mode_given);
  REQUIRE(ef::init::refusal(vm, false, 7));
  CHECK(ef::init::refusal(vm, false, 7)->starts_with("vm mode runs only as PID 1 of a VM, and this is PID 7"));
  CHECK_FALSE(ef::init::refusal(ef::init::parse_init_args({"--mode=namespace"}, false, w), false, 7));
  // PID 1 runs whatever the words (the kernel's leftovers).
  CHECK_FALSE(ef::init::refusal(ef::init::parse_init_args({"nomodules"}, true, w), true, 1));
  CHECK_FALSE(ef::init::refusal(vm, true, 1));
}
