// The lockfile reader: a lock names each input once, with a well-formed digest.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "base/error.h"
#include "builder/lock.h"

using ef::build::lock_from_json;

namespace {
const char* kHex = "1a7ac0c40b10b98353b6f85fa9a0d4f2703287979567e19629d35ad2d777d124";

nlohmann::json input(const std::string& name, const std::string& sha256) {
  return {{"name", name}, {"kind", "file"}, {"path", "/x/" + name}, {"sha256", sha256}, {"size", 7}};
}

nlohmann::json lock_with(nlohmann::json inputs) {
  return {{"lockVersion", 1}, {"rbuildVersion", "0.1.0"}, {"spec", {{"name", "t"}, {"sha256", kHex}}},
          {"inputs", std::move(inputs)}};
}
}  // namespace

TEST_CASE("lock: a well-formed lock reads back and survives its own round trip") {
  auto lock = lock_from_json(lock_with({input("kernel", kHex), input("rootfs[0]", kHex)}), "t.lock.json");
  REQUIRE(lock.inputs.size() == 2);
  auto back = lock_from_json(nlohmann::json::parse(ef::build::lock_to_json(lock).dump()), "again");
  CHECK(ef::build::lock_mismatches(lock, back).empty());
}

// Found by fuzz.builder_lock (tests/fuzz/corpus/builder_lock/crash-89e0…): two
// entries of one name made the lock ambiguous (lock_mismatches(lock, lock) was
// not empty, and which digest a build checked depended on lookup order).
TEST_CASE("lock: an input locked twice is refused, naming both entries") {
  std::string other(64, 'b');
  CHECK_THROWS_WITH(lock_from_json(lock_with({input("kernel", kHex), input("cfg", kHex), input("kernel", other)}),
                                   "t.lock.json"),
                    Catch::Contains("t.lock.json: inputs[2]: input 'kernel' is locked twice (first at inputs[0])"));
}

TEST_CASE("lock: a digest that is not 64 lower-case hex digits is refused") {
  for (std::string bad : {std::string(63, 'a'), std::string(64, 'A'), std::string(kHex).replace(40, 1, "!")})
    CHECK_THROWS_WITH(lock_from_json(lock_with({input("kernel", bad)}), "t.lock.json"),
                      Catch::Contains("t.lock.json: inputs[0]: field 'sha256' must be 64 lower-case hex digits"));
}

// Found by scripts/fuzz-all (tests/fuzz/corpus/builder_lock/crash-73e5…): a
// "size" of 7.6e57 reached nlohmann's get<uint64_t>(), a float-to-integer
// conversion out of range (undefined behaviour, flagged by UBSan). Sizes are
// JSON integers that fit; floats, even whole ones, and negatives are refused.
TEST_CASE("lock: a size that is not an unsigned 64-bit integer is refused") {
  for (nlohmann::json bad : {nlohmann::json(7.6e57), nlohmann::json(7.0), nlohmann::json(-1), nlohmann::json("7")}) {
    auto in = input("kernel", kHex);
    in["size"] = bad;
    CHECK_THROWS_WITH(lock_from_json(lock_with({in}), "t.lock.json"),
                      Catch::Contains("t.lock.json: inputs[0]: field 'size': expected an integer from 0 to 18446744073709551615"));
  }
  auto in = input("kernel", kHex);
  in["size"] = nlohmann::json::parse("18446744073709551615");
  CHECK(lock_from_json(lock_with({in}), "t.lock.json").inputs.at(0).digest.size == 18446744073709551615ull);
}
