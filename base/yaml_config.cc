#include "base/yaml_config.h"

#include <limits>

#include "base/error.h"
#include "base/file.h"

namespace ef {

ConfigNode::ConfigNode(YAML::Node node, std::string file, std::string key_path)
    : node_(std::move(node)), file_(std::move(file)), key_path_(std::move(key_path)) {}

static ConfigNode parse(std::string_view text, const std::string& file) {
  try {
    return ConfigNode(YAML::Load(std::string(text)), file, "");
  } catch (const YAML::Exception& e) {
    throw Error(file + ":" + std::to_string(e.mark.line + 1) + ":" + std::to_string(e.mark.column + 1) +
                ": YAML syntax error: " + e.msg);
  }
}

ConfigNode ConfigNode::load_file(const std::filesystem::path& path) {
  return parse(read_text_file(path), path.string());
}

ConfigNode ConfigNode::load_string(std::string_view text, std::string file_name) { return parse(text, file_name); }

int ConfigNode::line() const {
  if (!node_) return 0;
  int l = node_.Mark().line;
  return l < 0 ? 0 : l + 1;
}

void ConfigNode::fail(std::string_view message) const {
  std::string where = file_;
  if (line() > 0) where += ":" + std::to_string(line());
  where += ": ";
  if (!key_path_.empty()) where += key_path_ + ": ";
  throw Error(where + std::string(message));
}

static std::string join_key(const std::string& base, std::string_view key) {
  return base.empty() ? std::string(key) : base + "." + std::string(key);
}

void ConfigNode::expect_map() const {
  if (!node_.IsMap()) fail("expected a mapping");
}

void ConfigNode::expect_keys(std::initializer_list<std::string_view> allowed) const {
  expect_map();
  for (const auto& kv : node_) {
    std::string key = kv.first.Scalar();
    if (!is_valid_utf8(key)) ConfigNode(kv.first, file_, key_path_).fail("key is not valid UTF-8");
    bool ok = false;
    for (auto a : allowed) ok = ok || a == key;
    if (!ok) {
      ConfigNode(kv.first, file_, join_key(key_path_, key)).fail("unknown key");
    }
  }
}

bool ConfigNode::has(std::string_view key) const {
  if (!node_.IsMap()) return false;
  const YAML::Node& n = node_;
  return static_cast<bool>(n[std::string(key)]);
}

ConfigNode ConfigNode::required(std::string_view key) const {
  expect_map();
  const YAML::Node& n = node_;
  YAML::Node child = n[std::string(key)];
  if (!child) fail("missing key '" + std::string(key) + "'");
  return ConfigNode(child, file_, join_key(key_path_, key));
}

std::optional<ConfigNode> ConfigNode::optional(std::string_view key) const {
  if (!has(key)) return std::nullopt;
  const YAML::Node& n = node_;
  YAML::Node child = n[std::string(key)];
  if (child.IsNull()) return std::nullopt;
  return ConfigNode(child, file_, join_key(key_path_, key));
}

std::vector<ConfigNode> ConfigNode::items() const {
  if (!node_.IsSequence()) fail("expected a list");
  std::vector<ConfigNode> out;
  std::size_t i = 0;
  for (const auto& item : node_) out.emplace_back(item, file_, key_path_ + "[" + std::to_string(i++) + "]");
  return out;
}

std::vector<std::pair<std::string, ConfigNode>> ConfigNode::entries() const {
  expect_map();
  std::vector<std::pair<std::string, ConfigNode>> out;
  for (const auto& kv : node_) {
    std::string key = kv.first.Scalar();
    if (!is_valid_utf8(key)) ConfigNode(kv.first, file_, key_path_).fail("key is not valid UTF-8");
    out.emplace_back(key, ConfigNode(kv.second, file_, join_key(key_path_, key)));
  }
  return out;
}

bool is_valid_utf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    std::size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 0;
    if (n == 0 || i + n > s.size()) return false;
    std::uint32_t cp = n == 1 ? c : c & (0x7f >> n);
    for (std::size_t k = 1; k < n; ++k) {
      auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xc0) != 0x80) return false;
      cp = cp << 6 | (cc & 0x3f);
    }
    static constexpr std::uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMin[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
    i += n;
  }
  return true;
}

std::string ConfigNode::as_string() const {
  if (!node_.IsScalar()) fail("expected a string");
  if (!is_valid_utf8(node_.Scalar())) fail("not valid UTF-8");
  return node_.Scalar();
}

std::int64_t ConfigNode::as_int(std::int64_t min, std::int64_t max) const {
  std::string s = as_string();
  std::size_t used = 0;
  long long v = 0;
  try {
    v = std::stoll(s, &used, 0);
  } catch (const std::exception&) {
    fail("expected an integer, got '" + s + "'");
  }
  if (used != s.size()) fail("expected an integer, got '" + s + "'");
  if (v < min || v > max)
    fail("value " + s + " out of range [" + std::to_string(min) + ", " + std::to_string(max) + "]");
  return v;
}

bool ConfigNode::as_bool() const {
  std::string s = as_string();
  if (s == "true" || s == "yes" || s == "on") return true;
  if (s == "false" || s == "no" || s == "off") return false;
  fail("expected true or false, got '" + s + "'");
}

std::vector<std::string> ConfigNode::as_string_list() const {
  std::vector<std::string> out;
  for (const ConfigNode& item : items()) out.push_back(item.as_string());
  return out;
}

std::string ConfigNode::string_or(std::string_view key, std::string fallback) const {
  auto n = optional(key);
  return n ? n->as_string() : fallback;
}

std::int64_t ConfigNode::int_or(std::string_view key, std::int64_t fallback, std::int64_t min,
                                std::int64_t max) const {
  auto n = optional(key);
  return n ? n->as_int(min, max) : fallback;
}

bool ConfigNode::bool_or(std::string_view key, bool fallback) const {
  auto n = optional(key);
  return n ? n->as_bool() : fallback;
}

}  // namespace ef
