#include "builder/vsa.h"

#include <ctime>

#include "builder/provenance.h"

namespace ef::build {

std::string rfc3339_utc(std::int64_t seconds) {
  std::time_t t = static_cast<std::time_t>(seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

nlohmann::ordered_json make_vsa(const VsaInputs& in, const std::vector<Check>& checks) {
  bool passed = !checks.empty();
  for (const Check& c : checks) passed = passed && c.ok;
  nlohmann::ordered_json attestations = nlohmann::ordered_json::array();
  if (!in.provenance_uri.empty())
    attestations.push_back({{"uri", in.provenance_uri}, {"digest", {{"sha256", in.provenance_sha256}}}});
  nlohmann::ordered_json st;
  st["_type"] = kStatementType;
  st["subject"] = nlohmann::ordered_json::array({{{"name", in.image_name}, {"digest", {{"sha256", in.image_sha256}}}}});
  st["predicateType"] = kVsaPredicateType;
  st["predicate"] = {
      {"verifier", {{"id", std::string(kVerifierIdPrefix) + EF_VERSION}, {"version", {{"rbuild", EF_VERSION}}}}},
      {"timeVerified", rfc3339_utc(in.time_verified)},
      {"resourceUri", in.image_uri},
      {"policy", {{"uri", in.policy_uri}, {"digest", {{"sha256", in.policy_sha256}}}}},
      {"inputAttestations", attestations},
      {"verificationResult", passed ? "PASSED" : "FAILED"},
      {"verifiedLevels", passed ? nlohmann::ordered_json::array({"SLSA_BUILD_LEVEL_1"}) : nlohmann::ordered_json::array()},
      {"slsaVersion", "1.0"},
  };
  return st;
}

}  // namespace ef::build
