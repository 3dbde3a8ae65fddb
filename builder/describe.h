#pragma once
// `rbuild describe`: what `nitro-cli describe-eif` prints, computed by streaming.

#include <nlohmann/json.hpp>

#include "builder/eif_reader.h"

namespace ef::eif {

struct Description {
  Measurements measurements;  // PCR8 set when signed
  bool crc_ok = false;
  bool is_signed = false;
  bool signature_ok = false;
  std::string signature_error;  // why SignatureCheck is false
  nlohmann::ordered_json signing_certificate;
  IdentityInfo metadata;
};

/// Measures the image (PCRs and CRC concurrently) and checks its signature.
/// Structural faults were already reported by EifImage::open; a bad CRC or
/// signature is reported in the result, not thrown.
Description describe(const EifImage& image);

/// `Metadata` as `nitro-cli describe-eif` prints it (its MetadataDescribeInfo):
/// BuildTime, BuildTool, BuildToolVersion, OperatingSystem, KernelVersion,
/// DockerInfo, then the custom metadata's keys flattened in (serde's
/// `#[serde(flatten)]`), sorted as serde_json's map sorts them; absent when
/// null. A custom key equal to a build field is dropped (the build field
/// stays); custom metadata that is not a JSON object stays under CustomMetadata.
nlohmann::ordered_json metadata_describe_json(const IdentityInfo& info);

/// The JSON of `nitro-cli describe-eif`: EifVersion, Measurements, IsSigned,
/// SigningCertificate, CheckCRC, SignatureCheck, ImageName, ImageVersion, Metadata.
nlohmann::ordered_json description_json(const EifImage& image, const Description& d);

}  // namespace ef::eif
