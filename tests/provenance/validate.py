#!/usr/bin/python3
"""Validates rbuild provenance with Debian's python3-jsonschema (and python3-rfc3987
for the "uri" format) against tests/provenance/slsa_provenance_v1.schema.json.
Usage: validate.py FILE... (a Statement or a DSSE envelope of one). Exit 1 on
any violation, printing each with its JSON path."""
import base64
import json
import os
import sys

import jsonschema

here = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(here, "slsa_provenance_v1.schema.json")) as f:
    schema = json.load(f)
checker = jsonschema.FormatChecker()
if "uri" not in checker.checkers:
    sys.exit("python3-rfc3987 is missing: jsonschema cannot check the uri format")
validator = jsonschema.Draft202012Validator(schema, format_checker=checker)

bad = 0
for path in sys.argv[1:]:
    with open(path) as f:
        doc = json.load(f)
    if "payloadType" in doc:
        payload = doc["payload"]
        payload += "=" * (-len(payload) % 4)
        doc = json.loads(base64.b64decode(payload.replace("-", "+").replace("_", "/"), validate=True))
    errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path))
    for e in errors:
        print(f"{path}: {'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}")
    bad += len(errors)
    if not errors:
        print(f"{path}: valid SLSA v1 provenance ({len(doc['predicate']['buildDefinition'].get('resolvedDependencies', []))} dependencies)")
sys.exit(1 if bad else 0)
