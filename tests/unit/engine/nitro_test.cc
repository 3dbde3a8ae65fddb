// The Nitro backend against a fake nitro-cli (exact argv, JSON shaped as
// nitro-cli 1.5's src/common/json_output.rs serialises it) and a fake /sys.
#include <catch2/catch.hpp>

#include <sys/socket.h>
#include <unistd.h>

#include <deque>
#include <fstream>
#include <thread>

#include "base/error.h"
#include "engine/nitro/allocator.h"
#include "engine/nitro/nitro_backend.h"
#include "helpers.h"

using namespace ef::engine;
using namespace ef::engine::nitro;

namespace {

struct FakeRunner : CommandRunner {
  std::vector<std::vector<std::string>>* calls;
  std::deque<CommandResult>* answers;
  CommandResult run(const std::vector<std::string>& argv) override {
    calls->push_back(argv);
    REQUIRE_FALSE(answers->empty());
    auto r = answers->front();
    answers->pop_front();
    return r;
  }
};

void put(const std::filesystem::path& p, const std::string& text) {
  std::filesystem::create_directories(p.parent_path());
  std::ofstream(p) << text;
}

/// A host with CPUs 2,3 in the pool (offline), 2 MiB pages: `free` of 512 free.
std::filesystem::path fake_host(unsigned free_2m, const std::string& pool = "2-3") {
  auto root = test::temp_dir("nitro");
  put(root / "sys/module/nitro_enclaves/parameters/ne_cpus", pool + "\n");
  for (unsigned c : parse_cpu_list(pool)) put(root / ("sys/devices/system/cpu/cpu" + std::to_string(c)) / "online", "0\n");
  put(root / "sys/devices/system/cpu/smt/active", "1\n");
  put(root / "sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages", "512\n");
  put(root / "sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages", std::to_string(free_2m) + "\n");
  put(root / "sys/kernel/mm/hugepages/hugepages-1048576kB/nr_hugepages", "0\n");
  put(root / "sys/kernel/mm/hugepages/hugepages-1048576kB/free_hugepages", "0\n");
  put(root / "etc/nitro_enclaves/allocator.yaml", "---\nmemory_mib: 1024\ncpu_count: 2\n");
  return root;
}

const char* kRun = R"({
  "EnclaveName": "web",
  "EnclaveID": "i-05f6ed443aEXAMPLE-enc173dfe3eEXAMPLE",
  "ProcessID": 7077,
  "EnclaveCID": 16,
  "NumberOfCPUs": 2,
  "CPUIDs": [2, 3],
  "MemoryMiB": 512
})";

const char* kDescribeRunning = R"([{
  "EnclaveName": "web",
  "EnclaveID": "i-05f6ed443aEXAMPLE-enc173dfe3eEXAMPLE",
  "ProcessID": 7077,
  "EnclaveCID": 16,
  "NumberOfCPUs": 2,
  "CPUIDs": [2, 3],
  "MemoryMiB": 512,
  "State": "RUNNING",
  "Flags": "NONE",
  "Measurements": {"HashAlgorithm": "Sha384 { ... }", "PCR0": "aa", "PCR1": "bb", "PCR2": "cc"}
}])";

}  // namespace

TEST_CASE("nitro-cli run/describe/terminate: exact argv and real JSON shapes") {
  auto root = fake_host(512);
  std::vector<std::vector<std::string>> calls;
  std::deque<CommandResult> answers = {{0, "[]", ""}, {0, kRun, ""}, {0, kDescribeRunning, ""}, {0, kDescribeRunning, ""},
                                       {0, R"({"EnclaveName":"web","EnclaveID":"i-05f6ed443aEXAMPLE-enc173dfe3eEXAMPLE","Terminated":true})", ""},
                                       {0, "[]", ""}};
  auto runner = std::make_unique<FakeRunner>();
  runner->calls = &calls;
  runner->answers = &answers;
  NitroOptions no_init;  // an image whose init control port does not answer: terminate at once
  no_init.dial = [](std::uint32_t, std::uint32_t) -> ef::UniqueFd { throw ef::Error("connection refused"); };
  NitroBackend b(std::move(runner), "/usr/bin/nitro-cli", root, no_init);
  LaunchRequest req;
  req.name = "web";
  req.eif = "/images/web.eif";
  req.cpus = 2;
  req.memory_mib = 512;
  req.cid = 16;
  req.debug_mode = true;
  auto h = b.launch(req);
  REQUIRE(calls.size() == 2);
  CHECK(calls[0] == std::vector<std::string>{"/usr/bin/nitro-cli", "describe-enclaves"});
  CHECK(calls[1] == std::vector<std::string>{"/usr/bin/nitro-cli", "run-enclave", "--eif-path", "/images/web.eif",
                                             "--cpu-count", "2", "--memory", "512", "--enclave-cid", "16",
                                             "--debug-mode", "--enclave-name", "web"});
  CHECK(h.backend == "nitro");
  CHECK(h.id == "i-05f6ed443aEXAMPLE-enc173dfe3eEXAMPLE");
  CHECK(h.cid == 16);
  CHECK(h.pid == 7077);
  CHECK(b.status(h) == EnclaveStatus::running);
  b.terminate(h, std::chrono::milliseconds(100));
  CHECK(calls[4] == std::vector<std::string>{"/usr/bin/nitro-cli", "terminate-enclave", "--enclave-id", h.id});
  CHECK(b.status(h) == EnclaveStatus::exited);
  CHECK(b.host_listen_endpoint(h, 8002) == "vsock:any:8002");
  CHECK(b.connect_endpoint(h, 443) == "vsock:16:443");
  std::filesystem::remove_all(root);
}

