#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# mptcp-lab.sh - Debian's unmodified nginx made MPTCP by libmptcpshim,
# measured over two shaped paths between two network namespaces.
#
# Builds a client and a server network namespace joined by two veth pairs
# (path 1: 192.0.2.0/24, path 2: 198.51.100.0/24; with --ipv6
# 2001:db8:1::/64 and 2001:db8:2::/64), shapes every veth with tbf to the
# same rate, sets MPTCP limits in both namespaces and a `subflow` endpoint
# for the client's path-2 address, starts nginx under the shim in the
# server namespace and downloads a generated file from the client
# namespace three times:
#   1. baseline - plain TCP client, one path;
#   2. mptcp    - MPTCP client (scripts/mptcp-lab.py), both paths;
#   3. failover - MPTCP again; path 1's link goes down mid-download.
# Prints a table (and, with --json, the same as JSON); with --chart,
# draws the per-path throughput of the failover run with gnuplot.
#
# Needs root. Everything it creates (two namespaces, every process in
# them, a temporary directory) is removed on exit, also on failure and
# on Ctrl-C / SIGTERM. Traffic never leaves the two namespaces and only
# uses documentation prefixes.
set -euo pipefail

usage() {
	cat <<EOF
usage: $0 [options]
  --rate MBIT     tbf rate of every veth, Mbit/s (default 40)
  --size MIB      size of the file served, MiB (default 50)
  --ipv6          use 2001:db8:1::/64 and 2001:db8:2::/64 instead of
                  192.0.2.0/24 and 198.51.100.0/24
  --port PORT     nginx's port in the server namespace (default 8080)
  --down-at SEC   when path 1 goes down in the failover run, seconds after
                  the first bytes arrived (default: 40% of the MPTCP run's
                  duration)
  --json FILE     also write the results as JSON to FILE
  --chart FILE    failover run's throughput per path (gnuplot; .svg or .png)
  --samples DIR   keep the client's counters sampled every 0.01 s during
                  each run: DIR/{baseline,mptcp,failover}.txt, lines of
                  "time rx_bytes(path 1) rx_bytes(path 2)"
  -h, --help      this text
Environment: MPTCPSHIM_BUILD (build directory, default build/), NGINX
(default /usr/sbin/nginx).
EOF
}

top=$(cd "$(dirname "$0")/.." && pwd)
HELPER=$top/scripts/mptcp-lab.py
SHIM=${MPTCPSHIM_BUILD:-$top/build}/libmptcpshim.so
NGINX=${NGINX:-/usr/sbin/nginx}
PYTHON=${PYTHON:-python3}

rate=40 size=50 ipv6=0 port=8080 down_at="" json="" chart="" samples_out=""
while [ "$#" -gt 0 ]; do
	case "$1" in
	--rate) rate=${2:?}; shift 2 ;;
	--size) size=${2:?}; shift 2 ;;
	--ipv6) ipv6=1; shift ;;
	--port) port=${2:?}; shift 2 ;;
	--down-at) down_at=${2:?}; shift 2 ;;
	--json) json=${2:?}; shift 2 ;;
	--chart) chart=${2:?}; shift 2 ;;
	--samples) samples_out=${2:?}; shift 2 ;;
	-h | --help) usage; exit 0 ;;
	*) echo "mptcp-lab: unknown argument: $1" >&2; usage >&2; exit 2 ;;
	esac
done

die() {
	echo "mptcp-lab: $*" >&2
	exit 1
}
say() { echo "mptcp-lab: $*" >&2; }

[[ "$rate" =~ ^[0-9]+$ ]] && [ "$rate" -ge 1 ] || die "--rate wants a whole number of Mbit/s"
[[ "$size" =~ ^[0-9]+$ ]] && [ "$size" -ge 1 ] || die "--size wants a whole number of MiB"
[[ "$port" =~ ^[0-9]+$ ]] && [ "$port" -ge 1 ] && [ "$port" -le 65535 ] || die "--port wants a port number"
[ -z "$down_at" ] || [[ "$down_at" =~ ^[0-9]+(\.[0-9]+)?$ ]] || die "--down-at wants seconds"
if [ "$(id -u)" -ne 0 ]; then
	die "must run as root (it creates network namespaces, veth links, tc qdiscs and runs nginx); try: sudo $0 $*"
fi
for c in ip tc ss "$PYTHON" sha256sum awk; do
	command -v "$c" >/dev/null || die "$c not found (scripts/install-deps.sh installs it)"
