#pragma once
// `rbuild verify-attestation`: the verifier as a command (the lead's rbuild table calls it).

#include <ostream>
#include <string>
#include <vector>

namespace ef::attest {

/// rbuild verify-attestation DOC [--root PEM] [--at now|doc|TIME] [--expect-pcrs FILE]
///   [--nonce HEX] [--public-key HEX] [--user-data HEX] [--max-age DURATION] [--json]
/// DOC is the raw COSE_Sign1 bytes, or their base64 or hex text ("-" reads stdin).
/// Prints every check (text, or JSON with --json) to stdout. Returns 0 when all
/// checks pass, 1 when any fails, 2 on a usage error; unreadable inputs throw ef::Error.
int run_verify_attestation_command(std::vector<std::string> args);

/// The same, printing to `out` (for tests).
int run_verify_attestation_command(std::vector<std::string> args, std::ostream& out);

}  // namespace ef::attest
