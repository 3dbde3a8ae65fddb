#pragma once
// Copies bytes both ways between two connected stream fds until both
// directions ended (half-close passed on with shutdown(SHUT_WR)).

namespace ef::engine::local {

/// Returns the bytes moved a → b plus b → a. Blocks; closes nothing.
unsigned long long relay(int a, int b);

}  // namespace ef::engine::local
