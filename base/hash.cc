#include "base/hash.h"

#include <openssl/evp.h>

#include "base/error.h"
#include "base/file.h"

namespace ef {

struct Hasher::Impl {
  EVP_MD_CTX* ctx = nullptr;
  ~Impl() { EVP_MD_CTX_free(ctx); }
};

static const EVP_MD* md_for(HashAlgo algo) {
  switch (algo) {
    case HashAlgo::kSha256: return EVP_sha256();
    case HashAlgo::kSha384: return EVP_sha384();
    case HashAlgo::kSha3_512: return EVP_sha3_512();
  }
  throw Error("unknown hash algorithm");
}

Hasher::Hasher(HashAlgo algo) : impl_(std::make_unique<Impl>()) {
  impl_->ctx = EVP_MD_CTX_new();
  if (!impl_->ctx || EVP_DigestInit_ex(impl_->ctx, md_for(algo), nullptr) != 1) throw Error("OpenSSL: cannot start digest");
}

Hasher::~Hasher() = default;
Hasher::Hasher(Hasher&&) noexcept = default;
Hasher& Hasher::operator=(Hasher&&) noexcept = default;

void Hasher::update(std::span<const std::uint8_t> data) {
  if (EVP_DigestUpdate(impl_->ctx, data.data(), data.size()) != 1) throw Error("OpenSSL: digest update failed");
}

void Hasher::update(std::string_view data) {
  update(std::span(reinterpret_cast<const std::uint8_t*>(data.data()), data.size()));
}

std::size_t Hasher::digest_size() const { return static_cast<std::size_t>(EVP_MD_CTX_get_size(impl_->ctx)); }

std::vector<std::uint8_t> Hasher::finish() {
  std::vector<std::uint8_t> out(EVP_MAX_MD_SIZE);
  unsigned int len = 0;
  if (EVP_DigestFinal_ex(impl_->ctx, out.data(), &len) != 1) throw Error("OpenSSL: digest final failed");
  out.resize(len);
  return out;
}

std::vector<std::uint8_t> digest(HashAlgo algo, std::span<const std::uint8_t> data) {
  Hasher h(algo);
  h.update(data);
  return h.finish();
}

std::vector<std::uint8_t> digest(HashAlgo algo, std::string_view data) {
  Hasher h(algo);
  h.update(data);
  return h.finish();
}

std::vector<std::uint8_t> digest_file(HashAlgo algo, const std::filesystem::path& path, std::uint64_t* size_out) {
  UniqueFd fd = open_read(path);
  Hasher h(algo);
  std::vector<std::uint8_t> buf(1 << 20);
  std::uint64_t total = 0;
  for (;;) {
    std::size_t n = read_some(fd.get(), buf, path.string());
    if (n == 0) break;
    h.update(std::span(buf.data(), n));
    total += n;
  }
  if (size_out) *size_out = total;
  return h.finish();
}

std::string to_hex(std::span<const std::uint8_t> bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string s;
  s.reserve(bytes.size() * 2);
  for (std::uint8_t b : bytes) {
    s += kDigits[b >> 4];
    s += kDigits[b & 15];
  }
  return s;
}

static int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::vector<std::uint8_t> from_hex(std::string_view hex, std::string_view what) {
  if (hex.size() % 2 != 0) throw Error(std::string(what) + ": odd number of hex digits");
  std::vector<std::uint8_t> out(hex.size() / 2);
  for (std::size_t i = 0; i < out.size(); ++i) {
    int hi = hex_value(hex[2 * i]), lo = hex_value(hex[2 * i + 1]);
    if (hi < 0 || lo < 0)
      throw Error(std::string(what) + ": not a hex digit at position " + std::to_string(hi < 0 ? 2 * i : 2 * i + 1));
    out[i] = static_cast<std::uint8_t>(hi << 4 | lo);
  }
  return out;
}

}  // namespace ef
