// Verifies a DSSE envelope with npm's @sigstore/verify, given only the signer's
// public key (no transparency log, no timestamps: a key-based sigstore bundle).
// Usage: NODE_PATH=DIR/node_modules node sigstore_verify.js ENVELOPE.json PUBKEY.pem
// Exit 0 and "verified" when the Verifier accepts it; 1 with its error otherwise.
'use strict';
const fs = require('fs');
const { Verifier, toSignedEntity, toTrustMaterial } = require('@sigstore/verify');
const { bundleFromJSON } = require('@sigstore/bundle');

const [envPath, keyPath] = process.argv.slice(2);
const env = JSON.parse(fs.readFileSync(envPath, 'utf8'));
const hint = env.signatures && env.signatures[0] && env.signatures[0].keyid || 'rbuild';
try {
  const bundle = bundleFromJSON({
    mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json',
    verificationMaterial: { publicKey: { hint }, tlogEntries: [], timestampVerificationData: { rfc3161Timestamps: [] } },
    dsseEnvelope: env,
  });
  const root = { certificateAuthorities: [], timestampAuthorities: [], tlogs: [], ctlogs: [] };
  const keys = { [hint]: { rawBytes: fs.readFileSync(keyPath, 'utf8'), keyDetails: 'PKIX_ECDSA_P256_SHA_256' } };
  const verifier = new Verifier(toTrustMaterial(root, keys), { tlogThreshold: 0, ctlogThreshold: 0, timestampThreshold: 0 });
  verifier.verify(toSignedEntity(bundle));
  console.log('@sigstore/verify: verified ' + envPath);
} catch (e) {
  console.log('@sigstore/verify: REJECTED ' + envPath + ': ' + (e.code ? e.code + ': ' : '') + e.message);
  process.exit(1);
}
