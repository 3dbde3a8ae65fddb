// attest-tool: a thin test/dev executable over ef_attest (rbuild carries the
// user-facing verify-attestation). Subcommands: verify-attestation, sim-attest.
#include <cstdio>
#include <iostream>

#include "attest/sim_nsm.h"
#include "attest/timefmt.h"
#include "attest/verify_command.h"
#include "base/cli.h"
#include "base/error.h"
#include "base/file.h"
#include "base/hash.h"

namespace {

using namespace ef;

/// sim-attest --ca DIR --pcrs pcrs.json [--nonce HEX] [--user-data HEX] [--public-key HEX] [--module-id ID]
/// Writes one simulated attestation document (raw COSE_Sign1) to stdout.
int sim_attest(std::vector<std::string> args) {
  CLI::App app("Issue one attestation document from the simulated NSM (raw CBOR on stdout).", "sim-attest");
  std::string ca_dir, pcrs_path, nonce, user_data, public_key, module_id = "i-0000000000000000-enc0000000000000000";
  app.add_option("--ca", ca_dir, "dev CA directory (created when absent)")->required();
  app.add_option("--pcrs", pcrs_path, "the image's pcrs.json")->required();
  app.add_option("--nonce", nonce, "nonce (hex)");
  app.add_option("--user-data", user_data, "user_data (hex)");
  app.add_option("--public-key", public_key, "public_key (hex)");
  app.add_option("--module-id", module_id, "module_id to report")->capture_default_str();
  if (auto rc = cli::parse_args(app, std::move(args))) return *rc;
  attest::SimNsmOptions options;
  options.module_id = module_id;
  attest::SimulatedNsm sim(attest::load_or_create_dev_ca(ca_dir, attest::now_ms()),
                           attest::load_boot_pcrs(read_text_file(pcrs_path), pcrs_path), options);
  nsm::req::Attestation request;
  if (app.count("--nonce")) request.nonce = from_hex(nonce, "--nonce");
  if (app.count("--user-data")) request.user_data = from_hex(user_data, "--user-data");
  if (app.count("--public-key")) request.public_key = from_hex(public_key, "--public-key");
  const Bytes doc = sim.attestation(request);
  std::fwrite(doc.data(), 1, doc.size(), stdout);
  return std::fflush(stdout) == 0 ? 0 : 1;
}

const cli::Command kCommands[] = {
    {"verify-attestation", "verify an attestation document offline",
     [](std::vector<std::string> a) { return attest::run_verify_attestation_command(std::move(a)); }},
    {"sim-attest", "issue a document from the simulated NSM", sim_attest},
};

}  // namespace

int main(int argc, char** argv) {
  return ef::cli::dispatch("attest-tool", "Attestation development tool (tests and local mode).", kCommands, argc, argv);
}
