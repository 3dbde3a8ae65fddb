#include "builder/verify.h"

#include <stdlib.h>

#include "base/error.h"
#include "base/file.h"
#include "base/hash.h"
#include "builder/build.h"
#include "attest/ossl.h"
#include "builder/describe.h"
#include "builder/display.h"
#include "builder/eif_diff.h"
#include "builder/eif_signature.h"
#include "builder/policy.h"
#include "builder/provenance.h"

namespace ef::build {
namespace fs = std::filesystem;

fs::path provenance_beside(const fs::path& eif) {
  return eif.parent_path() / (eif.stem().string() + ".provenance.json");
}

std::string first_difference(const fs::path& a, const fs::path& b) {
  UniqueFd fa = open_read(a), fb = open_read(b);
  std::uint64_t sa = file_size(fa.get(), a.string()), sb = file_size(fb.get(), b.string());
  std::vector<std::uint8_t> ba(1 << 20), bb(1 << 20);
  for (std::uint64_t off = 0; off < std::min(sa, sb);) {
    std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(ba.size(), std::min(sa, sb) - off));
    pread_exact(fa.get(), std::span(ba.data(), n), off, a.string());
    pread_exact(fb.get(), std::span(bb.data(), n), off, b.string());
    for (std::size_t i = 0; i < n; ++i)
      if (ba[i] != bb[i]) return "first difference at byte offset " + std::to_string(off + i);
    off += n;
  }
  if (sa != sb) return "sizes differ: " + std::to_string(sa) + " vs " + std::to_string(sb) + " bytes";
  return "";
}

namespace {

/// Removed on destruction unless keep() was called (a differing rebuild is
/// kept so the user can run `rbuild diff` on it).
struct TempDir {
  fs::path path;
  bool kept = false;
  TempDir() {
    std::string templ = (fs::temp_directory_path() / "rbuild-verify-XXXXXX").string();
    if (!::mkdtemp(templ.data())) throw_errno("create temporary directory", templ);
    path = templ;
  }
  ~TempDir() {
    std::error_code ec;
    if (!kept) fs::remove_all(path, ec);
  }
};

/// Which sections and files differ between the image and its rebuild, as
/// `rbuild diff` reports them (names escaped); a signed original's signature
/// section (absent from the unsigned rebuild) is left out.
std::string differing_parts(const fs::path& original, const fs::path& rebuilt, bool was_signed) {
  eif::EifImage a = eif::EifImage::open(original), b = eif::EifImage::open(rebuilt);
  std::vector<Difference> diffs = diff_images(a, b);
  std::string out;
  std::size_t shown = 0, total = 0;
  for (const Difference& d : diffs) {
    if (was_signed && (d.where == "header.num_sections" || d.a == "signature")) continue;
    if (++total > 20) continue;
    out += "\n    " + escape_for_display(d.where) + ": " + escape_for_display(d.a) + " | rebuilt: " + escape_for_display(d.b);
    ++shown;
  }
  if (total > shown) out += "\n    ... and " + std::to_string(total - shown) + " more";
  return out;
}

void check_pcrs(std::vector<Check>& out, const nlohmann::json& claimed, const eif::Measurements& m) {
  nlohmann::ordered_json actual = eif::measurements_json(m);
  actual.erase("HashAlgorithm");
  std::string diff;
  for (auto& [k, v] : actual.items()) {
    if (!claimed.contains(k) || claimed[k] != v)
      diff += k + " is " + v.get<std::string>() + ", provenance says " + (claimed.contains(k) ? claimed[k].dump() : "nothing") + "; ";
  }
  for (auto& [k, v] : claimed.items())
    if (!actual.contains(k)) diff += k + " claimed by the provenance but absent from the image; ";
  out.push_back({"provenance.pcrs", diff.empty(), diff.empty() ? "PCRs match the provenance annotations" : diff});
}

/// Rebuilds from the provenance's spec and dependencies; compares byte for byte.
/// For a signed image (whose ECDSA signature is randomised and whose key an
/// auditor does not hold) the rebuild is unsigned: every other section and
/// the header's defaults must then be identical.
std::string compare_unsigned_part(const fs::path& original, const fs::path& rebuilt) {
  eif::EifImage a = eif::EifImage::open(original), b = eif::EifImage::open(rebuilt);
  if (a.header().flags != b.header().flags || a.header().default_mem != b.header().default_mem ||
      a.header().default_cpus != b.header().default_cpus)
    return "header defaults differ";
  std::vector<const eif::Section*> sa, sb;
  for (const auto& s : a.sections()) if (s.type != eif::SectionType::kSignature) sa.push_back(&s);
  for (const auto& s : b.sections()) if (s.type != eif::SectionType::kSignature) sb.push_back(&s);
  if (sa.size() != sb.size()) return "section counts differ";
  for (std::size_t i = 0; i < sa.size(); ++i) {
    if (sa[i]->type != sb[i]->type || sa[i]->size != sb[i]->size || sa[i]->header_offset != sb[i]->header_offset)
      return "section " + std::to_string(i) + " differs in type, size or offset";
    std::vector<std::uint8_t> x(1 << 20), y(1 << 20);
    for (std::uint64_t off = 0; off < sa[i]->size;) {
      std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(x.size(), sa[i]->size - off));
      pread_exact(a.fd(), std::span(x.data(), n), sa[i]->data_offset + off, a.name());
      pread_exact(b.fd(), std::span(y.data(), n), sb[i]->data_offset + off, b.name());
      if (!std::equal(x.begin(), x.begin() + static_cast<long>(n), y.begin()))
        return "section " + std::to_string(i) + " (" + std::string(eif::section_type_name(sa[i]->type)) +
               ") differs near byte offset " + std::to_string(sa[i]->data_offset + off);
      off += n;
    }
  }
  return "";
}

