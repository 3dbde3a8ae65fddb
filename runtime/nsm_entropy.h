#pragma once
// Seeding the kernel's entropy pool from the Nitro Secure Module (GetRandom).

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

namespace ef::init {

/// The CBOR request for NSM GetRandom: the text string "GetRandom".
std::vector<std::uint8_t> nsm_get_random_request();

/// The random bytes in a GetRandom response ({"GetRandom": {"random": bytes}}),
/// or nullopt when the response is anything else (an error map, truncation).
std::optional<std::vector<std::uint8_t>> parse_get_random_response(std::span<const std::uint8_t> cbor);

/// Asks /dev/nsm for random bytes and credits them to /dev/random. Returns the
/// number of bytes added; throws ef::Error on failure.
std::size_t seed_entropy_from_nsm(const char* nsm_path = "/dev/nsm", const char* random_path = "/dev/random");

}  // namespace ef::init
