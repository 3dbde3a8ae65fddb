#pragma once
// Plain file helpers. Every failure throws SysError naming the action and path.

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

#include "base/fd.h"

namespace ef {

using Bytes = std::vector<std::uint8_t>;

/// Opens `path` read-only with O_CLOEXEC.
UniqueFd open_read(const std::filesystem::path& path);

/// Reads the whole file. Meant for small inputs (configs, certificates, metadata).
Bytes read_file(const std::filesystem::path& path);
std::string read_text_file(const std::filesystem::path& path);

/// Reads exactly buf.size() bytes at `offset`; throws on a short read (naming `what`).
void pread_exact(int fd, std::span<std::uint8_t> buf, std::uint64_t offset, const std::string& what);

/// Reads up to buf.size() bytes; returns the count, 0 at end of file. Retries EINTR.
std::size_t read_some(int fd, std::span<std::uint8_t> buf, const std::string& what);

/// Writes all of `data`, retrying short writes and EINTR.
void write_all(int fd, std::span<const std::uint8_t> data, const std::string& what);
void write_all(int fd, std::string_view data, const std::string& what);

/// Size of an open file.
std::uint64_t file_size(int fd, const std::string& what);

}  // namespace ef
