#include "attest/websrv/file_index.h"

#include <mutex>
#include <nlohmann/json.hpp>

#include "attest/websrv/json_depth.h"
#include "attest/websrv/query.h"
#include "base/error.h"

namespace ef::websrv {

std::string_view kind_name(FileEntry::Kind kind) { return kind == FileEntry::Kind::kDir ? "dir" : "file"; }

void erase_subtree(FileMap& map, const std::string& path) {
  map.erase(path);
  const std::string prefix = path == "/" ? "/" : path + "/";
  auto it = map.lower_bound(prefix);
  while (it != map.end() && it->first.compare(0, prefix.size(), prefix) == 0) it = map.erase(it);
}

std::optional<FileEntry> FileIndex::get(const std::string& path) const {
  std::shared_lock lock(mu_);
  auto it = map_.find(path);
  if (it == map_.end()) return std::nullopt;
  return it->second;
}

std::vector<std::pair<std::string, FileEntry>> FileIndex::list(std::string_view prefix, const std::string& after,
                                                               std::size_t max) const {
  std::vector<std::pair<std::string, FileEntry>> out;
  std::shared_lock lock(mu_);
  auto it = after.empty() || after < prefix ? map_.lower_bound(std::string(prefix)) : map_.upper_bound(after);
  for (; it != map_.end() && out.size() < max; ++it) {
    if (it->first.compare(0, prefix.size(), prefix) != 0) break;
    out.push_back(*it);
  }
  return out;
}

std::size_t FileIndex::size() const {
  std::shared_lock lock(mu_);
  return map_.size();
}

bool FileIndex::has_snapshot() const {
  std::shared_lock lock(mu_);
  return has_snapshot_;
}

void FileIndex::put(const std::string& path, const FileEntry& entry) {
  std::unique_lock lock(mu_);
  map_[path] = entry;
}

void FileIndex::erase(const std::string& path) {
  std::unique_lock lock(mu_);
  erase_subtree(map_, path);
}

void FileIndex::replace(FileMap map) {
  FileMap old;
  {
    std::unique_lock lock(mu_);
    old.swap(map_);
    map_.swap(map);
    has_snapshot_ = true;
  }
  // `old` is freed here, outside the lock.
}

namespace {

constexpr std::string_view kInput = "file-index IPC";

[[noreturn]] void malformed(std::uint64_t offset, const std::string& why) { throw FormatError(kInput, offset, why); }

const nlohmann::json& field(const nlohmann::json& obj, const char* name, std::uint64_t offset) {
  auto it = obj.find(name);
  if (it == obj.end()) malformed(offset, std::string("missing \"") + name + "\"");
  return *it;
}

std::string path_field(const nlohmann::json& obj, std::uint64_t offset) {
  const auto& p = field(obj, "path", offset);
  if (!p.is_string()) malformed(offset, "\"path\" is not a string");
  std::string path = p.get<std::string>();
  if (!is_normalized_path(path)) malformed(offset, "\"path\" is not an absolute normalised path");
  return path;
}

FileEntry entry_fields(const nlohmann::json& obj, std::uint64_t offset) {
  FileEntry e;
  const auto& kind = field(obj, "kind", offset);
  if (kind == "file")
    e.kind = FileEntry::Kind::kFile;
  else if (kind == "dir")
    e.kind = FileEntry::Kind::kDir;
  else
    malformed(offset, "\"kind\" is not \"file\" or \"dir\"");
  const auto& hash = field(obj, "sha3_512", offset);
  if (!hash.is_string() || hash.get_ref<const std::string&>().size() != 128)
    malformed(offset, "\"sha3_512\" is not 128 hex digits");
  const std::string& hex = hash.get_ref<const std::string&>();
  for (std::size_t i = 0; i < 64; ++i) {
    auto nib = [&](char c) -> int {
      if (c >= '0' && c <= '9') return c - '0';
      if (c >= 'a' && c <= 'f') return c - 'a' + 10;
      if (c >= 'A' && c <= 'F') return c - 'A' + 10;
      malformed(offset, "\"sha3_512\" is not 128 hex digits");
    };
    e.sha3_512[i] = static_cast<std::uint8_t>(nib(hex[2 * i]) * 16 + nib(hex[2 * i + 1]));
  }
  const auto& size = field(obj, "size", offset);
  if (!size.is_number_unsigned()) malformed(offset, "\"size\" is not an unsigned integer");
  e.size = size.get<std::uint64_t>();
  return e;
}

}  // namespace

void IndexFeed::apply_line(std::string_view line, std::uint64_t offset) {
  JsonDepthCheck depth(4);  // lines are flat objects; refuse deep nesting before building a DOM
  if (!nlohmann::json::sax_parse(line, &depth) && depth.too_deep()) malformed(offset, "JSON nested too deeply");
  nlohmann::json obj;
  try {
    obj = nlohmann::json::parse(line);
  } catch (const nlohmann::json::parse_error& e) {
    malformed(offset + (e.byte > 0 ? e.byte - 1 : 0), std::string("malformed JSON: ") + e.what());
  } catch (const nlohmann::json::exception& e) {  // e.g. out_of_range 406: a number too large
    malformed(offset, std::string("malformed JSON: ") + e.what());
  }
  if (!obj.is_object()) malformed(offset, "line is not a JSON object");
  const auto& op_node = field(obj, "op", offset);
  if (!op_node.is_string()) malformed(offset, "\"op\" is not a string");
  const std::string& op = op_node.get_ref<const std::string&>();
  ++lines_;
  if (op == "snapshot_begin") {
    staging_.emplace();
  } else if (op == "snapshot_end") {
    if (!staging_) malformed(offset, "snapshot_end without snapshot_begin");
    index_.replace(std::move(*staging_));
    staging_.reset();
  } else if (op == "put") {
    std::string path = path_field(obj, offset);
    const FileEntry e = entry_fields(obj, offset);
    if (staging_)
      (*staging_)[std::move(path)] = e;
    else
      index_.put(path, e);
  } else if (op == "del") {
    const std::string path = path_field(obj, offset);
    if (staging_)
      erase_subtree(*staging_, path);
    else
      index_.erase(path);
  } else {
    --lines_;
    malformed(offset, "unknown op \"" + op + "\"");
  }
}

IndexAdmission admit_index_peer(std::uint32_t peer_uid, std::uint32_t producer_uid, bool producer_live) {
  if (peer_uid != producer_uid) return IndexAdmission::kWrongUid;
  return producer_live ? IndexAdmission::kBusy : IndexAdmission::kAccept;
}

}  // namespace ef::websrv
