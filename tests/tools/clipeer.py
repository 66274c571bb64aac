#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""clipeer: long-lived peers for the `mptcpshim status` tests (cli.bats).

  server ADDR PORT [PORT...]
      an unmodified TCP server (socket(AF_INET, SOCK_STREAM, 0)): listens
      on each port, accepts and keeps every connection open; prints
      "listening" once, then "accepted port=P proto=N" per connection
      (N: SO_PROTOCOL of the accepted socket, 262 = MPTCP).
  client --mptcp|--tcp ADDR PORT
      connects, exchanges one byte each way (so that an MPTCP connection
      is fully established), prints "is_mptcp=M" (from the client side,
      kcheck.is_mptcp: MPTCP_INFO, and TCP_IS_MPTCP where it exists) and
      keeps the connection open until killed.
Runs at most 120 s.
"""
import select
import signal
import socket
import sys
import time

from kcheck import is_mptcp

IPPROTO_MPTCP = 262


def server(addr, ports):
    lsocks = []
    for p in ports:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((addr, int(p)))
        s.listen(16)
        lsocks.append(s)
    print("listening", flush=True)
    conns = []
    deadline = time.time() + 120
    while time.time() < deadline:
        ready, _, _ = select.select(lsocks + conns, [], [], 1)
        for s in ready:
            if s in lsocks:
                c, _ = s.accept()
                c.sendall(b"x")
                conns.append(c)
                proto = c.getsockopt(socket.SOL_SOCKET, socket.SO_PROTOCOL)
                print("accepted port=%d proto=%d"
                      % (s.getsockname()[1], proto), flush=True)
            elif not s.recv(64):
                conns.remove(s)
                s.close()


def client(kind, addr, port):
    proto = IPPROTO_MPTCP if kind == "--mptcp" else 0
    c = socket.socket(socket.AF_INET, socket.SOCK_STREAM, proto)
    c.connect((addr, int(port)))
    c.recv(1)
    c.sendall(b"y")
    print("is_mptcp=%d" % is_mptcp(c), flush=True)
    time.sleep(120)


def main():
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    a = sys.argv[1:]
    if len(a) >= 3 and a[0] == "server":
        server(a[1], a[2:])
    elif len(a) == 4 and a[0] == "client" and a[1] in ("--mptcp", "--tcp"):
        client(a[1], a[2], a[3])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
