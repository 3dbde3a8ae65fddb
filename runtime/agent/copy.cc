// CP_IN / CP_OUT on the agent side: a tar stream in DATA frames, extracted
// safely (tar_extract.cc) or written from the tree (tar_writer.cc).

#include <nlohmann/json.hpp>

#include "base/log.h"
#include "runtime/agent/session.h"
#include "runtime/agent/tar_stream.h"

namespace ef::agent {
namespace {

Bytes json_bytes(const nlohmann::json& j) {
  const std::string s = j.dump();
  return Bytes(s.begin(), s.end());
}

/// The DATA frames of one stream, up to DATA_END, as a TarSource.
class FrameSource {
 public:
  explicit FrameSource(Channel& ch) : ch_(ch) {}
  std::span<const std::uint8_t> next() {
    if (ended_) return {};
    auto f = ch_.recv();
    if (!f) throw Error("the connection closed in the middle of the tar stream");
    if (f->type == FrameType::kDataEnd) {
      ended_ = true;
      return {};
    }
    if (f->type == FrameType::kError) {
      ended_ = true;
      aborted_ = true;
      throw Error("the client aborted the copy: " + decode_error(f->payload).message);
    }
    if (f->type != FrameType::kData)
      throw Error("expected DATA or DATA_END in the tar stream, got " +
                  frame_type_name(static_cast<std::uint8_t>(f->type)));
    current_ = std::move(f->payload);
    return current_;
  }
  /// Skips to DATA_END (after an error) so the next request starts in step.
  void drain() {
    while (!ended_) {
      auto f = ch_.recv();
      if (!f) throw Error("the connection closed in the middle of the tar stream");
      if (f->type == FrameType::kDataEnd || f->type == FrameType::kError) ended_ = true;
    }
  }
  bool aborted() const { return aborted_; }

 private:
  Channel& ch_;
  Bytes current_;
  bool ended_ = false;
  bool aborted_ = false;
};

}  // namespace

void handle_cp_in(RequestContext& ctx, const Frame& request) {
  std::string dest;
  try {
    dest = decode_path_request(request.payload, "dest", "CP_IN");
  } catch (const Error& e) {
    return send_error(ctx.channel, ErrorCode::kProtocol, e.what());
  }
  if (dest[0] != '/') return send_error(ctx.channel, ErrorCode::kFailed, "CP_IN dest must be an absolute path");
  ctx.channel.send(FrameType::kOk, json_bytes(nlohmann::json::object()));
  FrameSource src(ctx.channel);
  try {
    const TarStats st = extract_tar([&] { return src.next(); }, dest);
    ctx.channel.send(FrameType::kOk, json_bytes({{"entries", st.entries}, {"bytes", st.bytes}}));
    log::info("copied in", {{"peer", ctx.channel.peer()}, {"dest", dest}, {"entries", std::to_string(st.entries)},
                            {"bytes", std::to_string(st.bytes)}});
  } catch (const UnsafeEntry& e) {
    log::warn("copy in refused", {{"peer", ctx.channel.peer()}, {"dest", dest}, {"error", e.what()}});
    send_error(ctx.channel, ErrorCode::kUnsafe, e.what());
    src.drain();
  } catch (const Error& e) {
    log::warn("copy in failed", {{"peer", ctx.channel.peer()}, {"dest", dest}, {"error", e.what()}});
    if (!src.aborted()) send_error(ctx.channel, ErrorCode::kFailed, std::string("copy to ") + dest + ": " + e.what());
    src.drain();
  }
}

void handle_cp_out(RequestContext& ctx, const Frame& request) {
  std::string src;
  try {
    src = decode_path_request(request.payload, "src", "CP_OUT");
  } catch (const Error& e) {
    return send_error(ctx.channel, ErrorCode::kProtocol, e.what());
  }
  std::filesystem::path p = src;
  std::error_code ec;
  if (src[0] != '/') return send_error(ctx.channel, ErrorCode::kFailed, "CP_OUT src must be an absolute path");
  if (!std::filesystem::exists(p, ec)) return send_error(ctx.channel, ErrorCode::kFailed, src + ": no such file or directory");
  std::string root = p.lexically_normal().filename().string();
  if (root.empty()) root = p.lexically_normal().parent_path().filename().string();
  if (root.empty()) return send_error(ctx.channel, ErrorCode::kFailed, "refusing to copy out \"/\" as a whole");
  ctx.channel.send(FrameType::kOk, json_bytes({{"root", root}}));
  try {
    const TarStats st = write_tar(p, root, [&](std::span<const std::uint8_t> chunk) {
      ctx.channel.send(FrameType::kData, chunk);
    });
    ctx.channel.send(FrameType::kDataEnd);
    log::info("copied out", {{"peer", ctx.channel.peer()}, {"src", src}, {"entries", std::to_string(st.entries)},
                             {"bytes", std::to_string(st.bytes)}});
  } catch (const Error& e) {
    log::warn("copy out failed", {{"peer", ctx.channel.peer()}, {"src", src}, {"error", e.what()}});
    send_error(ctx.channel, ErrorCode::kFailed, std::string("copy from ") + src + ": " + e.what());
  }
}

}  // namespace ef::agent
