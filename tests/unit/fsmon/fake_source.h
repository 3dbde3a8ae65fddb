#pragma once
// A scripted EventSource for the monitor tests: the watch set is a plain set,
// events are queued by the test.
#include <deque>
#include <set>
#include <string>

#include "attest/fsmon/event_source.h"

namespace ef::fsmon::test {

class FakeSource final : public EventSource {
 public:
  bool add_watch(const std::string& dir) override {
    watches.insert(dir);
    return true;
  }
  void rename_tree(const std::string& from, const std::string& to) override {
    std::set<std::string> out;
    for (auto& w : watches) {
      if (w == from || w.rfind(from + "/", 0) == 0) out.insert(to + w.substr(from.size()));
      else out.insert(w);
    }
    watches = out;
  }
  void remove_tree(const std::string& dir) override {
    for (auto it = watches.begin(); it != watches.end();) {
      if (*it == dir || it->rfind(dir + "/", 0) == 0) it = watches.erase(it);
      else ++it;
    }
  }
  std::optional<FsEvent> next() override {
    if (events.empty()) return std::nullopt;
    FsEvent e = events.front();
    events.pop_front();
    return e;
  }
  int fd() const override { return -1; }
  std::size_t watch_count() const override { return watches.size(); }

  void push(FsEvent::Type t, std::string path, bool dir = false, std::uint32_t cookie = 0) {
    events.push_back(FsEvent{t, std::move(path), dir, cookie});
  }

  std::set<std::string> watches;
  std::deque<FsEvent> events;
};

}  // namespace ef::fsmon::test
