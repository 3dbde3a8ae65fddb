#include "runtime/deps.h"

#include <algorithm>
#include <map>
#include <string>

#include "base/error.h"

namespace ef::init {
namespace {

enum class Mark { kNone, kVisiting, kDone };

struct Sorter {
  const std::vector<ServiceSpec>& services;
  std::map<std::string, std::size_t, std::less<>> index;
  std::vector<Mark> marks;
  std::vector<std::size_t> path;
  std::vector<std::size_t> order;

  void visit(std::size_t i) {
    if (marks[i] == Mark::kDone) return;
    if (marks[i] == Mark::kVisiting) throw Error("dependency cycle: " + describe_cycle(i));
    marks[i] = Mark::kVisiting;
    path.push_back(i);
    for (const auto* list : {&services[i].after, &services[i].requires_})
      for (const std::string& dep : *list)
        if (auto it = index.find(dep); it != index.end()) visit(it->second);
    path.pop_back();
    marks[i] = Mark::kDone;
    order.push_back(i);
  }

  std::string describe_cycle(std::size_t again) const {
    auto start = std::find(path.begin(), path.end(), again);
    std::string out;
    for (auto it = start; it != path.end(); ++it) out += services[*it].name + " -> ";
    return out + services[again].name;
  }
};

}  // namespace

std::vector<std::size_t> start_order(const std::vector<ServiceSpec>& services) {
  Sorter s{services, {}, std::vector<Mark>(services.size(), Mark::kNone), {}, {}};
  for (std::size_t i = 0; i < services.size(); ++i) s.index.emplace(services[i].name, i);
  for (std::size_t i = 0; i < services.size(); ++i) s.visit(i);
  return s.order;
}

}  // namespace ef::init
