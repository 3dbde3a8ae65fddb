#include "engine/nitro/allocator.h"

#include <charconv>
#include <fstream>

#include "base/error.h"
#include "base/yaml_config.h"

namespace ef::engine::nitro {
namespace fs = std::filesystem;
namespace {

std::optional<std::string> read_trimmed(const fs::path& p) {
  std::ifstream in(p);
  if (!in) return std::nullopt;
  std::string s((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

std::uint64_t read_number(const fs::path& p) {
  auto s = read_trimmed(p);
  if (!s) throw Error("read " + p.string() + ": missing");
  std::uint64_t v = 0;
  auto [end, ec] = std::from_chars(s->data(), s->data() + s->size(), v);
  if (ec != std::errc() || end != s->data() + s->size()) throw Error(p.string() + ": not a number: '" + *s + "'");
  return v;
}

}  // namespace

std::set<unsigned> parse_cpu_list(std::string_view text) {
  std::set<unsigned> out;
  std::string_view rest = text;
  auto bad = [&] { return Error("CPU list '" + std::string(text) + "': expected e.g. 2,3,6-9"); };
  auto num = [&](std::string_view s) {
    unsigned v = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (s.empty() || ec != std::errc() || end != s.data() + s.size() || v > 8191) throw bad();
    return v;
  };
  while (!rest.empty()) {
    auto comma = rest.find(',');
    std::string_view item = rest.substr(0, comma);
    auto dash = item.find('-');
    if (dash == std::string_view::npos) {
      out.insert(num(item));
    } else {
      unsigned lo = num(item.substr(0, dash)), hi = num(item.substr(dash + 1));
      if (lo > hi) throw bad();
      for (unsigned c = lo; c <= hi; ++c) out.insert(c);
    }
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
    if (rest.empty()) throw bad();
  }
  return out;
}

std::string format_cpu_list(const std::set<unsigned>& cpus) {
  std::string s;
  for (unsigned c : cpus) s += (s.empty() ? "" : ",") + std::to_string(c);
  return s.empty() ? "none" : s;
}

AllocatorConfig read_allocator_config(const fs::path& root) {
  fs::path file = root / "etc/nitro_enclaves/allocator.yaml";
  ConfigNode n = ConfigNode::load_file(file);
  n.expect_map();
  n.expect_keys({"memory_mib", "cpu_count", "cpu_pool"});
  AllocatorConfig c;
  c.memory_mib = static_cast<std::uint64_t>(n.required("memory_mib").as_int(1, 1 << 24));
  if (n.has("cpu_count") == n.has("cpu_pool")) n.fail("set exactly one of cpu_count or cpu_pool");
  if (auto cc = n.optional("cpu_count")) c.cpu_count = static_cast<unsigned>(cc->as_int(1, 8192));
  if (auto cp = n.optional("cpu_pool")) {
    try {
      c.cpu_pool = parse_cpu_list(cp->as_string());
    } catch (const Error& e) {
      cp->fail(e.what());
    }
  }
  return c;
}

std::uint64_t HostResources::free_mib() const {
  std::uint64_t kb = 0;
  for (const auto& [size_kb, pages] : free_pages) kb += size_kb * pages;
  return kb / 1024;
}

HostResources read_host_resources(const fs::path& root) {
  HostResources h;
  fs::path pool_file = root / "sys/module/nitro_enclaves/parameters/ne_cpus";
  auto pool = read_trimmed(pool_file);
  if (!pool)
    throw Error(pool_file.string() + " is missing: the nitro_enclaves driver is not loaded (is this a Nitro instance with enclaves enabled?)");
  h.pool = with_context(pool_file.string(), [&] { return parse_cpu_list(*pool); });
  for (unsigned c : h.pool) {
    auto online = read_trimmed(root / ("sys/devices/system/cpu/cpu" + std::to_string(c)) / "online");
    if (online && *online == "1") h.online_in_pool.insert(c);
  }
  fs::path hp = root / "sys/kernel/mm/hugepages";
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(hp, ec)) {
    std::string name = entry.path().filename().string();  // hugepages-2048kB
    if (!name.starts_with("hugepages-") || !name.ends_with("kB")) continue;
    std::uint64_t kb = 0;
    std::string_view digits(name.data() + 10, name.size() - 12);
    auto [end, perr] = std::from_chars(digits.data(), digits.data() + digits.size(), kb);
    if (perr != std::errc() || end != digits.data() + digits.size()) continue;
    h.free_pages[kb] = read_number(entry.path() / "free_hugepages");
    h.total_pages[kb] = read_number(entry.path() / "nr_hugepages");
  }
  if (ec) throw Error("read " + hp.string() + ": " + ec.message());
  return h;
}

void check_fits(const HostResources& host, const std::optional<AllocatorConfig>& config, unsigned cpus,
                std::uint64_t memory_mib, const std::set<unsigned>& used_cpus, bool smt) {
  if (smt && cpus % 2 != 0)
    throw Error("--cpu-count " + std::to_string(cpus) +
                ": Nitro gives enclaves whole cores, and this host has 2 threads per core: ask for an even count");
  if (!host.online_in_pool.empty())
    throw Error("CPUs " + format_cpu_list(host.online_in_pool) +
                " are in the enclave pool but still online: run nitro-enclaves-allocator (it takes them offline)");
  std::set<unsigned> free;
  for (unsigned c : host.pool)
    if (!used_cpus.count(c)) free.insert(c);
  if (free.size() < cpus) {
    std::string why = "the enclave needs " + std::to_string(cpus) + " CPUs but the pool (ne_cpus = " +
                      format_cpu_list(host.pool) + ") has " + std::to_string(free.size()) + " free (" +
                      format_cpu_list(free) + "; in use by running enclaves: " + format_cpu_list(used_cpus) + ")";
    if (config) {
      why += "; allocator.yaml reserves " +
             (config->cpu_count ? std::to_string(*config->cpu_count) + " CPUs (cpu_count)"
                                : "CPUs " + format_cpu_list(config->cpu_pool) + " (cpu_pool)");
    }
    throw Error(why + ": raise cpu_count/cpu_pool in /etc/nitro_enclaves/allocator.yaml and restart nitro-enclaves-allocator");
  }
  if (host.free_mib() < memory_mib) {
    std::string pages;
    for (const auto& [kb, n] : host.free_pages)
      pages += (pages.empty() ? "" : ", ") + std::string("hugepages-") + std::to_string(kb) + "kB: " + std::to_string(n) +
               " free of " + std::to_string(host.total_pages.count(kb) ? host.total_pages.at(kb) : 0);
    std::string why = "the enclave needs " + std::to_string(memory_mib) + " MiB of hugepages but " +
                      std::to_string(host.free_mib()) + " MiB are free (" + (pages.empty() ? "no hugepages configured" : pages) + ")";
    if (config) why += "; allocator.yaml reserves memory_mib: " + std::to_string(config->memory_mib);
    throw Error(why + ": raise memory_mib in /etc/nitro_enclaves/allocator.yaml and restart nitro-enclaves-allocator");
  }
}

}  // namespace ef::engine::nitro
