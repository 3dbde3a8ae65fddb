#pragma once
// Where a service's output goes: a size-rotated file, the console (each line
// prefixed with the service name), an in-memory tail, and live followers.

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "base/fd.h"
#include "runtime/config.h"

namespace ef::init {

class LogSink {
 public:
  using Follower = std::function<void(std::string_view line)>;

  /// `path` empty: no file. `console_fd` < 0: no console.
  LogSink(std::string name, std::string path, const LogSpec& spec, int console_fd);

  /// Appends raw output; complete lines reach the console, tail and followers.
  void append(std::string_view data);
  /// Flushes a trailing partial line (the writer closed its end).
  void flush_partial();

  /// The last `n` complete lines kept in memory (at most kTailLines).
  std::vector<std::string> tail(std::size_t n) const;
  int follow(Follower f);
  void unfollow(int id);

  static constexpr std::size_t kTailLines = 1000;
  static constexpr std::size_t kMaxLine = 16 * 1024;

 private:
  void line(std::string_view l);
  void write_file(std::string_view data);
  void rotate();

  std::string name_;
  std::string path_;
  LogSpec spec_;
  int console_fd_;
  UniqueFd file_;
  std::uint64_t file_size_ = 0;
  std::string partial_;
  std::deque<std::string> tail_;
  std::map<int, Follower> followers_;
  int next_follower_ = 1;
};

}  // namespace ef::init
