#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""srvtrace: the socket options a server sets on its TCP sockets, by role,
from an strace log - how the comments above each test of
tests/bats/servers.bats were written. Run the server WITHOUT the library:

  strace -f -o LOG -e trace=%network,dup,dup2,dup3,fcntl,clone,clone3,fork,vfork,close SERVER...
  (drive it: a request, a reload, an outbound connection; stop it)
  srvtrace.py LOG

Prints the setsockopt() calls on TCP sockets before bind() (listeners),
after bind() on listeners, on accepted sockets, and before/after
connect() on outbound sockets, each distinct call once with a count, and
NOTE lines for what the library treats specially: an unbound TCP socket
duplicated (dup*, F_DUPFD) or copied by a fork before bind()/connect().
fds are followed per process (threads share them, forks copy them); an
execve() is not followed (a re-executed child's options are read from
the log by hand).
"""
import re
import sys
from collections import OrderedDict

ROLES = ("listener, before bind", "listener, after bind", "accepted",
         "outbound, before connect", "outbound, after connect")
AFTER = {"bound": ROLES[1], "acc": ROLES[2], "conn": ROLES[4]}


def main(path):
    socks = {}  # (pid, fd) -> {"state", "opts"} or None (not a TCP socket)
    out = OrderedDict((r, OrderedDict()) for r in ROLES)
    notes, pending = [], {}

    def add(role, key):
        out[role][key] = out[role].get(key, 0) + 1

    for raw in open(path, errors="replace"):
        m = re.match(r"^(\d+)\s+(.*)$", raw.rstrip("\n"))
        if not m:
            continue
        pid, rest = m.groups()
        if rest.endswith("<unfinished ...>"):
            pending[pid] = rest[:-len("<unfinished ...>")]
            continue
        r = re.match(r"<\.\.\. (\w+) resumed>(.*)$", rest)
        if r:
            rest = pending.pop(pid, r.group(1) + "(") + r.group(2)
        c = re.match(r"^(\w+)\((.*)\)\s+=\s+(-?\d+|\?)(.*)$", rest)
        if not c:
            continue
        call, args, ret, tail = c.groups()
        a = [x.strip() for x in args.split(",")]
        s = socks.get((pid, a[0])) if a else None
        if call == "socket" and ret.isdigit():
            tcp = a[0] in ("AF_INET", "AF_INET6") and "SOCK_STREAM" in a[1]
            socks[(pid, ret)] = {"state": "new", "opts": []} if tcp else None
        elif call in ("accept", "accept4") and ret.isdigit():
            socks[(pid, ret)] = {"state": "acc", "opts": []} if s else None
        elif call == "setsockopt" and s:
            val = args.split(",", 3)[3].rsplit(",", 1)[0].strip()
            key = "%s %s %s%s" % (a[1], a[2], val,
                                  "" if ret == "0" else " -> " + tail.strip())
            if s["state"] == "new":
                s["opts"].append(key)
            elif s["state"] in AFTER:
                add(AFTER[s["state"]], key)
        elif call in ("bind", "connect") and s and s["state"] in ("new", "any"):
            if call == "bind" and "htons(0)" in args:
                s["state"] = "any"  # a port-0 bind before connect()
                continue
            role = ROLES[0] if call == "bind" else ROLES[3]
            for k in s["opts"]:
                add(role, k)
            if call == "connect":
                dest = re.sub(r"sa_family=|sin6?_", "", args.split(",", 1)[1])
                add(role, "(connect to %s)" % dest.strip()[:70])
            s["state"] = "bound" if call == "bind" else "conn"
        elif call in ("dup", "dup2", "dup3") and s and s["state"] == "new":
            notes.append("%s: %s  <- an unbound TCP socket duplicated" % (pid, rest[:100]))
        elif call == "fcntl" and "F_DUPFD" in args and s and s["state"] == "new":
            notes.append("%s: %s  <- an unbound TCP socket duplicated" % (pid, rest[:100]))
        elif call in ("clone", "clone3", "fork", "vfork"):
            child = re.findall(r"= (\d+)$", rest)
            if not child:
                continue
            thread = "CLONE_THREAD" in args
            for (p, fd), v in list(socks.items()):
                if p != pid or not v:
                    continue
                socks[(child[0], fd)] = v if thread else dict(v, opts=list(v["opts"]))
                if not thread and v["state"] == "new":
                    notes.append("%s: fork (child %s) while TCP fd %s is unbound"
                                 % (pid, child[0], fd))
        elif call == "close" and (pid, a[0]) in socks:
            socks[(pid, a[0])] = None
    for role, d in out.items():
        print("%s:" % role)
        for k, n in d.items():
            print("    %s%s" % (k, "" if n == 1 else " (x%d)" % n))
    for n in notes:
        print("NOTE", n)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
