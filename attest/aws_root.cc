#include "attest/aws_root.h"

#include "attest/ossl.h"
#include "base/error.h"
#include "base/hash.h"

namespace ef::attest {

// https://aws-nitro-enclaves.amazonaws.com/AWS_NitroEnclaves_Root-G1.zip
static constexpr std::string_view kPem = R"(
-----BEGIN CERTIFICATE-----
MIICETCCAZagAwIBAgIRAPkxdWgbkK/hHUbMtOTn+FYwCgYIKoZIzj0EAwMwSTEL
MAkGA1UEBhMCVVMxDzANBgNVBAoMBkFtYXpvbjEMMAoGA1UECwwDQVdTMRswGQYD
VQQDDBJhd3Mubml0cm8tZW5jbGF2ZXMwHhcNMTkxMDI4MTMyODA1WhcNNDkxMDI4
MTQyODA1WjBJMQswCQYDVQQGEwJVUzEPMA0GA1UECgwGQW1hem9uMQwwCgYDVQQL
DANBV1MxGzAZBgNVBAMMEmF3cy5uaXRyby1lbmNsYXZlczB2MBAGByqGSM49AgEG
BSuBBAAiA2IABPwCVOumCMHzaHDimtqQvkY4MpJzbolL//Zy2YlES1BR5TSksfbb
48C8WBoyt7F2Bw7eEtaaP+ohG2bnUs990d0JX28TcPQXCEPZ3BABIeTPYwEoCWZE
h8l5YoQwTcU/9KNCMEAwDwYDVR0TAQH/BAUwAwEB/zAdBgNVHQ4EFgQUkCW1DdkF
R+eWw5b6cp3PmanfS5YwDgYDVR0PAQH/BAQDAgGGMAoGCCqGSM49BAMDA2kAMGYC
MQCjfy+Rocm9Xue4YnwWmNJVA44fA0P5W2OpYow9OYCVRaEevL8uO1XYru5xtMPW
rfMCMQCi85sWBbJwKKXdS6BptQFuZbT73o/gBh1qUxl/nNr12UO8Yfwr6wPLb+6N
IwLz3/Y=
-----END CERTIFICATE-----)";

std::string_view aws_root_pem() { return kPem.substr(1); }

static std::vector<std::uint8_t> load_der() {
  auto certs = ossl::certs_from_pem(aws_root_pem(), "compiled-in AWS root");
  auto der = ossl::cert_to_der(certs.at(0).get());
  if (to_hex(digest(HashAlgo::kSha256, der)) != kAwsRootSha256)
    throw Error("compiled-in AWS Nitro root does not match its pinned SHA-256 fingerprint");
  return der;
}

std::vector<std::uint8_t> aws_root_der() {
  static const std::vector<std::uint8_t> der = load_der();  // checked once
  return der;
}

}  // namespace ef::attest
