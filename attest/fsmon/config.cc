#include "attest/fsmon/config.h"

#include <set>

#include "attest/fsmon/encode.h"
#include "base/yaml_config.h"

namespace ef::fsmon {
namespace {

Config from_node(const ConfigNode& root) {
  root.expect_map();
  root.expect_keys({"roots", "ignore_file", "hash_threads", "queue_bound", "settle_ms", "socket", "nats",
                    "log_format", "status_interval_s"});
  Config c;
  auto roots = root.required("roots");
  if (!roots.is_sequence() || roots.items().empty()) roots.fail("expected a non-empty list of directories");
  for (auto& item : roots.items()) {
    std::string r = item.as_string();
    if (r.empty() || r[0] != '/') item.fail("root must be an absolute path");
    std::string n = normalize_path(r);
    for (auto& other : c.roots) {
      auto inside = [](const std::string& a, const std::string& b) {
        return a == b || b == "/" || (a.size() > b.size() && a.compare(0, b.size(), b) == 0 && a[b.size()] == '/');
      };
      if (inside(n, other) || inside(other, n)) item.fail("roots must not nest: " + n + " and " + other);
    }
    c.roots.push_back(n);
  }
  c.ignore_file = root.string_or("ignore_file", "");
  c.hash_threads = static_cast<int>(root.int_or("hash_threads", 2, 1, 64));
  c.queue_bound = static_cast<std::size_t>(root.int_or("queue_bound", 65536, 16, 16 * 1024 * 1024));
  c.settle = std::chrono::milliseconds(root.int_or("settle_ms", 2, 0, 1000));
  c.socket = root.string_or("socket", "/run/ra-web-srv/files.sock");
  c.status_interval_s = static_cast<int>(root.int_or("status_interval_s", 60, 0, 86400));
  if (auto f = root.optional("log_format")) {
    std::string v = f->as_string();
    if (v == "text") c.log_format = log::Format::kText;
    else if (v == "json") c.log_format = log::Format::kJson;
    else f->fail("expected text or json");
  }
  if (auto n = root.optional("nats")) {
    n->expect_map();
    n->expect_keys({"url", "bucket", "key_prefix", "creds_file", "tls"});
    NatsConfig nc;
    nc.url = n->required("url").as_string();
    nc.bucket = n->string_or("bucket", "fs-monitor");
    for (char ch : nc.bucket) {
      bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '-' ||
                ch == '_';
      if (!ok) n->required("bucket").fail("bucket names use only A-Z a-z 0-9 - _");
    }
    if (nc.bucket.empty()) n->required("bucket").fail("empty bucket name");
    nc.key_prefix = n->string_or("key_prefix", "");
    if (!valid_kv_prefix(nc.key_prefix))
      n->required("key_prefix").fail("expected dot-separated tokens of A-Z a-z 0-9 - _ = /");
    nc.creds_file = n->string_or("creds_file", "");
    if (auto t = n->optional("tls")) {
      if (t->is_scalar()) {
        nc.tls = t->as_bool();
      } else {
        t->expect_map();
        t->expect_keys({"ca_file", "cert_file", "key_file"});
        nc.tls = true;
        nc.tls_ca_file = t->string_or("ca_file", "");
        nc.tls_cert_file = t->string_or("cert_file", "");
        nc.tls_key_file = t->string_or("key_file", "");
        if (nc.tls_cert_file.empty() != nc.tls_key_file.empty())
          t->fail("cert_file and key_file go together");
      }
    }
    c.nats = nc;
  }
  return c;
}

}  // namespace

Config parse_config(std::string_view text, const std::string& file_name) {
  return from_node(ConfigNode::load_string(text, file_name));
}

Config load_config(const std::filesystem::path& path) { return from_node(ConfigNode::load_file(path)); }

std::string Config::describe() const {
  std::string out = "roots=";
  for (std::size_t i = 0; i < roots.size(); ++i) out += (i ? "," : "") + roots[i];
  out += " ignore_file=" + (ignore_file.empty() ? std::string("none") : ignore_file);
  out += " hash_threads=" + std::to_string(hash_threads);
  out += " queue_bound=" + std::to_string(queue_bound);
  out += " settle_ms=" + std::to_string(settle.count());
  out += " socket=" + (socket.empty() ? std::string("off") : socket);
  if (nats) {
    out += " nats=" + nats->url + " bucket=" + nats->bucket + " key_prefix=" + nats->key_prefix;
    out += std::string(" creds=") + (nats->creds_file.empty() ? "no" : "yes");
    out += std::string(" tls=") + (nats->tls ? "yes" : "no");
  } else {
    out += " nats=off";
  }
  return out;
}

}  // namespace ef::fsmon
