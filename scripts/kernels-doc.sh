#!/usr/bin/env bash
# Writes doc/kernels.md from measurements: tests/tools/optprobe run on
# Debian 12's and 13's stock kernels (booted by scripts/vm-test.sh
# --optprobe) and on this machine's own kernel, in a network namespace of
# its own. Nothing in the tables is typed by hand.
#
#   scripts/kernels-doc.sh [--out FILE] [KERNEL...]     (root; default 6.1 6.12)
#
# The build tree is $MPTCPSHIM_BUILD (default build/).
set -euo pipefail
cd "$(dirname "$0")/.."
outfile=doc/kernels.md
if [ "${1:-}" = --out ]; then
	outfile=$2
	shift 2
fi
[ "$#" -gt 0 ] || set -- 6.1 6.12
build=${MPTCPSHIM_BUILD:-$PWD/build}
[ -x "$build/tests/optprobe" ] || {
	echo "kernels-doc: $build/tests/optprobe missing: build first" >&2
	exit 1
}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The reasons and decisions that follow from the tables (kept here, next
# to the generator, so that they are rewritten with it).
notes_md() {
	cat <<-'EOF'
		## Kernels before 5.17

		No kernel with MPTCP older than 5.17 can be downloaded from the archive
		these machines reach: Debian 11's 5.10 is built without MPTCP
		(`CONFIG_MPTCP` is not set), and backports or snapshots are not
		reachable. On 5.6 to 5.16, MPTCP sockets refuse `TCP_NODELAY` and
		`TCP_CORK`, which nginx sets on accepted connections (keep-alive,
		`tcp_nopush`) and closes the connection when they fail.
		`tests/bats/old-kernel.bats` simulates exactly that refusal on the
		host's kernel (seccomp user notification, `tests/tools/refuseopt.c`:
		`ENOPROTOOPT` for those two options on MPTCP sockets only, for nginx and
		all its processes) and shows Debian's nginx serving MPTCP clients with
		the default `tolerate` list and dropping them with `tolerate = none`.
		It does not simulate anything else those kernels did differently.

		## The `tolerate` default

		`TCP_NODELAY,TCP_CORK,TCP_KEEPIDLE,TCP_KEEPINTVL,TCP_KEEPCNT,TCP_DEFER_ACCEPT,TCP_FASTOPEN`,
		unchanged by these measurements. The list is looked at only when an
		MPTCP socket refused an option; an option in it is then reported to
		the program as set, with one warning, and is not in force. The rule:
		an option belongs in the default when a refusal would make a server
		drop connections or keep a listed port on TCP for an option that only
		tunes it, and does not when the program needs the option to behave as
		asked.

		- `TCP_NODELAY`, `TCP_CORK`: accepted on every kernel above, refused
		  on 5.6-5.16, where nginx closes every connection whose `TCP_NODELAY`
		  (keep-alive) or `TCP_CORK` (`tcp_nopush` with `sendfile`) fails.
		  They are what keeps nginx serving there.
		- `TCP_FASTOPEN`: refused by MPTCP listeners on Debian 12's 6.1 (nginx
		  `listen ... fastopen=`). nginx sets it after `listen()` and only logs
		  the failure, at every start and reload; tolerated, the library says
		  once that Fast Open is not in force and the MPTCP listener works
		  without it. A program that sets it before `bind()` gets its listed
		  port converted rather than kept on TCP: the administrator listed the
		  port to get MPTCP, Fast Open is an optimisation.
		- `TCP_KEEPIDLE`, `TCP_KEEPINTVL`, `TCP_KEEPCNT`: accepted here (Debian
		  backported them to 6.1), refused by upstream kernels before 6.10
		  (kernel history, not measured here). nginx sets
		  them for `so_keepalive=` after `listen()` and only logs a failure;
		  tolerated, `SO_KEEPALIVE` stays on with the kernel's default timings.
		- `TCP_DEFER_ACCEPT`: accepted everywhere measured (on an accepted
		  MPTCP socket it reads back 0: it only matters on the listener); kept
		  for older kernels, where nginx's `deferred` only logs a failure too.
		- Not in the default: the options refused on these kernels that nginx
		  does not set (`TCP_MAXSEG` on 6.1 and 6.12, `TCP_USER_TIMEOUT`,
		  `TCP_QUICKACK`, ... - see "Refused by MPTCP sockets" above). A
		  program that sets one before `bind()` wants it in force: the library
		  keeps its TCP socket, with one warning naming the option. Add the
		  option to `tolerate` to convert anyway.

		`mptcpshim doctor` names, for the running kernel, the options it
		refuses and the nginx `listen` parameters they affect, from its own
		probe of that kernel; the tables above are its reference.

		## The kernel paragraph (for the README)

		**Kernels.** Measured on Debian 12's 6.1 (6.1.192), Debian 13's 6.12
		(6.12.118) and 6.18 (the tables above; CI runs the meson, nginx,
		shim, faults and doctor-kernel suites on all three). On each, every option
		Debian's nginx sets on its listeners and connections works on MPTCP
		sockets, except
		`listen ... fastopen=` on 6.1: MPTCP listeners there refuse
		`TCP_FASTOPEN`, the library reports success to nginx (the default
		`tolerate` list) with one warning, and Fast Open is not in force on
		them. A program that sets, before `bind()`, an option its kernel's
		MPTCP sockets refuse (`TCP_MAXSEG` on 6.1 and 6.12;
		`TCP_NOTSENT_LOWAT` and `IP_BIND_ADDRESS_NO_PORT` on 6.1;
		`TCP_USER_TIMEOUT`, `TCP_QUICKACK`, `TCP_SYNCNT`, `TCP_LINGER2`,
		`TCP_WINDOW_CLAMP` on all three) keeps a TCP listener, with one
		warning, unless the option is in `tolerate`. Kernels 5.6 to 5.16 refuse `TCP_NODELAY` and `TCP_CORK`
		on MPTCP sockets, which makes nginx drop connections; the default
		`tolerate` list keeps it serving (tested by simulation: no such kernel
		with MPTCP can be downloaded here). `getsockopt(TCP_IS_MPTCP)` fails
		on 6.1 (`EOPNOTSUPP`): there, tell an MPTCP connection by
		`MPTCP_INFO` or `ss -M`.

		## Testing on these kernels

		`scripts/test.sh` (and so CI) boots 6.1 and 6.12 under qemu and runs
		the `nginx`, `shim` and `faults` suites in each, the two kernels side
		by side. Every suite, on both:

		    scripts/vm-test.sh --full            # meson (unit, integration) and every bats suite but package, bench, lab
		    scripts/vm-test.sh --suites nginx,cli 6.12
		    scripts/vm-test.sh --optprobe 6.1    # the option table of one kernel

		The kernels are Debian's own packages (`apt-get download`, through a
		private apt configuration in `/var/cache/mptcpshim/vm`), booted under
		TCG with the host's userland read-only; see the top of
		`scripts/vm-test.sh`.
	EOF
}

