#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# bench.sh - what libmptcpshim costs, and how it compares with mptcpize
# (Debian's mptcpd), measured side by side in one run.
#
#   1. interposition: ns per socket()+close(), setsockopt() and connect()
#      for sockets the library does not convert (UDP, outbound TCP), with
#      and without the library, and the system calls each makes (strace);
#   2. load: start-up of a small program with and without the preload
#      (allowlist of 1 and of 1,000 entries); resident memory of an nginx
#      worker;
#   3. nginx over loopback with wrk: plain TCP (no library), the shim with
#      an MPTCP client, mptcpize with an MPTCP client; keepalive requests,
#      a new connection per request, and a reverse proxy (no upstream
#      keepalive) - checking with `ss -M` what really was MPTCP;
#   4. the multipath lab (scripts/mptcp-lab.sh), when present and root.
#
# Every comparison alternates its variants round by round (the order
# rotates), repeats them --rounds times and quotes medians; a ratio is the
# median of the per-round ratios, with their range. Prints the table and
# writes it to OUT/bench.json and OUT/bench.md.
#
# Loopback ports 49000-49999 only. Every process it starts and its
# temporary directory are removed on exit, also on failure and Ctrl-C.
set -euo pipefail

usage() {
	cat <<EOF
usage: $0 [options]
  --quick          one round, short loops, 1 s wrk runs, small lab file
                   (a smoke run: checks that everything works, not speed)
  --rounds N       rounds of every comparison (default 9; the
                   micro-benchmarks make 4 times as many, shorter)
  --duration S     seconds per wrk run (default 3)
  --out DIR        where bench.json and bench.md go (default bench-out)
  --no-lab         do not run scripts/mptcp-lab.sh
  --report-from D  measure nothing: make the table again from the raw
                   samples a run left in D (OUT/raw of that run)
  -h, --help       this text
Environment: MPTCPSHIM_BUILD (build directory, default build/; needs
bench/microbench, built by meson), NGINX (default /usr/sbin/nginx),
MPTCPSHIM_REV (the library's revision for the report; default: git
describe of this checkout).
EOF
}

top=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${MPTCPSHIM_BUILD:-$top/build}
SHIM=$BUILD/libmptcpshim.so
MB=$BUILD/bench/microbench
NGINX=${NGINX:-/usr/sbin/nginx}
LAB=$top/scripts/mptcp-lab.sh
PORT_LO=49000
PORT_HI=49999

quick=0 rounds=9 duration=3 out=bench-out lab=1 report_from=
while [ "$#" -gt 0 ]; do
	case "$1" in
	--quick) quick=1; shift ;;
	--rounds) rounds=${2:?}; shift 2 ;;
	--duration) duration=${2:?}; shift 2 ;;
	--out) out=${2:?}; shift 2 ;;
	--no-lab) lab=0; shift ;;
	--report-from) report_from=${2:?}; shift 2 ;;
	-h | --help) usage; exit 0 ;;
	*) echo "bench: unknown argument: $1" >&2; usage >&2; exit 2 ;;
	esac
done

die() {
	echo "bench: $*" >&2
	exit 1
}
say() { echo "bench: $*" >&2; }

[[ "$rounds" =~ ^[0-9]+$ ]] && [ "$rounds" -ge 1 ] && [ "$rounds" -le 100 ] ||
	die "--rounds wants a number from 1 to 100"
[[ "$duration" =~ ^[0-9]+$ ]] && [ "$duration" -ge 1 ] && [ "$duration" -le 120 ] ||
	die "--duration wants whole seconds, 1 to 120"
if [ "$quick" = 1 ]; then
	rounds=1 duration=1
	micro_rounds=1
	iters=20000 conn_iters=300 strace_iters=200 spawns=20 lab_size=10
else
	# The micro-benchmarks are short: more, shorter rounds for them.
	micro_rounds=$((rounds * 4))
	iters=100000 conn_iters=2000 strace_iters=1000 spawns=300 lab_size=50
fi

