#include "base/error.h"

#include <cstring>

namespace ef {

static std::string sys_message(std::string_view action, std::string_view object, int saved_errno) {
  std::string m(action);
  if (!object.empty()) {
    m += ' ';
    m += object;
  }
  m += ": ";
  m += std::strerror(saved_errno);
  return m;
}

SysError::SysError(std::string_view action, std::string_view object, int saved_errno)
    : Error(sys_message(action, object, saved_errno)), code_(saved_errno) {}

FormatError::FormatError(std::string_view input, std::uint64_t offset, std::string_view what)
    : Error(std::string(input) + ": at byte offset " + std::to_string(offset) + ": " + std::string(what)),
      offset_(offset) {}

void throw_errno(std::string_view action, std::string_view object) {
  int saved = errno;
  throw SysError(action, object, saved);
}

}  // namespace ef
