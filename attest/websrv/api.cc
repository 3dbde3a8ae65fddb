#include "attest/websrv/api.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "attest/ecvrf.h"
#include "attest/ossl.h"
#include "attest/verify.h"
#include "attest/websrv/http_error.h"
#include "attest/websrv/json_depth.h"
#include "attest/websrv/query.h"
#include "base/hash.h"
#include "base/log.h"

namespace ef::websrv {
namespace {

using json = nlohmann::json;

struct Call {
  const Api& api;
  const ApiContext& ctx;
  const ApiRequest& req;
  const Query& query;
  bool cbor;
};

using Handler = ApiResponse (*)(const Call&);

struct Route {
  std::string_view method;
  std::string_view path;
  Handler handler;
};

std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

ApiResponse reply(const Call& c, int status, const json& j) {
  ApiResponse r;
  r.status = status;
  if (c.cbor) {
    const auto bytes = json::to_cbor(j);
    r.body.assign(bytes.begin(), bytes.end());
    r.content_type = "application/cbor";
  } else {
    r.body = dump(j);
    r.body.push_back('\n');
  }
  return r;
}

ApiResponse error_response(bool cbor, int status, std::string_view field, std::string_view message) {
  json j = {{"error", message}};
  if (!field.empty()) j["field"] = field;
  ApiResponse r;
  r.status = status;
  if (cbor) {
    const auto bytes = json::to_cbor(j);
    r.body.assign(bytes.begin(), bytes.end());
    r.content_type = "application/cbor";
  } else {
    r.body = dump(j) + "\n";
  }
  return r;
}

std::string hex(std::span<const std::uint8_t> b) { return to_hex(b); }

std::string required(const Query& q, std::string_view name) {
  auto v = q.get(name);
  if (!v) bad_request(name, "missing parameter");
  return *v;
}

/// The POST body as JSON (or CBOR when the Content-Type says so), at most
/// kMaxBodyDepth levels deep (checked first: see json_depth.h).
constexpr std::size_t kMaxBodyDepth = 16;
json body_json(const Call& c) {
  const bool cbor = c.req.content_type.find("application/cbor") != std::string::npos;
  JsonDepthCheck check(kMaxBodyDepth);
  const bool parsed = cbor ? json::sax_parse(c.req.body, &check, json::input_format_t::cbor)
                           : json::sax_parse(c.req.body, &check);
  if (check.too_deep()) bad_request("body", "nested more than " + std::to_string(kMaxBodyDepth) + " levels");
  if (!parsed) bad_request("body", cbor ? "malformed CBOR" : "malformed JSON");
  try {
    json j = cbor ? json::from_cbor(c.req.body) : json::parse(c.req.body);
    if (!j.is_object()) bad_request("body", "expected a JSON object");
    return j;
  } catch (const json::exception& e) {
    bad_request("body", std::string("malformed body: ") + e.what());
  }
}

std::string str_field(const json& j, const char* name, bool must = true) {
  auto it = j.find(name);
  if (it == j.end()) {
    if (must) bad_request(name, "missing field");
    return {};
  }
  if (!it->is_string()) bad_request(name, "expected a string");
  return it->get<std::string>();
}

void allow_fields(const json& j, std::initializer_list<std::string_view> allowed) {
  for (auto it = j.begin(); it != j.end(); ++it)
    if (std::find(allowed.begin(), allowed.end(), it.key()) == allowed.end()) bad_request(it.key(), "unknown field");
}

std::array<std::uint8_t, 64> hash_param(std::string_view s, std::string_view field) {
  Bytes b = parse_hex_param(s, field, 64);
  if (b.size() != 64) bad_request(field, "expected 128 hex digits (SHA3-512)");
  std::array<std::uint8_t, 64> out{};
  std::copy(b.begin(), b.end(), out.begin());
  return out;
}

/// PCRs from {"0": hex, "PCR1": hex, ...}.
std::map<std::uint32_t, Bytes> pcrs_field(const json& j, std::string_view field) {
  if (!j.is_object()) bad_request(field, "expected an object {\"N\": hex}");
  std::map<std::uint32_t, Bytes> out;
  for (auto it = j.begin(); it != j.end(); ++it) {
    std::string k = it.key();
    if (k.rfind("PCR", 0) == 0) k = k.substr(3);
    if (k.empty() || k.size() > 2 || k.find_first_not_of("0123456789") != std::string::npos || std::stoul(k) >= 32)
      bad_request(field, "PCR index \"" + attest::printable(it.key(), 32) + "\" is not 0..31");
    if (!it->is_string()) bad_request(field, "PCR" + k + " is not a hex string");
    Bytes v = parse_hex_param(it->get<std::string>(), std::string(field) + "." + k, 64);
    if (v.size() != 32 && v.size() != 48 && v.size() != 64)
      bad_request(std::string(field) + "." + k, "expected 32, 48 or 64 bytes");
    out[static_cast<std::uint32_t>(std::stoul(k))] = std::move(v);
  }
  return out;
}

FileEntry indexed(const Call& c, const std::string& path) {
  auto e = c.ctx.index->get(path);
  if (!e) throw HttpError(404, "path", "not in the file index");
  return *e;
}

json entry_json(const std::string& path, const FileEntry& e) {
  return {{"path", path}, {"kind", kind_name(e.kind)}, {"sha3_512", hex(e.sha3_512)}, {"size", e.size}};
}

std::optional<Bytes> public_key_choice(const Call& c) {
  const std::string choice = c.query.get("public_key").value_or("tls");
  if (choice == "tls") return c.ctx.tls_spki_der;
  if (choice == "none") return std::nullopt;
  bad_request("public_key", "expected \"tls\" or \"none\"");
}

Bytes issue(const Call& c, const nsm::req::Attestation& request) {
  Bytes doc = c.ctx.nsm->attestation(request);
  if (c.ctx.metrics) c.ctx.metrics->document_issued();
  return doc;
}

// ---- handlers ------------------------------------------------------------

ApiResponse healthz(const Call& c) {
  c.query.allow_only({});
  return reply(c, 200, {{"status", "ok"}});
}

ApiResponse readyz(const Call& c) {
  c.query.allow_only({});
  const bool ready = !c.ctx.ready || c.ctx.ready();
  return reply(c, ready ? 200 : 503,
               {{"ready", ready}, {"files_snapshot", c.ctx.index->has_snapshot()}, {"simulated_nsm", c.ctx.simulated_nsm}});
}

ApiResponse metrics(const Call& c) {
  c.query.allow_only({});
  ApiResponse r;
  r.content_type = "text/plain; version=0.0.4";
  r.body = c.ctx.metrics ? c.ctx.metrics->render(c.ctx.index->size()) : "";
  return r;
}

ApiResponse pcrs(const Call& c) {
  c.query.allow_only({});
  if (auto cached = c.api.pcr_cache()) {
    ApiResponse r;
    r.body = c.cbor ? cached->cbor : cached->json;
    if (c.cbor) r.content_type = "application/cbor";
    return r;
  }
  const auto desc = c.ctx.nsm->describe_nsm();
  std::vector<std::uint16_t> indexes;
  for (std::uint16_t i = 0; i < 16; ++i) indexes.push_back(i);
  for (auto i : desc.locked_pcrs)
    if (i >= 16) indexes.push_back(i);
  json list = json::array();
  bool all_locked = true;
  for (auto i : indexes) {
    const auto p = c.ctx.nsm->describe_pcr(i);
    list.push_back({{"index", i}, {"value", hex(p.data)}, {"locked", p.lock}});
    all_locked = all_locked && p.lock;
  }
  const json j = {{"digest", desc.digest}, {"pcrs", list}};
  if (all_locked) {
    const auto cbor = json::to_cbor(j);
    c.api.set_pcr_cache(std::make_shared<const Api::PcrCache>(Api::PcrCache{dump(j) + "\n", std::string(cbor.begin(), cbor.end())}));
  }
  return reply(c, 200, j);
}

ApiResponse attestation(const Call& c) {
  c.query.allow_only({"nonce", "user_data", "public_key"});
  nsm::req::Attestation request;
  request.nonce = parse_hex_param(required(c.query, "nonce"), "nonce", kMaxNonceBytes);
  if (request.nonce->empty()) bad_request("nonce", "empty nonce");
  if (auto u = c.query.get("user_data")) request.user_data = parse_base64_param(*u, "user_data", kMaxUserDataBytes);
  request.public_key = public_key_choice(c);
  const Bytes doc = issue(c, request);
  if (c.cbor) {
    ApiResponse r;
    r.content_type = "application/cbor";
    r.body.assign(doc.begin(), doc.end());
    return r;
  }
  return reply(c, 200, {{"document", base64_encode(doc)}, {"format", "COSE_Sign1"},
                        {"public_key", request.public_key ? "tls" : "none"}});
}

ApiResponse files(const Call& c) {
  c.query.allow_only({"prefix"});
  const std::string prefix = c.query.get("prefix").value_or("/");
  if (prefix.empty() || prefix[0] != '/' || prefix.find('\0') != std::string::npos || prefix.size() > 4096)
    bad_request("prefix", "expected an absolute path prefix");
  ApiResponse r;
  r.content_type = c.cbor ? "application/cbor" : "application/json";
  r.stream = FileStream{prefix, c.cbor, {}, false, false, 0};
  return r;
}

ApiResponse file_hash(const Call& c) {
  c.query.allow_only({"path"});
  const std::string path = required(c.query, "path");
  check_path_param(path, "path");
  return reply(c, 200, entry_json(path, indexed(c, path)));
}

ApiResponse file_proof(const Call& c) {
  c.query.allow_only({"path"});
  const std::string path = required(c.query, "path");
  check_path_param(path, "path");
  const FileEntry e = indexed(c, path);
  const Bytes pi = c.ctx.vrf->prove(file_alpha(path, e.sha3_512));
  json j = entry_json(path, e);
  j["suite"] = kVrfSuite;
  j["alpha"] = hex(file_alpha(path, e.sha3_512));
  j["proof"] = hex(pi);
  j["beta"] = hex(ecvrf::proof_to_hash(pi));
  j["vrf_public_key"] = hex(c.ctx.vrf->public_key());
  return reply(c, 200, j);
}

ApiResponse file_attestation(const Call& c) {
  c.query.allow_only({"path", "nonce", "public_key"});
  const std::string path = required(c.query, "path");
  check_path_param(path, "path");
  nsm::req::Attestation request;
  request.nonce = parse_hex_param(required(c.query, "nonce"), "nonce", kMaxNonceBytes);
  if (request.nonce->empty()) bad_request("nonce", "empty nonce");
  request.public_key = public_key_choice(c);
  const FileEntry e = indexed(c, path);
  const Bytes pi = c.ctx.vrf->prove(file_alpha(path, e.sha3_512));
  request.user_data = file_attestation_user_data(path, e.sha3_512, c.ctx.vrf->public_key(), pi);
  const Bytes doc = issue(c, request);
  json j = entry_json(path, e);
  j["suite"] = kVrfSuite;
  j["proof"] = hex(pi);
  j["vrf_public_key"] = hex(c.ctx.vrf->public_key());
  j["user_data"] = hex(*request.user_data);
  j["document"] = base64_encode(doc);
  return reply(c, 200, j);
}

ApiResponse pubkeys(const Call& c) {
  c.query.allow_only({"format"});
  const std::string format = c.query.get("format").value_or("pem");
  if (format != "pem" && format != "der") bad_request("format", "expected \"pem\" or \"der\"");
  const Bytes vrf_spki = vrf_public_key_spki(c.ctx.vrf->public_key());
  auto pem = [](std::string_view label, const Bytes& der) {
    std::string b64 = base64_encode(der), out = "-----BEGIN " + std::string(label) + "-----\n";
    for (std::size_t i = 0; i < b64.size(); i += 64) out += b64.substr(i, 64) + "\n";
    return out + "-----END " + std::string(label) + "-----\n";
  };
  json vrf = {{"suite", kVrfSuite}, {"public_key", hex(c.ctx.vrf->public_key())}};
  json tls = {{"key_type", c.ctx.tls_key_type}, {"spki_sha256", hex(digest(HashAlgo::kSha256, c.ctx.tls_spki_der))}};
  if (format == "pem") {
    vrf["spki_pem"] = pem("PUBLIC KEY", vrf_spki);
    tls["spki_pem"] = pem("PUBLIC KEY", c.ctx.tls_spki_der);
    tls["certificate_pem"] = c.ctx.tls_cert_pem;
  } else {
    vrf["spki_der"] = base64_encode(vrf_spki);
    tls["spki_der"] = base64_encode(c.ctx.tls_spki_der);
  }
  return reply(c, 200, {{"vrf", vrf}, {"tls", tls}});
}

ApiResponse nsm_describe(const Call& c) {
  c.query.allow_only({});
  const auto d = c.ctx.nsm->describe_nsm();
  return reply(c, 200,
               {{"module_id", d.module_id},
                {"version", std::to_string(d.version_major) + "." + std::to_string(d.version_minor) + "." +
                                std::to_string(d.version_patch)},
                {"max_pcrs", d.max_pcrs},
                {"locked_pcrs", d.locked_pcrs},
                {"digest", d.digest},
                {"simulated", c.ctx.simulated_nsm}});
}

ApiResponse random_bytes(const Call& c) {
  c.query.allow_only({"length"});
  const std::string s = c.query.get("length").value_or("32");
  if (s.empty() || s.size() > 5 || s.find_first_not_of("0123456789") != std::string::npos)
    bad_request("length", "expected an integer 1.." + std::to_string(kMaxRandomBytes));
  const std::size_t n = std::stoul(s);
  if (n < 1 || n > kMaxRandomBytes) bad_request("length", "expected an integer 1.." + std::to_string(kMaxRandomBytes));
  Bytes out;
  while (out.size() < n) {
    const Bytes r = c.ctx.nsm->get_random();
    if (r.empty()) throw Error("NSM GetRandom returned no bytes");
    out.insert(out.end(), r.begin(), r.begin() + static_cast<std::ptrdiff_t>(std::min(r.size(), n - out.size())));
  }
  return reply(c, 200, {{"length", n}, {"random", hex(out)}});
}

ApiResponse verdict(const Call& c, bool valid, const json& reasons, json extra = json::object()) {
  extra["valid"] = valid;
  extra["reasons"] = reasons;
  return reply(c, valid ? 200 : 422, extra);
}

ApiResponse verify_attestation(const Call& c) {
  attest::VerifyOptions options;
  options.trusted_roots = c.ctx.trusted_roots;
  Bytes doc;
  if (c.req.content_type.find("application/cbor") != std::string::npos) {
    c.query.allow_only({"nonce"});
    doc.assign(c.req.body.begin(), c.req.body.end());
    if (auto n = c.query.get("nonce")) options.policy.nonce = parse_hex_param(*n, "nonce", 512);
  } else {
    c.query.allow_only({});
    const json j = body_json(c);
    allow_fields(j, {"document", "nonce", "pcrs", "public_key", "user_data", "max_age_ms"});
    doc = parse_base64_param(str_field(j, "document"), "document", 64 * 1024);
    if (j.contains("nonce")) options.policy.nonce = parse_hex_param(str_field(j, "nonce"), "nonce", 512);
    if (j.contains("public_key"))
      options.policy.public_key = parse_hex_param(str_field(j, "public_key"), "public_key", 1024);
    if (j.contains("user_data"))
      options.policy.user_data = parse_base64_param(str_field(j, "user_data"), "user_data", 512);
    if (j.contains("pcrs")) options.policy.pcrs = pcrs_field(j["pcrs"], "pcrs");
    if (j.contains("max_age_ms")) {
      if (!j["max_age_ms"].is_number_unsigned()) bad_request("max_age_ms", "expected a non-negative integer");
      options.policy.max_age_ms = j["max_age_ms"].get<std::int64_t>();
    }
  }
  if (doc.empty()) bad_request("document", "empty document");
  const attest::VerifyResult result = attest::verify_attestation(doc, options);
  json reasons = json::array();
  for (const auto& check : result.checks)
    if (!check.ok) reasons.push_back(check.name + ": " + check.detail);
  json extra = result.to_json();
  if (!extra.is_object()) extra = {{"result", extra}};
  return verdict(c, result.ok(), reasons, extra);
}

ApiResponse verify_pcrs(const Call& c) {
  c.query.allow_only({});
  const json j = body_json(c);
  allow_fields(j, {"pcrs"});
  if (!j.contains("pcrs")) bad_request("pcrs", "missing field");
  const auto expected = pcrs_field(j["pcrs"], "pcrs");
  if (expected.empty()) bad_request("pcrs", "no PCRs given");
  json reasons = json::array(), compared = json::array();
  for (const auto& [i, value] : expected) {
    const auto actual = c.ctx.nsm->describe_pcr(static_cast<std::uint16_t>(i));
    const bool same = actual.data == value;
    compared.push_back({{"index", i}, {"match", same}, {"actual", hex(actual.data)}});
    if (!same) reasons.push_back("PCR" + std::to_string(i) + " differs: module has " + hex(actual.data));
  }
  return verdict(c, reasons.empty(), reasons, {{"pcrs", compared}});
}

ApiResponse verify_proof(const Call& c) {
  c.query.allow_only({});
  const json j = body_json(c);
  allow_fields(j, {"path", "sha3_512", "proof", "public_key"});
  const std::string path = str_field(j, "path");
  check_path_param(path, "path");
  const auto hash = hash_param(str_field(j, "sha3_512"), "sha3_512");
  const Bytes pi = parse_hex_param(str_field(j, "proof"), "proof", 128);
  Bytes pk = c.ctx.vrf->public_key();
  if (j.contains("public_key")) pk = parse_hex_param(str_field(j, "public_key"), "public_key", 128);
  const auto beta = ecvrf::verify(pk, file_alpha(path, hash), pi);
  json extra = {{"suite", kVrfSuite}, {"public_key", hex(pk)}};
  if (beta) extra["beta"] = hex(*beta);
  return verdict(c, beta.has_value(), beta ? json::array() : json::array({"ECVRF proof does not verify for this public key, path and hash"}), extra);
}

ApiResponse verify_hash(const Call& c) {
  c.query.allow_only({});
  const json j = body_json(c);
  allow_fields(j, {"path", "sha3_512"});
  const std::string path = str_field(j, "path");
  check_path_param(path, "path");
  const auto hash = hash_param(str_field(j, "sha3_512"), "sha3_512");
  const auto e = c.ctx.index->get(path);
  if (!e) return verdict(c, false, json::array({"path is not in the file index"}), {{"path", path}});
  const bool same = e->sha3_512 == hash;
  return verdict(c, same, same ? json::array() : json::array({"hash differs from the index: " + hex(e->sha3_512)}),
                 {{"path", path}, {"indexed_sha3_512", hex(e->sha3_512)}});
}

constexpr Route kRoutes[] = {
    {"GET", "/healthz", healthz},
    {"GET", "/readyz", readyz},
    {"GET", "/metrics", metrics},
    {"GET", "/v1/pcrs", pcrs},
    {"GET", "/v1/attestation", attestation},
    {"GET", "/v1/files", files},
    {"GET", "/v1/files/hash", file_hash},
    {"GET", "/v1/files/proof", file_proof},
    {"GET", "/v1/files/attestation", file_attestation},
    {"GET", "/v1/pubkeys", pubkeys},
    {"GET", "/v1/nsm", nsm_describe},
    {"GET", "/v1/random", random_bytes},
    {"POST", "/v1/verify/attestation", verify_attestation},
    {"POST", "/v1/verify/pcrs", verify_pcrs},
    {"POST", "/v1/verify/proof", verify_proof},
    {"POST", "/v1/verify/hash", verify_hash},
};

}  // namespace

bool wants_cbor(std::string_view accept) { return accept.find("application/cbor") != std::string_view::npos; }

Api::Api(ApiContext ctx) : ctx_(std::move(ctx)) {}

std::shared_ptr<const Api::PcrCache> Api::pcr_cache() const {
  std::lock_guard lock(pcr_mu_);
  return pcr_cache_;
}

void Api::set_pcr_cache(std::shared_ptr<const PcrCache> cache) const {
  std::lock_guard lock(pcr_mu_);
  pcr_cache_ = std::move(cache);
}

std::vector<std::string> Api::route_names() {
  std::vector<std::string> out;
  for (const auto& r : kRoutes) out.emplace_back(r.path);
  return out;
}

ApiResponse Api::handle(const ApiRequest& request) const {
  const bool cbor = wants_cbor(request.accept);
  std::size_t route_index = SIZE_MAX;
  try {
    const Target target = parse_target(request.target);
    const Route* match = nullptr;
    std::string allow;
    for (std::size_t i = 0; i < std::size(kRoutes); ++i) {
      if (kRoutes[i].path != target.path) continue;
      route_index = i;
      if (kRoutes[i].method == request.method) match = &kRoutes[i];
      allow += (allow.empty() ? "" : ", ") + std::string(kRoutes[i].method);
    }
    if (route_index == SIZE_MAX) {
      ApiResponse r = error_response(cbor, 404, "path", "no such route");
      return r;
    }
    if (!match) {
      ApiResponse r = error_response(cbor, 405, "method", "method not allowed; use " + allow);
      r.headers.emplace_back("Allow", allow);
      r.route = route_index;
      return r;
    }
    if (match->method == "GET" && !request.body.empty()) bad_request("body", "GET takes no body");
    ApiResponse r = match->handler(Call{*this, ctx_, request, target.query, cbor});
    r.route = route_index;
    return r;
  } catch (const HttpError& e) {
    ApiResponse r = error_response(cbor, e.status(), e.field(), e.what());
    r.route = route_index;
    return r;
  } catch (const std::exception& e) {
    log::error("request failed", {{"target", attest::printable(request.target, 200)}, {"error", e.what()}});
    ApiResponse r = error_response(cbor, 500, "", "internal error");
    r.route = route_index;
    return r;
  }
}

bool Api::next_chunk(FileStream& s, std::string& out) const {
  if (s.done) return false;
  if (!s.started) {
    s.started = true;
    if (s.cbor)
      out += "\xbf\x65" "files\x9f";  // indefinite map {"files": [_ ...
    else
      out += "{\"files\":[";
  }
  const auto entries = ctx_.index->list(s.prefix, s.cursor, kListChunkEntries);
  for (const auto& [path, e] : entries) {
    const json j = entry_json(path, e);
    if (s.cbor) {
      const auto b = json::to_cbor(j);
      out.append(b.begin(), b.end());
    } else {
      if (s.count > 0) out += ",\n";
      out += dump(j);
    }
    ++s.count;
    s.cursor = path;
  }
  if (entries.size() < kListChunkEntries) {
    s.done = true;
    if (s.cbor) {
      out += '\xff';  // end of the array
      const auto cnt = json::to_cbor(json("count"));
      out.append(cnt.begin(), cnt.end());
      const auto n = json::to_cbor(json(s.count));
      out.append(n.begin(), n.end());
      out += '\xff';  // end of the map
    } else {
      out += "],\"count\":" + std::to_string(s.count) + "}\n";
    }
  }
  return true;
}

}  // namespace ef::websrv
