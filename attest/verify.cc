#include "attest/verify.h"

#include <algorithm>

#include "attest/aws_root.h"
#include "attest/chain.h"
#include "attest/timefmt.h"
#include "base/error.h"
#include "base/hash.h"

namespace ef::attest {
namespace {

constexpr std::int64_t kClockSkewMs = 60'000;

/// Runs one named check, recording success or the error's message.
template <typename Fn>
bool run_check(VerifyResult& r, std::string name, Fn&& fn) {
  Check c{std::move(name), false, ""};
  try {
    c.detail = fn();
    c.ok = true;
  } catch (const Error& e) {
    c.detail = e.what();
  }
  r.checks.push_back(c);
  return c.ok;
}

std::string hex_or_null(const std::optional<Bytes>& b) { return b ? to_hex(*b) : "null"; }

void check_policy(VerifyResult& r, const AttestationDocument& doc, const Policy& p, std::int64_t age_reference_ms) {
  if (!p.pcrs.empty())
    run_check(r, "pcrs", [&] {
      std::string bad;
      for (const auto& [index, want] : p.pcrs) {
        auto it = doc.pcrs.find(index);
        if (it == doc.pcrs.end()) bad += " PCR" + std::to_string(index) + " absent;";
        else if (it->second != want)
          bad += " PCR" + std::to_string(index) + " is " + to_hex(it->second) + ", expected " + to_hex(want) + ";";
      }
      if (!bad.empty()) throw Error("PCR mismatch:" + bad.substr(0, bad.size() - 1));
      return std::to_string(p.pcrs.size()) + " expected PCRs match";
    });
  auto field = [&](const char* name, const std::optional<Bytes>& want, const std::optional<Bytes>& have) {
    if (!want) return;
    run_check(r, name, [&] {
      if (have != want) throw Error(std::string(name) + " is " + hex_or_null(have) + ", expected " + to_hex(*want));
      return std::string(name) + " matches";
    });
  };
  field("nonce", p.nonce, doc.nonce);
  field("public_key", p.public_key, doc.public_key);
  field("user_data", p.user_data, doc.user_data);
  if (p.max_age_ms)
    run_check(r, "max_age", [&] {
      const std::int64_t age = age_reference_ms - static_cast<std::int64_t>(doc.timestamp_ms);
      if (age < -kClockSkewMs) throw Error("document timestamp is " + std::to_string(-age) + " ms in the future");
      if (age > *p.max_age_ms)
        throw Error("document is " + std::to_string(age) + " ms old, more than the allowed " + std::to_string(*p.max_age_ms));
      return "document is " + std::to_string(std::max<std::int64_t>(age, 0)) + " ms old";
    });
}

}  // namespace

std::string printable(std::string_view s, std::size_t max) {
  std::string out;
  std::size_t i = 0;
  auto escape = [&](unsigned char c) {
    static const char* hex = "0123456789abcdef";
    out += "\\x";
    out += hex[c >> 4];
    out += hex[c & 0xf];
  };
  while (i < s.size() && out.size() < max) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
      ++i;
      continue;
    }
    // A well-formed multi-byte UTF-8 sequence passes; anything else is escaped.
    std::size_t len = c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
    bool ok = len > 0 && i + len <= s.size();
    for (std::size_t k = 1; ok && k < len; ++k) ok = (static_cast<unsigned char>(s[i + k]) & 0xc0) == 0x80;
    if (ok && len == 3) {
      const auto c1 = static_cast<unsigned char>(s[i + 1]);
      ok = !(c == 0xe0 && c1 < 0xa0) && !(c == 0xed && c1 >= 0xa0);
    }
    if (ok && len == 4) {
      const auto c1 = static_cast<unsigned char>(s[i + 1]);
      ok = !(c == 0xf0 && c1 < 0x90) && !(c == 0xf4 && c1 >= 0x90);
    }
    if (ok) {
      out.append(s.substr(i, len));
      i += len;
    } else {
      escape(c);
      ++i;
    }
  }
  if (i < s.size()) out += "...";
  return out;
}

bool VerifyResult::ok() const {
  return !checks.empty() && std::all_of(checks.begin(), checks.end(), [](const Check& c) { return c.ok; });
}