done
[ -x "$NGINX" ] || die "$NGINX not found (scripts/install-deps.sh installs nginx)"
[ -e "$SHIM" ] || die "$SHIM missing: build first (meson setup build && ninja -C build)"
if [ -n "$chart" ]; then
	command -v gnuplot >/dev/null || die "gnuplot not found (Debian package gnuplot-nox)"
	case "$chart" in *.svg | *.png) ;; *) die "--chart: name a .svg or .png file" ;; esac
fi
[ "$(sysctl -n net.mptcp.enabled 2>/dev/null)" = 1 ] || die "this kernel has no MPTCP (net.mptcp.enabled != 1)"

# ---- names, addresses ----
CNS=mptcplab-$$-cli
SNS=mptcplab-$$-srv
if [ "$ipv6" = 1 ]; then
	family=IPv6 plen=64 ipf=-6
	c1a=2001:db8:1::1 s1a=2001:db8:1::2
	c2a=2001:db8:2::1 s2a=2001:db8:2::2
else
	family=IPv4 plen=24 ipf=-4
	c1a=192.0.2.1 s1a=192.0.2.2
	c2a=198.51.100.1 s2a=198.51.100.2
fi

# ---- cleanup: every process in our namespaces, the namespaces, tmpdir ----
T=
made_ns=()
ns_inodes=()
bg_pids=()
cleaned=0
cleanup() {
	local rc=$? ns pid i left
	[ "$cleaned" = 1 ] && return 0
	cleaned=1
	trap - INT TERM
	set +e
	# Our background helpers first; a pid is ended only while it still is
	# a child of this shell (never a reused pid).
	for pid in "${bg_pids[@]}"; do
		[ "$(ps -o ppid= -p "$pid" 2>/dev/null | tr -d ' ')" = "$$" ] &&
			kill -TERM "$pid" 2>/dev/null
	done
	true
	# Every process inside a namespace this run created was started by it.
	for ns in "${made_ns[@]}"; do
		for i in 1 2 3; do
			left=$(ip netns pids "$ns" 2>/dev/null | tr '\n' ' ')
			[ -n "${left// /}" ] || break
			# shellcheck disable=SC2086 # a list of pids
			if [ "$i" -lt 3 ]; then kill -TERM $left 2>/dev/null || true; else kill -KILL $left 2>/dev/null || true; fi
			for _ in $(seq 1 20); do
				[ -n "$(ip netns pids "$ns" 2>/dev/null)" ] || break
				sleep 0.1
			done
		done
	done
	for pid in "${bg_pids[@]}"; do
		wait "$pid" 2>/dev/null || true
	done
	for ns in "${made_ns[@]}"; do
		ip netns del "$ns" 2>/dev/null || true
	done
	[ -n "$T" ] && rm -rf "$T"
	return "$rc"
}
trap cleanup EXIT
trap 'say "interrupted, cleaning up"; exit 130' INT
trap 'say "terminated, cleaning up"; exit 143' TERM

T=$(mktemp -d "${TMPDIR:-/tmp}/mptcp-lab.XXXXXX")
mkdir -p "$T/www" "$T/tmp"

# run_wait OUT ERR CMD...: runs CMD (stdout to OUT, stderr to ERR) and
# waits for it in a way that lets the INT/TERM traps run at once (bash
# defers traps while a foreground command runs).
run_wait() {
	local out=$1 err=$2 pid rc=0
	shift 2
	"$@" >"$out" 2>"$err" &
	pid=$!
	bg_pids+=("$pid")
	wait "$pid" || rc=$?
	return "$rc"
}
in_c() { ip netns exec "$CNS" "$@"; }
in_s() { ip netns exec "$SNS" "$@"; }

# ---- topology ----
say "namespaces $CNS and $SNS, $family, two paths of $rate Mbit/s, $size MiB file"
for ns in "$CNS" "$SNS"; do
	ip netns add "$ns"
	made_ns+=("$ns")
	ns_inodes+=("$(stat -L -c %i "/run/netns/$ns")")
	ip -n "$ns" link set lo up
	ip netns exec "$ns" sysctl -qw net.mptcp.enabled=1 \
		net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0
	if [ "$ipv6" = 1 ]; then
		# No router solicitations; addresses usable at once (no DAD).
		ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.accept_dad=0 \
			net.ipv6.conf.default.accept_dad=0 \
			net.ipv6.conf.default.router_solicitations=0 \
			net.ipv6.conf.default.accept_ra=0
	else
		# IPv4 only: nothing on the links but the documentation prefixes.
		ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
			net.ipv6.conf.default.disable_ipv6=1
	fi
	ip -n "$ns" mptcp limits set subflows 2 add_addr_accepted 2
