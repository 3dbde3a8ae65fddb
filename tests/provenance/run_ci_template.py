#!/usr/bin/python3
"""Runs the step of a CI template the way its CI would, so the tests drive the
templates themselves, not a copy of their command:
  run_ci_template.py github ACTION.yml KEY=VALUE...   composite action: inputs from KEY=VALUE,
                                                      ${{ inputs.X }} / ${{ github.action_path }} substituted
  run_ci_template.py gitlab TEMPLATE.yml KEY=VALUE... the .rbuild-verify job's script lines, with its
                                                      variables overridden by KEY=VALUE
Exit status: the step's."""
import os
import re
import subprocess
import sys

import yaml

kind, path = sys.argv[1], sys.argv[2]
given = dict(a.split("=", 1) for a in sys.argv[3:])
doc = yaml.safe_load(open(path))
env = dict(os.environ)
if kind == "github":
    inputs = {k: str(given.get(k, v.get("default", ""))) for k, v in doc["inputs"].items()}
    missing = [k for k, v in doc["inputs"].items() if v.get("required") and not given.get(k)]
    if missing:
        sys.exit(f"required inputs missing: {missing}")
    ctx = {"github.action_path": os.path.dirname(os.path.abspath(path))}
    ctx.update({"inputs." + k: v for k, v in inputs.items()})
    sub = lambda s: re.sub(r"\$\{\{\s*([\w.-]+)\s*\}\}", lambda m: ctx[m.group(1)], s)
    rc = 0
    for step in doc["runs"]["steps"]:
        step_env = dict(env, **{k: sub(str(v)) for k, v in step.get("env", {}).items()})
        rc = subprocess.call(["bash", "-e", "-c", sub(step["run"])], env=step_env)
        if rc:
            break
    sys.exit(rc)
elif kind == "gitlab":
    job = doc[".rbuild-verify"]
    env.update({k: str(v) for k, v in job["variables"].items()})
    env.update(given)
    script = "\n".join(job["script"])
    sys.exit(subprocess.call(["bash", "-e", "-c", script], env=env))
sys.exit("unknown template kind " + kind)
