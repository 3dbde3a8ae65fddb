#pragma once
// An error that maps to an HTTP status and names the request field at fault.

#include <string>
#include <string_view>

#include "base/error.h"

namespace ef::websrv {

/// Thrown by request decoding and handlers; the dispatcher turns it into
/// {"error": message, "field": field} with `status` (400, 404, 405, 413, 422, 431, 500...).
class HttpError : public Error {
 public:
  HttpError(int status, std::string_view field, const std::string& message)
      : Error(message), status_(status), field_(field) {}
  int status() const { return status_; }
  const std::string& field() const { return field_; }

 private:
  int status_;
  std::string field_;
};

/// 400 naming `field`.
[[noreturn]] inline void bad_request(std::string_view field, const std::string& message) {
  throw HttpError(400, field, message);
}

}  // namespace ef::websrv