done
for i in 1 2; do
	ip link add "c$i" netns "$CNS" type veth peer name "s$i" netns "$SNS"
done
ip -n "$CNS" addr add "$c1a/$plen" dev c1 nodad 2>/dev/null || ip -n "$CNS" addr add "$c1a/$plen" dev c1
ip -n "$SNS" addr add "$s1a/$plen" dev s1 nodad 2>/dev/null || ip -n "$SNS" addr add "$s1a/$plen" dev s1
ip -n "$CNS" addr add "$c2a/$plen" dev c2 nodad 2>/dev/null || ip -n "$CNS" addr add "$c2a/$plen" dev c2
ip -n "$SNS" addr add "$s2a/$plen" dev s2 nodad 2>/dev/null || ip -n "$SNS" addr add "$s2a/$plen" dev s2
for d in c1 c2; do
	[ "$ipv6" = 1 ] && ip -n "$CNS" link set dev "$d" addrgenmode none
	ip -n "$CNS" link set "$d" up
	ip netns exec "$CNS" tc qdisc add dev "$d" root tbf rate "${rate}mbit" burst 64kb latency 50ms
done
for d in s1 s2; do
	[ "$ipv6" = 1 ] && ip -n "$SNS" link set dev "$d" addrgenmode none
	ip -n "$SNS" link set "$d" up
	ip netns exec "$SNS" tc qdisc add dev "$d" root tbf rate "${rate}mbit" burst 64kb latency 50ms
done
# Static neighbours: no ARP / neighbour discovery on the paths (it would
# delay the first connection; NDP's retry alone costs a second).
mac() { ip -n "$1" -br link show dev "$2" | awk '{ print $3 }'; }
ip -n "$CNS" neigh replace "$s1a" lladdr "$(mac "$SNS" s1)" dev c1 nud permanent
ip -n "$CNS" neigh replace "$s2a" lladdr "$(mac "$SNS" s2)" dev c2 nud permanent
ip -n "$SNS" neigh replace "$c1a" lladdr "$(mac "$CNS" c1)" dev s1 nud permanent
ip -n "$SNS" neigh replace "$c2a" lladdr "$(mac "$CNS" c2)" dev s2 nud permanent
# The client's second subflow leaves from its path-2 address towards the
# server's path-1 address (the one the client connected to): route it
# over path 2 (source routing), the server answers over path 2 anyway.
ip -n "$CNS" "$ipf" rule add from "$c2a" table 102 priority 1000
ip -n "$CNS" "$ipf" route add "$s1a" via "$s2a" dev c2 table 102
ip -n "$CNS" mptcp endpoint add "$c2a" dev c2 subflow

# ---- nginx under the shim ----
head -c "$((size * 1024 * 1024))" /dev/urandom >"$T/www/file.bin"
want_sha=$(sha256sum "$T/www/file.bin" | cut -d' ' -f1)
if [ "$ipv6" = 1 ]; then listen="[::]:$port"; else listen="0.0.0.0:$port"; fi
cat >"$T/nginx.conf" <<EOF
user root;
daemon off;
master_process on;
worker_processes 1;
error_log $T/error.log notice;
pid $T/nginx.pid;
events { worker_connections 64; }
http {
    access_log off;
    sendfile on;
    keepalive_timeout 0;
    default_type application/octet-stream;
    client_body_temp_path $T/tmp/body;
    proxy_temp_path $T/tmp/proxy;
    fastcgi_temp_path $T/tmp/fastcgi;
    uwsgi_temp_path $T/tmp/uwsgi;
    scgi_temp_path $T/tmp/scgi;
    server {
        listen $listen;
        root $T/www;
    }
}
EOF
ip netns exec "$SNS" env LD_PRELOAD="$SHIM" MPTCPSHIM_CONFIG=/dev/null MPTCPSHIM_PORTS="$port" \
	"$NGINX" -p "$T" -c "$T/nginx.conf" </dev/null >"$T/nginx.out" 2>&1 &
nginx_pid=$!
bg_pids+=("$nginx_pid")
for _ in $(seq 1 50); do
	[ -n "$(in_s ss -HMln "sport = :$port")" ] && break
	kill -0 "$nginx_pid" 2>/dev/null || break
	sleep 0.1
