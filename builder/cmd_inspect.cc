// rbuild describe / pcr: read-only inspection of images and files.
#include <cstdio>

#include "base/cli.h"
#include "builder/commands.h"
#include "builder/describe.h"

namespace ef::build {

int cmd_describe(Args args) {
  CLI::App app("Print an EIF's measurements and metadata as JSON (the keys of nitro-cli describe-eif).",
               "rbuild describe");
  std::string path;
  app.add_option("IMAGE", path, "the .eif file")->required();
  if (auto rc = cli::parse_args(app, std::move(args))) return *rc;
  eif::EifImage image = eif::EifImage::open(path);
  eif::Description d = eif::describe(image);
  std::printf("%s\n", eif::description_json(image, d).dump(2).c_str());
  return d.crc_ok && (!d.is_signed || d.signature_ok) ? 0 : 1;
}

int cmd_pcr(Args args) {
  CLI::App app("Print one PCR as nitro-cli pcr does: of a file's bytes, or of a signing certificate (PCR8).",
               "rbuild pcr");
  std::string input, cert;
  auto* in = app.add_option("--input", input, "measure this file's bytes");
  auto* sc = app.add_option("--signing-certificate", cert, "measure this PEM certificate's DER (PCR8)");
  in->excludes(sc);
  if (auto rc = cli::parse_args(app, std::move(args))) return *rc;
  if (input.empty() && cert.empty()) {
    std::fprintf(stderr, "rbuild pcr: give --input FILE or --signing-certificate CERT.pem\n");
    return 2;
  }
  auto value = input.empty() ? eif::pcr_of_certificate_pem(cert) : eif::pcr_of_file(input);
  nlohmann::ordered_json j;
  j[input.empty() ? "PCR8" : "PCR"] = to_hex(value);
  std::printf("%s\n", j.dump(2).c_str());
  return 0;
}

}  // namespace ef::build

#include "builder/display.h"
#include "builder/eif_diff.h"

namespace ef::build {

int cmd_diff(Args args) {
  CLI::App app("Show every difference between two EIFs: header, metadata, sections, and each file inside the "
               "ramdisks (type, mode, owner, mtime, size, sha256, link target). Exit 0 when identical.",
               "rbuild diff");
  std::string a, b;
  bool json = false;
  app.add_option("A", a, "first .eif")->required();
  app.add_option("B", b, "second .eif")->required();
  app.add_flag("--json", json, "print the differences as JSON");
  if (auto rc = cli::parse_args(app, std::move(args))) return *rc;
  eif::EifImage ia = eif::EifImage::open(a), ib = eif::EifImage::open(b);
  std::vector<Difference> diffs = diff_images(ia, ib);
  if (json) {
    // Names that are not UTF-8 cannot be JSON strings: their bad bytes become U+FFFD.
    std::printf("%s\n", differences_json(diffs).dump(2, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
  } else {
    for (const Difference& d : diffs)
      std::printf("%s:\n  A: %s\n  B: %s\n", escape_for_display(d.where).c_str(), escape_for_display(d.a).c_str(),
                  escape_for_display(d.b).c_str());
    std::printf("%zu difference(s)\n", diffs.size());
  }
  return diffs.empty() ? 0 : 1;
}

}  // namespace ef::build
