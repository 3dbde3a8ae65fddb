#!/usr/bin/python3
"""Helpers for the third-party DSSE checks, written from the DSSE spec
(https://github.com/secure-systems-lab/dsse/blob/master/protocol.md), not from rbuild:
  dsse_tools.py split ENVELOPE OUTDIR     writes OUTDIR/pae.bin (PAE bytes) and OUTDIR/sig.der
  dsse_tools.py flip ENVELOPE OUT         re-encodes the envelope with one payload byte changed
                                          (a subject digest hex digit made 'G': still JSON, no longer valid)
  dsse_tools.py urlsafe ENVELOPE OUT      the same envelope in unpadded URL-safe base64
  dsse_tools.py sslib ENVELOPE PUBKEY.pem [SCHEME]  verifies with python3-securesystemslib
                                          (SCHEME default ecdsa-sha2-nistp256; ecdsa-sha2-nistp384 for P-384)"""
import base64
import json
import os
import sys


def b64d(s):
    s = s.replace("-", "+").replace("_", "/")
    return base64.b64decode(s + "=" * (-len(s) % 4), validate=True)


def pae(payload_type, payload):
    t = payload_type.encode()
    return b"DSSEv1 %d %s %d %s" % (len(t), t, len(payload), payload)


cmd, env_path = sys.argv[1], sys.argv[2]
env = json.load(open(env_path))
payload = b64d(env["payload"])
if cmd == "split":
    out = sys.argv[3]
    open(os.path.join(out, "pae.bin"), "wb").write(pae(env["payloadType"], payload))
    open(os.path.join(out, "sig.der"), "wb").write(b64d(env["signatures"][0]["sig"]))
elif cmd == "flip":
    i = payload.index(b'"sha256": "') + len(b'"sha256": "')
    payload = payload[:i] + b"G" + payload[i + 1:]
    env["payload"] = base64.b64encode(payload).decode()
    json.dump(env, open(sys.argv[3], "w"), indent=2)
elif cmd == "urlsafe":
    env["payload"] = base64.urlsafe_b64encode(payload).decode().rstrip("=")
    for s in env["signatures"]:
        s["sig"] = base64.urlsafe_b64encode(b64d(s["sig"])).decode().rstrip("=")
    json.dump(env, open(sys.argv[3], "w"), indent=2)
elif cmd == "sslib":
    from securesystemslib.keys import import_ecdsakey_from_pem
    from securesystemslib.signer import Signature, SSlibKey
    from securesystemslib.exceptions import UnverifiedSignatureError
    scheme = sys.argv[4] if len(sys.argv) > 4 else "ecdsa-sha2-nistp256"
    keydict = import_ecdsakey_from_pem(open(sys.argv[3]).read(), scheme=scheme)
    key = SSlibKey.from_securesystemslib_key(keydict)
    sig = env["signatures"][0]
    try:
        key.verify_signature(Signature(key.keyid, b64d(sig["sig"]).hex()), pae(env["payloadType"], payload))
    except UnverifiedSignatureError as e:
        print(f"securesystemslib: REJECTED {env_path}: {e}")
        sys.exit(1)
    print(f"securesystemslib: verified {env_path} ({keydict['scheme']})")
else:
    sys.exit("unknown command " + cmd)
