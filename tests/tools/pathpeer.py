#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""pathpeer: the two ends of an MPTCP connection for doctor-paths.bats.

  server PORT
      an MPTCP listener on every IPv4 and IPv6 address (::, not
      v6only); accepts, sends one byte, keeps each connection open until
      its peer closes. Prints "listening". Runs at most 120 s.
  client ADDR PORT [HOLD]
      an MPTCP connection (connect gives up after 10 s), one byte each
      way, then prints "is_mptcp=M" (kcheck.is_mptcp: MPTCP_INFO, and
      TCP_IS_MPTCP where it exists) and holds the connection HOLD
      seconds (default 0) so that the path manager can add subflows.
      Prints "error=ERRNO" and exits 3 if it cannot connect.
"""
import errno
import select
import signal
import socket
import sys
import time

from kcheck import is_mptcp

IPPROTO_MPTCP = 262


def server(port):
    ls = socket.socket(socket.AF_INET6, socket.SOCK_STREAM, IPPROTO_MPTCP)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    ls.bind(("::", int(port)))
    ls.listen(16)
    print("listening", flush=True)
    conns = []
    deadline = time.time() + 120
    while time.time() < deadline:
        ready, _, _ = select.select([ls] + conns, [], [], 1)
        for s in ready:
            if s is ls:
                c, _ = ls.accept()
                c.sendall(b"x")
                conns.append(c)
            elif not s.recv(64):
                conns.remove(s)
                s.close()


def client(addr, port, hold):
    fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
    c = socket.socket(fam, socket.SOCK_STREAM, IPPROTO_MPTCP)
    c.settimeout(10)
    try:
        c.connect((addr, int(port)))
        c.recv(1)
        c.sendall(b"y")
    except OSError as e:
        print("error=%s" % errno.errorcode.get(e.errno, e.errno or "timeout"),
              flush=True)
        sys.exit(3)
    print("is_mptcp=%d" % is_mptcp(c), flush=True)
    time.sleep(hold)
    c.close()


def main():
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    a = sys.argv[1:]
    if len(a) == 2 and a[0] == "server":
        server(a[1])
    elif len(a) in (3, 4) and a[0] == "client":
        client(a[1], a[2], float(a[3]) if len(a) == 4 else 0)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
