#!/usr/bin/env python3
"""Helpers for the fs-monitor integration tests and benchmark.

  fsmon_lib.py listen SOCK LOG      a fake ra-web-srv: accepts FILE-INDEX connections,
                                    appends "recv_ns<TAB>line" to LOG for every line
  fsmon_lib.py wait LOG ROOT IGN TIMEOUT
                                    replays LOG with the brief's snapshot semantics until the
                                    state equals the tree under ROOT (hashed here with hashlib,
                                    independently of fs-monitor); IGN is a python regex of
                                    root-relative paths the ignore file excludes
Expected values come from hashlib.sha3_512 and the directory-hash definition in
docs/fs-monitor.md, never from fs-monitor.
"""
import hashlib
import json
import os
import re
import socket
import sys
import time


def listen(sock_path, log_path):
    try:
        os.unlink(sock_path)
    except FileNotFoundError:
        pass
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(sock_path)
    os.chmod(sock_path, 0o600)
    srv.listen(4)
    with open(log_path, "ab", buffering=0) as log:
        while True:
            conn, _ = srv.accept()
            log.write(b"%d\t#connect\n" % time.time_ns())
            buf = b""
            while True:
                data = conn.recv(1 << 20)
                if not data:
                    break
                buf += data
                now = time.time_ns()
                *lines, buf = buf.split(b"\n")
                out = b"".join(b"%d\t%s\n" % (now, l) for l in lines)
                if out:
                    log.write(out)
            conn.close()
            log.write(b"%d\t#disconnect\n" % time.time_ns())


def replay(log_path):
    """State after the log: the brief's staging semantics; a connection lost
    mid-snapshot discards the staging index."""
    state, staging = {}, None
    with open(log_path, "rb") as f:
        for raw in f:
            ts, _, line = raw.rstrip(b"\n").partition(b"\t")
            if line in (b"#connect", b"#disconnect"):
                staging = None
                continue
            msg = json.loads(line)
            op = msg["op"]
            if op == "snapshot_begin":
                staging = {}
            elif op == "snapshot_end":
                state, staging = staging, None
            elif op == "put":
                assert re.fullmatch(r"[0-9a-f]{128}", msg["sha3_512"]), line
                (staging if staging is not None else state)[msg["path"]] = (msg["kind"], msg["sha3_512"], msg["size"])
            elif op == "del":
                tgt = staging if staging is not None else state
                p = msg["path"]
                for k in [k for k in tgt if k == p or k.startswith(p + "/")]:
                    del tgt[k]
            else:
                raise AssertionError("unknown op in %r" % line)
    return state


def fs_name(b):
    """Bytes -> the string fs-monitor's JSON carries: UTF-8, stray bytes as U+00XX."""
    out, i = [], 0
    while i < len(b):
        for n in (1, 2, 3, 4):
            try:
                out.append(b[i:i + n].decode("utf-8"))
                i += n
                break
            except UnicodeDecodeError:
                continue
        else:
            out.append(chr(b[i]))
            i += 1
    return "".join(out)


def sha3_file(p):
    h = hashlib.sha3_512()
    with open(p, "rb") as f:
        while True:
            c = f.read(1 << 20)
            if not c:
                break
            h.update(c)
    return h.hexdigest()


def expected(root, ign_re):
    ign = re.compile(ign_re) if ign_re else None
    state = {}

    def walk(dirb, relb):
        children = []
        for name in sorted(os.listdir(dirb)):
            full = os.path.join(dirb, name)
            rel = (relb + b"/" + name) if relb else name
            if ign and ign.search(fs_name(rel)):
                continue
            st = os.lstat(full)
            import stat as S
            if S.S_ISDIR(st.st_mode):
                h = walk(full, rel)
                children.append((name, "d", h))
            elif S.S_ISREG(st.st_mode):
                h = sha3_file(full)
                state[fs_name(full)] = ("file", h, st.st_size)
                children.append((name, "f", h))
        d = hashlib.sha3_512()
        for name, k, h in sorted(children):
            d.update(k.encode() + b" " + h.encode() + b" " + name + b"\n")
        state[fs_name(dirb)] = ("dir", d.hexdigest(), 0)
        return d.hexdigest()

    walk(os.fsencode(root), b"")
    return state


def wait(log_path, root, ign_re, timeout):
    deadline = time.time() + float(timeout)
    pause = 0.1
    while True:
        try:
            got = replay(log_path)
            want = expected(root, ign_re)
        except (FileNotFoundError, json.JSONDecodeError):
            got, want = None, {}
        if got == want:
            print("ok: %d entries match" % len(want))
            return 0
        if time.time() > deadline:
            got = got or {}
            missing = sorted(set(want) - set(got))[:10]
            extra = sorted(set(got) - set(want))[:10]
            wrong = sorted(k for k in set(want) & set(got) if want[k] != got[k])[:10]
            print("FAIL: state differs: %d expected, %d published\n missing %r\n extra %r\n wrong %r"
                  % (len(want), len(got), missing, extra, [(k, want[k], got[k]) for k in wrong]))
            return 1
        time.sleep(pause)
        pause = min(pause * 1.5, 2.0)


def kvcheck(dump_path, prefix, root):
    """Compares a `fsmon-testpeer kv-dump` output with the tree: key = PREFIX.base64url(path),
    value JSON {path, sha3_512, size, kind, time}."""
    import base64
    got = {}
    with open(dump_path, "rb") as f:
        for raw in f:
            key, _, val = raw.rstrip(b"\n").decode().partition("\t")
            assert key.startswith(prefix + "."), key
            enc = key[len(prefix) + 1:]
            path = os.fsdecode(base64.urlsafe_b64decode(enc + "=" * (-len(enc) % 4)))
            v = json.loads(val)
            assert set(v) == {"path", "sha3_512", "size", "kind", "time"}, v
            assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", v["time"]), v
            assert v["path"] == path, (v["path"], path)
            got[path] = (v["kind"], v["sha3_512"], v["size"])
    want = expected(root, "")
    if got == want:
        print("ok: %d KV entries match" % len(want))
        return 0
    print("KV differs: missing %r extra %r wrong %r" % (sorted(set(want) - set(got))[:5], sorted(set(got) - set(want))[:5],
          [k for k in set(want) & set(got) if want[k] != got[k]][:5]))
    return 1


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "listen":
        listen(sys.argv[2], sys.argv[3])
    elif cmd == "wait":
        sys.exit(wait(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]))
    elif cmd == "kvcheck":
        sys.exit(kvcheck(sys.argv[2], sys.argv[3], sys.argv[4]))
    else:
        sys.exit("unknown command " + cmd)
