#include "runtime/nsm_entropy.h"

#include <fcntl.h>
#include <linux/random.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cstring>
#include <string_view>

#include "base/error.h"
#include "base/fd.h"

namespace ef::init {
namespace {

// The NSM driver's raw request (linux/nsm.h, also the out-of-tree nsm.ko).
struct NsmIovec {
  std::uint64_t addr;
  std::uint64_t len;
};
struct NsmRaw {
  NsmIovec request;
  NsmIovec response;
};
constexpr unsigned long kNsmIoctlRaw = _IOWR(0x0A, 0, NsmRaw);
constexpr std::size_t kResponseMax = 0x3000;

/// Reads a CBOR head (major type, argument) at `pos`; false when truncated or indefinite.
bool head(std::span<const std::uint8_t> d, std::size_t& pos, int& major, std::uint64_t& arg) {
  if (pos >= d.size()) return false;
  major = d[pos] >> 5;
  int info = d[pos] & 0x1F;
  ++pos;
  if (info < 24) {
    arg = static_cast<std::uint64_t>(info);
    return true;
  }
  if (info > 27) return false;
  std::size_t n = std::size_t{1} << (info - 24);
  if (d.size() - pos < n) return false;
  arg = 0;
  for (std::size_t i = 0; i < n; ++i) arg = (arg << 8) | d[pos++];
  return true;
}

bool text_is(std::span<const std::uint8_t> d, std::size_t& pos, std::string_view want) {
  int major = 0;
  std::uint64_t len = 0;
  if (!head(d, pos, major, len) || major != 3 || len != want.size() || d.size() - pos < len) return false;
  bool same = std::memcmp(d.data() + pos, want.data(), want.size()) == 0;
  pos += len;
  return same;
}

}  // namespace

std::vector<std::uint8_t> nsm_get_random_request() {
  std::vector<std::uint8_t> out = {0x60 | 9};
  for (char c : std::string_view("GetRandom")) out.push_back(static_cast<std::uint8_t>(c));
  return out;
}

std::optional<std::vector<std::uint8_t>> parse_get_random_response(std::span<const std::uint8_t> d) {
  std::size_t pos = 0;
  int major = 0;
  std::uint64_t n = 0;
  if (!head(d, pos, major, n) || major != 5 || n != 1) return std::nullopt;
  if (!text_is(d, pos, "GetRandom")) return std::nullopt;
  if (!head(d, pos, major, n) || major != 5 || n != 1) return std::nullopt;
  if (!text_is(d, pos, "random")) return std::nullopt;
  if (!head(d, pos, major, n) || major != 2 || d.size() - pos < n) return std::nullopt;
  return std::vector<std::uint8_t>(d.begin() + static_cast<std::ptrdiff_t>(pos),
                                   d.begin() + static_cast<std::ptrdiff_t>(pos + n));
}

std::size_t seed_entropy_from_nsm(const char* nsm_path, const char* random_path) {
  UniqueFd nsm(open(nsm_path, O_RDWR | O_CLOEXEC));
  if (!nsm) throw_errno("open", nsm_path);
  std::vector<std::uint8_t> req = nsm_get_random_request();
  std::vector<std::uint8_t> resp(kResponseMax);
  NsmRaw raw{{reinterpret_cast<std::uintptr_t>(req.data()), req.size()},
             {reinterpret_cast<std::uintptr_t>(resp.data()), resp.size()}};
  if (ioctl(nsm.get(), kNsmIoctlRaw, &raw) < 0) throw_errno("request GetRandom from", nsm_path);
  resp.resize(std::min<std::size_t>(raw.response.len, resp.size()));
  auto random = parse_get_random_response(resp);
  if (!random || random->empty()) throw Error(std::string(nsm_path) + ": unexpected GetRandom response");
  std::vector<std::uint8_t> buf(sizeof(rand_pool_info) + random->size());
  auto* info = reinterpret_cast<rand_pool_info*>(buf.data());
  info->entropy_count = static_cast<int>(random->size() * 8);
  info->buf_size = static_cast<int>(random->size());
  std::memcpy(buf.data() + sizeof(rand_pool_info), random->data(), random->size());
  UniqueFd rnd(open(random_path, O_WRONLY | O_CLOEXEC));
  if (!rnd) throw_errno("open", random_path);
  if (ioctl(rnd.get(), RNDADDENTROPY, info) < 0) throw_errno("add entropy to", random_path);
  return random->size();
}

}  // namespace ef::init