namespace {

/// nitro-cli whose describe-enclaves lists the enclave for the first
/// `running_describes` calls and then nothing (it has powered off).
struct PoweringOffRunner : CommandRunner {
  std::vector<std::vector<std::string>>* calls;
  int running_describes = 0;
  CommandResult run(const std::vector<std::string>& argv) override {
    calls->push_back(argv);
    if (argv.at(1) == "terminate-enclave")
      return {0, R"({"EnclaveName":"web","EnclaveID":"i-05f6ed443aEXAMPLE-enc173dfe3eEXAMPLE","Terminated":true})", ""};
    if (running_describes > 0) {
      --running_describes;
      return {0, kDescribeRunning, ""};
    }
    return {0, "[]", ""};
  }
};

/// An enclave's init control port: records what the host sent on it and
/// answers each line with `reply` (empty: closes without answering).
struct FakeInitPort {
  std::string received, reply;
  std::vector<std::thread> threads;
  std::vector<std::uint32_t> dialed;
  VsockDialer dialer() {
    return [this](std::uint32_t cid, std::uint32_t port) {
      dialed.push_back(cid);
      dialed.push_back(port);
      int sv[2];
      REQUIRE(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
      threads.emplace_back([this, fd = sv[1]] {
        char buf[256];
        ssize_t n = read(fd, buf, sizeof buf);
        if (n > 0) received.assign(buf, static_cast<std::size_t>(n));
        if (!reply.empty()) (void)!write(fd, reply.data(), reply.size());
        close(fd);
      });
      return ef::UniqueFd(sv[0]);
    };
  }
  ~FakeInitPort() {
    for (auto& t : threads) t.join();
  }
};

EnclaveHandle web_handle() { return parse_run(kRun); }

}  // namespace

TEST_CASE("nitro stop: init is asked to power off and the enclave is left to go") {
  std::vector<std::vector<std::string>> calls;
  FakeInitPort init;
  init.reply = "{\"ok\":true}\n";
  auto runner = std::make_unique<PoweringOffRunner>();
  runner->calls = &calls;
  runner->running_describes = 3;  // the terminate's own check, then two polls
  NitroOptions o;
  o.poll_interval = std::chrono::milliseconds(10);
  o.dial = init.dialer();
  NitroBackend b(std::move(runner), "nitro-cli", "/", o);
  b.terminate(web_handle(), std::chrono::seconds(5));
  CHECK(init.dialed == std::vector<std::uint32_t>{16, 9001});
  CHECK(init.received == "{\"cmd\":\"shutdown\"}\n");
  // describe ×4 (running, running, running, gone); never terminate-enclave.
  REQUIRE(calls.size() == 4);
  for (const auto& c : calls) CHECK(c == std::vector<std::string>{"nitro-cli", "describe-enclaves"});
}

TEST_CASE("nitro stop: an enclave still running after the grace is terminated") {
  std::vector<std::vector<std::string>> calls;
  FakeInitPort init;
  init.reply = "{\"ok\":true}\n";
  auto runner = std::make_unique<PoweringOffRunner>();
  runner->calls = &calls;
  runner->running_describes = 1000;
  NitroOptions o;
  o.poll_interval = std::chrono::milliseconds(20);
  o.dial = init.dialer();
  NitroBackend b(std::move(runner), "nitro-cli", "/", o);
  auto t0 = std::chrono::steady_clock::now();
  b.terminate(web_handle(), std::chrono::milliseconds(300));
  CHECK(std::chrono::steady_clock::now() - t0 >= std::chrono::milliseconds(300));
  REQUIRE(calls.size() >= 3);
  CHECK(calls.back() == std::vector<std::string>{"nitro-cli", "terminate-enclave", "--enclave-id",
                                                 "i-05f6ed443aEXAMPLE-enc173dfe3eEXAMPLE"});
}

TEST_CASE("nitro stop: init that refuses, or answers nothing, means terminate at once") {
  for (std::string reply : {std::string("{\"ok\":false,\"error\":\"the system is shutting down\"}\n"), std::string()}) {
    std::vector<std::vector<std::string>> calls;
    FakeInitPort init;
    init.reply = reply;
    auto runner = std::make_unique<PoweringOffRunner>();
    runner->calls = &calls;
    runner->running_describes = 1000;
    NitroOptions o;
    o.dial = init.dialer();
    NitroBackend b(std::move(runner), "nitro-cli", "/", o);
    b.terminate(web_handle(), std::chrono::seconds(30));
    REQUIRE(calls.size() == 2);  // describe, then terminate-enclave: no wait for a power-off nobody promised
    CHECK(calls[1].at(1) == "terminate-enclave");
    CHECK(init.received == "{\"cmd\":\"shutdown\"}\n");
  }
}

TEST_CASE("nitro-cli failures and malformed JSON are named") {
  auto root = fake_host(512);
  std::vector<std::vector<std::string>> calls;
  std::deque<CommandResult> answers = {{0, "[]", ""}, {1, "", "[ E26 ] Insufficient memory requested.\n"}, {0, "{", ""},
                                       {0, R"([{"EnclaveID": 5}])", ""}};
  auto runner = std::make_unique<FakeRunner>();
  runner->calls = &calls;
  runner->answers = &answers;
  NitroBackend b(std::move(runner), "nitro-cli", root);
  LaunchRequest req;
  req.name = "web";
  req.eif = "/x.eif";
  CHECK_THROWS_WITH(b.launch(req), Catch::Contains("run-enclave failed (exit 1): [ E26 ] Insufficient memory"));
  CHECK_THROWS_WITH(b.launch(req), Catch::Contains("printed no JSON"));
  CHECK_THROWS_WITH(b.launch(req), Catch::Contains("describe-enclaves[0]: EnclaveID has the wrong type"));
  std::filesystem::remove_all(root);
}

TEST_CASE("allocator checks name the missing cores and hugepages") {
  auto root = fake_host(100);  // 200 MiB free
  auto host = read_host_resources(root);
  CHECK(host.pool == std::set<unsigned>{2, 3});
  CHECK(host.free_mib() == 200);
  auto config = read_allocator_config(root);
  CHECK(config.memory_mib == 1024);
  CHECK(config.cpu_count == 2u);
  CHECK_THROWS_WITH(check_fits(host, config, 2, 512, {}, true),
                    Catch::Contains("needs 512 MiB of hugepages but 200 MiB are free") &&
                        Catch::Contains("hugepages-2048kB: 100 free of 512") && Catch::Contains("memory_mib: 1024"));
  CHECK_THROWS_WITH(check_fits(host, config, 2, 128, {2}, true),
                    Catch::Contains("needs 2 CPUs but the pool (ne_cpus = 2,3) has 1 free (3; in use by running enclaves: 2)"));
  CHECK_THROWS_WITH(check_fits(host, config, 3, 128, {}, true), Catch::Contains("even count"));
  CHECK_NOTHROW(check_fits(host, config, 2, 128, {}, true));
  put(root / "sys/devices/system/cpu/cpu3/online", "1\n");
  CHECK_THROWS_WITH(check_fits(read_host_resources(root), config, 2, 128, {}, true), Catch::Contains("CPUs 3 are in the enclave pool but still online"));
  std::filesystem::remove(root / "sys/module/nitro_enclaves/parameters/ne_cpus");
  CHECK_THROWS_WITH(read_host_resources(root), Catch::Contains("nitro_enclaves driver is not loaded"));
  put(root / "etc/nitro_enclaves/allocator.yaml", "memory_mib: 512\ncpu_count: 2\ncpu_pool: 2-3\n");
  CHECK_THROWS_WITH(read_allocator_config(root), Catch::Contains("allocator.yaml:1") && Catch::Contains("exactly one of cpu_count or cpu_pool"));
  put(root / "etc/nitro_enclaves/allocator.yaml", "memory_mib: 512\ncpu_pool: 2,x\n");
  CHECK_THROWS_WITH(read_allocator_config(root), Catch::Contains("allocator.yaml:2") && Catch::Contains("cpu_pool"));
  std::filesystem::remove_all(root);
}

TEST_CASE("CPU lists as the kernel and allocator.yaml write them") {
  CHECK(parse_cpu_list("2,3,6-9") == std::set<unsigned>{2, 3, 6, 7, 8, 9});
  CHECK(parse_cpu_list("") == std::set<unsigned>{});
  CHECK(format_cpu_list({1, 2}) == "1,2");
  for (const char* bad : {"a", "1,", "3-1", "1--2", "99999"}) CHECK_THROWS_WITH(parse_cpu_list(bad), Catch::Contains("CPU list"));
}

TEST_CASE("a launch that does not fit never calls run-enclave") {
  auto root = fake_host(512);
  std::vector<std::vector<std::string>> calls;
  std::deque<CommandResult> answers = {{0, kDescribeRunning, ""}};
  auto runner = std::make_unique<FakeRunner>();
  runner->calls = &calls;
  runner->answers = &answers;
  NitroBackend b(std::move(runner), "nitro-cli", root);
  LaunchRequest req;
  req.name = "second";
  req.eif = "/x.eif";
  req.cpus = 2;
  req.memory_mib = 256;
  CHECK_THROWS_WITH(b.launch(req), Catch::Contains("has 0 free"));
  CHECK(calls.size() == 1);
  std::filesystem::remove_all(root);
}
