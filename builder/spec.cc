#include "builder/spec.h"

#include <glob.h>

#include <algorithm>

#include "base/error.h"
#include "base/file.h"
#include "base/yaml_config.h"

namespace ef::build {
namespace fs = std::filesystem;

nlohmann::ordered_json canonical_json(const nlohmann::ordered_json& value) {
  if (value.is_array()) {
    nlohmann::ordered_json out = nlohmann::ordered_json::array();
    for (const auto& v : value) out.push_back(canonical_json(v));
    return out;
  }
  if (!value.is_object()) return value;
  std::vector<std::string> keys;
  for (const auto& [k, v] : value.items()) keys.push_back(k);
  std::sort(keys.begin(), keys.end());  // by unsigned bytes, as nlohmann::json's std::map orders them
  nlohmann::ordered_json out = nlohmann::ordered_json::object();
  for (const std::string& k : keys) out[k] = canonical_json(value.at(k));
  return out;
}

bool is_known_runtime(std::string_view name) {
  return name == "init" || name == "ra-web-srv" || name == "fs-monitor" || name == "pf-proxy" || name == "ef-agent";
}

namespace {

fs::path resolve(const fs::path& spec_dir, const std::string& written) {
  fs::path p(written);
  return p.is_absolute() ? p : (spec_dir / p).lexically_normal();
}

/// Expands a glob that must match exactly one existing file.
InputPath input_path(const ConfigNode& node, const fs::path& spec_dir) {
  std::string written = node.as_string();
  if (written.empty()) node.fail("path must not be empty");
  return InputPath{written, resolve(spec_dir, written)};
}

/// Like input_path, but expands a glob that must match exactly one file; the
/// match (relative to the spec's directory when the glob was) becomes the text.
InputPath resolve_single(const ConfigNode& node, const fs::path& spec_dir) {
  std::string written = node.as_string();
  fs::path pattern = resolve(spec_dir, written);
  if (written.find_first_of("*?[") == std::string::npos) return input_path(node, spec_dir);
  glob_t g{};
  int rc = ::glob(pattern.c_str(), 0, nullptr, &g);
  std::vector<std::string> matches;
  if (rc == 0)
    for (std::size_t i = 0; i < g.gl_pathc; ++i) matches.emplace_back(g.gl_pathv[i]);
  globfree(&g);
  if (matches.empty()) node.fail("'" + written + "' matches no file");
  if (matches.size() > 1) node.fail("'" + written + "' matches " + std::to_string(matches.size()) + " files; name one");
  fs::path match = matches.front();
  std::string text = fs::path(written).is_absolute() ? match.string() : match.lexically_relative(spec_dir).string();
  return InputPath{text, match};
}

std::string image_path(const ConfigNode& node) {
  std::string p = node.as_string();
  if (p.empty() || p[0] != '/') node.fail("image path must be absolute (start with '/'), got '" + p + "'");
  for (std::size_t start = 1; start <= p.size();) {
    std::size_t end = p.find('/', start);
    if (end == std::string::npos) end = p.size();
    std::string_view part(p.data() + start, end - start);
    if (part == "..") node.fail("image path must not contain '..'");
    start = end + 1;
  }
  return p;
}

std::uint32_t mode_of(const ConfigNode& node) {
  // Modes are octal whether or not the YAML writer put a leading 0.
  std::string s = node.as_string();
  std::size_t used = 0;
  unsigned long v = 0;
  try {
    v = std::stoul(s, &used, 8);
  } catch (const std::exception&) {
    node.fail("expected an octal mode, got '" + s + "'");
  }
  if (used != s.size() || v > 07777) node.fail("expected an octal mode up to 7777, got '" + s + "'");
  return static_cast<std::uint32_t>(v);
}

RootfsItem parse_rootfs_item(const ConfigNode& n, const fs::path& dir, std::size_t index) {
  RootfsItem item;
  item.key_path = "rootfs[" + std::to_string(index) + "]";
  auto source = [&](const char* key) {
    InputPath p = resolve_single(n.required(key), dir);  // a glob must match exactly one path
    item.source_text = p.text;
    item.source = p.resolved;
  };
  if (n.has("directory") || n.has("tar") || n.has("oci")) {
    n.expect_keys({"directory", "tar", "oci", "dest", "whiteouts"});
    const char* key = n.has("directory") ? "directory" : n.has("tar") ? "tar" : "oci";
    if (auto w = n.optional("whiteouts")) {
      if (!n.has("tar")) w->fail("whiteouts applies to tar items only (oci layers always honour them)");
      item.whiteouts = w->as_bool();
    }
    item.kind = n.has("directory") ? RootfsItem::Kind::kDirectory
                : n.has("tar")     ? RootfsItem::Kind::kTar
                                   : RootfsItem::Kind::kOci;
    source(key);
    if (auto d = n.optional("dest")) item.dest = image_path(*d);
  } else if (n.has("file")) {
    n.expect_keys({"file", "dest", "mode"});
    item.kind = RootfsItem::Kind::kFile;
    source("file");
    item.dest = image_path(n.required("dest"));
    if (auto m = n.optional("mode")) item.mode = mode_of(*m);
  } else if (n.has("symlink")) {
    n.expect_keys({"symlink", "target"});
    item.kind = RootfsItem::Kind::kSymlink;
    item.dest = image_path(n.required("symlink"));
    item.link_target = n.required("target").as_string();
    if (item.link_target.empty()) n.required("target").fail("symlink target must not be empty");
  } else if (n.has("dir")) {
    n.expect_keys({"dir", "mode"});
    item.kind = RootfsItem::Kind::kDir;
    item.dest = image_path(n.required("dir"));
    item.mode = n.has("mode") ? mode_of(n.required("mode")) : 0755;
  } else if (n.has("device")) {
    n.expect_keys({"device", "type", "major", "minor", "mode"});
    item.kind = RootfsItem::Kind::kDevice;
    item.dest = image_path(n.required("device"));
    std::string t = n.required("type").as_string();
    if (t != "char" && t != "block") n.required("type").fail("device type must be 'char' or 'block'");
    item.device_type = t == "char" ? 'c' : 'b';
    item.major = static_cast<std::uint32_t>(n.required("major").as_int(0, 4095));
    item.minor = static_cast<std::uint32_t>(n.required("minor").as_int(0, 1048575));
    item.mode = n.has("mode") ? mode_of(n.required("mode")) : 0600;
  } else {
    n.fail("a rootfs item needs one of: directory, tar, oci, file, symlink, dir, device");
  }
  return item;
}

nlohmann::ordered_json rootfs_item_json(const RootfsItem& i) {
  nlohmann::ordered_json j;
  using K = RootfsItem::Kind;
  switch (i.kind) {
    case K::kDirectory: j["directory"] = i.source_text; j["dest"] = i.dest; break;
    case K::kTar:
      j["tar"] = i.source_text;
      j["dest"] = i.dest;
      if (i.whiteouts) j["whiteouts"] = true;
      break;
    case K::kOci: j["oci"] = i.source_text; j["dest"] = i.dest; break;
    case K::kFile: j["file"] = i.source_text; j["dest"] = i.dest; break;
    case K::kSymlink: j["symlink"] = i.dest; j["target"] = i.link_target; break;
    case K::kDir: j["dir"] = i.dest; break;
    case K::kDevice:
      j["device"] = i.dest;
      j["type"] = i.device_type == 'c' ? "char" : "block";
      j["major"] = i.major;
      j["minor"] = i.minor;
      break;
  }
  if (i.mode) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "%04o", *i.mode);
    j["mode"] = buf;  // octal text, as a spec writes it (and parse_spec reads it back)
  }
  return j;
}

}  // namespace

