#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""ngxpeer: the clients and tiny backends the nginx bats suite talks to.

Clients print, first, what the kernel says about their own socket:
"is_mptcp=N" (1 = the connection really is MPTCP, 0 = plain TCP or a
fallback; kcheck.is_mptcp: MPTCP_INFO, which every supported kernel has,
and TCP_IS_MPTCP where the kernel has it, 6.10+), then what the server
answered. A client whose kernel answers disagree fails.

  http [--tcp] [--host H] ADDR PORT [PATH]
      one HTTP/1.0 request; prints is_mptcp, status=CODE, body=FIRST LINE
  loop [--tcp] --max N --seconds S [--stop FILE] ADDR PORT [PATH]
      up to N requests (one connection each) for at most S seconds, until
      FILE exists; prints "requests=R ok=K failed=F mptcp=M" then one
      "body=TEXT count=C" line per distinct body (first line of it)
  keepalive [--tcp] --count N ADDR PORT [PATH]
      N HTTP/1.1 requests on one connection (keep-alive); prints is_mptcp,
      then "request I: status=CODE length=BYTES" or "request I: error ..."
      per request (it stops at the first error), then "ok=K of N"
  talk [--tcp] [--send TEXT] [--read] [--hold READY RELEASE] ADDR PORT
      sends TEXT (backslash escapes such as \r\n are decoded) if given,
      then with --read prints the first reply line as reply=...; with
      --hold, then creates READY and keeps the connection open until
      RELEASE exists (at most 30 s)
  udp ADDR PORT TEXT
      sends one datagram, prints the reply as reply=...
  imap|pop3|smtp [--tcp] [--login USER PASS] [--hold READY RELEASE] ADDR PORT
      prints greeting=...; with --login, logs in through nginx's mail
      proxy and prints login=<the backend's answer> and, after one more
      command proxied to the backend, after=<its answer>
  sockopts PID ADDR PORT
      finds PID's listening sockets on ADDR:PORT (pidfd_getfd, needs
      root) and prints one line of their options each, as the kernel
      reports them with getsockopt
  serve-echo|serve-imap|serve-pop3|serve-smtp [--seconds S] ADDR PORT
      a backend (plain TCP, a thread per client) that exits after S s
