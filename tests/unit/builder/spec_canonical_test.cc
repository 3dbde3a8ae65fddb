// One canonical form of a spec: the order a YAML file (or a JSON reader that
// sorts or scrambles maps) gives its keys never reaches the image.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "builder/spec.h"
#include "fstree_test_util.h"

using namespace ef::build;
using namespace fstree_test;

namespace {

// Maps in non-alphabetical order at every level, runtimes included.
constexpr const char* kScrambled = R"(version: "1"
name: order
source_date_epoch: 5
resources: {memory: 256, cpus: 1}
kernel: {cmdline: "console=ttyS0", path: in/kernel}
runtimes:
  ra-web-srv: {config: in/ra.yaml, binary: in/ra}
  pf-proxy: {binary: in/pf}
  init: {config: in/init.yaml, binary: in/init}
  fs-monitor: {binary: in/fsmon, config: in/fsmon.yaml}
rootfs:
  - {dest: /opt, tar: in/layer.tar, whiteouts: true}
  - {mode: "0700", dir: /data}
  - {target: busybox, symlink: /bin/sh}
env: [Z=1, A=2]
signing: {key: in/key.pem, certificate: in/cert.pem}
)";

constexpr const char* kSorted = R"(env: [Z=1, A=2]
kernel: {path: in/kernel, cmdline: "console=ttyS0"}
name: order
resources: {cpus: 1, memory: 256}
rootfs:
  - {tar: in/layer.tar, dest: /opt, whiteouts: true}
  - {dir: /data, mode: "0700"}
  - {symlink: /bin/sh, target: busybox}
runtimes:
  fs-monitor: {binary: in/fsmon, config: in/fsmon.yaml}
  init: {binary: in/init, config: in/init.yaml}
  pf-proxy: {binary: in/pf}
  ra-web-srv: {binary: in/ra, config: in/ra.yaml}
signing: {certificate: in/cert.pem, key: in/key.pem}
source_date_epoch: 5
version: "1"
)";

}  // namespace

TEST_CASE("a spec's canonical JSON does not depend on the order of its maps") {
  Spec a = parse_spec(kScrambled, "/ws/specs/order.yaml");
  Spec b = parse_spec(kSorted, "/ws/specs/order.yaml");
  CHECK(a.as_json.dump() == b.as_json.dump());
  std::vector<std::string> names;
  for (const Runtime& r : a.runtimes) names.push_back(r.name);
  CHECK(names == std::vector<std::string>{"fs-monitor", "init", "pf-proxy", "ra-web-srv"});
  // Arrays keep the spec's order: env and rootfs are ordered lists.
  CHECK(a.as_json["env"] == nlohmann::ordered_json::array({"Z=1", "A=2"}));
  CHECK(a.as_json["rootfs"][0]["tar"] == "in/layer.tar");
  CHECK(a.as_json["rootfs"][0]["whiteouts"] == true);
}

TEST_CASE("the canonical JSON is a fixed point, whatever order a reader gives back") {
  Spec a = parse_spec(kScrambled, "/ws/specs/order.yaml");
  // nlohmann::json (std::map) sorts keys; Python's json keeps the file's order.
  nlohmann::json sorted = nlohmann::json::parse(a.as_json.dump());
  CHECK(parse_spec(sorted.dump(), "/ws/specs/order.yaml").as_json.dump() == a.as_json.dump());
  // Reverse every object's keys (what a provenance reader might do) and read it back.
  std::function<nlohmann::ordered_json(const nlohmann::ordered_json&)> reversed = [&](const nlohmann::ordered_json& v) {
    if (v.is_array()) {
      nlohmann::ordered_json out = nlohmann::ordered_json::array();
      for (const auto& x : v) out.push_back(reversed(x));
      return out;
    }
    if (!v.is_object()) return v;
    std::vector<std::string> keys;
    for (const auto& [k, x] : v.items()) keys.insert(keys.begin(), k);
    nlohmann::ordered_json out = nlohmann::ordered_json::object();
    for (const std::string& k : keys) out[k] = reversed(v.at(k));
    return out;
  };
  std::string scrambled = reversed(a.as_json).dump();
  REQUIRE(scrambled != a.as_json.dump());
  CHECK(parse_spec(scrambled, "/ws/specs/order.yaml").as_json.dump() == a.as_json.dump());
}

TEST_CASE("the canonical JSON is what Python's json.dumps(sort_keys=True) makes of it") {
  Spec a = parse_spec(kScrambled, "/ws/specs/order.yaml");
  TempDir tmp;
  write_text(tmp / "spec.json", a.as_json.dump());
  std::string py = sh("python3 -c 'import json,sys; sys.stdout.write(json.dumps(json.load(open(sys.argv[1])), "
                      "sort_keys=True, separators=(\",\", \":\"), ensure_ascii=False))' " +
                      quote(tmp / "spec.json"));
  CHECK(py == a.as_json.dump());
}

TEST_CASE("whiteouts is a tar item's option only") {
  CHECK_THROWS_WITH(parse_spec("name: x\nversion: '1'\nsource_date_epoch: 0\nkernel: {path: k}\ninit: i\ncmd: [a]\n"
                               "rootfs:\n  - {directory: d, whiteouts: true}\n",
                               "/s/x.yaml"),
                    Catch::Contains("x.yaml:8") && Catch::Contains("whiteouts applies to tar items only"));
}
