#include "runtime/agent/messages.h"

#include <cstring>

#include <nlohmann/json.hpp>

#include "attest/websrv/json_depth.h"
#include "base/error.h"
#include "base/hash.h"
#include "base/yaml_config.h"

namespace ef::agent {
namespace {

struct Reader {
  std::span<const std::uint8_t> p;
  std::string what;
  std::size_t pos = 0;
  void need(std::size_t n, std::string_view field) {
    if (p.size() - pos < n)
      throw FormatError(what, pos, "truncated " + std::string(field) + ": need " + std::to_string(n) +
                                       " bytes, have " + std::to_string(p.size() - pos));
  }
  std::uint16_t u16(std::string_view field) {
    need(2, field);
    std::uint16_t v = static_cast<std::uint16_t>(p[pos] << 8 | p[pos + 1]);
    pos += 2;
    return v;
  }
  Bytes bytes(std::size_t n, std::string_view field) {
    need(n, field);
    Bytes b(p.begin() + static_cast<std::ptrdiff_t>(pos), p.begin() + static_cast<std::ptrdiff_t>(pos + n));
    pos += n;
    return b;
  }
  Bytes rest() { return bytes(p.size() - pos, "rest"); }
  void end() {
    if (pos != p.size())
      throw FormatError(what, pos, std::to_string(p.size() - pos) + " unexpected trailing bytes");
  }
};

void put_u16(Bytes& out, std::size_t v) {
  const std::size_t at = out.size();
  out.resize(at + 2);
  out[at] = static_cast<std::uint8_t>(v >> 8);
  out[at + 1] = static_cast<std::uint8_t>(v);
}

template <typename Range>
void put(Bytes& out, const Range& r) {
  const std::size_t at = out.size();
  out.resize(at + r.size());
  if (r.size()) std::memcpy(out.data() + at, r.data(), r.size());
}

nlohmann::json parse_json_object(std::span<const std::uint8_t> p, std::string_view what,
                                 std::initializer_list<std::string_view> allowed) {
  websrv::JsonDepthCheck depth(4);
  nlohmann::json::sax_parse(p.begin(), p.end(), &depth);
  if (depth.too_deep()) throw FormatError(what, 0, "JSON nested deeper than 4 levels");
  nlohmann::json j = nlohmann::json::parse(p.begin(), p.end(), nullptr, false);
  if (j.is_discarded()) throw FormatError(what, 0, "not valid JSON");
  if (!j.is_object()) throw FormatError(what, 0, "not a JSON object");
  for (const auto& [k, v] : j.items()) {
    bool ok = false;
    for (auto a : allowed) ok = ok || k == a;
    if (!ok) throw FormatError(what, 0, "unknown key \"" + k + "\"");
  }
  return j;
}

std::string json_string(const nlohmann::json& j, std::string_view key, std::string_view what) {
  const auto& v = j.at(std::string(key));
  if (!v.is_string()) throw FormatError(what, 0, "\"" + std::string(key) + "\" must be a string");
  std::string s = v.get<std::string>();
  if (s.find('\0') != std::string::npos) throw FormatError(what, 0, "\"" + std::string(key) + "\" contains NUL");
  return s;
}

bool json_bool(const nlohmann::json& j, std::string_view key, std::string_view what) {
  const auto& v = j.at(std::string(key));
  if (!v.is_boolean()) throw FormatError(what, 0, "\"" + std::string(key) + "\" must be true or false");
  return v.get<bool>();
}

std::vector<std::string> json_strings(const nlohmann::json& j, std::string_view key, std::string_view what) {
  const auto& v = j.at(std::string(key));
  if (!v.is_array()) throw FormatError(what, 0, "\"" + std::string(key) + "\" must be an array of strings");
  std::vector<std::string> out;
  for (const auto& e : v) {
    if (!e.is_string()) throw FormatError(what, 0, "\"" + std::string(key) + "\" must be an array of strings");
    out.push_back(e.get<std::string>());
    if (out.back().find('\0') != std::string::npos)
      throw FormatError(what, 0, "\"" + std::string(key) + "\" item contains NUL");
  }
  return out;
}

std::uint16_t json_u16(const nlohmann::json& j, std::string_view key, std::string_view what) {
  const auto& v = j.at(std::string(key));
  if (!v.is_number_unsigned() || v.get<std::uint64_t>() > 0xffff)
    throw FormatError(what, 0, "\"" + std::string(key) + "\" must be an integer 0..65535");
  return static_cast<std::uint16_t>(v.get<std::uint64_t>());
}

Bytes dump(const nlohmann::json& j) {
  std::string s = j.dump();
  return Bytes(s.begin(), s.end());
}

}  // namespace

Bytes encode_hello(const Hello& h) {
  Bytes out;
  put_u16(out, h.version);
  put(out, h.nonce);
  return out;
}

Hello decode_hello(std::span<const std::uint8_t> p) {
  Reader r{p, "HELLO"};
  Hello h;
  h.version = r.u16("version");
  Bytes n = r.bytes(kNonceSize, "nonce");
  std::copy(n.begin(), n.end(), h.nonce.begin());
  r.end();
  return h;
}

Bytes encode_auth(const Auth& a) {
  Bytes out;
  put_u16(out, a.spki.size());
  put(out, a.spki);
  put_u16(out, a.signature.size());
  put(out, a.signature);
  return out;
}

Auth decode_auth(std::span<const std::uint8_t> p) {
  Reader r{p, "AUTH"};
  Auth a;
  std::size_t n = r.u16("spki length");
  if (n == 0 || n > 1024) throw FormatError("AUTH", 0, "spki length " + std::to_string(n) + " not in 1..1024");
  a.spki = r.bytes(n, "spki");
  const std::size_t at = r.pos;
  n = r.u16("signature length");
  if (n == 0 || n > 512) throw FormatError("AUTH", at, "signature length " + std::to_string(n) + " not in 1..512");
  a.signature = r.bytes(n, "signature");
  r.end();
  return a;
}

Bytes auth_message(std::span<const std::uint8_t> document, std::span<const std::uint8_t> challenge) {
  Bytes m(kAuthContext.begin(), kAuthContext.end());
  Bytes d = digest(HashAlgo::kSha256, document);
  m.insert(m.end(), d.begin(), d.end());
  m.insert(m.end(), challenge.begin(), challenge.end());
  return m;
}

Bytes encode_error(const ErrorMsg& e) {
  Bytes out;
  put_u16(out, static_cast<std::uint16_t>(e.code));
  put(out, e.message);
  return out;
}

ErrorMsg decode_error(std::span<const std::uint8_t> p) {
  Reader r{p, "ERROR"};
  ErrorMsg e;
  e.code = static_cast<ErrorCode>(r.u16("code"));
  Bytes m = r.rest();
  e.message.assign(m.begin(), m.end());
  if (!is_valid_utf8(e.message)) throw FormatError("ERROR", 2, "message is not valid UTF-8");
  return e;
}

void validate_secret_name(std::string_view name) {
  if (name.empty() || name.size() > 128) throw Error("secret name must be 1..128 characters");
  for (std::size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (!alnum && (i == 0 || (c != '_' && c != '.' && c != '-')))
      throw Error("secret name may hold only [A-Za-z0-9_.-] and must start with a letter or digit (byte " +
                  std::to_string(i) + ")");
  }
}

namespace {

/// SECRET_PUT and LOG share a layout: u16 length, that many bytes of name, the rest.
template <typename Rest>
Bytes encode_named(std::string_view name, const Rest& rest) {
  Bytes out;
  put_u16(out, name.size());
  put(out, name);
  put(out, rest);
  return out;
}

std::pair<std::string, Bytes> decode_named(std::span<const std::uint8_t> p, std::string_view frame,
                                           std::string_view name_field) {
  Reader r{p, std::string(frame)};
  const std::string length_field = std::string(name_field) + " length";
  Bytes n = r.bytes(r.u16(length_field), name_field);
  return {std::string(n.begin(), n.end()), r.rest()};
}

}  // namespace

Bytes encode_secret_put(const SecretPut& s) { return encode_named(s.name, s.value); }

SecretPut decode_secret_put(std::span<const std::uint8_t> p) {
  auto [name, value] = decode_named(p, "SECRET_PUT", "name");
  try {
    validate_secret_name(name);
  } catch (const Error& e) {
    throw FormatError("SECRET_PUT", 2, e.what());
  }
  return {std::move(name), std::move(value)};
}

Bytes encode_log(const LogChunk& l) { return encode_named(l.service, l.lines); }

LogChunk decode_log(std::span<const std::uint8_t> p) {
  auto [service, lines] = decode_named(p, "LOG", "service");
  return {std::move(service), std::string(lines.begin(), lines.end())};
}

Bytes encode_exit(std::int32_t status) {
  const auto u = static_cast<std::uint32_t>(status);
  return {static_cast<std::uint8_t>(u >> 24), static_cast<std::uint8_t>(u >> 16), static_cast<std::uint8_t>(u >> 8),
          static_cast<std::uint8_t>(u)};
}

std::int32_t decode_exit(std::span<const std::uint8_t> p) {
  Reader r{p, "EXIT"};
  const std::uint32_t hi = r.u16("status"), lo = r.u16("status");
  r.end();
  return static_cast<std::int32_t>(hi << 16 | lo);
}

Bytes encode_signal(std::uint8_t signo) { return {signo}; }

std::uint8_t decode_signal(std::span<const std::uint8_t> p) {
  Reader r{p, "SIGNAL"};
  Bytes b = r.bytes(1, "signal");
  r.end();
  if (b[0] == 0 || b[0] > 64) throw FormatError("SIGNAL", 0, "signal " + std::to_string(b[0]) + " not in 1..64");
  return b[0];
}

Bytes encode_winch(std::uint16_t rows, std::uint16_t cols) {
  Bytes out;
  put_u16(out, rows);
  put_u16(out, cols);
  return out;
}

std::pair<std::uint16_t, std::uint16_t> decode_winch(std::span<const std::uint8_t> p) {
  Reader r{p, "WINCH"};
  const auto rows = r.u16("rows"), cols = r.u16("cols");
  r.end();
  return {rows, cols};
}

Bytes encode_exec(const ExecSpec& e) {
  nlohmann::json j = {{"argv", e.argv}, {"env", e.env}, {"cwd", e.cwd}, {"tty", e.tty}, {"stdin", e.stdin_open}};
  if (e.rows || e.cols) {
    j["rows"] = e.rows;
    j["cols"] = e.cols;
  }
  return dump(j);
}

ExecSpec decode_exec(std::span<const std::uint8_t> p) {
  const auto j = parse_json_object(p, "EXEC", {"argv", "env", "cwd", "tty", "stdin", "rows", "cols"});
  ExecSpec e;
  if (!j.contains("argv")) throw FormatError("EXEC", 0, "missing \"argv\"");
  e.argv = json_strings(j, "argv", "EXEC");
  if (e.argv.empty() || e.argv[0].empty()) throw FormatError("EXEC", 0, "\"argv\" must name a program");
  if (j.contains("env")) e.env = json_strings(j, "env", "EXEC");
  for (const auto& kv : e.env)
    if (kv.find('=') == std::string::npos || kv[0] == '=')
      throw FormatError("EXEC", 0, "\"env\" item \"" + kv + "\" is not NAME=VALUE");
  if (j.contains("cwd")) e.cwd = json_string(j, "cwd", "EXEC");
  if (j.contains("tty")) e.tty = json_bool(j, "tty", "EXEC");
  if (j.contains("stdin")) e.stdin_open = json_bool(j, "stdin", "EXEC");
  if (j.contains("rows")) e.rows = json_u16(j, "rows", "EXEC");
  if (j.contains("cols")) e.cols = json_u16(j, "cols", "EXEC");
  return e;
}

Bytes encode_path_request(std::string_view key, std::string_view path) {
  return dump(nlohmann::json{{std::string(key), std::string(path)}});
}

std::string decode_path_request(std::span<const std::uint8_t> p, std::string_view key, std::string_view what) {
  const auto j = parse_json_object(p, what, {key});
  if (!j.contains(std::string(key))) throw FormatError(what, 0, "missing \"" + std::string(key) + "\"");
  std::string s = json_string(j, key, what);
  if (s.empty()) throw FormatError(what, 0, "\"" + std::string(key) + "\" is empty");
  return s;
}

Bytes encode_logs(const LogsSpec& l) { return dump(nlohmann::json{{"service", l.service}, {"follow", l.follow}}); }

LogsSpec decode_logs(std::span<const std::uint8_t> p) {
  const auto j = parse_json_object(p, "LOGS", {"service", "follow"});
  LogsSpec l;
  if (j.contains("service")) l.service = json_string(j, "service", "LOGS");
  if (j.contains("follow")) l.follow = json_bool(j, "follow", "LOGS");
  return l;
}

}  // namespace ef::agent