Spec parse_spec(std::string_view text, const fs::path& path) {
  ConfigNode root = ConfigNode::load_string(text, path.string());
  root.expect_keys({"name", "version", "arch", "resources", "source_date_epoch", "kernel", "init", "nsm_module",
                    "rootfs", "cmd", "env", "runtimes", "signing"});
  fs::path dir = path.parent_path();
  Spec s;
  s.file = path;
  nlohmann::ordered_json j;

  s.name = root.required("name").as_string();
  for (char c : s.name)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.'))
      root.required("name").fail("name may contain only letters, digits, '-', '_' and '.'");
  if (s.name.empty() || s.name[0] == '.') root.required("name").fail("name must not be empty or start with '.'");
  s.version = root.required("version").as_string();
  std::string arch = root.string_or("arch", "x86_64");
  if (arch == "aarch64") s.arch = Arch::kAarch64;
  else if (arch != "x86_64") root.required("arch").fail("arch must be x86_64 or aarch64");
  if (auto r = root.optional("resources")) {
    r->expect_keys({"cpus", "memory"});
    s.cpus = static_cast<std::uint64_t>(r->int_or("cpus", 2, 1, 1024));
    s.memory_mib = static_cast<std::uint64_t>(r->int_or("memory", 512, 64, 1 << 24));
  }
  s.source_date_epoch = root.required("source_date_epoch").as_int(0, 253402300799);

  ConfigNode kernel = root.required("kernel");
  kernel.expect_keys({"path", "cmdline"});
  s.kernel = resolve_single(kernel.required("path"), dir);
  s.cmdline = kernel.string_or("cmdline", kDefaultCmdline);
  if (auto n = root.optional("init")) s.init = input_path(*n, dir);
  if (auto n = root.optional("nsm_module")) s.nsm_module = input_path(*n, dir);

  if (auto rootfs = root.optional("rootfs")) {
    std::size_t i = 0;
    for (const ConfigNode& item : rootfs->items()) s.rootfs.push_back(parse_rootfs_item(item, dir, i++));
  }
  if (auto cmd = root.optional("cmd")) s.cmd = cmd->as_string_list();
  if (auto env = root.optional("env")) {
    s.env = env->as_string_list();
    for (std::size_t i = 0; i < s.env.size(); ++i)
      if (s.env[i].find('=') == std::string::npos || s.env[i].find('\n') != std::string::npos)
        env->items()[i].fail("env entries are NAME=VALUE on one line");
  }
  for (const std::string& c : s.cmd)
    if (c.find('\n') != std::string::npos) root.required("cmd").fail("cmd items must not contain newlines");

  if (auto rts = root.optional("runtimes")) {
    for (auto& [name, node] : rts->entries()) {
      if (!is_known_runtime(name)) node.fail("unknown runtime (known: init, ra-web-srv, fs-monitor, pf-proxy, ef-agent)");
      node.expect_keys({"binary", "config"});
      Runtime rt{name, input_path(node.required("binary"), dir), std::nullopt};
      if (auto c = node.optional("config")) rt.config = input_path(*c, dir);
      s.runtimes.push_back(rt);
      nlohmann::ordered_json rj{{"binary", node.required("binary").as_string()}};
      if (auto c = node.optional("config")) rj["config"] = c->as_string();
      j["runtimes"][name] = rj;
    }
  }
  std::sort(s.runtimes.begin(), s.runtimes.end(),
            [](const Runtime& a, const Runtime& b) { return a.name < b.name; });
  bool has_init_runtime = false;
  for (const Runtime& r : s.runtimes) has_init_runtime = has_init_runtime || r.name == "init";
  if (!s.init && !has_init_runtime) root.fail("the image needs an init: set 'init' or 'runtimes.init'");
  if (s.init && has_init_runtime) root.required("init").fail("set either 'init' or 'runtimes.init', not both");
  if (s.cmd.empty() && !has_init_runtime) root.fail("'cmd' is required unless runtimes.init supervises services");

  if (auto sg = root.optional("signing")) {
    sg->expect_keys({"certificate", "key"});
    s.signing = Signing{input_path(sg->required("certificate"), dir), input_path(sg->required("key"), dir)};
    j["signing"] = {{"certificate", sg->required("certificate").as_string()},
                    {"key", sg->required("key").as_string()}};
  }

  nlohmann::ordered_json spec_json;
  spec_json["name"] = s.name;
  spec_json["version"] = s.version;
  spec_json["arch"] = arch;
  spec_json["resources"] = {{"cpus", s.cpus}, {"memory", s.memory_mib}};
  spec_json["source_date_epoch"] = s.source_date_epoch;
  spec_json["kernel"] = {{"path", kernel.required("path").as_string()}, {"cmdline", s.cmdline}};
  if (auto n = root.optional("init")) spec_json["init"] = n->as_string();
  if (auto n = root.optional("nsm_module")) spec_json["nsm_module"] = n->as_string();
  spec_json["rootfs"] = nlohmann::ordered_json::array();
  for (const RootfsItem& item : s.rootfs) spec_json["rootfs"].push_back(rootfs_item_json(item));
  spec_json["cmd"] = s.cmd;
  spec_json["env"] = s.env;
  if (j.contains("runtimes")) spec_json["runtimes"] = j["runtimes"];
  if (j.contains("signing")) spec_json["signing"] = j["signing"];
  s.as_json = canonical_json(spec_json);
  return s;
}

Spec load_spec(const fs::path& path) { return parse_spec(read_text_file(path), path); }

}  // namespace ef::build
