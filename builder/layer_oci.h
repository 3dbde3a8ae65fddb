#pragma once
// A container image as layers: a `docker save` tarball (manifest.json) or an
// OCI image-layout tarball (oci-layout, index.json -> manifest -> layers).

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "builder/content_cache.h"
#include "builder/fs_tree.h"
#include "builder/layer_entry.h"

namespace ef::rootfs {

struct OciOptions {
  LayerOptions layer;
  /// Platform picked when index.json lists several manifests ("os/arch").
  std::string platform = "linux/amd64";
};

/// One layer as the image's manifest names it.
struct OciLayerInfo {
  std::string member;  ///< path inside the outer archive
  std::string sha256;  ///< hex digest of the member's bytes, checked
  std::uint64_t size = 0;
  bool from_cache = false;  ///< hashed, then applied from the cache without unpacking the member
};

struct OciImageInfo {
  std::string format;           ///< "oci-layout" or "docker-save"
  std::string manifest_sha256;  ///< OCI: digest of the image manifest; docker-save: ""
  std::vector<OciLayerInfo> layers;
};

/// Applies every layer of the image in `archive_path` onto `tree` below
/// `dest_prefix`, bottom layer first, with whiteouts (`.wh.NAME`) and opaque
/// directories (`.wh..wh..opq`) honoured (see apply_layer_entries).
///
/// Which manifest: an OCI layout (oci-layout + index.json, preferred when both
/// kinds are present) follows index.json to one image manifest, descending
/// through an image index and choosing options.platform when several are
/// listed; a docker-save tarball must list exactly one image in manifest.json.
/// Every digest on the way is checked: OCI manifests and layers against their
/// descriptors (sha256 and size); docker-save layers against the config's
/// rootfs.diff_ids, or against their `blobs/sha256/<hex>` name in newer
/// docker versions; a docker-save config named by its digest (`<hex>.json`,
/// `blobs/sha256/<hex>`) against that name. Every layer member is hashed
/// before it is used, whether or not the cache knows its digest, so a warm
/// and a cold cache give the same image or the same error: a cached layer
/// only saves decompressing and unpacking it. Layer members may be symlinks
/// or hard links to other members (docker dedups identical layers that way).
///
/// Errors name the archive and the member: not an image, missing or
/// duplicate members, absolute member names, malformed JSON, unsupported
/// digest algorithms, digest or size mismatches, plus everything
/// read_tar_entries refuses in a layer.
OciImageInfo apply_oci_layer(FsTree& tree, const std::filesystem::path& archive_path, std::string_view dest_prefix,
                             const ContentCache& cache, const OciOptions& options = {});

}  // namespace ef::rootfs
