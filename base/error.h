#pragma once
// The project's one error model: exceptions carrying a message that gains
// context as it travels up, printed once at the top (nix-style).

#include <cerrno>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

namespace ef {

/// Any failure the user should read. what() is the full message with context.
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

/// A system call failed: "ACTION OBJECT: strerror(errno)". errno is saved by the caller.
class SysError : public Error {
 public:
  SysError(std::string_view action, std::string_view object, int saved_errno);
  int code() const { return code_; }

 private:
  int code_;
};

/// Malformed input: names the input and the byte offset where the fault was found.
class FormatError : public Error {
 public:
  FormatError(std::string_view input, std::uint64_t offset, std::string_view what);
  std::uint64_t offset() const { return offset_; }

 private:
  std::uint64_t offset_;
};

/// Throws SysError for the current errno (read before anything else runs).
[[noreturn]] void throw_errno(std::string_view action, std::string_view object);

/// Runs fn(); an Error escaping it is rethrown with "context: " prepended.
template <typename Fn>
auto with_context(std::string_view context, Fn&& fn) -> decltype(fn()) {
  try {
    return fn();
  } catch (const Error& e) {
    throw Error(std::string(context) + ": " + e.what());
  }
}

}  // namespace ef