Check rebuild_check(const ProvenanceClaims& claims, const fs::path& image, const fs::path& cache_dir) {
  nlohmann::json spec_json = claims.spec;
  bool was_signed = spec_json.contains("signing");
  spec_json.erase("signing");
  Spec spec = parse_spec(spec_json.dump(), claims.spec_path);
  std::vector<LockedInput> inputs = digest_inputs(spec);
  std::string mismatches;
  for (const LockedInput& in : inputs) {
    bool found = false;
    for (const auto& dep : claims.dependencies) {
      if (dep.value("name", "") != in.name) continue;
      found = true;
      std::string want = dep.contains("digest") ? dep["digest"].value("sha256", "") : "";
      if (want != in.digest.sha256) mismatches += in.name + " (" + in.path + ") is " + in.digest.sha256 + ", provenance says " + want + "; ";
    }
    if (!found && in.name != "signing.certificate") mismatches += in.name + " is not among the provenance's dependencies; ";
  }
  if (!mismatches.empty()) return {"rebuild", false, "inputs differ from the provenance: " + mismatches};
  Lock lock;
  lock.rbuild_version = EF_VERSION;
  lock.spec_name = spec.name;
  lock.inputs = inputs;
  TempDir tmp;
  BuildOptions opts;
  opts.out_dir = tmp.path;
  opts.cache_dir = cache_dir;
  opts.spec_path_text = claims.spec_path;
  BuildResult r = build_image(spec, lock, opts);
  std::string diff = was_signed ? compare_unsigned_part(image, r.eif) : first_difference(image, r.eif);
  if (diff.empty()) {
    if (was_signed)
      return {"rebuild", true, "rebuilt unsigned from the provenance's inputs: every section but the signature identical"};
    return {"rebuild", true, "rebuilt from the provenance's inputs: identical, sha256 " + r.eif_sha256};
  }
  tmp.kept = true;
  return {"rebuild", false, "rebuilt image differs: " + diff + " (rebuilt sha256 " + r.eif_sha256 + ")\n    kept at " +
                                r.eif.string() + " (rbuild diff " + image.string() + " " + r.eif.string() + ")" +
                                differing_parts(image, r.eif, was_signed)};
}