# report RAWDIR: the table on stdout, $out/bench.json and $out/bench.md,
# from RAWDIR/meta, RAWDIR/samples and RAWDIR/lab.json (if the lab ran).
report() {
	python3 - "$1" "$out" <<'PY'
import json, os, statistics, sys

T, out = sys.argv[1], sys.argv[2]
meta = {}
for line in open(os.path.join(T, "meta")):
    k, _, v = line.rstrip("\n").partition("\t")
    meta[k] = v
samples = {}  # (section, key, variant) -> [values by round]
for line in open(os.path.join(T, "samples")):
    sec, key, var, rnd, val = line.split()
    samples.setdefault((sec, key, var), []).append(val)


def nums(sec, key, var):
    return [float(x) for x in samples.get((sec, key, var), [])]


def med(sec, key, var):
    v = nums(sec, key, var)
    return statistics.median(v) if v else None


def ratio(sec, key, a, b):
    """Median, interquartile range and extremes of the per-round ratios
    a/b (rounds pair the variants: same round, back to back)."""
    xa, xb = nums(sec, key, a), nums(sec, key, b)
    rs = [x / y for x, y in zip(xa, xb) if y]
    if not rs:
        return None
    if len(rs) > 1:
        q1, _, q3 = statistics.quantiles(rs, n=4, method="inclusive")
    else:
        q1 = q3 = rs[0]
    return {"median": round(statistics.median(rs), 3),
            "q1": round(q1, 3), "q3": round(q3, 3),
            "min": round(min(rs), 3), "max": round(max(rs), 3),
            "rounds": len(rs)}


def one(sec, key, var):
    v = samples.get((sec, key, var))
    return v[0] if v else None


rows = []


def row(id_, section, what, unit, baseline=None, shim=None, mptcpize=None,
        shim_vs_base=None, mptcpize_vs_base=None, shim_vs_mptcpize=None,
        note="", status="ok"):
    rows.append({"id": id_, "section": section, "what": what, "unit": unit,
                 "baseline": baseline, "shim": shim, "mptcpize": mptcpize,
                 "shim/baseline": shim_vs_base,
                 "mptcpize/baseline": mptcpize_vs_base,
                 "shim/mptcpize": shim_vs_mptcpize,
                 "note": note, "status": status})


def rnd(x, n=1):
    return None if x is None else round(x, n)


def noise_has_1(r):
    return r["q1"] <= 1.0 <= r["q3"] or abs(r["median"] - 1) < 0.03


def within(r):
    if r is None:
        return ""
    if noise_has_1(r):
        return "within noise of 1.00 (1.00 inside the interquartile range)"
    return "1.00 outside the interquartile range: %+.0f%%" % ((r["median"] - 1) * 100)


ops = [
    ("udp_socket", "socket()+close(), UDP"),
    ("tcp_socket", "socket()+close(), TCP never bound (tracked)"),
    ("udp_setsockopt", "setsockopt(SO_REUSEADDR), UDP"),
    ("tcp_setsockopt_pre", "setsockopt(TCP_NODELAY), TCP before connect (recorded)"),
    ("tcp_setsockopt", "setsockopt(TCP_NODELAY), connected TCP"),
    ("udp_connect", "connect(), UDP"),
    ("udp_epoll", "epoll_ctl(ADD)+epoll_ctl(DEL), UDP"),
    ("tcp_epoll_pre", "epoll_ctl(ADD)+epoll_ctl(DEL), TCP before connect (recorded)"),
    ("tcp_connect", "outbound TCP: socket+setsockopt+connect+accept+close"),
    ("dup_close", "dup()+close(), UDP"),
    ("dup2_close", "dup2()+close(), UDP"),
    ("dup3_close", "dup3(O_CLOEXEC)+close(), UDP"),
    ("close", "close() of an fd the library never saw (+ a raw dup3)"),
    ("close_range", "close_range() of one such fd (+ a raw dup3)"),
    ("closefrom", "closefrom() of one such fd (+ a raw dup3)"),
    ("fcntl_getfl", "fcntl64(F_GETFL), UDP (what fcntl() is for nginx)"),
    ("getsockopt", "getsockopt(SO_ERROR), UDP"),
    ("sendmsg", "sendmsg() of 1 byte, connected UDP (+ recv by the sink)"),
    ("sendmmsg", "sendmmsg() of 1 message, connected UDP (+ recv by the sink)"),
]
# What the library adds on purpose, for sockets it tracks only: with a
# `connect` list, a candidate's connect() needs its destination, and the
# library first asks the kernel whether it may read it (usermem.c; only
# where MPTCPSHIM_CONNECT is set, as in the benchmark's shim variant); and
# every call that would change the record of a tracked socket (its
# socket(), setsockopt(), epoll_ctl(), connect(), close()) asks whether it
# runs in a vfork() child (getpid: such a child shares the parent's memory
# and must change nothing there, child.c).
expected_extra = {"tcp_connect": "timer_settime=1,getpid=3",
                  "tcp_socket": "getpid=2",
                  "tcp_setsockopt_pre": "getpid=1",
                  "tcp_epoll_pre": "getpid=2"}
for op, what in ops:
    r = ratio("micro", op, "shim", "plain")
    row("micro." + op, "interposition", what, "ns per call",
        baseline=rnd(med("micro", op, "plain")), shim=rnd(med("micro", op, "shim")),
        shim_vs_base=r, note=within(r))
def total(counts):
    if not counts or counts == "none":
        return 0
    return round(sum(float(c.split("=")[1]) for c in counts.split(",")), 2)


def plus(counts, extra):
    c = dict(x.split("=") for x in (counts or "").split(",") if "=" in x)
    for x in filter(None, extra.split(",")):
        k, v = x.split("=")
        c[k] = "%g" % (float(c.get(k, 0)) + float(v))
    return ",".join("%s=%s" % kv for kv in sorted(c.items()))


for op, what in ops:
    a, b = one("syscalls", op, "plain"), one("syscalls", op, "shim")
    extra = expected_extra.get(op)
    if a == b:
        note, status = "same: " + a.replace(",", " "), "ok"
    elif extra and a and b and plus(a, extra) == plus(b, ""):
        note, status = ("same, plus the expected %s (a tracked socket: see "
                        "expected_extra in scripts/bench.sh)" % extra, "ok")
    else:
        note, status = "DIFFERENT: without %s, with %s" % (a, b), "DIFFERENT"
    row("syscalls." + op, "system calls", what, "syscalls per call (strace)",
        baseline=total(a), shim=total(b), note=note, status=status)
    rows[-1]["detail"] = {"baseline": a, "shim": b}

for v, what in (("shim1", "start-up of /bin/true, allowlist of 1 entry"),
                ("shim1000", "start-up of /bin/true, allowlist of 1,000 entries")):
    base, s = med("startup", "start", "plain"), med("startup", "start", v)
    wrap = med("startup", "start", "wrap") if v == "shim1" else None
    r = ratio("startup", "start", v, "plain")
    note = "%+.0f us of CPU per start" % ((s - base) / 1000) if base and s else ""
    if wrap:
        note += " (libmptcpwrap.so, in the mptcpize column: %+.0f us)" % ((wrap - base) / 1000)
    wb, ws = med("startup", "wall", "plain"), med("startup", "wall", v)
    if wb and ws:
        note += "; wall clock %.0f -> %.0f us (x%.2f [%s])" % (
            wb / 1000, ws / 1000, ratio("startup", "wall", v, "plain")["median"],
            "%(q1).2f-%(q3).2f" % ratio("startup", "wall", v, "plain"))
    row("startup." + v, "load", what, "us of CPU per start",
        baseline=rnd(base / 1000 if base else None),
        shim=rnd(s / 1000 if s else None),
        mptcpize=rnd(wrap / 1000 if wrap else None), shim_vs_base=r,
        mptcpize_vs_base=ratio("startup", "start", "wrap", "plain") if wrap else None,
        shim_vs_mptcpize=ratio("startup", "start", "shim1", "wrap") if wrap else None,
        note=note)

def kib(key, v):
    x = one("rss", key, v)
    return None if x is None else int(x)


V3 = ("plain", "shim", "mptcpize")
rs = {v: kib("worker_start", v) for v in V3}
try:
    note = ("shim %+d KiB (private %+d KiB), of which the library's own "
            "mappings %d KiB (libmptcpwrap.so: %d KiB); after the runs: "
            "%d / %d / %d KiB (private %d / %d / %d)"
            % (rs["shim"] - rs["plain"],
               kib("private_start", "shim") - kib("private_start", "plain"),
               kib("lib_start", "shim"), kib("lib_start", "mptcpize"),
               *[kib("worker_after", v) for v in V3],
               *[kib("private_after", v) for v in V3]))
except TypeError:
    note = "not measured"
row("load.nginx_worker_rss", "load",
    "nginx worker resident memory (Rss), at start", "KiB",
    baseline=rs["plain"], shim=rs["shim"], mptcpize=rs["mptcpize"], note=note)

wl = [("keepalive", "nginx, keepalive requests (wrk -c32)"),
      ("close", "nginx, a new connection per request"),
      ("proxy", "nginx reverse proxy, new upstream connection per request")]
for w, what in wl:
    errs = sum(int(x) for v in ("plain", "shim", "mptcpize")
               for x in samples.get(("nginx_errors", w, v), []))
    rsm = ratio("nginx", w, "shim", "mptcpize")
    rsb = ratio("nginx", w, "shim", "plain")
    same = rsm and noise_has_1(rsm)
    if w == "proxy":
        note = ("shim/mptcpize %.2f: the shim's upstream connections stay TCP, "
                "mptcpize's are MPTCP sockets too" % rsm["median"]) if rsm else ""
        if same:
            note += " (within noise of 1.00 in this run)"
    elif rsm:
        note = ("the shim %s mptcpize (both: the kernel's MPTCP listener and an "
                "MPTCP client); MPTCP vs TCP %.2f is the kernel's cost, not the "
                "library's" % ("equals, within noise," if same else
                               "differs (%.2f) from" % rsm["median"],
                               rsb["median"]))
    else:
        note = ""
    if errs:
        note += "; %d wrk errors" % errs
    row("nginx." + w, "nginx + wrk", what, "requests/s",
        baseline=rnd(med("nginx", w, "plain"), 0), shim=rnd(med("nginx", w, "shim"), 0),
        mptcpize=rnd(med("nginx", w, "mptcpize"), 0),
        shim_vs_base=ratio("nginx", w, "shim", "plain"),
        mptcpize_vs_base=ratio("nginx", w, "mptcpize", "plain"),
        shim_vs_mptcpize=rsm, note=note)


def chk(key, v):
    x = one("check", key, v)
    return None if x is None else int(x)


row("check.listener", "verification", "front listener is MPTCP (ss -Ml)",
    "MPTCP listeners", baseline=chk("listener", "plain"),
    shim=chk("listener", "shim"), mptcpize=chk("listener", "mptcpize"),
    note="expected 0 / 1 / 1",
    status="ok" if (chk("listener", "plain"), chk("listener", "shim"),
                    chk("listener", "mptcpize")) == (0, 1, 1) else "UNEXPECTED")
def pair(form, t):
    return None if None in t else form % t


cm = {v: (chk("clients_mptcp_keepalive", v), chk("clients_tcp_keepalive", v))
      for v in ("plain", "shim", "mptcpize")}
ok = cm["plain"][0] == 0 and all((cm[v][0] or 0) > 0 for v in ("shim", "mptcpize"))
row("check.clients", "verification",
    "wrk's connections that are MPTCP (ss -M, keepalive run)",
    "MPTCP of TCP rows",
    baseline=pair("%s of %s", cm["plain"]), shim=pair("%s of %s", cm["shim"]),
    mptcpize=pair("%s of %s", cm["mptcpize"]),
    note="plain wrk vs `mptcpize run wrk`; ss -t also lists MPTCP subflows",
    status="ok" if ok else "UNEXPECTED")
um = {v: (chk("upstream_mptcp_proxy", v), chk("upstream_tcp_proxy", v))
      for v in ("plain", "shim", "mptcpize")}
ok = um["shim"][0] == 0 and (um["shim"][1] or 0) > 0 and (um["mptcpize"][0] or 0) > 0
row("check.upstream", "verification",
    "proxy run: nginx's upstream sockets that are MPTCP (ss -M)",
    "sockets (most seen in 5 samples)",
    baseline=pair("%s MPTCP, %s TCP", um["plain"]),
    shim=pair("%s MPTCP, %s TCP", um["shim"]),
    mptcpize=pair("%s MPTCP, %s TCP", um["mptcpize"]),
    note="shim: upstream stays TCP; mptcpize: MPTCP sockets (the backend is "
         "a plain TCP nginx, so they fall back after the handshake)",
    status="ok" if ok else "UNEXPECTED")

lab = None
if meta.get("lab_status") == "ok":
    try:
        lab = json.load(open(os.path.join(T, "lab.json")))
    except (OSError, ValueError) as e:
        meta["lab_status"], meta["lab_reason"] = "failed", "lab.json: %s" % e
if lab:
    row("lab.aggregation", "multipath lab", "download over two %s Mbit/s paths, %s MiB"
        % (lab.get("rate_mbit"), lab.get("size_mib")), "Mbit/s",
        baseline=lab["baseline"]["mbit"], shim=lab["mptcp"]["mbit"],
        shim_vs_base={"median": lab["mptcp"]["ratio"], "q1": None, "q3": None},
        note="baseline: plain TCP client, one path; shim: MPTCP client, %s subflows "
             "(scripts/mptcp-lab.sh, one run)" % lab["mptcp"].get("subflows_ss_M"))
    fo = lab["failover"]
    row("lab.failover", "multipath lab", "failover: path 1 down mid-download", "s",
        baseline=fo.get("one_path_needs"), shim=fo.get("done_after_down"),
        note="down at %s s, stall %s s, finished %s s after the link went down "
             "(baseline: what a perfect failover would still need at one path's rate); "
             "checksum ok" % (fo.get("down_at"), fo.get("stall"), fo.get("done_after_down")))
else:
    why = meta.get("lab_reason") or "?"
    for id_, what in (("lab.aggregation", "aggregation over two paths"),
                      ("lab.failover", "failover")):
        row(id_, "multipath lab", what, "", note=why,
            status=meta.get("lab_status", "not run"))


def fmt(x):
    if x is None:
        return "-"
    if isinstance(x, dict):
        if x.get("q1") is None:
            return "%.2f" % x["median"]
        return "%.2f [%.2f-%.2f]" % (x["median"], x["q1"], x["q3"])
    if isinstance(x, float):
        return ("%.0f" % x) if abs(x) >= 1000 else ("%.1f" % x)
    return str(x)


cols = ["what", "unit", "baseline", "shim", "mptcpize", "shim/baseline",
        "mptcpize/baseline", "shim/mptcpize", "note"]
heads = ["measurement", "unit", "baseline", "shim", "mptcpize", "shim/base",
         "mptcpize/base", "shim/mptcpize", "note"]

doc = {"meta": meta, "rows": rows,
       "samples": [{"section": k[0], "key": k[1], "variant": k[2], "values": v}
                   for k, v in sorted(samples.items())]}
with open(os.path.join(out, "bench.json"), "w") as f:
    json.dump(doc, f, indent=1)
    f.write("\n")

md = []
md.append("Measured %s on %s (%s cores, %s), kernel %s; nginx %s, wrk %s, "
          "mptcpd %s; libmptcpshim %s; load average at the end %s."
          % (meta["date"], meta["cpu"], meta["cores"], meta["os"], meta["kernel"],
             meta["nginx"], meta["wrk"], meta["mptcpd"], meta["shim"], meta["loadavg"]))
md.append("")
md.append("Command: `%s`. Medians of %s rounds (%s for the "
          "micro-benchmarks), the variants alternated, their order rotating "
          "each round; a ratio is the median of the per-round ratios, "
          "[interquartile range] of those ratios after it (bench.json has "
          "every sample)." % (meta["command"], meta["rounds"], meta["micro_rounds"]))
md.append("")
md.append("baseline = no library (plain TCP, plain wrk); shim = "
          "libmptcpshim preloaded (nginx rows: `MPTCPSHIM_PORTS=<front port>`, "
          "client `mptcpize run wrk`; micro-benchmarks: `MPTCPSHIM_PORTS=443`; "
          "both with `MPTCPSHIM_CONNECT=443`, so every measured connect() "
          "takes the unlisted-destination path); "
          "mptcpize = `mptcpize run nginx`, client `mptcpize run wrk`.")
md.append("")
md.append("| " + " | ".join(heads) + " |")
md.append("|" + "|".join(["---"] * len(heads)) + "|")
for r in rows:
    cells = [fmt(r[c]).replace("|", "\\|") for c in cols]
    if r["status"] not in ("ok",):
        cells[-1] = "**%s** %s" % (r["status"].upper(), cells[-1])
    md.append("| " + " | ".join(cells) + " |")
md.append("")
with open(os.path.join(out, "bench.md"), "w") as f:
    f.write("\n".join(md))

# The terminal table: long notes wrapped below their row.
w = [max(len(heads[i]), *(len(fmt(r[c])) for r in rows)) for i, c in enumerate(cols[:-1])]
w[0] = min(w[0], 58)
print()
print("  ".join(h.ljust(w[i]) for i, h in enumerate(heads[:-1])))
sec = None
for r in rows:
    if r["section"] != sec:
        sec = r["section"]
        print("-- " + sec)
    cells = [fmt(r[c]) for c in cols[:-1]]
    cells[0] = cells[0][:58]
    print("  ".join(c.ljust(w[i]) for i, c in enumerate(cells)))
    if r["note"]:
        status = "" if r["status"] == "ok" else r["status"].upper() + ": "
        print("      " + status + r["note"])
print()
print("(%s; %s; ratios: median of the per-round ratios [interquartile range])"
      % (meta["command"], meta["date"]))
PY
	say "wrote $out/bench.json and $out/bench.md (raw samples: $1)"
}