done
if [ -z "$(in_s ss -HMln "sport = :$port")" ]; then
	cat "$T/nginx.out" "$T/error.log" >&2 2>/dev/null || true
	die "no MPTCP listener on port $port in $SNS after 5 s (is the shim working?)"
fi

# ---- measurements ----
fetch_timeout=$((size * 8 * 4 / rate + 30)) # 4x a single path's time, + 30 s

# fetch NAME [--mptcp] ADDR: one download; result JSON in $T/NAME.json.
fetch() {
	local name=$1
	shift
	if ! run_wait "$T/$name.json" "$T/$name.err" ip netns exec "$CNS" \
		"$PYTHON" "$HELPER" fetch --timeout "$fetch_timeout" "$@" "$port" /file.bin; then
		cat "$T/$name.err" >&2
		die "$name: download failed"
	fi
}
# jget NAME KEY: a value of $T/NAME.json.
jget() {
	"$PYTHON" -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$T/$1.json" "$2"
}

# Server-side subflows while a download runs: polls `ss -Mi` (the MPTCP
# socket's "subflows:N" counts the subflows added to the first one) and
# the TCP rows of the port (one per subflow) every 0.2 s, until $T/stop.
poll_subflows() {
	local out=$1 i m t
	set +e +o pipefail # a snapshot without a connection is no error
	for i in $(seq 1 1500); do
		[ -e "$T/stop" ] && break
		m=$(in_s ss -HMin "sport = :$port" 2>/dev/null | grep -o 'subflows:[0-9]*' | cut -d: -f2 | sort -n | tail -n1)
		t=$(in_s ss -Htn state established "sport = :$port" 2>/dev/null | grep -c .)
		echo "$i ${m:--} $t" >>"$out"
		sleep 0.2
	done
}
start_poll() {
	rm -f "$T/stop"
	: >"$T/$1.ss"
	poll_subflows "$T/$1.ss" &
	poll_pid=$!
	bg_pids+=("$poll_pid")
}
stop_poll() {
	touch "$T/stop"
	wait "$poll_pid" 2>/dev/null || true
}
# Most subflows seen: by ss -Mi (added + 1), and TCP rows on the port.
subflows_mptcp() { awk '$2 != "-" && $2 + 1 > m { m = $2 + 1 } END { print m + 0 }' "$T/$1.ss"; }
subflows_tcp() { awk '$3 > m { m = $3 } END { print m + 0 }' "$T/$1.ss"; }

check_sha() {
	local got
	got=$(jget "$1" sha256)
	[ "$got" = "$want_sha" ] || die "$1: checksum mismatch ($got, want $want_sha)"
	[ "$(jget "$1" bytes)" -eq "$((size * 1024 * 1024))" ] || die "$1: wrong size"
}

# Counters of the client's links every 0.01 s, into $T/NAME.samples.
start_sampler() {
	ip netns exec "$CNS" "$PYTHON" "$HELPER" sample --every 0.01 --max-seconds "$((fetch_timeout + 10))" c1 c2 \
		>"$T/$1.samples" &
	sampler_pid=$!
	bg_pids+=("$sampler_pid")
	sleep 0.3 # a few samples before the start
}
stop_sampler() {
	sleep 0.3
	kill -TERM "$sampler_pid" 2>/dev/null || true
	wait "$sampler_pid" 2>/dev/null || true
}

say "1/3 baseline: plain TCP, path 1 only"
start_sampler baseline
start_poll baseline
fetch baseline "$s1a"
stop_poll
stop_sampler
check_sha baseline

say "2/3 MPTCP client, both paths"
start_sampler mptcp
start_poll mptcp
fetch mptcp --mptcp "$s1a"
stop_poll
stop_sampler
check_sha mptcp
[ "$(jget mptcp is_mptcp)" = 1 ] || die "mptcp: the connection is not MPTCP (is_mptcp=$(jget mptcp is_mptcp))"

