// rbuild: the hermetic, reproducible EIF builder. The command table only.
#include "attest/verify_command.h"
#include "base/cli.h"
#include "base/log.h"
#include "builder/commands.h"

int main(int argc, char** argv) {
  using namespace ef::build;
  ef::log::configure_from_env("rbuild");
  static const ef::cli::Command kCommands[] = {
      {"lock", "record the sha256 of every input of a spec in a lockfile", cmd_lock},
      {"build", "build an EIF, its PCRs and provenance from a locked spec", cmd_build},
      {"verify", "check an EIF's structure, CRC, signature, PCRs and provenance; optionally rebuild it", cmd_verify},
      {"reproduce", "rebuild an image from its provenance and a clone of this repository; compare byte for byte",
       cmd_reproduce},
      {"describe", "print an EIF's measurements and metadata (nitro-cli describe-eif keys)", cmd_describe},
      {"pcr", "print the PCR of a file or of a signing certificate", cmd_pcr},
      {"verify-attestation", "verify a Nitro attestation document offline: chain to the pinned root, ES384, policy",
       [](std::vector<std::string> args) { return ef::attest::run_verify_attestation_command(std::move(args)); }},
      {"diff", "show what differs between two EIFs, down to files in the ramdisks", cmd_diff},
      {"extract", "unpack an EIF's sections and ramdisk trees into a directory", cmd_extract},
  };
  return ef::cli::dispatch("rbuild", "Hermetic, reproducible AWS Nitro Enclave image (EIF) builder.", kCommands,
                           argc, argv);
}
