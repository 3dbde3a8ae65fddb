#pragma once
// What libarchive does not say about a tar stream, found by reading its raw
// 512-byte headers at offsets libarchive itself reported:
//  - a pax `path`/`linkpath` record (or a GNU long name) holding a NUL byte,
//    which libarchive silently truncates ("evil\0..." would land as "evil");
//  - which header's checksum is wrong, and by how much, where libarchive
//    only says "Unrecognized archive format" or "Damaged tar archive".

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ef::rootfs {

inline constexpr std::size_t kTarBlock = 512;

/// Fills `buf` from the decompressed tar stream; returns the bytes read, 0 at
/// its end. Throws ef::Error on a read error.
using TarStreamRead = std::function<std::size_t(std::span<std::uint8_t> buf)>;

/// "" when the 512-byte `block`'s checksum field (octal) equals its unsigned
/// or signed byte sum with the field counted as spaces (libarchive accepts
/// either), else what is wrong: 'checksum field says 0o..., the header's
/// bytes sum to N'.
std::string header_checksum_problem(std::span<const std::uint8_t> block);

/// The entry name a header block holds (ustar prefix + name), escaped for display.
std::string header_display_name(std::span<const std::uint8_t> block);

/// Throws ef::FormatError(name, offset) when a pax extended header's records
/// (`data`, "LEN KEY=VALUE\n"...) give `path` or `linkpath` a value holding a
/// NUL byte. Records it cannot parse are left to libarchive.
void check_pax_records(std::string_view data, std::string_view name, std::uint64_t offset);

/// For each entry whose header sequence starts at one of `entry_offsets`
/// (ascending, as archive_read_header_position reports them), reads its
/// extension headers (pax 'x'/'g', GNU 'L'/'K') from the stream and refuses
/// a NUL byte inside a path they carry (ef::FormatError naming the offset).
void check_extension_headers(const TarStreamRead& read, const std::vector<std::uint64_t>& entry_offsets,
                             std::string_view name);

/// After libarchive failed to read a header: walks from the last entry read
/// successfully (`last_good_offset`, or 0 when there was none) to the next
/// header and, when its checksum is wrong, throws ef::FormatError naming its
/// offset, its entry name and both checksums. Returns when it finds nothing.
void diagnose_bad_header(const TarStreamRead& read, std::uint64_t last_good_offset, bool have_last_good,
                         std::string_view name);

}  // namespace ef::rootfs
