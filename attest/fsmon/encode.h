#pragma once
// Pure encoders: the directory hash, FILE-INDEX IPC lines, NATS KV keys and values.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ef::fsmon {

enum class Kind { kFile, kDir };
std::string_view kind_name(Kind k);

/// One child of a directory as the directory hash sees it.
struct DirChild {
  std::string name;  ///< a single path component (raw bytes)
  Kind kind;
  std::string hex;   ///< 128 lower-case hex digits
};

/// SHA3-512 over, for each child in bytewise-sorted name order,
/// `kind-char ' ' hex-hash ' ' name '\n'` (kind-char 'f' or 'd'). Returns hex.
/// The children need not be sorted on input.
std::string dir_hash(std::vector<DirChild> children);

/// A JSON string literal (with quotes) of raw bytes: valid UTF-8 passes through,
/// '"', '\\' and control characters are escaped, and each byte that is not part of
/// valid UTF-8 becomes \u00XX (its Latin-1 reading; see docs/fs-monitor.md).
std::string json_string(std::string_view bytes);

/// FILE-INDEX lines, each ending in '\n'.
std::string ipc_put(std::string_view path, Kind kind, std::string_view hex, std::uint64_t size);
std::string ipc_del(std::string_view path);
std::string ipc_snapshot_begin();
std::string ipc_snapshot_end();

/// base64url without padding (RFC 4648 §5).
std::string base64url(std::string_view bytes);

/// NATS KV key of an absolute path: PREFIX "." base64url(path) (or just the
/// encoded path when the prefix is empty).
std::string kv_key(std::string_view prefix, std::string_view path);
/// True when `prefix` is empty or dot-separated non-empty tokens of [-_=/A-Za-z0-9].
bool valid_kv_prefix(std::string_view prefix);
/// The KV value: {"path":..,"sha3_512":..,"size":..,"kind":..,"time":"RFC3339 UTC"}.
std::string kv_value(std::string_view path, Kind kind, std::string_view hex, std::uint64_t size,
                     std::int64_t unix_ms);

/// Path normalisation for absolute paths: collapses "//", removes "." and
/// resolves ".." lexically; "/" stays "/". Relative input is made absolute against `cwd`.
std::string normalize_path(std::string_view path, std::string_view cwd = "/");

}  // namespace ef::fsmon