"""
import argparse
import base64
import ctypes
import os
import socket
import sys
import threading
import time

from kcheck import is_mptcp as kernel_is_mptcp

TCP_FASTOPEN = 23
SYS_PIDFD_GETFD = 438
HOLD_MAX = 30.0


def family_of(addr):
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


def connect(addr, port, tcp, timeout=5.0):
    proto = 0 if tcp else socket.IPPROTO_MPTCP
    s = socket.socket(family_of(addr), socket.SOCK_STREAM, proto)
    s.settimeout(timeout)
    s.connect((addr, int(port)))
    return s, kernel_is_mptcp(s)


def recv_all(s):
    chunks = []
    while True:
        b = s.recv(65536)
        if not b:
            return b"".join(chunks)
        chunks.append(b)


class Lines:
    """Reads CRLF lines from a socket."""

    def __init__(self, s):
        self.s, self.buf = s, b""

    def line(self):
        while b"\n" not in self.buf:
            b = self.s.recv(4096)
            if not b:
                raise EOFError("connection closed")
            self.buf += b
        ln, self.buf = self.buf.split(b"\n", 1)
        return ln.rstrip(b"\r").decode("utf-8", "replace")


def http_get(addr, port, path, tcp, host="localhost"):
    s, is_mptcp = connect(addr, port, tcp)
    with s:
        s.sendall(("GET %s HTTP/1.0\r\nHost: %s\r\n\r\n" % (path, host)).encode())
        data = recv_all(s)
    head, _, body = data.partition(b"\r\n\r\n")
    status = head.split(b" ", 2)[1].decode() if head.startswith(b"HTTP/") else "none"
    first = body.decode("utf-8", "replace").splitlines()
    return is_mptcp, status, first[0] if first else ""


def cmd_http(a):
    is_mptcp, status, body = http_get(a.addr, a.port, a.path, a.tcp, a.host)
    print("is_mptcp=%d" % is_mptcp)
    print("status=%s" % status)
    print("body=%s" % body)


def cmd_loop(a):
    deadline = time.monotonic() + a.seconds
    n = ok = failed = mptcp = 0
    bodies = {}
    while n < a.max and time.monotonic() < deadline:
        if a.stop and os.path.exists(a.stop):
            break
        n += 1
        try:
            is_mptcp, status, body = http_get(a.addr, a.port, a.path, a.tcp)
        except OSError as e:
            failed += 1
            print("request %d: %s" % (n, e), file=sys.stderr)
            continue
        if status != "200":
            failed += 1
            print("request %d: status %s" % (n, status), file=sys.stderr)
            continue
        ok += 1
        mptcp += is_mptcp == 1
        bodies[body] = bodies.get(body, 0) + 1
        if a.progress and n % 10 == 0:
            with open(a.progress, "w") as f:
                f.write("%d\n" % n)
    print("requests=%d ok=%d failed=%d mptcp=%d" % (n, ok, failed, mptcp))
    for body, count in sorted(bodies.items()):
        print("body=%s count=%d" % (body, count))


def read_response(r, s):
    """One HTTP/1.1 response with a Content-Length: (status, body)."""
    status = r.line().split(" ")[1]
    length = 0
    while True:
        h = r.line()
        if not h:
            break
        k, _, v = h.partition(":")
        if k.strip().lower() == "content-length":
            length = int(v)
    body = r.buf
    while len(body) < length:
        b = s.recv(65536)
        if not b:
            raise EOFError("connection closed in the body")
        body += b
    r.buf = body[length:]
    return status, body[:length]


def cmd_keepalive(a):
    s, is_mptcp = connect(a.addr, a.port, a.tcp)
    ok = 0
    with s:
        print("is_mptcp=%d" % is_mptcp, flush=True)
        r = Lines(s)
        for i in range(1, a.count + 1):
            try:
                s.sendall(("GET %s HTTP/1.1\r\nHost: localhost\r\n\r\n"
                           % a.path).encode())
                status, body = read_response(r, s)
            except (OSError, EOFError) as e:
                print("request %d: error %s" % (i, e), flush=True)
                break
            print("request %d: status=%s length=%d" % (i, status, len(body)),
                  flush=True)
            ok += status == "200"
    print("ok=%d of %d" % (ok, a.count))


def hold(ready, release):
    with open(ready, "w") as f:
        f.write("ready\n")
    end = time.monotonic() + HOLD_MAX
    while not os.path.exists(release) and time.monotonic() < end:
        time.sleep(0.05)


def cmd_talk(a):
    s, is_mptcp = connect(a.addr, a.port, a.tcp)
    with s:
        print("is_mptcp=%d" % is_mptcp, flush=True)
        r = Lines(s)
        if a.send is not None:
            s.sendall(a.send.encode().decode("unicode_escape").encode())
        if a.read:
            print("reply=%s" % r.line(), flush=True)
        if a.hold:
            hold(*a.hold)


def cmd_udp(a):
    s = socket.socket(family_of(a.addr), socket.SOCK_DGRAM)
    with s:
        s.settimeout(5.0)
        s.sendto(a.text.encode(), (a.addr, int(a.port)))
        data, _ = s.recvfrom(65536)
        print("proto=%d" % s.getsockopt(socket.SOL_SOCKET, socket.SO_PROTOCOL))
        print("reply=%s" % data.decode("utf-8", "replace").strip())


def mail_client(a):
    s, is_mptcp = connect(a.addr, a.port, a.tcp)
    with s:
        print("is_mptcp=%d" % is_mptcp, flush=True)
        r = Lines(s)

        def cmd(text):
            s.sendall(text.encode() + b"\r\n")
            return r.line()

        greeting = r.line()
        print("greeting=%s" % greeting, flush=True)
        if a.login:
            user, pw = a.login
            if a.cmd == "imap":
                s.sendall(b"a1 LOGIN %s %s\r\n" % (user.encode(), pw.encode()))
                login = r.line()
                after = cmd("a2 NOOP")
            elif a.cmd == "pop3":
                cmd("USER " + user)
                login = cmd("PASS " + pw)
                after = cmd("NOOP")
            else:
                ehlo = cmd("EHLO client.test")
                while ehlo.startswith("250-"):
                    ehlo = r.line()
                plain = base64.b64encode(b"\0" + user.encode() + b"\0" + pw.encode())
                login = cmd("AUTH PLAIN " + plain.decode())
                after = cmd("NOOP")
            print("login=%s" % login, flush=True)
            print("after=%s" % after, flush=True)
        if a.hold:
            hold(*a.hold)


def pidfd_getfd(pid, fd):
    libc = ctypes.CDLL(None, use_errno=True)
    pfd = os.pidfd_open(pid)
    try:
        n = libc.syscall(SYS_PIDFD_GETFD, pfd, fd, 0)
        if n < 0:
            e = ctypes.get_errno()
            raise OSError(e, os.strerror(e))
        return n
    finally:
        os.close(pfd)


def cmd_sockopts(a):
    want = (a.addr, int(a.port))
    found = 0
    for name in sorted(os.listdir("/proc/%d/fd" % a.pid), key=int):
        try:
            if not os.readlink("/proc/%d/fd/%s" % (a.pid, name)).startswith("socket:"):
                continue
            s = socket.socket(fileno=pidfd_getfd(a.pid, int(name)))
        except OSError:
            continue
        with s:
            if s.family not in (socket.AF_INET, socket.AF_INET6):
                continue
            if s.type != socket.SOCK_STREAM or s.getsockname()[:2] != want:
                continue
            if not s.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN):
                continue
            opts = [
                ("proto", socket.SOL_SOCKET, socket.SO_PROTOCOL),
                ("rcvbuf", socket.SOL_SOCKET, socket.SO_RCVBUF),
                ("sndbuf", socket.SOL_SOCKET, socket.SO_SNDBUF),
                ("keepalive", socket.SOL_SOCKET, socket.SO_KEEPALIVE),
                ("keepidle", socket.IPPROTO_TCP, socket.TCP_KEEPIDLE),
                ("keepintvl", socket.IPPROTO_TCP, socket.TCP_KEEPINTVL),
                ("keepcnt", socket.IPPROTO_TCP, socket.TCP_KEEPCNT),
                ("defer_accept", socket.IPPROTO_TCP, socket.TCP_DEFER_ACCEPT),
                ("fastopen", socket.IPPROTO_TCP, TCP_FASTOPEN),
                ("reuseaddr", socket.SOL_SOCKET, socket.SO_REUSEADDR),
                ("reuseport", socket.SOL_SOCKET, socket.SO_REUSEPORT),
            ]
            if s.family == socket.AF_INET6:
                opts.append(("v6only", socket.IPPROTO_IPV6, socket.IPV6_V6ONLY))
            out = ["fd=%s" % name]
            for key, level, opt in opts:
                try:
                    out.append("%s=%d" % (key, s.getsockopt(level, opt)))
                except OSError as e:
                    out.append("%s=error:%s" % (key, e.strerror))
            print(" ".join(out))
            found += 1
    if not found:
        print("sockopts: pid %d has no listener on %s:%s" % (a.pid, a.addr, a.port),
              file=sys.stderr)
        return 1
    return 0


# ---- backends ----

def serve_echo(c):
    r = Lines(c)
    while True:
        c.sendall(("echo:%s\r\n" % r.line()).encode())


def serve_imap(c):
    r = Lines(c)
    c.sendall(b"* OK backend-imap ready\r\n")
    while True:
        ln = r.line()
        tag, _, rest = ln.partition(" ")
        if rest.upper().startswith("LOGIN"):
            # nginx sends: TAG LOGIN {n}, the user name {m}, the password,
            # each literal announced first and confirmed with "+".
            c.sendall(b"+ go ahead\r\n")
            user_line = r.line()
            c.sendall(b"+ go ahead\r\n")
            r.line()
            user = user_line.split(" {")[0]
            c.sendall(("%s OK backend-imap LOGIN %s\r\n" % (tag, user)).encode())
        elif rest.upper().startswith("LOGOUT"):
            c.sendall(("* BYE\r\n%s OK LOGOUT\r\n" % tag).encode())
            return
        else:
            c.sendall(("%s OK backend-imap %s\r\n" % (tag, rest)).encode())


def serve_pop3(c):
    r = Lines(c)
    c.sendall(b"+OK backend-pop3 ready\r\n")
    user = ""
    while True:
        ln = r.line()
        verb, _, arg = ln.partition(" ")
        verb = verb.upper()
        if verb == "USER":
            user = arg
            c.sendall(b"+OK send PASS\r\n")
        elif verb == "PASS":
            c.sendall(("+OK backend-pop3 logged in %s\r\n" % user).encode())
        elif verb == "QUIT":
            c.sendall(b"+OK bye\r\n")
            return
        else:
            c.sendall(("+OK backend-pop3 %s\r\n" % verb).encode())


def serve_smtp(c):
    r = Lines(c)
    c.sendall(b"220 backend-smtp ESMTP\r\n")
    while True:
        verb = r.line().split(" ")[0].upper()
        if verb in ("EHLO", "HELO"):
            c.sendall(b"250 backend-smtp\r\n")
        elif verb == "QUIT":
            c.sendall(b"221 bye\r\n")
            return
        else:
            c.sendall(("250 backend-smtp %s\r\n" % verb).encode())


BACKENDS = {
    "serve-echo": serve_echo,
    "serve-imap": serve_imap,
    "serve-pop3": serve_pop3,
    "serve-smtp": serve_smtp,
}


def cmd_serve(a):
    handler = BACKENDS[a.cmd]
    ls = socket.socket(family_of(a.addr), socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((a.addr, int(a.port)))
    ls.listen(64)
    ls.settimeout(0.2)
    end = time.monotonic() + a.seconds

    def run(c):
        with c:
            c.settimeout(HOLD_MAX)
            try:
                handler(c)
            except (OSError, EOFError):
                pass

    while time.monotonic() < end:
        try:
            c, _ = ls.accept()
        except socket.timeout:
            continue
        threading.Thread(target=run, args=(c,), daemon=True).start()
    return 0


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)

    def client(name):
        q = sub.add_parser(name)
        q.add_argument("--tcp", action="store_true", help="plain TCP socket")
        return q

    q = client("http")
    q.add_argument("--host", default="localhost")
    q.add_argument("addr")
    q.add_argument("port")
    q.add_argument("path", nargs="?", default="/")

    q = client("loop")
    q.add_argument("--max", type=int, required=True)
    q.add_argument("--seconds", type=float, required=True)
    q.add_argument("--stop")
    q.add_argument("--progress")
    q.add_argument("addr")
    q.add_argument("port")
    q.add_argument("path", nargs="?", default="/")

    q = client("keepalive")
    q.add_argument("--count", type=int, required=True)
    q.add_argument("addr")
    q.add_argument("port")
    q.add_argument("path", nargs="?", default="/")

    q = client("talk")
    q.add_argument("--send")
    q.add_argument("--read", action="store_true")
    q.add_argument("--hold", nargs=2, metavar=("READY", "RELEASE"))
    q.add_argument("addr")
    q.add_argument("port")

    q = sub.add_parser("udp")
    q.add_argument("addr")
    q.add_argument("port")
    q.add_argument("text")

    for name in ("imap", "pop3", "smtp"):
        q = client(name)
        q.add_argument("--login", nargs=2, metavar=("USER", "PASS"))
        q.add_argument("--hold", nargs=2, metavar=("READY", "RELEASE"))
        q.add_argument("addr")
        q.add_argument("port")

    q = sub.add_parser("sockopts")
    q.add_argument("pid", type=int)
    q.add_argument("addr")
    q.add_argument("port")

    for name in BACKENDS:
        q = sub.add_parser(name)
        q.add_argument("--seconds", type=float, default=120.0)
        q.add_argument("addr")
        q.add_argument("port")

    a = p.parse_args()
    handlers = {
        "http": cmd_http, "loop": cmd_loop, "keepalive": cmd_keepalive, "talk": cmd_talk, "udp": cmd_udp,
        "imap": mail_client, "pop3": mail_client, "smtp": mail_client,
        "sockopts": cmd_sockopts,
    }
    try:
        return handlers.get(a.cmd, cmd_serve)(a) or 0
    except (OSError, EOFError) as e:
        print("ngxpeer %s: %s" % (a.cmd, e), file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
