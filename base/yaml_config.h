#pragma once
// The one YAML loader: every error names file:line:key, unknown keys are errors.

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <filesystem>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ef {

/// A node of a loaded YAML document that remembers its file and key path.
class ConfigNode {
 public:
  ConfigNode(YAML::Node node, std::string file, std::string key_path);

  /// Loads a file; a YAML syntax error names file:line:column.
  static ConfigNode load_file(const std::filesystem::path& path);
  /// Parses text as if read from `file_name`.
  static ConfigNode load_string(std::string_view text, std::string file_name);

  bool is_map() const { return node_.IsMap(); }
  bool is_sequence() const { return node_.IsSequence(); }
  bool is_scalar() const { return node_.IsScalar(); }
  bool is_null() const { return !node_ || node_.IsNull(); }

  /// Throws unless this is a map whose keys are all in `allowed`.
  void expect_keys(std::initializer_list<std::string_view> allowed) const;
  void expect_map() const;
  bool has(std::string_view key) const;
  /// The child under `key`; throws "missing key" if absent.
  ConfigNode required(std::string_view key) const;
  std::optional<ConfigNode> optional(std::string_view key) const;
  std::vector<ConfigNode> items() const;
  /// Map entries in document order.
  std::vector<std::pair<std::string, ConfigNode>> entries() const;

  /// The scalar's text; rejects text that is not valid UTF-8 (configs are
  /// UTF-8, and values flow into JSON documents that require it).
  std::string as_string() const;
  std::int64_t as_int(std::int64_t min, std::int64_t max) const;
  bool as_bool() const;
  std::vector<std::string> as_string_list() const;

  std::string string_or(std::string_view key, std::string fallback) const;
  std::int64_t int_or(std::string_view key, std::int64_t fallback, std::int64_t min, std::int64_t max) const;
  bool bool_or(std::string_view key, bool fallback) const;

  /// "file:line: key: message" — the form of every configuration error.
  [[noreturn]] void fail(std::string_view message) const;
  const std::string& key_path() const { return key_path_; }
  const std::string& file() const { return file_; }
  int line() const;
  const YAML::Node& raw() const { return node_; }

 private:
  YAML::Node node_;
  std::string file_;
  std::string key_path_;
};

/// True when `s` is well-formed UTF-8 (no overlongs, surrogates or values above U+10FFFF).
bool is_valid_utf8(std::string_view s);

}  // namespace ef
