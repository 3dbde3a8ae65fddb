#!/usr/bin/env python3
"""Clean half-close must never lose bytes held in pf-proxy; a reset may.

usage: netproxy_halfclose.py PF_PROXY WORKDIR
For splice and copy forwards (client -> pf-proxy -> server on loopback):
  server-first: the server sends 8 MiB and shuts down its side, then reads; the
    client reads nothing for 0.5 s (so the bytes wait in the proxy's pipe and
    the socket buffers when the FIN reaches pf-proxy), then reads all: all
    8 MiB must arrive, then EOF, and the client's later bytes reach the server.
  client-first: the same the other way round.
  request-response: the client sends a request and half-closes, the server
    reads it to EOF, sends 8 MiB and closes; the client reads late: all of it.
  reset: the server sends 8 MiB and then resets: the client may see fewer
    bytes, but must see the connection end (EOF or reset), never hang.
"""
import hashlib, os, socket, subprocess, sys, threading, time

proxy, work = sys.argv[1], sys.argv[2]
SIZE = 8 << 20
payload = os.urandom(SIZE)
digest = hashlib.sha256(payload).hexdigest()

def read_all(s):
    chunks = []
    while True:
        b = s.recv(1 << 16)
        if not b:
            return b"".join(chunks)
        chunks.append(b)

def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port

def start_proxy(name, zero_copy, upstream_port):
    port = free_port()
    cfg = os.path.join(work, name + ".yaml")
    with open(cfg, "w") as f:
        f.write("forwards:\n  - {name: %s, mode: forward, listen: 'tcp:127.0.0.1:%d', connect: 'tcp:127.0.0.1:%d', zero_copy: %s}\n"
                % (name, port, upstream_port, "true" if zero_copy else "false"))
    log = open(os.path.join(work, name + ".log"), "w")
    p = subprocess.Popen([proxy, "run", "--config", cfg], stderr=log, stdout=log)
    for _ in range(200):
        # listening yet? (not probed by connecting: that would reach the server)
        with open("/proc/net/tcp") as f:
            if any(l.split()[1].endswith(":%04X" % port) and l.split()[3] == "0A" for l in f.readlines()[1:]):
                return p, port
        time.sleep(0.05)
    p.kill()
    raise SystemExit("pf-proxy did not listen on %d" % port)

def listener():
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", 0))
    srv.listen(4)
    return srv

def run(zero_copy, scenario):
    srv = listener()
    name = "hc_%s_%s" % ("splice" if zero_copy else "copy", scenario)
    p, port = start_proxy(name, zero_copy, srv.getsockname()[1])
    result = {}
    def server():
        c, _ = srv.accept()
        if scenario == "server-first":
            c.sendall(payload)
            c.shutdown(socket.SHUT_WR)
            result["server_got"] = read_all(c)
        elif scenario == "request-response":
            result["server_got"] = read_all(c)  # the request, to its EOF
            c.sendall(payload)  # then the response, and a full close
        elif scenario == "client-first":
            time.sleep(0.5)  # let the client's bytes pile up in the proxy
            result["server_got"] = read_all(c)
            c.sendall(b"done")
            c.shutdown(socket.SHUT_WR)
        else:  # reset
            c.sendall(payload)
            c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        c.close()
    t = threading.Thread(target=server)
    t.start()
    cl = socket.create_connection(("127.0.0.1", port), timeout=20)
    try:
        if scenario == "server-first":
            time.sleep(0.5)  # the proxy holds what does not fit in our receive buffer
            got = read_all(cl)
            assert hashlib.sha256(got).hexdigest() == digest, "%s: client got %d of %d bytes" % (name, len(got), SIZE)
            cl.sendall(b"after EOF")
            cl.shutdown(socket.SHUT_WR)
            t.join(20)
            assert result.get("server_got") == b"after EOF", "%s: server got %r" % (name, result.get("server_got"))
        elif scenario == "request-response":
            cl.sendall(b"GET /big\n")
            cl.shutdown(socket.SHUT_WR)
            time.sleep(0.5)
            got = read_all(cl)
            t.join(20)
            assert result.get("server_got") == b"GET /big\n"
            assert hashlib.sha256(got).hexdigest() == digest, "%s: client got %d of %d bytes" % (name, len(got), SIZE)
        elif scenario == "client-first":
            cl.sendall(payload)
            cl.shutdown(socket.SHUT_WR)
            got = read_all(cl)
            t.join(20)
            sg = result.get("server_got", b"")
            assert hashlib.sha256(sg).hexdigest() == digest, "%s: server got %d of %d bytes" % (name, len(sg), SIZE)
            assert got == b"done", "%s: client got %r" % (name, got)
        else:
            time.sleep(0.5)
            try:
                got = read_all(cl)
            except ConnectionResetError:
                got = None
            t.join(20)
            print("  %s: connection ended after %s bytes (a reset may drop what was held)" %
                  (name, "a reset and some" if got is None else len(got)))
    finally:
        cl.close()
        p.terminate()
        p.wait(10)
        srv.close()
    print("ok: %s" % name)

for zc in (True, False):
    for sc in ("server-first", "client-first", "request-response", "reset"):
        run(zc, sc)
