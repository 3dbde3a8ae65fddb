#include <catch2/catch.hpp>

#include "runtime/agent/path_safety.h"

using namespace ef::agent;
using V = std::vector<std::string>;

TEST_CASE("entry names: components") {
  CHECK(entry_components("a") == V{"a"});
  CHECK(entry_components("a/b/c") == V{"a", "b", "c"});
  CHECK(entry_components("a/") == V{"a"});
  CHECK(entry_components("./a/b") == V{"a", "b"});
  CHECK(entry_components("a/..b/c..") == V{"a", "..b", "c.."});
}

TEST_CASE("entry names: refused") {
  CHECK_THROWS_WITH(entry_components(""), Catch::Contains("empty name"));
  CHECK_THROWS_WITH(entry_components("/etc/passwd"), Catch::Contains("absolute"));
  CHECK_THROWS_WITH(entry_components("a/../../x"), Catch::Contains("\"..\""));
  CHECK_THROWS_WITH(entry_components(".."), Catch::Contains("\"..\""));
  CHECK_THROWS_WITH(entry_components("a/./b"), Catch::Contains("\".\""));
  CHECK_THROWS_WITH(entry_components("a//b"), Catch::Contains("empty component"));
  CHECK_THROWS_WITH(entry_components(std::string("a\0b", 3)), Catch::Contains("NUL"));
  CHECK_THROWS_WITH(entry_components(std::string(5000, 'a')), Catch::Contains("4096"));
  CHECK_THROWS(entry_components("./"));
}

TEST_CASE("symlink targets stay beneath the root") {
  CHECK_NOTHROW(check_symlink_target({"link"}, "file"));
  CHECK_NOTHROW(check_symlink_target({"a", "link"}, "../top"));
  CHECK_NOTHROW(check_symlink_target({"a", "b", "link"}, "../../x/./y"));
  CHECK_NOTHROW(check_symlink_target({"a", "link"}, "."));
  CHECK_THROWS_WITH(check_symlink_target({"link"}, ".."), Catch::Contains("leaves the destination"));
  CHECK_THROWS_WITH(check_symlink_target({"a", "link"}, "../../x"), Catch::Contains("leaves the destination"));
  CHECK_THROWS_WITH(check_symlink_target({"a", "link"}, "b/../../../x"), Catch::Contains("leaves the destination"));
  CHECK_THROWS_WITH(check_symlink_target({"link"}, "/etc"), Catch::Contains("absolute"));
  CHECK_THROWS_WITH(check_symlink_target({"link"}, ""), Catch::Contains("empty"));
}
