#include "attest/verify_command.h"

#include <openssl/evp.h>

#include <algorithm>
#include <iostream>
#include <iterator>

#include "attest/ossl.h"
#include "attest/timefmt.h"
#include "attest/verify.h"
#include "base/cli.h"
#include "base/error.h"
#include "base/file.h"
#include "base/hash.h"

namespace ef::attest {
namespace {

bool is_base64_text(const Bytes& b) {
  return !b.empty() && std::all_of(b.begin(), b.end(), [](std::uint8_t c) {
    return std::isalnum(c) || c == '+' || c == '/' || c == '=' || c == '-' || c == '_' || std::isspace(c);
  });
}

Bytes decode_base64(std::string text, const std::string& what) {
  text.erase(std::remove_if(text.begin(), text.end(), [](char c) { return std::isspace(static_cast<unsigned char>(c)); }),
             text.end());
  std::replace(text.begin(), text.end(), '-', '+');
  std::replace(text.begin(), text.end(), '_', '/');
  while (text.size() % 4) text += '=';
  Bytes out(text.size() / 4 * 3);
  const int n = EVP_DecodeBlock(out.data(), reinterpret_cast<const unsigned char*>(text.data()), static_cast<int>(text.size()));
  if (n < 0) throw Error(what + ": neither CBOR nor valid base64");
  std::size_t pad = 0;
  for (auto it = text.rbegin(); it != text.rend() && *it == '='; ++it) ++pad;
  out.resize(static_cast<std::size_t>(n) - pad);
  return out;
}

/// Raw CBOR as is; hex or base64 text decoded (a COSE_Sign1 starts with 0x84 or 0xd2).
Bytes load_document(const std::string& path) {
  Bytes raw;
  if (path == "-") {
    raw.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  } else {
    raw = read_file(path);
  }
  if (!raw.empty() && (raw[0] == 0x84 || raw[0] == 0xd2)) return raw;
  if (!is_base64_text(raw)) return raw;  // let the COSE check report it
  std::string text(raw.begin(), raw.end());
  std::string compact;
  for (char c : text)
    if (!std::isspace(static_cast<unsigned char>(c))) compact += c;
  if (compact.size() % 2 == 0 && compact.find_first_not_of("0123456789abcdefABCDEF") == std::string::npos &&
      (compact.rfind("84", 0) == 0 || compact.rfind("d2", 0) == 0))
    return from_hex(compact, path);
  return decode_base64(text, path);
}

std::int64_t at_time(const std::string& at, TimeSource& source) {
  if (at == "now") {
    source = TimeSource::kNow;
    return 0;
  }
  if (at == "doc") {
    source = TimeSource::kDocument;
    return 0;
  }
  source = TimeSource::kFixed;
  return parse_rfc3339(at);
}

void print_text(std::ostream& out, const std::string& doc, const VerifyResult& r) {
  out << "attestation document " << printable(doc) << ": " << (r.ok() ? "OK" : "FAILED") << "\n";
  std::size_t width = 0;
  for (const auto& c : r.checks) width = std::max(width, c.name.size());
  for (const auto& c : r.checks)
    out << "  " << (c.ok ? "ok    " : "FAIL  ") << c.name << std::string(width - c.name.size() + 2, ' ') << printable(c.detail) << "\n";
  if (r.document) {
    out << "  module_id  " << printable(r.document->module_id) << "\n  timestamp  "
        << format_rfc3339(static_cast<std::int64_t>(r.document->timestamp_ms)) << "\n";
    for (const auto& [i, v] : r.document->pcrs) {
      if (std::all_of(v.begin(), v.end(), [](std::uint8_t b) { return b == 0; })) continue;
      out << "  PCR" << i << (i < 10 ? "       " : "      ") << to_hex(v) << "\n";
    }
  }
  if (!r.ok()) {
    out << "failed checks:";
    for (const auto& name : r.failed()) out << " " << name;
    out << "\n";
  }
}

}  // namespace

int run_verify_attestation_command(std::vector<std::string> args, std::ostream& out) {
  CLI::App app("Verify a Nitro attestation document offline: COSE_Sign1 ES384, certificate chain to the pinned "
               "AWS root, validity, then the given policy.",
               "verify-attestation");
  std::string doc_path, root_path, at = "now", pcrs_path, nonce_hex, public_key_hex, user_data_hex, max_age;
  bool json = false;
  app.add_option("DOC", doc_path, "attestation document: COSE_Sign1 bytes, or base64/hex text; - for stdin")->required();
  app.add_option("--root", root_path, "PEM file of the trusted root(s) instead of the compiled-in AWS Nitro root");
  app.add_option("--at", at, "verification time: now, doc (the document's timestamp) or an RFC 3339 time")
      ->capture_default_str();
  app.add_option("--expect-pcrs", pcrs_path, "expected PCRs: rbuild describe JSON, pcrs.json, or PCRn=hex lines");
  app.add_option("--nonce", nonce_hex, "expected nonce (hex)");
  app.add_option("--public-key", public_key_hex, "expected public_key (hex)");
  app.add_option("--user-data", user_data_hex, "expected user_data (hex)");
  app.add_option("--max-age", max_age, "maximum document age at the verification time (or now with --at doc), e.g. 5m");
  app.add_flag("--json", json, "print the result as JSON");
  if (auto rc = cli::parse_args(app, std::move(args))) return *rc;

  VerifyOptions options;
  options.fixed_time_ms = at_time(at, options.time_source);
  if (!root_path.empty())
    for (const auto& cert : ossl::certs_from_pem(read_text_file(root_path), root_path))
      options.trusted_roots.push_back(ossl::cert_to_der(cert.get()));
  if (!pcrs_path.empty()) options.policy.pcrs = parse_expected_pcrs(read_text_file(pcrs_path), pcrs_path);
  if (app.count("--nonce")) options.policy.nonce = from_hex(nonce_hex, "--nonce");
  if (app.count("--public-key")) options.policy.public_key = from_hex(public_key_hex, "--public-key");
  if (app.count("--user-data")) options.policy.user_data = from_hex(user_data_hex, "--user-data");
  if (!max_age.empty()) options.policy.max_age_ms = parse_duration(max_age);

  const Bytes doc = load_document(doc_path);
  const VerifyResult r = verify_attestation(doc, options);
  if (json) {
    auto j = r.to_json();
    j["file"] = doc_path;
    out << j.dump(2) << "\n";
  } else {
    print_text(out, doc_path, r);
  }
  return r.ok() ? 0 : 1;
}

int run_verify_attestation_command(std::vector<std::string> args) {
  return run_verify_attestation_command(std::move(args), std::cout);
}

}  // namespace ef::attest