# How long after path 1 path 2 carried data (its first 16 KiB), in ms:
# the time MPTCP takes to open the second subflow and use it.
path2_delay=$(awk 'NR == 1 { b1 = $2; b2 = $3 }
	!t1 && $2 - b1 > 16384 { t1 = $1 } !t2 && $3 - b2 > 16384 { t2 = $1 }
	END { if (t1 && t2) printf "%d", (t2 - t1) * 1000; else print "null" }' "$T/mptcp.samples" 2>/dev/null)
# no samples file (the sampler was starved on a loaded machine): unknown
[ -n "$path2_delay" ] || path2_delay=null

[ -n "$down_at" ] || down_at=$(awk -v s="$(jget mptcp seconds)" 'BEGIN { printf "%.2f", s * 0.4 }')
say "3/3 failover: MPTCP client, path 1 goes down ${down_at} s after the first bytes"
start_sampler failover
start_poll failover
ip netns exec "$CNS" "$PYTHON" "$HELPER" fetch --mptcp --timeout "$fetch_timeout" \
	--started "$T/failover.started" "$s1a" "$port" /file.bin >"$T/failover.json" 2>"$T/failover.err" &
fo_pid=$!
bg_pids+=("$fo_pid")
# The link goes down $down_at s after the first bytes arrived (python's
# start-up time varies with the load: do not count it). At most 10 s.
for _ in $(seq 1 200); do
	[ -e "$T/failover.started" ] && break
	kill -0 "$fo_pid" 2>/dev/null || break
	sleep 0.05
done
[ -e "$T/failover.started" ] || say "failover: no data after 10 s"
sleep "$down_at"
t_down=$EPOCHREALTIME
ip -n "$CNS" link set c1 down
fo_rc=0
wait "$fo_pid" || fo_rc=$?
stop_poll
stop_sampler
if [ "$fo_rc" -ne 0 ]; then
	cat "$T/failover.err" >&2
	die "failover: download failed"
fi
check_sha failover
[ "$(jget failover is_mptcp)" = 1 ] || die "failover: the connection is not MPTCP"
fo_end=$(jget failover end)
fo_start=$(jget failover start)
fo_after=$(awk -v e="$fo_end" -v d="$t_down" 'BEGIN { printf "%.2f", e - d }')
fo_down_rel=$(awk -v s="$fo_start" -v d="$t_down" 'BEGIN { printf "%.2f", d - s }')
# What was left to send when the link went down, at one path's measured
# rate: the time a perfect failover would still need.
fo_ideal=$(awk -v d="$t_down" -v total="$((size * 1024 * 1024))" -v mbit="$(jget baseline mbit)" '
	NR == 1 { b0 = $2 + $3 } $1 <= d { got = $2 + $3 - b0 }
	END { left = total - got; if (left < 0) left = 0; printf "%.2f", left * 8 / (mbit * 1e6) }' "$T/failover.samples")
# 100 ms steps of the 10 ms samples.
every100ms() { awk 'NR % 10 == 1' "$1"; }
# The stall: the longest run of 100 ms intervals after the link went down
# in which both paths together carried less than a quarter of one path's
# rate; recovered = from the link going down to the end of that run.
read -r fo_stall fo_recovered < <(awk -v d="$t_down" -v r="$rate" '
	NR > 1 && $1 > d { mbit = ($2 - p1 + $3 - p2) * 8 / ($1 - pt) / 1e6
		if (mbit < r / 4) { if (!s) s = pt; if ($1 - s > best) { best = $1 - s; rec = $1 - d } } else s = 0 }
	{ pt = $1; p1 = $2; p2 = $3 }
	END { printf "%.1f %.1f\n", best, rec }' <(every100ms "$T/failover.samples"))

# ---- results ----
b_mbit=$(jget baseline mbit)
ratio() { awk -v a="$(jget "$1" mbit)" -v b="$b_mbit" 'BEGIN { printf "%.2f", a / b }'; }
printf '\n%-9s %-5s %9s %7s %9s %8s %9s  %s\n' run proto "Mbit/s" ratio subflows seconds checksum notes
printf '%-9s %-5s %9s %7s %9s %8s %9s  %s\n' baseline TCP "$b_mbit" "1.00x" \
	"1" "$(jget baseline seconds)" ok "plain TCP client, path 1"
printf '%-9s %-5s %9s %7s %9s %8s %9s  %s\n' mptcp MPTCP "$(jget mptcp mbit)" "$(ratio mptcp)x" \
	"$(subflows_mptcp mptcp)" "$(jget mptcp seconds)" ok "both paths; 2nd subflow at $(jget mptcp join_ms) ms, path 2 data +${path2_delay} ms (10 ms steps)"
printf '%-9s %-5s %9s %7s %9s %8s %9s  %s\n' failover MPTCP "$(jget failover mbit)" "$(ratio failover)x" \
	"$(subflows_mptcp failover)" "$(jget failover seconds)" ok \
	"path 1 down at ${fo_down_rel} s, stall ${fo_stall} s, done ${fo_after} s later (one path: ${fo_ideal} s)"
printf '(%s, %s Mbit/s per path, %s MiB, subflows = most seen by `ss -Mi` on the server)\n\n' \
	"$family" "$rate" "$size"

if [ -n "$json" ]; then
	cat >"$json" <<EOF
{
  "family": "$family",
  "rate_mbit": $rate,
  "size_mib": $size,
  "sha256": "$want_sha",
  "namespaces": ["$CNS", "$SNS"],
  "netns_inodes": [${ns_inodes[0]}, ${ns_inodes[1]}],
  "nginx_pid": $nginx_pid,
  "tmpdir": "$T",
  "baseline": {"mbit": $b_mbit, "seconds": $(jget baseline seconds), "ratio": 1.0, "is_mptcp": $(jget baseline is_mptcp), "subflows_ss_M": $(subflows_mptcp baseline), "subflows_tcp_rows": $(subflows_tcp baseline), "checksum_ok": true},
  "mptcp": {"mbit": $(jget mptcp mbit), "seconds": $(jget mptcp seconds), "ratio": $(ratio mptcp), "is_mptcp": $(jget mptcp is_mptcp), "subflows_ss_M": $(subflows_mptcp mptcp), "subflows_tcp_rows": $(subflows_tcp mptcp), "checksum_ok": true, "join_ms": $(jget mptcp join_ms | sed 's/None/null/'), "path2_delay_ms": $path2_delay},
  "failover": {"mbit": $(jget failover mbit), "seconds": $(jget failover seconds), "ratio": $(ratio failover), "is_mptcp": $(jget failover is_mptcp), "subflows_ss_M": $(subflows_mptcp failover), "subflows_tcp_rows": $(subflows_tcp failover), "checksum_ok": true, "down_at": $fo_down_rel, "done_after_down": $fo_after, "one_path_needs": $fo_ideal, "stall": $fo_stall, "recovered_after_down": $fo_recovered}
}
EOF
fi

if [ -n "$samples_out" ]; then
	mkdir -p "$samples_out"
	for r in baseline mptcp failover; do cp "$T/$r.samples" "$samples_out/$r.txt"; done
fi

if [ -n "$chart" ]; then
	# Samples -> Mbit/s per path per interval, time from the download start.
	awk -v t0="$fo_start" 'NR > 1 { dt = $1 - pt; if (dt > 0) printf "%.2f %.2f %.2f %.2f\n", $1 - t0,
		($2 - p1) * 8 / dt / 1e6, ($3 - p2) * 8 / dt / 1e6, ($2 - p1 + $3 - p2) * 8 / dt / 1e6 }
		{ pt = $1; p1 = $2; p2 = $3 }' <(every100ms "$T/failover.samples") >"$T/chart.dat"
	case "$chart" in
	*.svg) term="svg size 860,460 dynamic font 'sans,12' background rgb 'white'" ;;
	*.png) term="pngcairo size 860,460 font 'sans,10'" ;;
	esac
	fo_end_rel=$(awk -v s="$fo_start" -v e="$fo_end" 'BEGIN { printf "%.2f", e - s }')
	gnuplot <<EOF
set terminal $term
set output '$chart'
set title "MPTCP failover through libmptcpshim + nginx: $size MiB, two paths of $rate Mbit/s ($family)"
set xlabel 'seconds since the request'
set ylabel 'Mbit/s received (100 ms intervals)'
set key outside below horizontal
set grid
set yrange [0:*]
set xrange [0:*]
set arrow from $fo_down_rel, graph 0 to $fo_down_rel, graph 1 nohead dt 2 lc rgb 'red'
set label 'path 1 down' at $fo_down_rel, graph 0.95 offset 0.5,0 tc rgb 'red'
set arrow from $fo_end_rel, graph 0 to $fo_end_rel, graph 1 nohead dt 3 lc rgb 'black'
set label 'download complete' at $fo_end_rel, graph 0.95 right offset -0.5,0
plot '$T/chart.dat' using 1:2 with lines lw 2 title 'path 1 ($c1a - $s1a)', \
     '' using 1:3 with lines lw 2 title 'path 2 ($c2a - $s2a)', \
     '' using 1:4 with lines lw 1 dt 4 lc rgb 'gray40' title 'both'
EOF
	say "chart written to $chart"
fi
exit 0
