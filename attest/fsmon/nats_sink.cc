#include "attest/fsmon/nats_sink.h"

#include <nats/nats.h>

#include <chrono>
#include <set>

#include "base/log.h"

namespace ef::fsmon {
namespace {

struct Conn {
  natsConnection* nc = nullptr;
  jsCtx* js = nullptr;
  kvStore* kv = nullptr;
  ~Conn() {
    if (kv) kvStore_Destroy(kv);
    if (js) jsCtx_Destroy(js);
    if (nc) natsConnection_Destroy(nc);
  }
};

std::string status_text(natsStatus s) {
  const char* last = nats_GetLastError(nullptr);
  std::string out = natsStatus_GetText(s);
  if (last && *last) out += std::string(" (") + last + ")";
  return out;
}

natsStatus connect(const NatsConfig& cfg, Conn& c) {
  natsOptions* opts = nullptr;
  natsStatus s = natsOptions_Create(&opts);
  if (s == NATS_OK) s = natsOptions_SetURL(opts, cfg.url.c_str());
  if (s == NATS_OK) s = natsOptions_SetMaxReconnect(opts, -1);
  if (s == NATS_OK) s = natsOptions_SetReconnectWait(opts, 500);
  if (s == NATS_OK && !cfg.creds_file.empty())
    s = natsOptions_SetUserCredentialsFromFiles(opts, cfg.creds_file.c_str(), nullptr);
  if (s == NATS_OK && cfg.tls) s = natsOptions_SetSecure(opts, true);
  if (s == NATS_OK && !cfg.tls_ca_file.empty()) s = natsOptions_LoadCATrustedCertificates(opts, cfg.tls_ca_file.c_str());
  if (s == NATS_OK && !cfg.tls_cert_file.empty())
    s = natsOptions_LoadCertificatesChain(opts, cfg.tls_cert_file.c_str(), cfg.tls_key_file.c_str());
  if (s == NATS_OK) s = natsConnection_Connect(&c.nc, opts);
  natsOptions_Destroy(opts);
  if (s == NATS_OK) s = natsConnection_JetStream(&c.js, c.nc, nullptr);
  if (s == NATS_OK) {
    s = js_KeyValue(&c.kv, c.js, cfg.bucket.c_str());
    if (s == NATS_NOT_FOUND) {
      kvConfig kc;
      kvConfig_Init(&kc);
      kc.Bucket = cfg.bucket.c_str();
      kc.History = 1;
      s = js_CreateKeyValue(&c.kv, c.js, &kc);
    }
  }
  return s;
}

}  // namespace

NatsSink::NatsSink(Index& index, NatsConfig config, std::size_t queue_bound)
    : index_(index), sink_(index.add_sink(queue_bound)), cfg_(std::move(config)) {}

NatsSink::~NatsSink() { stop(); }

void NatsSink::start() { thread_ = std::thread([this] { run(); }); }

void NatsSink::stop() {
  stop_ = true;
  index_.wake_all();
  if (thread_.joinable()) thread_.join();
}

void NatsSink::run() {
  auto backoff = std::chrono::milliseconds(100);
  auto sleep = [&](std::chrono::milliseconds d) {
    auto until = std::chrono::steady_clock::now() + d;
    while (!stop_ && std::chrono::steady_clock::now() < until)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
  };
  std::string prefix = cfg_.key_prefix.empty() ? "" : cfg_.key_prefix + ".";
  while (!stop_) {
    Conn c;
    natsStatus s = connect(cfg_, c);
    if (s != NATS_OK) {
      log::warn("NATS connect failed; retrying", {{"url", cfg_.url}, {"error", status_text(s)}});
      sleep(backoff);
      backoff = std::min(backoff * 2, std::chrono::milliseconds(5000));
      continue;
    }
    backoff = std::chrono::milliseconds(100);
    log::info("connected to NATS", {{"url", cfg_.url}, {"bucket", cfg_.bucket}});
    bool force = true;
    while (!stop_ && s == NATS_OK) {
      Batch b = index_.take(sink_, std::chrono::milliseconds(200), force);
      force = false;
      auto put = [&](const Record& r) {
        std::string key = kv_key(cfg_.key_prefix, r.path);
        std::string val = kv_value(r.path, r.kind, r.hex, r.size, r.time_ms);
        natsStatus st = kvStore_Put(nullptr, c.kv, key.c_str(), val.data(), static_cast<int>(val.size()));
        if (st == NATS_OK) ++puts_;
        return st;
      };
      if (b.snapshot) {
        std::set<std::string> keep;
        for (auto& r : b.records) {
          keep.insert(kv_key(cfg_.key_prefix, r.path));
          if ((s = put(r)) != NATS_OK) break;
        }
        if (s != NATS_OK) break;
        kvKeysList keys{};
        natsStatus ks = kvStore_Keys(&keys, c.kv, nullptr);
        if (ks == NATS_OK) {
          for (int i = 0; i < keys.Count && s == NATS_OK; ++i) {
            std::string k = keys.Keys[i];
            if (k.compare(0, prefix.size(), prefix) != 0 || keep.count(k)) continue;
            if (!prefix.empty() && k.find('.', prefix.size()) != std::string::npos) continue;  // not ours
            s = kvStore_Delete(c.kv, k.c_str());
          }
          kvKeysList_Destroy(&keys);
        } else if (ks != NATS_NOT_FOUND) {
          s = ks;
        }
      } else {
        for (auto& op : b.ops) {
          if (op.del) {
            for (auto& p : op.removed)
              if ((s = kvStore_Delete(c.kv, kv_key(cfg_.key_prefix, p).c_str())) != NATS_OK) break;
          } else {
            s = put(op.rec);
          }
          if (s != NATS_OK) break;
        }
      }
    }
    index_.detach(sink_);
    if (!stop_) {
      log::warn("NATS publishing failed; reconnecting", {{"error", status_text(s)}});
      sleep(backoff);
    }
  }
}

}  // namespace ef::fsmon