std::vector<std::string> VerifyResult::failed() const {
  std::vector<std::string> out;
  for (const auto& c : checks)
    if (!c.ok) out.push_back(c.name);
  return out;
}

nlohmann::json VerifyResult::to_json() const {
  nlohmann::json j;
  j["ok"] = ok();
  j["verification_time"] = format_rfc3339(verification_time_ms);
  j["checks"] = nlohmann::json::array();
  for (const auto& c : checks) j["checks"].push_back({{"name", c.name}, {"ok", c.ok}, {"detail", printable(c.detail)}});
  if (document) {
    const auto& d = *document;
    nlohmann::json pcrs = nlohmann::json::object();
    for (const auto& [i, v] : d.pcrs) pcrs[std::to_string(i)] = to_hex(v);
    auto opt = [](const std::optional<Bytes>& b) { return b ? nlohmann::json(to_hex(*b)) : nlohmann::json(nullptr); };
    j["document"] = {{"module_id", printable(d.module_id)},
                     {"digest", printable(d.digest)},
                     {"timestamp_ms", d.timestamp_ms},
                     {"timestamp", format_rfc3339(static_cast<std::int64_t>(d.timestamp_ms))},
                     {"pcrs", pcrs},
                     {"cabundle_len", d.cabundle.size()},
                     {"public_key", opt(d.public_key)},
                     {"user_data", opt(d.user_data)},
                     {"nonce", opt(d.nonce)}};
  }
  return j;
}

VerifyResult verify_attestation(std::span<const std::uint8_t> bytes, const VerifyOptions& options) {
  VerifyResult r;
  const std::int64_t now = options.now_ms ? *options.now_ms : now_ms();
  r.verification_time_ms = options.time_source == TimeSource::kFixed ? options.fixed_time_ms : now;

  cose::Sign1 envelope;
  if (!run_check(r, "cose", [&] {
        envelope = cose::parse_sign1(bytes, "attestation document");
        return std::string(envelope.tagged ? "tagged" : "untagged") + " COSE_Sign1";
      }))
    return r;
  run_check(r, "algorithm", [&] {
    const std::int64_t alg = envelope.alg();
    if (alg != static_cast<std::int64_t>(cose::Algorithm::kES384))
      throw Error("protected header algorithm is " + std::to_string(alg) + " (" +
                  std::string(cose::algorithm_name(alg)) + "), expected -35 (ES384)");
    return std::string("ES384");
  });
  if (!run_check(r, "document", [&] {
        r.document = parse_document_payload(envelope.payload, "attestation document payload");
        return "module " + r.document->module_id;
      }))
    return r;
  const AttestationDocument& doc = *r.document;
  if (options.time_source == TimeSource::kDocument) r.verification_time_ms = static_cast<std::int64_t>(doc.timestamp_ms);

  const std::vector<Bytes> roots = options.trusted_roots.empty() ? std::vector<Bytes>{aws_root_der()} : options.trusted_roots;
  CertChain chain;
  const bool parsed = run_check(r, "certificates", [&] {
    chain = parse_chain(doc, options.cache);
    return std::to_string(doc.cabundle.size() + 1) + " certificates parse";
  });
  run_check(r, "root", [&] {
    check_root(doc, roots);
    return "cabundle[0] is the trusted root (sha256 " + to_hex(digest(HashAlgo::kSha256, doc.cabundle[0])) + ")";
  });
  if (parsed) {
    run_check(r, "validity", [&] {
      check_validity(chain, r.verification_time_ms);
      return "all certificates valid at " + format_rfc3339(r.verification_time_ms);
    });
    run_check(r, "key_usage", [&] {
      check_key_usage(chain);
      return std::string("key usages and path lengths as required");
    });
    run_check(r, "chain", [&] {
      check_path(chain, roots, r.verification_time_ms, options.cache);
      return std::string("leaf chains to the trusted root through the cabundle");
    });
    run_check(r, "signature", [&] {
      cose::verify_sign1(envelope, chain.leaf.get());
      return std::string("ES384 signature by the leaf certificate verifies");
    });
  }
  // Age is measured at the given time, or now: "--at doc" only moves certificate validity.
  check_policy(r, doc, options.policy, options.time_source == TimeSource::kFixed ? options.fixed_time_ms : now);
  return r;
}

}  // namespace ef::attest