if [ -n "$report_from" ]; then
	[ -f "$report_from/meta" ] && [ -f "$report_from/samples" ] ||
		die "--report-from: $report_from has no meta and samples"
	mkdir -p "$out"
	report "$report_from"
	exit 0
fi

for c in wrk mptcpize strace ss python3 awk; do
	command -v "$c" >/dev/null || die "$c not found (scripts/install-deps.sh installs it)"
done
[ -x "$NGINX" ] || die "$NGINX not found (scripts/install-deps.sh installs nginx)"
[ -e "$SHIM" ] || die "$SHIM missing: build first (meson setup build && ninja -C build)"
[ -x "$MB" ] || die "$MB missing: build first (meson setup build && ninja -C build)"
[ "$(sysctl -n net.mptcp.enabled 2>/dev/null)" = 1 ] ||
	die "this kernel has no MPTCP enabled (net.mptcp.enabled != 1)"

# ---- cleanup: every process we started, by pid; the temporary dir ----
T=$(mktemp -d "${TMPDIR:-/tmp}/mptcpshim-bench.XXXXXX")
pids=()
cleaned=0
stop_pid() { # pid: TERM it (and, for an nginx master, its workers)
	local pid=$1 w kids _
	kill -0 "$pid" 2>/dev/null || return 0
	kids=$(ps -o pid= --ppid "$pid" 2>/dev/null | tr -d ' ' | tr '\n' ' ')
	kill -TERM "$pid" 2>/dev/null || true
	for _ in $(seq 1 50); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	for w in $kids; do
		kill -0 "$w" 2>/dev/null && kill -KILL "$w" 2>/dev/null
	done
	return 0
}
forget() { # pid: finished, not ours to stop any more (pids get reused)
	local keep=() p
	for p in "${pids[@]}"; do
		[ "$p" = "$1" ] || keep+=("$p")
	done
	pids=("${keep[@]}")
}
cleanup() {
	local rc=$? pid
	[ "$cleaned" = 1 ] && return 0
	cleaned=1
	trap - INT TERM
	for pid in "${pids[@]}"; do
		stop_pid "$pid"
	done
	rm -rf "$T"
	return "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---- ports: free ones from 49000-49999, never the same twice ----
used_ports=" "
port() {
	local p _
	for _ in $(seq 1 500); do
		p=$((PORT_LO + RANDOM % (PORT_HI - PORT_LO + 1)))
		case "$used_ports" in *" $p "*) continue ;; esac
		if [ -z "$(ss -Hant "sport = :$p")" ] && [ -z "$(ss -Hanu "sport = :$p")" ]; then
			used_ports+="$p "
			echo "$p"
			return 0
		fi
	done
	die "no free port in $PORT_LO-$PORT_HI"
}
wait_listen() { # port: at most 5 s
	local _
	for _ in $(seq 1 50); do
		[ -n "$(ss -Hltn "sport = :$1")" ] && return 0
		sleep 0.1
	done
	die "nothing listens on port $1 after 5 s"
}

