#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""servers-table: renders the server matrix (doc/servers.md) from the rows
tests/bats/servers.bats wrote.

  servers-table.py [--kernels doc/kernels.md] RESULTS.tsv > doc/servers.md
  servers-table.py [--kernels doc/kernels.md] --check doc/servers.md RESULTS.tsv

--check: exit 1, with the differences, if the committed table is not what
this run gives (scripts/test.sh runs it after servers.bats). The "Run:"
line (date, commit) and the Version column (Debian's point releases) are
not compared; every other cell is.

Each row of RESULTS.tsv is one test: its number, then the columns of
SRV_COLUMNS in tests/bats/servers.bash, then pass/FAIL; lines starting
with "#meta" describe the run. The column "options MPTCP refuses, by
kernel" is computed here from the socket options each test lists (read
with strace) and the kernels' measured table, doc/kernels.md (run from
the top of the tree; a table here stands in for what it lacks).
"""
import sys

COLUMNS = ["server", "version", "listener", "mptcp", "tcp", "unlisted",
           "reload", "outbound", "prebind", "afterbind", "accepted",
           "outopts", "tolerate", "notes"]

KERNELS = ["6.1", "6.12", "6.18"]

# Which options an MPTCP socket accepts, per kernel, when doc/kernels.md
# (the kernels' measured table) is not there or does not list an option:
# Debian 12's 6.1.192, Debian 13's 6.12 and 6.18.44 as measured by the
# kernels helper (/work/shared/notes/mptcp-kernel.md); "since <= 5.13" and
# "5.17" in upstream history are in all three. IPV6_TCLASS and IPV6_MTU:
# refused (EOPNOTSUPP) on 6.18 on new, listening and accepted sockets, as
# measured by servers.bats's author; support is only ever added, so the
# older kernels refuse them too.
OK_ALL = ("SO_REUSEADDR SO_REUSEPORT SO_BINDTODEVICE IPV6_V6ONLY SO_RCVBUF "
          "SO_SNDBUF SO_LINGER SO_PRIORITY SO_MARK SO_KEEPALIVE TCP_NODELAY "
          "TCP_CORK IP_TOS IP_TRANSPARENT IP_FREEBIND IPV6_TRANSPARENT "
          "IPV6_FREEBIND TCP_DEFER_ACCEPT TCP_KEEPIDLE TCP_KEEPINTVL "
          "TCP_KEEPCNT TCP_CONGESTION").split()
BUILTIN = {name: {k: True for k in KERNELS} for name in OK_ALL}
BUILTIN.update({
    "TCP_FASTOPEN": {"6.1": False, "6.12": True, "6.18": True},
    "TCP_MAXSEG": {"6.1": False, "6.12": False, "6.18": True},
    "TCP_USER_TIMEOUT": {k: False for k in KERNELS},
    "TCP_QUICKACK": {k: False for k in KERNELS},
    "IPV6_TCLASS": {k: False for k in KERNELS},
    "IPV6_MTU": {k: False for k in KERNELS},
})

# doc/kernels.md's sections, and which one answers for each role here.
SECTIONS = {"new": "## A new MPTCP socket", "listening": "## A listening MPTCP socket",
            "accepted": "## An accepted MPTCP socket"}
# Outbound: the options set before connect() decide the conversion (they
# are replayed on a new socket); those set after it are per-connection
# options that new and established sockets take alike.
CONTEXTS = {"prebind": ["new"], "afterbind": ["listening"],
            "accepted": ["accepted"], "outopts": ["new"]}


def read_kernels_md(path):
    """{context: {option: {kernel: accepted?}}} and the kernels, from the
    tables of doc/kernels.md; None if the file is not there."""
    try:
        text = open(path, encoding="utf-8").read()
    except OSError:
        return None, None
    table, kernels = {}, None
    for ctx, title in SECTIONS.items():
        start = text.find(title)
        if start < 0:
            return None, None
        table[ctx] = {}
        for line in text[start:].splitlines()[1:]:
            if line.startswith("## "):
                break
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if len(cells) < 3 or not line.startswith("|") or cells[0].startswith("---"):
                continue
            if cells[0] == "option":  # the header names the kernels
                kernels = [".".join(c.split(".")[:2]) for c in cells[2:]]
                continue
            opt = cells[0].strip("`")
            # refused: bold (MPTCP refuses what TCP accepts); "(TCP too)"
            # is no MPTCP matter
            table[ctx][opt] = {k: not c.startswith("**")
                               for k, c in zip(kernels, cells[2:])}
    return table, kernels


# The library's default `tolerate` list (README, MPTCPSHIM_TOLERATE).
TOLERATE = set("TCP_NODELAY TCP_CORK TCP_KEEPIDLE TCP_KEEPINTVL TCP_KEEPCNT "
               "TCP_DEFER_ACCEPT TCP_FASTOPEN".split())

ROLES = [("prebind", "before bind()"), ("afterbind", "on the listener"),
         ("accepted", "on accepted sockets"), ("outopts", "on outbound sockets")]
# (outopts: before connect(); the library converts an outbound socket
# only where MPTCPSHIM_CONNECT names the destination)


def effect(role, opt, tolerate):
    """What the library does when the kernel refuses opt in this role."""
    if role == "prebind":
        return ("converted without it (tolerate)" if opt in tolerate
                else "the listener stays TCP, one warning")
    if role == "outopts":
        return ("converted without it (tolerate)" if opt in tolerate
                else "stays TCP where MPTCPSHIM_CONNECT names it, one warning")
    return ("reported as set (tolerate)" if opt in tolerate
            else "the server gets the error")


def accepted_by(kmd, role, opt, k):
    """True/False: does an MPTCP socket of kernel k accept opt in this
    role; None: not measured. Also says where the answer came from."""
    if kmd:
        answers = [kmd[ctx][opt].get(k) for ctx in CONTEXTS[role]
                   if opt in kmd[ctx]]
        if answers and None not in answers:
            return all(answers), "doc"
    if opt in BUILTIN:
        return BUILTIN[opt].get(k), "builtin"
    return None, None


def refused_column(row, kmd, kernels, sources):
    # the test's MPTCPSHIM_TOLERATE replaces the default list
    tolerate = (TOLERATE if row["tolerate"] in ("", "-")
                else set(row["tolerate"].split(",")))
    unknown = set()
    per_kernel = {}
    for k in kernels:
        items = []
        for role, where in ROLES:
            for opt in row[role].split():
                if opt == "-":
                    continue
                ok, src = accepted_by(kmd, role, opt, k)
                if ok is None:
                    unknown.add(opt)
                    continue
                sources.add(src)
                if not ok:
                    items.append("%s %s: %s" % (opt, where, effect(role, opt, tolerate)))
        per_kernel[k] = "; ".join(items)
    # Group the kernels that give the same answer, in order.
    groups = []
    for k in kernels:
        if groups and groups[-1][1] == per_kernel[k]:
            groups[-1][0].append(k)
        else:
            groups.append(([k], per_kernel[k]))
    text = "<br>".join("%s: %s" % (", ".join(ks), v or "none")
                       for ks, v in groups)
    if unknown:
        text += "<br>not measured: " + ", ".join(sorted(unknown))
    return text


def cell(text):
    return text.replace("|", "\\|").replace("\n", " ")


def main():
    args = sys.argv[1:]
    kmd_path = "doc/kernels.md"
    check = None
    while len(args) > 2 and args[0] in ("--kernels", "--check"):
        if args[0] == "--kernels":
            kmd_path = args[1]
        else:
            check = args[1]
        args = args[2:]
    if len(args) != 1:
        sys.exit(__doc__)
    kmd, kernels = read_kernels_md(kmd_path)
    kernels = kernels or KERNELS
    sources = set()
    meta, rows = {}, []
    try:
        results = open(args[0], encoding="utf-8").read().splitlines()
    except OSError as e:
        sys.exit("servers-table: %s: %s (servers.bats writes it)"
                 % (args[0], e.strerror))
    for line in results:
        line = line.rstrip("\n")
        if not line:
            continue
        f = line.split("\t")
        if f[0] == "#meta":
            meta[f[1]] = f[2] if len(f) > 2 else ""
            continue
        if len(f) != len(COLUMNS) + 2:
            sys.exit("servers-table: bad row (%d fields): %s" % (len(f), line))
        row = dict(zip(COLUMNS, f[1:-1]))
        row["number"], row["status"] = int(f[0]), f[-1]
        rows.append(row)
    rows.sort(key=lambda r: r["number"])
    failed = [r["server"] for r in rows if r["status"] != "pass"]

    out = []
    out.append("# Servers under libmptcpshim: the tested matrix\n")
    out.append("Generated from a run of `tests/bats/servers.bats` by "
               "`scripts/servers-matrix.sh`; do not edit by hand.\n")
    out.append("Run: %s, kernel %s, Debian %s, library at %s; %d tests, "
               "%s.\n" % (meta.get("date", "?"), meta.get("kernel", "?"),
                          meta.get("debian", "?"), meta.get("commit", "?"),
                          len(rows),
                          "all passed" if not failed
                          else "%d FAILED (the notes say why): %s"
                          % (len(failed), "; ".join(failed))))
    out.append("""Each row is one test. The server runs under the library
