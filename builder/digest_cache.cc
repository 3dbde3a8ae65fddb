#include "builder/digest_cache.h"

#include <nlohmann/json.hpp>

#include "base/atomic_file.h"
#include "base/file.h"
#include "base/json_integer.h"

namespace ef::build {
namespace fs = std::filesystem;

namespace {
std::int64_t ns(const struct timespec& t) { return static_cast<std::int64_t>(t.tv_sec) * 1000000000 + t.tv_nsec; }
}  // namespace

DigestCache::DigestCache(fs::path file) : file_(std::move(file)) {
  std::error_code ec;
  if (!fs::exists(file_, ec)) return;
  try {
    nlohmann::json j = nlohmann::json::parse(read_text_file(file_));
    for (auto& [path, e] : j.at("files").items())
      entries_[path] = Entry{json_integer<std::uint64_t>(e.at(0), path), json_integer<std::uint64_t>(e.at(1), path),
                             json_integer<std::uint64_t>(e.at(2), path), json_integer<std::int64_t>(e.at(3), path),
                             json_integer<std::int64_t>(e.at(4), path), e.at(5).get<std::string>()};
  } catch (const std::exception&) {
    entries_.clear();  // a damaged cache costs a re-hash, nothing else
  }
}

std::optional<std::string> DigestCache::lookup(const fs::path& path, const struct stat& st) const {
  auto it = entries_.find(fs::absolute(path).lexically_normal().string());
  if (it == entries_.end()) return std::nullopt;
  const Entry& e = it->second;
  if (e.dev != st.st_dev || e.ino != st.st_ino || e.size != static_cast<std::uint64_t>(st.st_size) ||
      e.mtime_ns != ns(st.st_mtim) || e.ctime_ns != ns(st.st_ctim))
    return std::nullopt;
  return e.sha256;
}

void DigestCache::remember(const fs::path& path, const struct stat& st, const std::string& sha256) {
  entries_[fs::absolute(path).lexically_normal().string()] =
      Entry{st.st_dev, st.st_ino, static_cast<std::uint64_t>(st.st_size), ns(st.st_mtim), ns(st.st_ctim), sha256};
  dirty_ = true;
}

void DigestCache::save() {
  if (!dirty_) return;
  nlohmann::json files = nlohmann::json::object();
  for (const auto& [path, e] : entries_) files[path] = {e.dev, e.ino, e.size, e.mtime_ns, e.ctime_ns, e.sha256};
  fs::create_directories(file_.parent_path());
  write_file_atomic(file_, nlohmann::json{{"files", files}}.dump() + "\n", 0600);
  dirty_ = false;
}

}  // namespace ef::build