# The library as the benchmark loads it: no file, converting port 443 only
# (so that it tracks TCP sockets, as in production), quiet.
# MPTCPSHIM_CONNECT names a destination nothing here connects to, so that
# every connect() measured goes through the unlisted-destination path.
shim_env=(LD_PRELOAD="$SHIM" MPTCPSHIM_CONFIG=/dev/null MPTCPSHIM_PORTS=443
	MPTCPSHIM_CONNECT=443 MPTCPSHIM_LOG=warn)

# Raw results, one per line: section key variant round value
S=$T/samples
: >"$S"
record() { echo "$*" >>"$S"; }

# variant_order ROUND VARIANT... : the variants rotated by ROUND.
variant_order() {
	local r=$1
	shift
	local n=$# i
	local vs=("$@")
	for ((i = 0; i < n; i++)); do
		printf '%s ' "${vs[$(((i + r) % n))]}"
	done
}

# ================= 1. interposition cost =================
say "1/4 interposition cost ($micro_rounds rounds)"
ops=(udp_socket tcp_socket udp_setsockopt tcp_setsockopt_pre tcp_setsockopt udp_connect
	udp_epoll tcp_epoll_pre tcp_connect dup_close dup2_close dup3_close close close_range
	closefrom fcntl_getfl getsockopt sendmsg sendmmsg)
