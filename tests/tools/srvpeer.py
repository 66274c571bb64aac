#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""srvpeer: clients and backends of the server matrix (tests/bats/servers.bats).

Every client opens its own socket - IPPROTO_MPTCP, or plain TCP with --tcp -
speaks the server's protocol over it, and prints, while the connection is
still open, what the kernel says about that socket:

    mptcp=1              getsockopt(SOL_MPTCP, MPTCP_INFO) works, the
                         fallback flag is clear and the peer's MP_CAPABLE
                         key was received: the connection is MPTCP
    mptcp=0              MPTCP_INFO fails (a TCP socket, or an MPTCP socket
                         that fell back to TCP)

(kcheck.py, as for ngxpeer.py and clipeer.py: TCP_IS_MPTCP is read too
where the kernel has it - not Debian 12's 6.1 - and must agree.)
Then one key=value line per protocol step. Exit status 0 when every step
got the answer the protocol expects, 1 otherwise (the reason on stderr).

  http ADDR PORT [PATH] [--host H]     GET (http.client); status=, body=
  imap ADDR PORT USER PASS             greeting=, login=, select=, logout=
  smtp ADDR PORT [--mail FROM TO]      greeting=, ehlo=, [mail=], quit=
  redis ADDR PORT                      ping=, set=, get=
  memcached ADDR PORT                  set=, get=
  dns ADDR PORT NAME                   one query for NAME's A record over
                                       TCP (RFC 7766); rcode=, answer=
  mysql ADDR PORT USER PASSWORD SQL     MySQL/MariaDB protocol 4.1 handshake,
                                       mysql_native_password, one query;
                                       server=, auth=, row=
  pg ADDR PORT USER DB SQL             protocol 3 startup (trust), one
                                       simple query; auth=, row=, done=
  ssh-proxy ADDR PORT REPORT           an ssh ProxyCommand: relays stdin
                                       and stdout; writes the mptcp= line
                                       to REPORT once the server has spoken

  serve KIND ADDR PORT [--seconds S]   a backend for the servers' outbound
                                       connections, listening with
                                       IPPROTO_MPTCP itself (no library):
                                       prints "accepted proto=N" (SO_PROTOCOL
                                       of the accepted socket: 262 = the
                                       server connected with MPTCP, 6 = TCP)
                                       per connection, then speaks KIND:
                                       http (answers "backend proto=N"),
                                       smtp (accepts one message), echo
                                       (answers "backend proto=N: LINE"),
                                       close (closes at once). Exits after
                                       S seconds (default 60).

Options: --tcp (a plain TCP client), --timeout S (default 10).
"""
import argparse
import hashlib
import http.client
import imaplib
import os
import select
import smtplib
import socket
import struct
import sys
import threading
import time

from kcheck import MPTCP_INFO, SOL_MPTCP, is_mptcp

IPPROTO_MPTCP = 262
MPTCP_INFO_FLAG_REMOTE_KEY_RECEIVED = 2


def family_of(addr):
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


def open_socket(addr, port, tcp, timeout):
    s = socket.socket(family_of(addr), socket.SOCK_STREAM,
                      0 if tcp else IPPROTO_MPTCP)
    s.settimeout(timeout)
    s.connect((addr, int(port)))
    return s


def mptcp_state(s):
    """The kernel's answer for socket s, as printed (see the top)."""
    try:
        if not is_mptcp(s):
            return "mptcp=0"  # TCP, or MPTCP fallen back to TCP
        # struct mptcp_info: six __u8 counters, then __u32 mptcpi_flags
        info = s.getsockopt(SOL_MPTCP, MPTCP_INFO, 64)
    except OSError as e:  # no answer at all (EBADF...), or two that differ
        return "mptcp=error (%s)" % e
    flags = struct.unpack_from("=I", info, 8)[0]
    if not flags & MPTCP_INFO_FLAG_REMOTE_KEY_RECEIVED:
        return "mptcp=incomplete (no MP_CAPABLE key from the peer yet)"
    return "mptcp=1"


def say(key, value):
    print("%s=%s" % (key, value), flush=True)


def fail(msg):
    print("srvpeer: " + msg, file=sys.stderr, flush=True)
    sys.exit(1)


# ---- clients ----

def cmd_http(a):
    s = open_socket(a.addr, a.port, a.tcp, a.timeout)
    # http.client closes its socket object after a "Connection: close"
    # response: ask the kernel through a second fd of the same socket.
    probe = s.dup()
    conn = http.client.HTTPConnection(a.host or a.addr, int(a.port),
                                      timeout=a.timeout)
    conn.sock = s
    conn.request("GET", a.path)
    r = conn.getresponse()
    body = r.read().decode("utf-8", "replace")
    print(mptcp_state(probe), flush=True)
    say("status", r.status)
    say("body", body.splitlines()[0] if body else "")
    conn.close()
    probe.close()
    if r.status != 200:
        fail("HTTP status %d" % r.status)


class SocketIMAP(imaplib.IMAP4):
    def __init__(self, sock, host, port):
        self._given = sock
        super().__init__(host, port)

    def _create_socket(self, timeout):
        return self._given


def cmd_imap(a):
    s = open_socket(a.addr, a.port, a.tcp, a.timeout)
    m = SocketIMAP(s, a.addr, int(a.port))
    say("greeting", m.welcome.decode("utf-8", "replace"))
    typ, data = m.login(a.user, a.password)
    say("login", "%s %s" % (typ, data[0].decode("utf-8", "replace")))
    typ, data = m.select("INBOX")
    say("select", "%s %s" % (typ, data[0].decode("utf-8", "replace")))
    print(mptcp_state(s), flush=True)
    typ, _ = m.logout()
    say("logout", typ)
    if typ != "BYE":
        fail("IMAP LOGOUT answered %s" % typ)


class SocketSMTP(smtplib.SMTP):
    def __init__(self, sock, **kw):
        self._given = sock
        super().__init__(**kw)

    def _get_socket(self, host, port, timeout):
        return self._given


def cmd_smtp(a):
    s = open_socket(a.addr, a.port, a.tcp, a.timeout)
    m = SocketSMTP(s, timeout=a.timeout)
    code, msg = m.connect(a.addr, int(a.port))
    say("greeting", "%d %s" % (code, msg.decode("utf-8", "replace")))
    code, msg = m.ehlo("client.test")
    say("ehlo", "%d %s" % (code, msg.decode("utf-8", "replace").splitlines()[0]))
    if code != 250:
        fail("EHLO answered %d" % code)
    if a.mail:
        frm, to = a.mail
        refused = m.sendmail(frm, [to], "From: <%s>\r\nTo: <%s>\r\nSubject: "
                             "srvpeer\r\n\r\nsrvpeer test message\r\n" % (frm, to))
        say("mail", "refused=%d" % len(refused))
    print(mptcp_state(s), flush=True)
    code, _ = m.quit()
    say("quit", code)


class Lines:
    """Reads lines (CRLF or LF) and exact byte counts from a socket."""

    def __init__(self, s):
        self.s, self.buf = s, b""

    def line(self):
        while b"\n" not in self.buf:
            b = self.s.recv(4096)
            if not b:
                raise EOFError("connection closed by the peer")
            self.buf += b
        ln, self.buf = self.buf.split(b"\n", 1)
        return ln.rstrip(b"\r").decode("utf-8", "replace")

    def exact(self, n):
        while len(self.buf) < n:
            b = self.s.recv(4096)
            if not b:
                raise EOFError("connection closed by the peer")
            self.buf += b
        out, self.buf = self.buf[:n], self.buf[n:]
        return out


def resp(*args):
    out = b"*%d\r\n" % len(args)
    for x in args:
        x = x.encode()
        out += b"$%d\r\n%s\r\n" % (len(x), x)
    return out


def cmd_redis(a):
    s = open_socket(a.addr, a.port, a.tcp, a.timeout)
    r = Lines(s)
    s.sendall(resp("PING"))
    say("ping", r.line())
    s.sendall(resp("SET", "srvpeer", "value-42"))
    say("set", r.line())
    s.sendall(resp("GET", "srvpeer"))
    head = r.line()
    value = r.line() if head.startswith("$") and head != "$-1" else head
    say("get", value)
    print(mptcp_state(s), flush=True)
    s.close()
    if value != "value-42":
        fail("GET answered %r" % value)


def cmd_memcached(a):
    s = open_socket(a.addr, a.port, a.tcp, a.timeout)
    r = Lines(s)
    s.sendall(b"set srvpeer 0 60 8\r\nvalue-42\r\n")
    say("set", r.line())
    s.sendall(b"get srvpeer\r\n")
    head = r.line()
    value = r.line() if head.startswith("VALUE") else head
    end = r.line() if head.startswith("VALUE") else ""
    say("get", value)
    print(mptcp_state(s), flush=True)
    s.close()
    if value != "value-42" or end != "END":
        fail("get answered %r %r" % (head, end))


def cmd_dns(a):
    s = open_socket(a.addr, a.port, a.tcp, a.timeout)
    qname = b"".join(bytes([len(label)]) + label.encode()
                     for label in a.name.rstrip(".").split(".")) + b"\0"
    # id 0x4d53, RD; one question: A, IN
    msg = struct.pack("!HHHHHH", 0x4D53, 0x0100, 1, 0, 0, 0) + qname + \
        struct.pack("!HH", 1, 1)
    s.sendall(struct.pack("!H", len(msg)) + msg)
    r = Lines(s)
    (n,) = struct.unpack("!H", r.exact(2))
    resp = r.exact(n)
    ident, flags, qd, an = struct.unpack("!HHHH", resp[:8])
    rcode = flags & 0xF
    off = 12
    for _ in range(qd):  # skip the question
        while resp[off]:
            off += 1 + resp[off]
        off += 5
    answer = "-"
    for _ in range(an):
        if resp[off] & 0xC0 == 0xC0:  # compressed name
            off += 2
        else:
            while resp[off]:
                off += 1 + resp[off]
            off += 1
        rtype, _, _, rdlen = struct.unpack("!HHIH", resp[off:off + 10])
        off += 10
        if rtype == 1 and rdlen == 4:
            answer = socket.inet_ntoa(resp[off:off + 4])
            break
        off += rdlen
    say("rcode", {0: "NOERROR", 2: "SERVFAIL", 3: "NXDOMAIN", 5: "REFUSED"}
        .get(rcode, str(rcode)))
    say("answer", answer)
    print(mptcp_state(s), flush=True)
    s.close()
    if ident != 0x4D53:
        fail("answer id %#x" % ident)


def cmd_mysql(a):
    s = open_socket(a.addr, a.port, a.tcp, a.timeout)
    r = Lines(s)

    def packet():
        head = r.exact(4)
        return head[3], r.exact(int.from_bytes(head[:3], "little"))

    def send(seq, payload):
        s.sendall(len(payload).to_bytes(3, "little") + bytes([seq & 0xFF]) + payload)

    def error_text(p):
        return "%d %s" % (struct.unpack("<H", p[1:3])[0], p[9:].decode("utf-8", "replace"))

    def lenenc(p, off):
        b = p[off]
        if b < 0xFB:
            return b, off + 1
        n = {0xFC: 2, 0xFD: 3, 0xFE: 8}[b]
        return int.from_bytes(p[off + 1:off + 1 + n], "little"), off + 1 + n

    def native(password, salt):
        h1 = hashlib.sha1(password.encode()).digest()
        h2 = hashlib.sha1(salt + hashlib.sha1(h1).digest()).digest()
        return bytes(x ^ y for x, y in zip(h1, h2)) if password else b""

    seq, hs = packet()
    if hs[0] == 0xFF:
        fail("refused: " + error_text(hs))
    end = hs.index(b"\0", 1)
    say("server", hs[1:end].decode())
    off = end + 1 + 4
    salt = hs[off:off + 8]
    off += 8 + 1 + 2 + 1 + 2 + 2
    salt_len = hs[off]
    off += 1 + 10
    salt += hs[off:off + max(13, salt_len - 8)].rstrip(b"\0")
    # PROTOCOL_41, SECURE_CONNECTION, PLUGIN_AUTH, LONG_PASSWORD, TRANSACTIONS
    caps = 0x200 | 0x8000 | 0x80000 | 0x1 | 0x2000
    auth = native(a.password, salt)
    send(seq + 1, struct.pack("<IIB23x", caps, 1 << 24, 33) + a.user.encode() +
         b"\0" + bytes([len(auth)]) + auth + b"mysql_native_password\0")
    seq, p = packet()
    if p[0] == 0xFE:  # auth switch: the plugin it names, with a new salt
        plugin, _, salt = p[1:].partition(b"\0")
        if plugin != b"mysql_native_password":
            fail("the server wants %s" % plugin.decode())
        send(seq + 1, native(a.password, salt.rstrip(b"\0")))
        seq, p = packet()
    if p[0] != 0x00:
        fail("login failed: " + (error_text(p) if p[0] == 0xFF else repr(p[:20])))
    say("auth", "ok")
    send(0, b"\x03" + a.sql.encode())
    _, p = packet()
    if p[0] == 0xFF:
        fail("query failed: " + error_text(p))
    ncols, _ = lenenc(p, 0)
    for _ in range(ncols):
        packet()  # column definitions
    if ncols:
        packet()  # EOF
    row = None if ncols else "OK"  # a statement without a result set
    while ncols:
        _, p = packet()
        if p[0] == 0xFE and len(p) < 9:
            break
        cols, off = [], 0
        for _ in range(ncols):
            if p[off] == 0xFB:
                cols.append("NULL")
                off += 1
                continue
            n, off = lenenc(p, off)
            cols.append(p[off:off + n].decode("utf-8", "replace"))
            off += n
        row = row or "|".join(cols)
    say("row", row)
    print(mptcp_state(s), flush=True)
    send(0, b"\x01")  # COM_QUIT
    s.close()


def cmd_pg(a):
    s = open_socket(a.addr, a.port, a.tcp, a.timeout)
    params = b"user\0%s\0database\0%s\0\0" % (a.user.encode(), a.db.encode())
    s.sendall(struct.pack("!II", 8 + len(params), 196608) + params)
    r = Lines(s)

    def message():
        kind = r.exact(1)
        (length,) = struct.unpack("!I", r.exact(4))
        return kind, r.exact(length - 4)

    def error_text(body):
        fields = [f for f in body.split(b"\0") if f]
        return " ".join(f[1:].decode("utf-8", "replace") for f in fields
                        if f[:1] in (b"S", b"M"))

    kind, body = message()
    if kind == b"E":
        fail("startup refused: " + error_text(body))
    if kind != b"R" or struct.unpack("!I", body[:4])[0] != 0:
        fail("the server wants authentication %r (configure trust)" % body[:4])
    say("auth", "ok")
    while kind != b"Z":  # ParameterStatus, BackendKeyData, ReadyForQuery
        kind, body = message()
        if kind == b"E":
            fail("startup failed: " + error_text(body))
    q = a.sql.encode() + b"\0"
    s.sendall(b"Q" + struct.pack("!I", 4 + len(q)) + q)
    row, done = None, None
    while True:
        kind, body = message()
        if kind == b"D":
            (n,) = struct.unpack("!H", body[:2])
            off, cols = 2, []
            for _ in range(n):
                (ln,) = struct.unpack("!i", body[off:off + 4])
                off += 4
                cols.append("NULL" if ln < 0 else body[off:off + ln].decode())
                off += max(ln, 0)
            row = "|".join(cols)
        elif kind == b"C":
            done = body.rstrip(b"\0").decode()
        elif kind == b"E":
            fail("query failed: " + error_text(body))
        elif kind == b"Z":
            break
    say("row", row)
    say("done", done)
    print(mptcp_state(s), flush=True)
    s.sendall(b"X" + struct.pack("!I", 4))
    s.close()


def cmd_ssh_proxy(a):
    """ProxyCommand for ssh/sftp: the real client speaks SSH through us."""
    s = open_socket(a.addr, a.port, a.tcp, a.timeout)
    s.settimeout(None)
    state = None
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    deadline = time.monotonic() + 60
    open_in = True
    while time.monotonic() < deadline:
        rd, _, _ = select.select([s] + ([stdin] if open_in else []), [], [], 1)
        if s in rd:
            b = s.recv(65536)
            if not b:
                break
            if state is None:  # connected and the server has spoken
                state = mptcp_state(s)
                # now: ssh may end us (SIGHUP) as soon as it is done
                with open(a.report, "w") as f:
                    f.write(state + "\n")
            while b:
                b = b[os.write(stdout.fileno(), b):]
        if open_in and stdin in rd:
            b = os.read(stdin.fileno(), 65536)
            if not b:
                open_in = False
                s.shutdown(socket.SHUT_WR)
            else:
                s.sendall(b)
    if state is None:
        with open(a.report, "w") as f:
            f.write("mptcp=unknown (the server sent nothing)\n")


# ---- backends ----

def serve_http(c, proto, log):
    r = Lines(c)
    while r.line():
        pass
    body = b"backend proto=%d\n" % proto
    c.sendall(b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: "
              b"%d\r\nConnection: close\r\n\r\n%s" % (len(body), body))


def serve_smtp(c, proto, log):
    r = Lines(c)
    c.sendall(b"220 backend.test ESMTP srvpeer\r\n")
    while True:
        ln = r.line()
        verb = ln.split(" ")[0].upper()
        if verb in ("EHLO", "HELO"):
            c.sendall(b"250 backend.test\r\n")
        elif verb == "DATA":
            c.sendall(b"354 go on\r\n")
            n = 0
            while r.line() != ".":
                n += 1
            log("message lines=%d proto=%d" % (n, proto))
            c.sendall(b"250 2.0.0 queued by backend\r\n")
        elif verb == "QUIT":
            c.sendall(b"221 bye\r\n")
            return
        else:
            c.sendall(b"250 ok\r\n")


def serve_echo(c, proto, log):
    r = Lines(c)
    while True:
        c.sendall(b"backend proto=%d: %s\r\n" % (proto, r.line().encode()))


def cmd_serve(a):
    handlers = {"http": serve_http, "smtp": serve_smtp, "echo": serve_echo,
                "close": None}
    if a.kind not in handlers:
        fail("unknown backend kind " + a.kind)
    lock = threading.Lock()

    def log(text):
        with lock:
            print(text, flush=True)

    ls = socket.socket(family_of(a.addr), socket.SOCK_STREAM, IPPROTO_MPTCP)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((a.addr, int(a.port)))
    ls.listen(64)
    ls.settimeout(0.5)
    log("listening proto=%d" % ls.getsockopt(socket.SOL_SOCKET, socket.SO_PROTOCOL))

    def run(c):
        proto = c.getsockopt(socket.SOL_SOCKET, socket.SO_PROTOCOL)
        log("accepted proto=%d" % proto)
        c.settimeout(a.timeout)
        try:
            if handlers[a.kind]:
                handlers[a.kind](c, proto, log)
        except (OSError, EOFError):
            pass
        finally:
            c.close()

    end = time.monotonic() + a.seconds
    while time.monotonic() < end:
        try:
            c, _ = ls.accept()
        except socket.timeout:
            continue
        threading.Thread(target=run, args=(c,), daemon=True).start()


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--tcp", action="store_true")
    p.add_argument("--timeout", type=float, default=10.0)
    sub = p.add_subparsers(dest="cmd", required=True)

    def client(name, fn):
        c = sub.add_parser(name)
        c.add_argument("addr")
        c.add_argument("port")
        c.set_defaults(fn=fn)
        return c

    c = client("http", cmd_http)
    c.add_argument("path", nargs="?", default="/")
    c.add_argument("--host")
    c = client("imap", cmd_imap)
    c.add_argument("user")
    c.add_argument("password")
    c = client("smtp", cmd_smtp)
    c.add_argument("--mail", nargs=2, metavar=("FROM", "TO"))
    client("redis", cmd_redis)
    client("memcached", cmd_memcached)
    c = client("dns", cmd_dns)
    c.add_argument("name")
    c = client("mysql", cmd_mysql)
    c.add_argument("user")
    c.add_argument("password")
    c.add_argument("sql")
    c = client("pg", cmd_pg)
    c.add_argument("user")
    c.add_argument("db")
    c.add_argument("sql")
    c = client("ssh-proxy", cmd_ssh_proxy)
    c.add_argument("report")
    c = sub.add_parser("serve")
    c.add_argument("kind")
    c.add_argument("addr")
    c.add_argument("port")
    c.add_argument("--seconds", type=float, default=60.0)
    c.set_defaults(fn=cmd_serve)
    a = p.parse_args()
    try:
        a.fn(a)
    except (OSError, EOFError, imaplib.IMAP4.error, smtplib.SMTPException,
            http.client.HTTPException) as e:
        fail("%s %s:%s: %s: %s" % (a.cmd, getattr(a, "addr", ""),
                                   getattr(a, "port", ""), type(e).__name__, e))


if __name__ == "__main__":
    main()