MPTCPSHIM_BUILD=$build scripts/vm-test.sh --optprobe --out "$tmp/vm" "$@" >"$tmp/vm.log"
unshare -n sh -c 'ip link set lo up && exec "$1"' _ "$build/tests/optprobe" \
	>"$tmp/vm/optprobe-host.txt"

notes_md >"$tmp/notes.md"
python3 - "$outfile" "scripts/kernels-doc.sh $*" "$tmp/notes.md" "$tmp/vm"/optprobe-*.txt <<'PY'
import re
import sys
import datetime

out, command, notes, files = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]

kernels = []  # (release, version line, {(name, ctx, proto): (set, get, use)})
for f in files:
    rows, rel, ver = {}, "?", ""
    for line in open(f):
        line = line.rstrip("\n")
        m = re.match(r"# kernel (\S+) (.*)", line)
        if m:
            rel, ver = m.group(1), m.group(2)
            continue
        if not line or line.startswith("#"):
            continue
        name, ctx, proto, set_, get, use = line.split("\t")
        rows[(name, ctx, proto)] = (set_, get, use)
    kernels.append((rel, ver, rows))


def vkey(k):
    return [int(x) if x.isdigit() else 0 for x in re.split(r"[.-]", k[0])[:3]]


kernels.sort(key=vkey)

names = []
for _, _, rows in kernels:
    for (n, _, _) in rows:
        if n not in names:
            names.append(n)


def label(rel, ver):
    m = re.search(r"Debian (\S+)", ver)
    return "%s (Debian %s)" % (rel, m.group(1)) if m else rel


def cell(rows, name, ctx):
    m = rows.get((name, ctx, "mptcp"))
    t = rows.get((name, ctx, "tcp"))
    if not m:
        return "?"
    set_, get, _ = m
    if set_ == "-":  # read-only
        if get.startswith("ok"):
            return "ok"
        return get + (" (TCP too)" if t and t[1] == get else "")
    if set_ != "ok":
        s = set_
        if not get.startswith("ok"):
            s += ", get " + get
        if t and t[0] == set_:
            s += " (TCP too)"
        return "**" + s + "**" if not (t and t[0] == set_) else s
    if not get.startswith("ok"):
        return "set ok, get " + get
    if t and t[0] == "ok" and t[1] != get:
        return "ok (reads %s, TCP %s)" % (get[3:], t[1][3:])
    return "ok"


def refused(rows, ctxs):
    """Options the MPTCP socket refuses where TCP accepts them."""
    r = []
    for n in names:
        for c in ctxs:
            m, t = rows.get((n, c, "mptcp")), rows.get((n, c, "tcp"))
            if m and m[0] not in ("ok", "-") and t and t[0] == "ok":
                r.append((n, c, m[0]))
    return r