mb_port=$(port)
mb_run() { # variant op n [--mark]
	local v=$1 op=$2 n=$3
	if [ "$v" = shim ]; then
		env "${shim_env[@]}" timeout 120 "$MB" "$op" "$n" "$mb_port"
	else
		timeout 120 "$MB" "$op" "$n" "$mb_port"
	fi
}
for ((r = 0; r < micro_rounds; r++)); do
	for op in "${ops[@]}"; do
		n=$iters
		[ "$op" = tcp_connect ] && n=$conn_iters
		for v in $(variant_order "$r" plain shim); do
			val=$(mb_run "$v" "$op" "$n" | awk '{ print $2 }')
			record micro "$op" "$v" "$r" "$val"
		done
	done
done

# System calls made inside the loop (between the two markers).
say "    system calls per call (strace)"
for op in "${ops[@]}"; do
	n=$strace_iters
	[ "$op" = tcp_connect ] && n=$((strace_iters / 10))
	for v in plain shim; do
		pre=()
		[ "$v" = shim ] && pre=("${shim_env[@]}")
		timeout 120 strace -f -qq -o "$T/strace.$op.$v" env "${pre[@]}" \
			"$MB" --mark "$op" "$n" "$mb_port" >/dev/null
		counts=$(awk -v n="$n" '
			/write\(-1, "mb-begin"/ { on = 1; next }
			/write\(-1, "mb-end"/ { on = 0 }
			on { s = $0; sub(/^[0-9]+ +/, "", s); sub(/\(.*/, "", s); c[s]++ }
			END { out = ""; for (k in c) out = out sprintf("%s%s=%g", out == "" ? "" : ",", k, c[k] / n)
			      print out == "" ? "none" : out }' "$T/strace.$op.$v")
		counts=$(tr ',' '\n' <<<"$counts" | sort | paste -sd, -)
		record syscalls "$op" "$v" 0 "$counts"
		rm -f "$T/strace.$op.$v"
	done
done

# ================= 2. load cost =================
# mptcpize's library, for comparison (what `mptcpize run` preloads).
# shellcheck disable=SC2016 # expanded by that sh
WRAP=$(mptcpize run sh -c 'echo "$LD_PRELOAD"')
[ -e "$WRAP" ] || die "cannot find mptcpize's library (got: $WRAP)"
say "2/4 start-up cost ($rounds rounds of $spawns starts)"
ports1000=$(seq -s, 10000 2 11998)
spawn_run() { # variant
	case "$1" in
	plain) timeout 120 "$MB" spawn "$spawns" /bin/true ;;
	shim1) env "${shim_env[@]}" timeout 120 "$MB" spawn "$spawns" /bin/true ;;
	shim1000) env "${shim_env[@]}" MPTCPSHIM_PORTS="$ports1000" timeout 120 "$MB" spawn "$spawns" /bin/true ;;
	wrap) env LD_PRELOAD="$WRAP" timeout 120 "$MB" spawn "$spawns" /bin/true ;;
	esac
}
for ((r = 0; r < rounds; r++)); do
	for v in $(variant_order "$r" plain shim1 shim1000 wrap); do
		read -r _ wall cpu < <(spawn_run "$v")
		record startup start "$v" "$r" "$cpu"
		record startup wall "$v" "$r" "$wall"
	done
