#pragma once
// Names from images and archives are bytes chosen by whoever made them: a
// newline in a file name must not split a line of `rbuild diff`, and an escape
// sequence must not reach the terminal. Every human-readable output passes
// such names through escape_for_display (the --json outputs escape by JSON's rules).

#include <string>
#include <string_view>

namespace ef::build {

/// `s` with every byte that is not printable kept unambiguous: backslash ->
/// "\\", newline/tab/CR -> "\n" "\t" "\r", other control bytes, DEL and bytes
/// that are not part of well-formed UTF-8 -> "\xNN". Printable ASCII and
/// well-formed UTF-8 sequences of printable characters pass unchanged.
std::string escape_for_display(std::string_view s);

}  // namespace ef::build
