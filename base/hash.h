#pragma once
// Identity hashes (SHA-256, SHA-384, SHA3-512) through OpenSSL EVP, streaming.

#include <array>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ef {

enum class HashAlgo { kSha256, kSha384, kSha3_512 };

/// Incremental digest. update() any number of times, then finish() once.
class Hasher {
 public:
  explicit Hasher(HashAlgo algo);
  ~Hasher();
  Hasher(Hasher&&) noexcept;
  Hasher& operator=(Hasher&&) noexcept;

  void update(std::span<const std::uint8_t> data);
  void update(std::string_view data);
  /// The digest; the hasher must not be used afterwards.
  std::vector<std::uint8_t> finish();
  std::size_t digest_size() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

std::vector<std::uint8_t> digest(HashAlgo algo, std::span<const std::uint8_t> data);
std::vector<std::uint8_t> digest(HashAlgo algo, std::string_view data);

/// Digest of a file's contents, read in chunks (never whole into memory).
/// When `size_out` is given it receives the number of bytes hashed.
std::vector<std::uint8_t> digest_file(HashAlgo algo, const std::filesystem::path& path,
                                      std::uint64_t* size_out = nullptr);

/// Lower-case hex of bytes.
std::string to_hex(std::span<const std::uint8_t> bytes);
/// Parses hex (either case); throws Error naming `what` on odd length or a non-hex digit.
std::vector<std::uint8_t> from_hex(std::string_view hex, std::string_view what = "hex string");

}  // namespace ef