done

# ================= 3. nginx + wrk =================
say "3/4 nginx over loopback with wrk ($rounds rounds of ${duration} s per run)"
variants=(plain shim mptcpize)
declare -A front backend
for v in "${variants[@]}"; do
	front[$v]=$(port)
	backend[$v]=$(port)
done
mkdir -p "$T/www"
head -c 1024 /dev/zero | tr '\0' x >"$T/www/index.html"
user_line=
[ "$(id -u)" -eq 0 ] && user_line="user root;"

ngx_conf() { # dir, then server blocks on stdin
	mkdir -p "$1/tmp"
	{
		cat <<-EOF
			$user_line
			daemon off;
			master_process on;
			worker_processes 1;
			error_log $1/error.log warn;
			pid $1/nginx.pid;
			events { worker_connections 1024; }
			http {
			    access_log off;
			    keepalive_requests 1000000;
			    client_body_temp_path $1/tmp/body;
			    proxy_temp_path $1/tmp/proxy;
			    fastcgi_temp_path $1/tmp/fastcgi;
			    uwsgi_temp_path $1/tmp/uwsgi;
			    scgi_temp_path $1/tmp/scgi;
		EOF
		cat
		echo "}"
	} >"$1/nginx.conf"
}
ngx_start() { # dir, command prefix...
	local dir=$1
	shift
	"$@" "$NGINX" -p "$dir" -c "$dir/nginx.conf" </dev/null >"$dir/stdout" 2>"$dir/stderr" &
	pids+=("$!")
	echo "$!" >"$dir/master"
}

# The upstream: one plain nginx (no library), one port per variant so that
# `ss` can tell whose upstream connections it sees.
bdir=$T/backend
{
	for v in "${variants[@]}"; do
		echo "server { listen 127.0.0.1:${backend[$v]}; root $T/www; }"
	done
} | ngx_conf "$bdir"
ngx_start "$bdir" env
for v in "${variants[@]}"; do
	d=$T/front-$v
	ngx_conf "$d" <<-EOF
		server {
		    listen 127.0.0.1:${front[$v]};
		    root $T/www;
		    location /proxy/ { proxy_pass http://127.0.0.1:${backend[$v]}/; }
		}
	EOF
	case "$v" in
	plain) ngx_start "$d" env ;;
	shim) ngx_start "$d" env "${shim_env[@]}" MPTCPSHIM_PORTS="${front[$v]}" ;;
	mptcpize) ngx_start "$d" mptcpize run ;;
	esac
