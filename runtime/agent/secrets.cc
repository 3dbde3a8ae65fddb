// SECRET_PUT: the value arrives inside the attested TLS channel and is stored
// only in secret_dir (a tmpfs, 0700) as a 0400 file. It is never logged.

#include <linux/magic.h>
#include <openssl/crypto.h>
#include <sys/stat.h>
#include <sys/statfs.h>

#include <nlohmann/json.hpp>

#include "base/atomic_file.h"
#include "base/error.h"
#include "base/log.h"
#include "runtime/agent/session.h"

namespace ef::agent {

void handle_secret_put(RequestContext& ctx, Frame& request) {
  SecretPut s;
  try {
    s = decode_secret_put(request.payload);
  } catch (const Error& e) {
    OPENSSL_cleanse(request.payload.data(), request.payload.size());
    return send_error(ctx.channel, ErrorCode::kProtocol, e.what());
  }
  OPENSSL_cleanse(request.payload.data(), request.payload.size());
  struct Wipe {
    Bytes& b;
    ~Wipe() { OPENSSL_cleanse(b.data(), b.size()); }
  } wipe{s.value};
  const auto& cfg = ctx.config;
  if (s.value.size() > cfg.max_secret_bytes)
    return send_error(ctx.channel, ErrorCode::kFailed,
                      "secret " + s.name + " has " + std::to_string(s.value.size()) + " bytes; the limit is " +
                          std::to_string(cfg.max_secret_bytes) + " (limits.max_secret_bytes)");
  try {
    std::filesystem::create_directories(cfg.secret_dir);
    if (::chmod(cfg.secret_dir.c_str(), 0700) != 0) throw_errno("chmod", cfg.secret_dir);
    if (cfg.secret_dir_tmpfs) {
      struct statfs fs {};
      if (::statfs(cfg.secret_dir.c_str(), &fs) != 0) throw_errno("statfs", cfg.secret_dir);
      if (fs.f_type != TMPFS_MAGIC && fs.f_type != RAMFS_MAGIC)
        throw Error(cfg.secret_dir + " is not a tmpfs or ramfs; secrets are kept in memory only (secret_dir_tmpfs)");
    }
    const auto target = std::filesystem::path(cfg.secret_dir) / s.name;
    AtomicFile f(target, 0400);
    f.write(s.value);
    f.commit();
  } catch (const std::exception& e) {
    log::warn("secret not stored", {{"peer", ctx.channel.peer()}, {"name", s.name}, {"error", e.what()}});
    return send_error(ctx.channel, ErrorCode::kFailed, std::string("storing secret ") + s.name + ": " + e.what());
  }
  log::info("secret stored", {{"peer", ctx.channel.peer()}, {"operator", ctx.operator_fp}, {"name", s.name},
                              {"bytes", std::to_string(s.value.size())}});
  const std::string ok = nlohmann::json{{"name", s.name}, {"bytes", s.value.size()}}.dump();
  ctx.channel.send(FrameType::kOk, {reinterpret_cast<const std::uint8_t*>(ok.data()), ok.size()});
}

}  // namespace ef::agent
