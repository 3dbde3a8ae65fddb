#include "builder/policy.h"

#include <openssl/x509.h>

#include <algorithm>

#include "attest/ossl.h"
#include "base/error.h"
#include "base/file.h"
#include "base/hash.h"
#include "base/yaml_config.h"

namespace ef::build {
namespace fs = std::filesystem;
namespace {

std::string where_of(const ConfigNode& n) { return n.file() + ":" + std::to_string(n.line()); }

bool is_hex(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return std::isxdigit(static_cast<unsigned char>(c)); });
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string hex_value(const ConfigNode& n, std::size_t digits) {
  std::string s = n.as_string();
  if (s.rfind("sha256:", 0) == 0) s = s.substr(7);
  if (!is_hex(s) || s.size() != digits) n.fail("expected " + std::to_string(digits) + " hex digits");
  return lower(s);
}

std::string spki_sha256(X509* cert) {
  unsigned char* der = nullptr;
  int n = i2d_PUBKEY(X509_get0_pubkey(cert), &der);
  if (n <= 0) throw Error("cannot encode the certificate's public key");
  std::string h = to_hex(digest(HashAlgo::kSha256, std::span<const std::uint8_t>(der, static_cast<std::size_t>(n))));
  OPENSSL_free(der);
  return h;
}

TrustedSigner parse_signer(const ConfigNode& n, const fs::path& base) {
  n.expect_keys({"certificate", "certificate_sha256", "public_key_sha256"});
  TrustedSigner s;
  s.where = where_of(n);
  int given = n.has("certificate") + n.has("certificate_sha256") + n.has("public_key_sha256");
  if (given != 1) n.fail("give exactly one of certificate, certificate_sha256, public_key_sha256");
  if (auto c = n.optional("certificate")) {
    fs::path p = base / c->as_string();
    std::string pem;
    try {
      pem = read_text_file(p);
      auto certs = ossl::certs_from_pem(pem, p.string());
      if (certs.size() != 1) c->fail(p.string() + " must hold exactly one certificate");
      unsigned char* der = nullptr;
      int len = i2d_X509(certs[0].get(), &der);
      if (len <= 0) c->fail("cannot encode " + p.string());
      s.certificate_sha256 =
          to_hex(digest(HashAlgo::kSha256, std::span<const std::uint8_t>(der, static_cast<std::size_t>(len))));
      OPENSSL_free(der);
    } catch (const Error& e) {
      c->fail(e.what());
    }
  }
  if (auto c = n.optional("certificate_sha256")) s.certificate_sha256 = hex_value(*c, 64);
  if (auto c = n.optional("public_key_sha256")) s.public_key_sha256 = hex_value(*c, 64);
  return s;
}

std::map<std::string, std::string> parse_pcr_map(const ConfigNode& n) {
  std::map<std::string, std::string> pcrs;
  for (const auto& [k, v] : n.entries()) {
    if (k != "PCR0" && k != "PCR1" && k != "PCR2" && k != "PCR8") v.fail("only PCR0, PCR1, PCR2 and PCR8 are measured");
    pcrs[k] = hex_value(v, 96);
  }
  if (pcrs.empty()) n.fail("name at least one PCR");
  return pcrs;
}

std::map<std::string, std::string> load_pcrs_file(const ConfigNode& n, const fs::path& base) {
  fs::path p = base / n.as_string();
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(read_text_file(p), nullptr, false);
  } catch (const Error& e) {
    n.fail(e.what());
  }
  if (j.is_discarded() || !j.is_object()) n.fail(p.string() + " is not a JSON object of PCRs (a NAME.pcrs.json)");
  std::map<std::string, std::string> pcrs;
  for (auto& [k, v] : j.items()) {
    if (k == "HashAlgorithm") continue;
    if (!v.is_string() || !is_hex(v.get<std::string>()) || v.get<std::string>().size() != 96)
      n.fail(p.string() + ": " + k + " is not 96 hex digits");
    pcrs[k] = lower(v.get<std::string>());
  }
  if (pcrs.empty()) n.fail(p.string() + " names no PCR");
  return pcrs;
}