done
for v in "${variants[@]}"; do
	wait_listen "${backend[$v]}"
	wait_listen "${front[$v]}"
done
for v in "${variants[@]}"; do
	record check listener "$v" 0 "$(ss -HMln "sport = :${front[$v]}" | grep -c . || true)"
done

# Resident memory of each front's worker (KiB): Rss, and its private part
# (what this worker alone costs); and the preloaded library's own mappings.
rss_all() { # when
	local v m wk
	for v in "${variants[@]}"; do
		m=$(cat "$T/front-$v/master")
		wk=$(ps -o pid= --ppid "$m" | tr -d ' ' | head -n 1)
		[ -n "$wk" ] || die "no worker for the $v nginx"
		record rss "worker_$1" "$v" 0 "$(awk '/^Rss:/ { print $2 }' "/proc/$wk/smaps_rollup")"
		record rss "private_$1" "$v" 0 "$(awk '/^Private_(Clean|Dirty):/ { s += $2 } END { print s }' "/proc/$wk/smaps_rollup")"
		record rss "lib_$1" "$v" 0 "$(awk '/^[0-9a-f]+-[0-9a-f]+ / { on = ($0 ~ /libmptcpshim|libmptcpwrap/) }
			on && /^Rss:/ { s += $2 } END { print s + 0 }' "/proc/$wk/smaps")"
	done
}
# At start, after one keepalive request each.
for v in "${variants[@]}"; do
	pre=()
	[ "$v" = plain ] || pre=(mptcpize run)
	timeout 20 "${pre[@]}" wrk -t1 -c1 -d1s "http://127.0.0.1:${front[$v]}/" >/dev/null 2>&1 ||
		die "wrk cannot reach the $v nginx"
done
rss_all start