/// A DSSE provenance must be signed by the key that signed the image.
Check envelope_check(const eif::EifImage& image, const eif::Description& d, const fs::path& prov_path) {
  if (!d.is_signed || !d.signature_ok)
    return {"provenance.signature", false, "a signed provenance needs a validly signed image to take the key from"};
  try {
    const eif::Section* sig = image.find_first(eif::SectionType::kSignature);
    eif::SignatureCheck sc = eif::check_signature_section(image.read_section(*sig, 1u << 20), d.measurements.pcr0,
                                                          image.name(), sig->data_offset);
    ossl::X509Ptr cert = ossl::cert_from_der(sc.certificate_der);
    dsse_verify(read_text_file(prov_path), cert.get(), prov_path.string());
  } catch (const Error& e) {
    return {"provenance.signature", false, e.what()};
  }
  return {"provenance.signature", true, "DSSE envelope signed by the image's signing certificate"};
}

/// The policy's checks; the facts come from the image and the checks already made.
void append_policy_checks(std::vector<Check>& out, const VerifyOptions& o, const eif::EifImage& image,
                          const eif::Description& d, const ProvenanceClaims* claims) {
  PolicySubject s;
  s.image_signed = d.is_signed;
  s.signature_ok = d.signature_ok;
  if (d.is_signed && d.signature_ok) {
    const eif::Section* sig = image.find_first(eif::SectionType::kSignature);
    s.certificate_der = eif::check_signature_section(image.read_section(*sig, 1u << 20), d.measurements.pcr0,
                                                     image.name(), sig->data_offset)
                            .certificate_der;
  }
  nlohmann::ordered_json pcrs = eif::measurements_json(d.measurements);
  pcrs.erase("HashAlgorithm");
  s.pcrs = pcrs;
  s.claims = claims;
  for (const Check& c : out)
    if (c.name == "provenance.signature") s.provenance_signature_ok = c.ok;
  for (Check& c : evaluate_policy(*o.policy, s, o.now)) out.push_back(std::move(c));
}

}  // namespace

std::vector<Check> verify_image(const VerifyOptions& o) {
  std::vector<Check> out;
  std::optional<eif::EifImage> image;
  try {
    image = eif::EifImage::open(o.image);
    out.push_back({"structure", true, "header and " + std::to_string(image->sections().size()) + " sections valid"});
  } catch (const Error& e) {
    out.push_back({"structure", false, e.what()});
    return out;
  }
  eif::Description d = eif::describe(*image);
  out.push_back({"crc", d.crc_ok, d.crc_ok ? "CRC-32 matches" : "CRC-32 does not match the contents"});
  if (d.is_signed) out.push_back({"signature", d.signature_ok, d.signature_ok ? "valid over PCR0" : d.signature_error});

  fs::path prov_path = o.provenance.value_or(provenance_beside(o.image));
  ProvenanceClaims claims;
  bool have_claims = false;
  if (!fs::exists(prov_path)) {
    out.push_back({"provenance", false, prov_path.string() + " not found (give --provenance FILE)"});
  } else {
    try {
      claims = read_provenance(read_text_file(prov_path), prov_path.string());
      have_claims = true;
    } catch (const Error& e) {
      out.push_back({"provenance", false, e.what()});
    }
  }
  if (!have_claims) {
    if (o.policy) append_policy_checks(out, o, *image, d, nullptr);
    return out;
  }
  if (claims.signed_envelope) out.push_back(envelope_check(*image, d, prov_path));
  std::string sha = to_hex(digest_file(HashAlgo::kSha256, o.image));
  bool subject_ok = claims.subject_sha256 == sha;
  out.push_back({"provenance.subject", subject_ok,
                 subject_ok ? "sha256 " + sha + " matches the provenance subject"
                            : "image sha256 " + sha + ", provenance subject " + claims.subject_name + " says " +
                                  claims.subject_sha256});
  check_pcrs(out, claims.pcrs, d.measurements);
  if (o.policy) append_policy_checks(out, o, *image, d, &claims);
  if (o.rebuild) {
    try {
      out.push_back(rebuild_check(claims, o.image, o.cache_dir));
    } catch (const Error& e) {
      out.push_back({"rebuild", false, e.what()});
    }
  }
  return out;
}

nlohmann::ordered_json checks_json(const std::vector<Check>& checks) {
  nlohmann::ordered_json j = nlohmann::ordered_json::array();
  bool all = true;
  for (const Check& c : checks) {
    j.push_back({{"check", c.name}, {"ok", c.ok}, {"detail", c.detail}});
    all = all && c.ok;
  }
  return {{"ok", all}, {"checks", j}};
}

}  // namespace ef::build
