#!/usr/bin/env python3
"""Recomputes rbuild's digest of a directory input from docs/rbuild.md
("Directory digests") alone, without rbuild's code. Usage: dir_digest.py DIR...
Prints "SHA256 SIZE DIR" per directory (SIZE = bytes of regular-file content)."""
import hashlib
import os
import stat
import sys


def walk(root, prefix=b""):
    out = []
    with os.scandir(os.path.join(root, prefix) if prefix else root) as it:
        for e in it:
            rel = prefix + e.name
            out.append(rel)
            if e.is_dir(follow_symlinks=False):
                out.extend(walk(root, rel + b"/"))
    return out


def esc(name):
    """A name or link target as a listing field: space, newline and backslash as \\ooo."""
    out = b""
    for c in name:
        out += b"\\%03o" % c if c in (0x20, 0x0A, 0x5C) else bytes([c])
    return out


def mode_of(st):
    if stat.S_ISDIR(st.st_mode):
        return "755"
    return "755" if st.st_mode & 0o111 else "644"


def file_sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def digest(root):
    root = os.fsencode(root)
    listing = hashlib.sha256()
    total = 0
    first = {}
    for rel in sorted(walk(root)):  # bytewise order of the relative paths
        p = os.path.join(root, rel)
        st = os.lstat(p)
        m = st.st_mode
        key = (st.st_dev, st.st_ino)
        if stat.S_ISDIR(m):
            line = b"d " + mode_of(st).encode() + b" " + esc(rel)
        elif stat.S_ISLNK(m):
            line = b"l " + esc(os.readlink(p)) + b" " + esc(rel)
        elif st.st_nlink > 1 and key in first:
            line = b"h " + esc(rel) + b" " + esc(first[key])
        elif stat.S_ISREG(m):
            total += st.st_size
            line = b"f %s %d %s " % (mode_of(st).encode(), st.st_size, file_sha256(p).encode()) + esc(rel)
        elif stat.S_ISCHR(m) or stat.S_ISBLK(m):
            line = b"%s %s %d %d " % (b"c" if stat.S_ISCHR(m) else b"b", mode_of(st).encode(),
                                      os.major(st.st_rdev), os.minor(st.st_rdev)) + esc(rel)
        elif stat.S_ISFIFO(m):
            line = b"p " + mode_of(st).encode() + b" " + esc(rel)
        else:
            raise SystemExit(f"{p!r}: sockets cannot be inputs")
        if st.st_nlink > 1 and not stat.S_ISDIR(m):
            first.setdefault(key, rel)
        listing.update(line + b"\n")
    return listing.hexdigest(), total


if __name__ == "__main__":
    for d in sys.argv[1:]:
        h, n = digest(d)
        print(h, n, d)
