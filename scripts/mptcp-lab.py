#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Helpers of scripts/mptcp-lab.sh, run inside the lab's namespaces.

  fetch [--mptcp] [--timeout S] [--started FILE] ADDR PORT PATH
      one HTTP/1.0 GET, reads the answer to EOF and prints one JSON line:
      status, bytes (body), seconds (connect to EOF), mbit (body bits per
      second), sha256 (of the body), is_mptcp (1 = MPTCP, 0 = TCP or a
      fallback: tests/tools/kcheck.py - MPTCP_INFO, which every supported
      kernel has, and TCP_IS_MPTCP where it exists), join_ms (ms from the start of
      connect() until MPTCP_INFO shows a second subflow, polled every
      0.2 ms by a thread; null if not within 5 s), start and end (wall clock, s).
      --mptcp opens the socket with IPPROTO_MPTCP; without it, plain TCP.
      --started FILE: created when the first bytes of the body arrive.
  sample --every S --max-seconds S DEV...
      prints "time rx_bytes(DEV)..." every S seconds (wall clock, from
      /sys/class/net of the caller's network namespace) until killed or
      for at most --max-seconds.
"""
import argparse
import hashlib
import json
import os
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "tests", "tools"))
from kcheck import is_mptcp as kernel_is_mptcp  # noqa: E402

IPPROTO_MPTCP = getattr(socket, "IPPROTO_MPTCP", 262)
SOL_MPTCP = 284
MPTCP_INFO = 1  # struct mptcp_info; its first byte: mptcpi_subflows


def extra_subflows(s):
    """Subflows added to the first one (MPTCP_INFO), None if unknown."""
    try:
        return s.getsockopt(SOL_MPTCP, MPTCP_INFO, 1)[0]
    except OSError:
        return None


def fetch(args):
    family = socket.AF_INET6 if ":" in args.addr else socket.AF_INET
    proto = IPPROTO_MPTCP if args.mptcp else socket.IPPROTO_TCP
    s = socket.socket(family, socket.SOCK_STREAM, proto)
    s.settimeout(args.timeout)
    deadline = time.monotonic() + args.timeout
    start = time.time()
    t0 = time.monotonic()
    s.connect((args.addr, args.port))
    t_conn = time.monotonic()
    joined = []
    if args.mptcp:
        # Polls MPTCP_INFO every 0.2 ms (at most 5 s) while the download
        # runs, for when the second subflow shows up.
        def watch():
            while not joined and time.monotonic() - t_conn < 5:
                if (extra_subflows(s) or 0) > 0:
                    joined.append(time.monotonic())
                    return
                time.sleep(0.0002)
        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
    host = "[%s]" % args.addr if family == socket.AF_INET6 else args.addr
    s.sendall(("GET %s HTTP/1.0\r\nHost: %s\r\n\r\n" % (args.path, host)).encode())
    h = hashlib.sha256()
    head = b""
    body = 0
    is_mptcp = None
    while True:
        if time.monotonic() > deadline:
            raise TimeoutError("download not done after %s s" % args.timeout)
        chunk = s.recv(1 << 18)
        if is_mptcp is None:
            try:
                is_mptcp = kernel_is_mptcp(s)
            except OSError:
                is_mptcp = -1
        if not chunk:
            break
        if head is not None:
            head += chunk
            end = head.find(b"\r\n\r\n")
            if end < 0:
                continue
            chunk = head[end + 4:]
            status_line = head.split(b"\r\n", 1)[0].decode(errors="replace")
            head = None
        if body == 0 and chunk and args.started:
            open(args.started, "w").close()
        h.update(chunk)
        body += len(chunk)
    t1 = time.monotonic()
    if args.mptcp:
        watcher.join(1)
    join_ms = round((joined[0] - t0) * 1000, 2) if joined else None
    end_wall = time.time()
    s.close()
    secs = t1 - t0
    status = int(status_line.split()[1]) if head is None else 0
    print(json.dumps({
        "status": status,
        "bytes": body,
        "seconds": round(secs, 3),
        "mbit": round(body * 8 / secs / 1e6, 2) if secs > 0 else 0,
        "sha256": h.hexdigest(),
        "is_mptcp": is_mptcp,
        "join_ms": join_ms,
        "start": round(start, 3),
        "end": round(end_wall, 3),
    }))
    return 0 if status == 200 else 1


def sample(args):
    paths = ["/sys/class/net/%s/statistics/rx_bytes" % d for d in args.dev]
    stop = time.monotonic() + args.max_seconds
    nxt = time.monotonic()
    out = sys.stdout
    while time.monotonic() < stop:
        vals = []
        for p in paths:
            with open(p) as f:
                vals.append(f.read().strip())
        out.write("%.3f %s\n" % (time.time(), " ".join(vals)))
        out.flush()
        nxt += args.every
        time.sleep(max(0.0, nxt - time.monotonic()))
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    f = sub.add_parser("fetch")
    f.add_argument("--mptcp", action="store_true")
    f.add_argument("--timeout", type=float, default=60)
    f.add_argument("--started", help="file to create on the first body bytes")
    f.add_argument("addr")
    f.add_argument("port", type=int)
    f.add_argument("path")
    f.set_defaults(func=fetch)
    p = sub.add_parser("sample")
    p.add_argument("--every", type=float, default=0.1)
    p.add_argument("--max-seconds", type=float, default=120)
    p.add_argument("dev", nargs="+")
    p.set_defaults(func=sample)
    args = ap.parse_args()
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
