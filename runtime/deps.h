#pragma once
// Dependency order between services (after + requires).

#include <cstddef>
#include <vector>

#include "runtime/config.h"

namespace ef::init {

/// Indices of `services` so that every service comes after everything it lists in
/// `after` and `requires`; ties keep document order. Names not in the list are
/// ignored. A cycle throws ef::Error "dependency cycle: a -> b -> a".
std::vector<std::size_t> start_order(const std::vector<ServiceSpec>& services);

}  // namespace ef::init