Check fail(const std::string& rule, const std::string& where, const std::string& why) {
  return {"policy." + rule, false, "rule " + rule + " (" + where + "): " + why};
}
Check pass(const std::string& rule, const std::string& what) { return {"policy." + rule, true, what}; }

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
  return s;
}

}  // namespace

std::optional<std::int64_t> parse_duration(const std::string& text) {
  if (text.empty()) return std::nullopt;
  std::int64_t unit = 1;
  std::string digits = text;
  switch (text.back()) {
    case 'd': unit = 86400, digits.pop_back(); break;
    case 'h': unit = 3600, digits.pop_back(); break;
    case 'm': unit = 60, digits.pop_back(); break;
    case 's': digits.pop_back(); break;
    default: break;
  }
  if (digits.empty() || digits.size() > 12 ||
      !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return std::nullopt;
  return std::stoll(digits) * unit;
}

Policy parse_policy(std::string_view text, const std::string& file, const fs::path& base) {
  ConfigNode root = ConfigNode::load_string(text, file);
  if (root.is_null()) root.fail("the policy is empty: name at least one rule");
  root.expect_keys({"signers", "builder_id", "builder_id_prefix", "source", "pcrs", "pcrs_file", "max_age"});
  Policy p;
  p.file = file;
  if (auto n = root.optional("signers")) {
    Rule<std::vector<TrustedSigner>> r{{}, where_of(*n)};
    for (const ConfigNode& item : n->items()) r.value.push_back(parse_signer(item, base));
    if (r.value.empty()) n->fail("list at least one signer (or drop the rule)");
    p.signers = std::move(r);
  }
  if (auto n = root.optional("builder_id")) p.builder_id = Rule<std::string>{n->as_string(), where_of(*n)};
  if (auto n = root.optional("builder_id_prefix"))
    p.builder_id_prefix = Rule<std::string>{n->as_string(), where_of(*n)};
  if (auto src = root.optional("source")) {
    src->expect_keys({"repository", "commits", "branches", "clean"});
    if (auto n = src->optional("repository"))
      p.source_repository = Rule<std::string>{n->as_string(), where_of(*n)};
    if (auto n = src->optional("commits")) {
      Rule<std::vector<std::string>> r{{}, where_of(*n)};
      for (const ConfigNode& c : n->items()) {
        std::string s = lower(c.as_string());
        if (!is_hex(s) || s.size() < 7 || s.size() > 64) c.fail("expected a commit: 7 to 64 hex digits");
        r.value.push_back(s);
      }
      if (r.value.empty()) n->fail("list at least one commit (or drop the rule)");
      p.source_commits = std::move(r);
    }
    if (auto n = src->optional("branches")) {
      p.source_branches = Rule<std::vector<std::string>>{n->as_string_list(), where_of(*n)};
      if (p.source_branches->value.empty()) n->fail("list at least one branch (or drop the rule)");
    }
    if (auto n = src->optional("clean")) p.source_clean = Rule<bool>{n->as_bool(), where_of(*n)};
  }
  if (root.has("pcrs") && root.has("pcrs_file")) root.fail("give pcrs or pcrs_file, not both");
  if (auto n = root.optional("pcrs")) p.pcrs = Rule<std::map<std::string, std::string>>{parse_pcr_map(*n), where_of(*n)};
  if (auto n = root.optional("pcrs_file"))
    p.pcrs = Rule<std::map<std::string, std::string>>{load_pcrs_file(*n, base), where_of(*n)};
  if (auto n = root.optional("max_age")) {
    auto d = parse_duration(n->as_string());
    if (!d || *d <= 0) n->fail("expected a duration such as 90d, 12h, 30m or 3600s");
    p.max_age_seconds = Rule<std::int64_t>{*d, where_of(*n)};
  }
  return p;
}

Policy load_policy(const fs::path& path) {
  return parse_policy(read_text_file(path), path.string(), path.parent_path());
}

std::string normalize_repository(std::string uri) {
  if (uri.rfind("git+", 0) == 0) uri = uri.substr(4);
  while (!uri.empty() && uri.back() == '/') uri.pop_back();
  if (uri.size() > 4 && uri.compare(uri.size() - 4, 4, ".git") == 0) uri.resize(uri.size() - 4);
  return uri;
}

std::optional<RecordedSource> recorded_source(const ProvenanceClaims& claims) {
  if (!claims.dependencies.is_array()) return std::nullopt;
  for (const auto& dep : claims.dependencies) {
    if (!dep.is_object() || dep.value("name", "") != "source") continue;
    RecordedSource s;
    s.commit = dep.contains("digest") && dep["digest"].is_object() ? dep["digest"].value("gitCommit", "") : "";
    std::string uri = dep.value("uri", "");
    std::string suffix = "@" + s.commit;
    if (!s.commit.empty() && uri.size() > suffix.size() && uri.compare(uri.size() - suffix.size(), suffix.size(), suffix) == 0)
      uri.resize(uri.size() - suffix.size());
    s.repository = uri;
    if (dep.contains("annotations") && dep["annotations"].is_object()) {
      const auto& a = dep["annotations"];
      s.branch = a.value("branch", "");
      s.clean = a.value("treeClean", false);
      s.commit_time = a.value("commitTime", std::int64_t{0});
    }
    return s;
  }
  return std::nullopt;
}

std::vector<Check> evaluate_policy(const Policy& p, const PolicySubject& s, std::int64_t now) {
  std::vector<Check> out;
  const ProvenanceClaims* c = s.claims;
  std::optional<RecordedSource> src = c ? recorded_source(*c) : std::nullopt;
  const std::string no_prov = "the provenance could not be read";

  if (p.signers) {
    const auto& r = *p.signers;
    if (!s.image_signed) {
      out.push_back(fail("signers", r.where, "the image is not signed"));
    } else if (!s.signature_ok) {
      out.push_back(fail("signers", r.where, "the image's signature does not verify"));
    } else {
      std::string cert_sha = to_hex(digest(HashAlgo::kSha256, s.certificate_der));
      ossl::X509Ptr cert = ossl::cert_from_der(s.certificate_der, "signing certificate");
      std::string key_sha = spki_sha256(cert.get());
      const TrustedSigner* match = nullptr;
      for (const TrustedSigner& t : r.value)
        if ((!t.certificate_sha256.empty() && t.certificate_sha256 == cert_sha) ||
            (!t.public_key_sha256.empty() && t.public_key_sha256 == key_sha))
          match = &t;
      if (!match)
        out.push_back(fail("signers", r.where, "signed by certificate sha256 " + cert_sha + " (public key sha256 " +
                                                   key_sha + "), which no listed signer names"));
      else if (c && c->signed_envelope && !s.provenance_signature_ok)
        out.push_back(fail("signers", r.where, "the provenance's DSSE signature does not verify with that certificate"));
      else if (c && !c->signed_envelope)
        out.push_back(fail("signers", r.where, "the provenance is not signed (a signed image has a DSSE provenance)"));
      else
        out.push_back(pass("signers", "signed by the trusted signer of " + match->where + " (certificate sha256 " + cert_sha + ")"));
    }
  }
  if (p.builder_id) {
    if (!c) out.push_back(fail("builder_id", p.builder_id->where, no_prov));
    else if (c->builder_id != p.builder_id->value)
      out.push_back(fail("builder_id", p.builder_id->where, "builder id is " + c->builder_id + ", policy wants " + p.builder_id->value));
    else out.push_back(pass("builder_id", "builder id " + c->builder_id));
  }
  if (p.builder_id_prefix) {
    const auto& r = *p.builder_id_prefix;
    if (!c) out.push_back(fail("builder_id_prefix", r.where, no_prov));
    else if (c->builder_id.rfind(r.value, 0) != 0)
      out.push_back(fail("builder_id_prefix", r.where, "builder id " + c->builder_id + " does not start with " + r.value));
    else out.push_back(pass("builder_id_prefix", "builder id " + c->builder_id));
  }
  auto need_source = [&](const std::string& rule, const std::string& where) -> bool {
    if (!c) out.push_back(fail(rule, where, no_prov));
    else if (!src) out.push_back(fail(rule, where, "the provenance records no source checkout"));
    return c && src;
  };
  if (p.source_repository && need_source("source.repository", p.source_repository->where)) {
    if (normalize_repository(src->repository) != normalize_repository(p.source_repository->value))
      out.push_back(fail("source.repository", p.source_repository->where,
                         "built from " + src->repository + ", policy trusts " + p.source_repository->value));
    else out.push_back(pass("source.repository", "built from " + src->repository));
  }
  if (p.source_commits && need_source("source.commits", p.source_commits->where)) {
    bool ok = std::any_of(p.source_commits->value.begin(), p.source_commits->value.end(),
                          [&](const std::string& want) { return !src->commit.empty() && src->commit.rfind(want, 0) == 0; });
    if (!ok) out.push_back(fail("source.commits", p.source_commits->where,
                                "built from commit " + src->commit + ", policy trusts " + join(p.source_commits->value)));
    else out.push_back(pass("source.commits", "commit " + src->commit));
  }
  if (p.source_branches && need_source("source.branches", p.source_branches->where)) {
    const auto& v = p.source_branches->value;
    if (std::find(v.begin(), v.end(), src->branch) == v.end())
      out.push_back(fail("source.branches", p.source_branches->where,
                         "built on " + (src->branch.empty() ? std::string("a detached HEAD") : "branch " + src->branch) +
                             ", policy trusts " + join(v)));
    else out.push_back(pass("source.branches", "branch " + src->branch));
  }
  if (p.source_clean && need_source("source.clean", p.source_clean->where)) {
    if (p.source_clean->value && !src->clean)
      out.push_back(fail("source.clean", p.source_clean->where, "built from a checkout with uncommitted changes"));
    else out.push_back(pass("source.clean", src->clean ? "clean checkout" : "checkout state not required"));
  }
  if (p.pcrs) {
    std::string diff;
    for (const auto& [k, want] : p.pcrs->value) {
      std::string have = s.pcrs.contains(k) && s.pcrs[k].is_string() ? lower(s.pcrs[k].get<std::string>()) : "";
      if (have != want) diff += k + " is " + (have.empty() ? std::string("absent") : have) + ", policy wants " + want + "; ";
    }
    if (!diff.empty()) out.push_back(fail("pcrs", p.pcrs->where, diff));
    else out.push_back(pass("pcrs", std::to_string(p.pcrs->value.size()) + " PCR(s) as the policy expects"));
  }
  if (p.max_age_seconds) {
    const auto& r = *p.max_age_seconds;
    std::int64_t when = 0;
    std::string what;
    if (src && src->commit_time > 0) when = src->commit_time, what = "the source commit";
    else if (c && c->spec.is_object() && c->spec.contains("source_date_epoch") && c->spec["source_date_epoch"].is_number_integer())
      when = c->spec["source_date_epoch"].get<std::int64_t>(), what = "the spec's source_date_epoch";
    if (!c) out.push_back(fail("max_age", r.where, no_prov));
    else if (what.empty()) out.push_back(fail("max_age", r.where, "the provenance records no commit time or source_date_epoch"));
    else if (now - when > r.value)
      out.push_back(fail("max_age", r.where, what + " is " + std::to_string(now - when) + " s old, policy allows " +
                                                 std::to_string(r.value) + " s"));
    else out.push_back(pass("max_age", what + " is " + std::to_string(now - when) + " s old"));
  }
  return out;
}

}  // namespace ef::build
