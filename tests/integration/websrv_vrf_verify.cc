// Independent check of a ra-web-srv file proof for tests/integration/websrv_e2e.sh:
// builds alpha by hand from the documented layout ("ef-file-v1" 00 path 00 hash)
// and runs ef::ecvrf::verify. Usage: websrv_vrf_verify PK_HEX PATH SHA3_512_HEX PROOF_HEX
// Prints beta (hex) and exits 0 when VALID, prints INVALID and exits 1 otherwise.
#include <cstdio>
#include <string>

#include "attest/ecvrf.h"
#include "base/hash.h"

int main(int argc, char** argv) {
  if (argc != 5) {
    std::fprintf(stderr, "usage: websrv_vrf_verify PK_HEX PATH SHA3_512_HEX PROOF_HEX\n");
    return 2;
  }
  const auto pk = ef::from_hex(argv[1]);
  const std::string path = argv[2];
  const auto hash = ef::from_hex(argv[3]);
  const auto proof = ef::from_hex(argv[4]);
  std::vector<std::uint8_t> alpha;
  const std::string domain = "ef-file-v1";
  alpha.insert(alpha.end(), domain.begin(), domain.end());
  alpha.push_back(0);
  alpha.insert(alpha.end(), path.begin(), path.end());
  alpha.push_back(0);
  alpha.insert(alpha.end(), hash.begin(), hash.end());
  const auto beta = ef::ecvrf::verify(pk, alpha, proof);
  if (!beta) {
    std::puts("INVALID");
    return 1;
  }
  std::puts(ef::to_hex(*beta).c_str());
  return 0;
}