# wrk_run VARIANT WORKLOAD SECONDS [sample]: writes "requests/s errors"
# to $T/wrk.res.
wrk_run() {
	local v=$1 w=$2 secs=$3 sample=${4:-} url hdr=() pre=() wp i mc=0 tc=0 um=0 ut=0 x
	url=http://127.0.0.1:${front[$v]}/
	case "$w" in
	close) hdr=(-H "Connection: close") ;;
	proxy) url=${url}proxy/ ;;
	esac
	[ "$v" = plain ] || pre=(mptcpize run)
	timeout $((secs + 30)) "${pre[@]}" wrk -t1 -c32 -d"${secs}s" --timeout 5s "${hdr[@]}" "$url" \
		>"$T/wrk.out" 2>&1 &
	wp=$!
	pids+=("$wp")
	if [ -n "$sample" ]; then
		# What the kernel says mid-run: client sockets to the front that
		# are MPTCP (ss -M) out of all (ss -t lists MPTCP subflows too),
		# and the same for the front's upstream connections.
		sleep "$(awk -v s="$secs" 'BEGIN { print s / 4 }')"
		for i in 1 2 3 4 5; do
			x=$(ss -HMn state established "( dport = :${front[$v]} )" | grep -c . || true)
			[ "$x" -gt "$mc" ] && mc=$x
			x=$(ss -Htn state established "( dport = :${front[$v]} )" | grep -c . || true)
			[ "$x" -gt "$tc" ] && tc=$x
			x=$(ss -HMn "( dport = :${backend[$v]} )" | grep -c . || true)
			[ "$x" -gt "$um" ] && um=$x
			x=$(ss -Htn "( dport = :${backend[$v]} )" | grep -c . || true)
			[ "$x" -gt "$ut" ] && ut=$x
			sleep "$(awk -v s="$secs" 'BEGIN { print s / 10 }')"
		done
		record check "clients_mptcp_$w" "$v" 0 "$mc"
		record check "clients_tcp_$w" "$v" 0 "$tc"
		record check "upstream_mptcp_$w" "$v" 0 "$um"
		record check "upstream_tcp_$w" "$v" 0 "$ut"
	fi
	wait "$wp" || die "wrk failed ($v, $w): $(tail -n 5 "$T/wrk.out")"
	awk '/^Requests\/sec:/ { rps = $2 }
		/Non-2xx/ { err += $NF }
		/Socket errors:/ { gsub(/,/, ""); err += $4 + $6 + $8 + $10 }
		END { printf "%s %d\n", rps, err }' "$T/wrk.out" >"$T/wrk.res"
	forget "$wp"
}

workloads=(keepalive close proxy)
if [ "$quick" = 0 ]; then
	for w in "${workloads[@]}"; do
		for v in "${variants[@]}"; do
			wrk_run "$v" "$w" 1
		done
	done
fi
for ((r = 0; r < rounds; r++)); do
	for w in "${workloads[@]}"; do
		for v in $(variant_order "$r" "${variants[@]}"); do
			sample=
			[ "$r" = 0 ] && sample=1
			wrk_run "$v" "$w" "$duration" "$sample"
			read -r rps errs <"$T/wrk.res"
			record nginx "$w" "$v" "$r" "$rps"
			record nginx_errors "$w" "$v" "$r" "$errs"
		done
	done
done

rss_all after
for pid in "${pids[@]}"; do
	stop_pid "$pid"
done
pids=()

# ================= 4. the multipath lab =================
# Only a lab that has landed: in a git checkout, a committed one.
lab_status="not run" lab_reason=""
landed=1
if git -C "$top" rev-parse --git-dir >/dev/null 2>&1 &&
	! git -C "$top" ls-files --error-unmatch scripts/mptcp-lab.sh >/dev/null 2>&1; then
	landed=0
fi
if [ "$lab" = 0 ]; then
	lab_reason="--no-lab"
elif [ ! -f "$LAB" ]; then
	lab_reason="scripts/mptcp-lab.sh is not there (yet)"
elif [ "$landed" = 0 ]; then
	lab_reason="scripts/mptcp-lab.sh has not landed (not committed)"
elif [ "$(id -u)" -ne 0 ]; then
	lab_reason="needs root"
else
	say "4/4 the multipath lab (scripts/mptcp-lab.sh --size $lab_size)"
	rc=0
	MPTCPSHIM_BUILD=$BUILD timeout 600 bash "$LAB" --size "$lab_size" \
		--port "$(port)" --json "$T/lab.json" >"$T/lab.out" 2>&1 || rc=$?
	if [ "$rc" -eq 0 ]; then
		lab_status=ok
	else
		lab_status=failed
		lab_reason="exit status $rc: $(tail -n 1 "$T/lab.out")"
	fi
fi

# ================= report =================
{
	echo "date	$(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "kernel	$(uname -r)"
	echo "cpu	$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)"
	echo "cores	$(nproc)"
	echo "loadavg	$(cut -d' ' -f1-3 /proc/loadavg)"
	echo "os	$(. /etc/os-release && echo "$PRETTY_NAME")"
	echo "nginx	$("$NGINX" -v 2>&1 | sed 's/.*nginx\///')"
	echo "wrk	$(dpkg-query -W -f='${Version}' wrk 2>/dev/null || echo '?')"
	echo "mptcpd	$(dpkg-query -W -f='${Version}' mptcpd 2>/dev/null || echo '?')"
	echo "shim	${MPTCPSHIM_REV:-$(git -C "$top" describe --always --dirty 2>/dev/null || echo '?')}"
	echo "command	scripts/bench.sh$([ "$quick" = 1 ] && echo ' --quick') --rounds $rounds --duration $duration"
	echo "quick	$quick"
	echo "rounds	$rounds"
	echo "micro_rounds	$micro_rounds"
	echo "duration	$duration"
	echo "iters	$iters"
	echo "conn_iters	$conn_iters"
	echo "strace_iters	$strace_iters"
	echo "spawns	$spawns"
	echo "lab_status	$lab_status"
	echo "lab_reason	$lab_reason"
} >"$T/meta"
mkdir -p "$out/raw"
cp "$T/meta" "$T/samples" "$out/raw/"
[ -f "$T/lab.json" ] && cp "$T/lab.json" "$out/raw/"
report "$out/raw"
