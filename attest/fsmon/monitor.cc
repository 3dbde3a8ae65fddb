#include "attest/fsmon/monitor.h"

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <memory>

#include "base/error.h"
#include "base/log.h"

namespace ef::fsmon {
namespace {

bool under(const std::string& path, const std::string& dir) {
  if (dir == "/") return !path.empty() && path[0] == '/';
  return path == dir || (path.size() > dir.size() && path.compare(0, dir.size(), dir) == 0 && path[dir.size()] == '/');
}

std::string child_prefix(const std::string& dir) { return dir == "/" ? "/" : dir + "/"; }

std::string parent_of(const std::string& path) {
  auto slash = path.rfind('/');
  if (slash == 0 || slash == std::string::npos) return "/";
  return path.substr(0, slash);
}

}  // namespace

Monitor::Monitor(MonitorOptions options, EventSource& source, HashPool& pool, Index& index)
    : opt_(std::move(options)), source_(source), pool_(pool), index_(index) {
  if (opt_.queue_bound < 1) opt_.queue_bound = 1;
}

int Monitor::root_of(const std::string& path) const {
  for (std::size_t i = 0; i < opt_.roots.size(); ++i)
    if (under(path, opt_.roots[i])) return static_cast<int>(i);
  return -1;
}

bool Monitor::is_ignored(const std::string& path, bool is_dir) const {
  int r = root_of(path);
  if (r < 0) return true;
  const std::string& root = opt_.roots[static_cast<std::size_t>(r)];
  if (path.size() == root.size()) return false;
  std::string_view rel = std::string_view(path).substr(root == "/" ? 1 : root.size() + 1);
  return opt_.ignore.ignored(rel, is_dir);
}

Record Monitor::record_of(const std::string& path, const Node& n) const {
  return Record{path, n.kind, n.hex, n.kind == Kind::kDir ? 0 : n.size, n.time_ms};
}

void Monitor::start(Clock::time_point now) {
  for (const auto& root : opt_.roots) {
    struct stat st;
    if (::lstat(root.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
      throw Error("root " + root + ": not a directory (symbolic links are not followed: give the real path)");
  }
  ++epoch_;
  for (const auto& root : opt_.roots) {
    add_dir(root, false);
    if (!nodes_.count(root)) throw Error("root " + root + ": cannot watch it");
  }
  last_dir_flush_ = now;
}

void Monitor::mark_parent_dirty(const std::string& path) {
  if (root_of(path) < 0) return;
  for (const auto& r : opt_.roots)
    if (r == path) return;
  std::string parent = parent_of(path);
  auto it = nodes_.find(parent);
  if (it != nodes_.end() && it->second.kind == Kind::kDir) dirty_dirs_.insert(parent);
}

void Monitor::dispatch(const std::string& path, Node& node) {
  node.settling = false;
  if (node.inflight) {
    // At most one job per file: a file rewritten faster than it hashes queues
    // one more hash, not one per write.
    node.rehash = true;
    return;
  }
  node.rehash = false;
  node.inflight = true;
  node.gen = ++next_gen_;
  ++in_flight_;
  pool_.submit(HashJob{path, node.gen});
}

void Monitor::schedule(const std::string& path, Clock::time_point now) {
  if (rescan_needed_) return;  // the rescan will look at every file
  auto [it, inserted] = nodes_.try_emplace(path);
  Node& n = it->second;
  if (inserted) {
    n.kind = Kind::kFile;
    n.epoch = epoch_;
  } else if (n.kind == Kind::kDir) {
    return;  // a directory's content is tracked through its own events
  }
  if (n.settling) return;  // coalesced into the pending hash
  if (settle_.size() >= opt_.queue_bound) {
    ++stats_.queue_overflows;
    rescan_needed_ = true;
    log::warn("event queue full: full rescan", {{"bound", std::to_string(opt_.queue_bound)}});
    return;
  }
  n.settling = true;
  settle_.emplace_back(now + opt_.settle, path);
}

void Monitor::consider_file(const std::string& path, bool sweep) {
  auto [it, inserted] = nodes_.try_emplace(path);
  Node& n = it->second;
  n.epoch = epoch_;
  if (!inserted && n.kind == Kind::kDir) {
    remove_subtree(path, true);
    auto [it2, _] = nodes_.try_emplace(path);
    it2->second.epoch = epoch_;
    dispatch(path, it2->second);
    return;
  }
  if (sweep && n.hashed && n.trusted && !n.settling && !n.inflight && !n.rehash) {
    StatKey st;
    bool is_dir = false, is_reg = false;
    if (stat_key(path, st, is_dir, is_reg) && is_reg && st == n.st) return;  // unchanged since it was hashed
  }
  dispatch(path, n);
}

void Monitor::add_dir(const std::string& top, bool sweep) {
  std::vector<std::string> stack{top};
  while (!stack.empty()) {
    std::string dir = std::move(stack.back());
    stack.pop_back();
    auto [it, inserted] = nodes_.try_emplace(dir);
    if (!inserted && it->second.kind != Kind::kDir) {
      remove_subtree(dir, true);
      it = nodes_.try_emplace(dir).first;
    }
    it->second.kind = Kind::kDir;
    it->second.epoch = epoch_;
    dirty_dirs_.insert(dir);
    mark_parent_dirty(dir);
    // Watch first, then list: a file created in between is seen by both (harmless).
    if (!source_.add_watch(dir)) {
      remove_subtree(dir, true);
      continue;
    }
    std::unique_ptr<DIR, int (*)(DIR*)> d(::opendir(dir.c_str()), ::closedir);
    if (!d) {
      log::warn("cannot list directory", {{"path", dir}});
      continue;
    }
    std::string prefix = child_prefix(dir);
    while (dirent* e = ::readdir(d.get())) {
      std::string_view name = e->d_name;
      if (name == "." || name == "..") continue;
      std::string full = prefix + std::string(name);
      unsigned char type = e->d_type;
      if (type == DT_UNKNOWN) {
        struct stat st;
        if (::lstat(full.c_str(), &st) != 0) continue;
        type = S_ISDIR(st.st_mode) ? DT_DIR : S_ISREG(st.st_mode) ? DT_REG : DT_LNK;
      }
      if (type == DT_DIR) {
        if (!is_ignored(full, true)) stack.push_back(full);
      } else if (type == DT_REG) {
        if (!is_ignored(full, false)) consider_file(full, sweep);
      }
    }
  }
}

void Monitor::remove_subtree(const std::string& path, bool publish) {
  bool any = false;
  auto it = nodes_.find(path);
  if (it != nodes_.end()) {
    nodes_.erase(it);
    any = true;
  }
  std::string prefix = child_prefix(path);
  for (it = nodes_.lower_bound(prefix); it != nodes_.end() && it->first.compare(0, prefix.size(), prefix) == 0;) {
    dirty_dirs_.erase(it->first);
    it = nodes_.erase(it);
  }
  dirty_dirs_.erase(path);
  if (any) {
    mark_parent_dirty(path);
    if (publish) index_.del(path);
  }
}

void Monitor::pump_events(Clock::time_point now) {
  while (auto ev = source_.next()) {
    ++stats_.events;
    handle(*ev, now);
  }
}

void Monitor::handle(const FsEvent& ev, Clock::time_point now) {
  using T = FsEvent::Type;
  if (ev.type == T::kOverflow) {
    ++stats_.kernel_overflows;
    rescan_needed_ = true;
    log::warn("inotify queue overflow: full rescan");
    return;
  }
  if (ev.type == T::kMovedTo) {
    auto mit = moves_.find(ev.cookie);
    if (mit != moves_.end()) {
      Move m = std::move(mit->second);
      moves_.erase(mit);
      ++stats_.moves;
      if (root_of(ev.path) < 0 || is_ignored(ev.path, m.is_dir)) {
        finish_move(m);  // moved somewhere not tracked: gone
        return;
      }
      remove_subtree(ev.path, true);  // a rename over an existing name replaces it
      if (m.is_dir) source_.rename_tree(m.holding, ev.path);
      if (m.nodes.empty() && !m.is_dir) {
        schedule(ev.path, now);  // an untracked file (still being written, or ignored before)
        return;
      }
      if (m.is_dir && m.nodes.empty()) {
        add_dir(ev.path, true);
        return;
      }
      for (auto& [rel, node] : m.nodes) {
        std::string p = ev.path + rel;
        if (!rel.empty() && is_ignored(p, node.kind == Kind::kDir)) {
          if (node.kind == Kind::kDir) source_.remove_tree(p);
          continue;
        }
        if (node.kind == Kind::kFile && root_of(parent_of(p)) >= 0 && !nodes_.count(parent_of(p)) && !rel.empty())
          continue;  // its parent was dropped (ignored)
        node.epoch = epoch_;
        bool was_pending = node.settling || node.inflight || node.rehash;
        node.settling = node.inflight = node.rehash = false;
        auto [it, _] = nodes_.insert_or_assign(p, node);
        if (node.kind == Kind::kDir) {
          dirty_dirs_.insert(p);
          if (node.hashed) index_.put(record_of(p, node));
          continue;
        }
        StatKey st;
        bool is_dir = false, is_reg = false;
        bool same = node.hashed && !was_pending && node.trusted && stat_key(p, st, is_dir, is_reg) && is_reg &&
                    st == node.st;
        if (same) {
          index_.put(record_of(p, node));
        } else {
          it->second.hashed = false;
          dispatch(p, it->second);  // not through the settle queue: a big moved tree must not overflow it
        }
      }
      mark_parent_dirty(ev.path);
      return;
    }
    // Moved in from outside the watched trees.
    if (is_ignored(ev.path, ev.is_dir)) return;
    remove_subtree(ev.path, true);
    if (ev.is_dir) add_dir(ev.path, false);
    else schedule(ev.path, now);
    return;
  }
  if (ev.type == T::kMovedFrom) {
    if (root_of(ev.path) < 0) return;
    if (auto old = moves_.find(ev.cookie); old != moves_.end()) {
      finish_move(old->second);
      moves_.erase(old);
    }
    Move m;
    m.from = ev.path;
    m.is_dir = ev.is_dir;
    m.deadline = now + std::max(opt_.settle, std::chrono::milliseconds(2));
    auto it = nodes_.find(ev.path);
    if (it != nodes_.end()) m.nodes.emplace_back("", it->second);
    std::string prefix = child_prefix(ev.path);
    for (auto c = nodes_.lower_bound(prefix); c != nodes_.end() && c->first.compare(0, prefix.size(), prefix) == 0;
         ++c)
      m.nodes.emplace_back(c->first.substr(ev.path.size()), c->second);
    remove_subtree(ev.path, true);
    if (ev.is_dir) {
      m.holding = "//moving/" + std::to_string(ev.cookie);
      source_.rename_tree(ev.path, m.holding);
    }
    moves_.emplace(ev.cookie, std::move(m));
    return;
  }
  if (root_of(ev.path) < 0 || is_ignored(ev.path, ev.is_dir)) return;
  switch (ev.type) {
    case T::kCreate:
      if (ev.is_dir) {
        add_dir(ev.path, false);
      } else {
        // A new hard link (link(2)) brings complete content without any close
        // event; a file still being written has one link and waits for its close.
        struct stat st;
        if (::lstat(ev.path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && st.st_nlink > 1) schedule(ev.path, now);
      }
      break;
    case T::kCloseWrite:
      schedule(ev.path, now);
      break;
    case T::kDelete:
      ++stats_.deletes;
      remove_subtree(ev.path, true);
      if (ev.is_dir) source_.remove_tree(ev.path);
      break;
    default:
      break;
  }
}

void Monitor::finish_move(Move& m) {
  if (m.is_dir && !m.holding.empty()) source_.remove_tree(m.holding);
}

void Monitor::apply_results(std::vector<HashResult> results) {
  for (auto& r : results) {
    if (in_flight_ > 0) --in_flight_;
    auto it = nodes_.find(r.path);
    if (it == nodes_.end() || it->second.gen != r.gen || it->second.kind != Kind::kFile) continue;  // stale
    Node& n = it->second;
    n.inflight = false;
    if (n.rehash) {
      dispatch(r.path, n);  // this result is already out of date
      continue;
    }
    switch (r.status) {
      case HashResult::Status::kOk:
        ++stats_.hashed;
        n.hashed = true;
        n.hex = std::move(r.hex);
        n.size = r.size;
        n.st = r.st;
        n.trusted = r.trusted;
        n.time_ms = r.time_ms;
        index_.put(record_of(r.path, n));
        mark_parent_dirty(r.path);
        break;
      case HashResult::Status::kGone:
      case HashResult::Status::kNotRegular:
        if (!n.settling) remove_subtree(r.path, true);
        break;
      case HashResult::Status::kError:
        ++stats_.hash_errors;
        log::warn("cannot hash file", {{"path", r.path}, {"error", r.error}});
        break;
    }
  }
}

void Monitor::flush_dirs() {
  std::vector<DirChild> children;
  while (!dirty_dirs_.empty()) {
    std::string dir = *std::prev(dirty_dirs_.end());
    dirty_dirs_.erase(std::prev(dirty_dirs_.end()));
    auto dit = nodes_.find(dir);
    if (dit == nodes_.end() || dit->second.kind != Kind::kDir) continue;
    children.clear();
    std::string prefix = child_prefix(dir);
    for (auto it = nodes_.lower_bound(prefix); it != nodes_.end() && it->first.compare(0, prefix.size(), prefix) == 0;) {
      const Node& c = it->second;
      std::string name = it->first.substr(prefix.size());
      if (c.hashed) children.push_back(DirChild{name, c.kind, c.hex});
      if (c.kind == Kind::kDir) it = nodes_.lower_bound(it->first + "0");  // '0' follows '/': skip its subtree
      else ++it;
    }
    std::string hex = dir_hash(std::move(children));
    children = {};
    Node& d = dit->second;
    if (d.hashed && d.hex == hex) continue;
    d.hashed = true;
    d.hex = std::move(hex);
    timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    d.time_ms = static_cast<std::int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
    index_.put(record_of(dir, d));
    mark_parent_dirty(dir);
  }
}

void Monitor::rescan() {
  ++stats_.rescans;
  rescan_needed_ = false;
  for (auto& [_, m] : moves_) finish_move(m);
  moves_.clear();
  settle_.clear();
  for (auto& [_, n] : nodes_) n.settling = false;
  ++epoch_;
  for (const auto& root : opt_.roots) add_dir(root, true);
  std::vector<std::string> gone;
  for (auto& [p, n] : nodes_)
    if (n.epoch != epoch_) gone.push_back(p);
  for (auto& p : gone) {
    auto it = nodes_.find(p);
    if (it == nodes_.end()) continue;
    if (it->second.kind == Kind::kDir) source_.remove_tree(p);
    remove_subtree(p, true);
  }
  index_.resync_all();
  log::info("rescan done", {{"tracked", std::to_string(nodes_.size())}, {"hashing", std::to_string(in_flight_)}});
}

Monitor::Clock::time_point Monitor::tick(Clock::time_point now) {
  if (rescan_needed_) rescan();
  while (!settle_.empty() && settle_.front().first <= now) {
    std::string path = std::move(settle_.front().second);
    settle_.pop_front();
    auto it = nodes_.find(path);
    if (it == nodes_.end() || !it->second.settling) continue;
    dispatch(path, it->second);
  }
  for (auto it = moves_.begin(); it != moves_.end();) {
    if (it->second.deadline <= now) {
      finish_move(it->second);
      it = moves_.erase(it);
    } else {
      ++it;
    }
  }
  if (!dirty_dirs_.empty() && (now - last_dir_flush_ >= dir_gap_ || (in_flight_ == 0 && settle_.empty()))) {
    auto t0 = Clock::now();
    flush_dirs();
    auto took = Clock::now() - t0;
    last_dir_flush_ = now;
    // Directory hashes cost O(children): keep them to at most ~1/5 of the time
    // under a flood, so file hashing (the latency that matters) goes first.
    dir_gap_ = std::max<Clock::duration>(opt_.dir_interval, took * 5);
  }
  auto next = Clock::time_point::max();
  if (!settle_.empty()) next = std::min(next, settle_.front().first);
  for (auto& [_, m] : moves_) next = std::min(next, m.deadline);
  if (!dirty_dirs_.empty()) next = std::min(next, last_dir_flush_ + dir_gap_);
  if (rescan_needed_) next = now;
  return next;
}

bool Monitor::idle() const {
  return settle_.empty() && in_flight_ == 0 && dirty_dirs_.empty() && moves_.empty() && !rescan_needed_;
}

}  // namespace ef::fsmon
