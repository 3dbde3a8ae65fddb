#pragma once
// Reading an integer out of untrusted JSON. nlohmann's get<T>() for an
// integral T converts whatever number it finds: a float is truncated (1.5 → 1)
// and, out of T's range, is undefined behaviour (fuzz.builder_lock found
// 7.6e57 as a lock's "size"); a negative number wraps into an unsigned T.
// json_integer accepts only a JSON integer that T can hold.

#include <concepts>
#include <limits>
#include <string>

#include <nlohmann/json.hpp>

#include "base/error.h"

namespace ef {

/// The value of `v` as T. Throws Error("WHAT: expected an integer from MIN to
/// MAX") when `v` is not a JSON integer (floats, even 1.0, are refused) or lies
/// outside T's range. `what` names the field for the message.
template <std::integral T>
T json_integer(const nlohmann::json& v, const std::string& what) {
  bool fits = false;
  if (v.is_number_unsigned()) {
    fits = v.get<std::uint64_t>() <= static_cast<std::uint64_t>(std::numeric_limits<T>::max());
  } else if (v.is_number_integer()) {
    const std::int64_t i = v.get<std::int64_t>();
    fits = std::numeric_limits<T>::is_signed
               ? i >= static_cast<std::int64_t>(std::numeric_limits<T>::min()) &&
                     i <= static_cast<std::int64_t>(std::numeric_limits<T>::max())
               : i >= 0 && static_cast<std::uint64_t>(i) <= static_cast<std::uint64_t>(std::numeric_limits<T>::max());
  }
  if (!fits)
    throw Error(what + ": expected an integer from " + std::to_string(std::numeric_limits<T>::min()) + " to " +
                std::to_string(std::numeric_limits<T>::max()));
  return v.is_number_unsigned() ? static_cast<T>(v.get<std::uint64_t>()) : static_cast<T>(v.get<std::int64_t>());
}

}  // namespace ef