L = []
w = L.append
w("# Socket options on MPTCP sockets, measured per kernel")
w("")
w("Written by `%s` (as root) on %s from `tests/tools/optprobe`: on"
  % (command, datetime.date.today().isoformat()))
w("Debian's stock kernels booted under qemu by `scripts/vm-test.sh --optprobe`,")
w("and on the machine's own kernel. Do not edit by hand: run it again.")
w("")
w("Kernels measured:")
w("")
for rel, ver, _ in kernels:
    w("- `%s` - `%s`" % (rel, ver))
w("")
w("Each cell is what `setsockopt()` then `getsockopt()` did on a **MPTCP**")
w("socket (IPv4; `IPV6_V6ONLY` on IPv6): `ok`, or the errno. **Bold**: the")
w("MPTCP socket refuses what a TCP socket in the same state accepts.")
w("`(TCP too)`: a TCP socket gives the same error (the option does not apply")
w("in that state). Contexts: *new* - a socket just made, before `bind()`")
w("(where the library replays what the program set); *listening* - bound and")
w("listening (nginx sets its listen parameters after `listen()`); *accepted* -")
w("the server side of an established MPTCP connection (checked to be MPTCP on")
w("both ends: `SO_PROTOCOL` 262, `MPTCP_INFO` without the fallback flag).")
w("")

for title, ctx in (("A listening MPTCP socket", "listen"),
                   ("An accepted MPTCP socket", "accepted"),
                   ("A new MPTCP socket (before bind())", "new")):
    w("## %s" % title)
    w("")
    w("| option | used by | " + " | ".join(label(r, v) for r, v, _ in kernels) + " |")
    w("| --- | --- | " + " | ".join("---" for _ in kernels) + " |")
    for n in names:
        use = next((rows[(n, ctx, "mptcp")][2] for _, _, rows in kernels
                    if (n, ctx, "mptcp") in rows), "")
        w("| `%s` | %s | " % (n, use) +
          " | ".join(cell(rows, n, ctx) for _, _, rows in kernels) + " |")
    w("")

w("## Refused by MPTCP sockets, per kernel")
w("")
w("Options a TCP socket in the same state accepts and the MPTCP socket refuses")
w("(from the tables above):")
w("")
for rel, ver, rows in kernels:
    r = refused(rows, ("new", "listen", "accepted"))
    by = {}
    for n, c, e in r:
        by.setdefault(n, []).append("%s %s" % (c, e))
    w("- %s: " % label(rel, ver) + (", ".join(
        "`%s` (%s)" % (n, "; ".join(v)) for n, v in by.items()) or "none") + ".")
w("")

# ---- what follows from the tables (computed, then the reasons) ----


def refused_where(rows, prefix, ctx):
    return [n for n, c, _ in refused(rows, (ctx,))
            if rows[(n, ctx, "mptcp")][2].startswith(prefix)]


def readable(rows, name):
    m = rows.get((name, "accepted", "mptcp"))
    return m is not None and m[1].startswith("ok")


w("## What this means for nginx and the library")
w("")
for rel, ver, rows in kernels:
    lis = refused_where(rows, "nginx: listen", "listen") + \
        refused_where(rows, "nginx: every listener", "listen")
    con = refused_where(rows, "nginx: connections", "accepted")
    rep = [n for n, c, _ in refused(rows, ("new",))]
    params = sorted({rows[(n, "listen", "mptcp")][2].split(": ", 1)[1]
                     for n in lis})
    w("- %s:" % label(rel, ver))
    w("  nginx listen parameters whose option an MPTCP listener refuses: %s;"
      % (", ".join("`%s` (`%s`)" % (p, n) for p, n in zip(params, lis))
         if lis else "none"))
    w("  options nginx sets on accepted connections that are refused: %s;"
      % (", ".join("`%s`" % n for n in con) if con else "none"))
    w("  options refused before `bind()` (a program that sets one keeps its "
      "TCP socket unless the option is in `tolerate`): %s;"
      % (", ".join("`%s`" % n for n in rep) if rep else "none"))
    w("  `getsockopt(TCP_IS_MPTCP)`: %s; `MPTCP_INFO`: %s."
      % ("works" if readable(rows, "TCP_IS_MPTCP") else
         rows[("TCP_IS_MPTCP", "accepted", "mptcp")][1] +
         " - tests prove MPTCP with `MPTCP_INFO`",
         "works" if readable(rows, "MPTCP_INFO") else "fails"))
w("")
open(out, "w").write("\n".join(L) + "\n" + open(notes).read())
PY
echo "kernels-doc: wrote $outfile from $(ls "$tmp"/vm/optprobe-*.txt | wc -l) kernels"