(`LD_PRELOAD`, `MPTCPSHIM_PORTS` naming its port, no configuration file) in
a network namespace of the test's own, from a configuration the test
writes. *Listener*: `ss -Ml` in that namespace lists it as MPTCP. *MPTCP
client*: a client with its own `IPPROTO_MPTCP` socket does the exchange
named and reads `MPTCP_INFO` on that socket while it is open (the kernel
answers only while MPTCP is in use). *TCP client*: the same exchange over
plain TCP, served, `MPTCP_INFO` refused. *Unlisted port*: a port not in
`MPTCPSHIM_PORTS`. *Outbound*: connections the server makes itself reach a
backend that reads `SO_PROTOCOL` of the socket it accepted; they are TCP
unless `MPTCPSHIM_CONNECT` names the port. *Options MPTCP refuses*: the
socket options the server sets (read with strace, listed in the test)
that an MPTCP socket refuses on Debian 12's kernel (6.1), Debian 13's
(6.12) and 6.18, and what the library then does.
""")
    head = ["Server", "Version", "Listener MPTCP", "MPTCP client",
            "TCP client", "Unlisted port", "Reload", "Outbound",
            "Options MPTCP refuses, by kernel", "Notes"]
    out.append("| " + " | ".join(head) + " |")
    out.append("|" + " --- |" * len(head))
    for r in rows:
        name = r["server"] + ("" if r["status"] == "pass" else " **(test FAILED)**")
        cells = [name, r["version"], r["listener"], r["mptcp"], r["tcp"],
                 r["unlisted"], r["reload"], r["outbound"],
                 refused_column(r, kmd, kernels, sources),
                 r["notes"]]
        out.append("| " + " | ".join(cell(c) for c in cells) + " |")
    out.append("")
    out.append("Which options MPTCP refuses on which kernel: %s.\n" % " and ".join(
        {"doc": "`doc/kernels.md` (measured on each kernel)",
         "builtin": "the table in `tests/tools/servers-table.py`"
                    + (" for what `doc/kernels.md` does not list" if kmd else
                       " (`doc/kernels.md` was not there)")}[x]
        for x in sorted(sources)))
    out.append("Not in this table: nginx, the library's first target, which "
               "`tests/bats/nginx.bats` covers in depth; exim4, Debian's "
               "default MTA, because Debian installs one MTA at a time and "
               "postfix stands for them here.\n")
    out.append("Socket options each server sets, as the tests list them "
               "(before `bind()` / on the listener after it / on accepted "
               "sockets / on its outbound sockets before `connect()`; the "
               "tests' comments have the whole strace):\n")
    for r in rows:
        out.append("- %s: %s" % (r["server"], " / ".join(
            r[role] for role, _ in ROLES)))
    if check:
        sys.exit(compare(check, "\n".join(out) + "\n"))
    print("\n".join(out))


def comparable(text):
    """The lines of a rendered table, without what may differ between two
    runs of the same behaviour: the Run line and the Version column."""
    lines = []
    for line in text.splitlines():
        if line.startswith("Run: "):
            # keep what it says of the results
            line = "Run: ..." + line[line.rfind(";"):]
        elif line.startswith("| ") and not line.startswith("| ---"):
            cells = line.split(" | ")
            if len(cells) > 2:
                cells[1] = "(version)"
            line = " | ".join(cells)
        lines.append(line)
    return lines


def compare(doc_path, rendered):
    import difflib
    try:
        committed = open(doc_path, encoding="utf-8").read()
    except OSError as e:
        return "servers-table: %s: %s" % (doc_path, e.strerror)
    a, b = comparable(committed), comparable(rendered)
    if a == b:
        print("servers-table: %s is what this run gives" % doc_path)
        return 0
    sys.stdout.writelines(l + "\n" for l in difflib.unified_diff(
        a, b, doc_path + " (committed)", "this run", lineterm="", n=0))
    print("servers-table: %s is not what this run gives; "
          "scripts/servers-matrix.sh makes it again" % doc_path)
    return 1


if __name__ == "__main__":
    main()
