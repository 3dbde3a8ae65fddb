// Linked only when this build has no runtime/agent (target ef_agent): the
// attested-channel client is not there, and every command that needs it says
// so instead of talking to the enclave without verifying it.
#include "base/error.h"
#include "runtime/agent/client.h"

namespace ef::agent {

std::unique_ptr<Client> Client::connect(UniqueFd, const Expectations&, const OperatorKey&) {
  throw Error(
      "this build has no attested-channel client (runtime/agent is not built); exec, cp, logs SERVICE, attest and "
      "secret need it");
}

}  // namespace ef::agent
