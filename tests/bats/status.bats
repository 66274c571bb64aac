#!/usr/bin/env bats
# mptcpshim status: the kernel's view of a server's sockets (sock_diag),
# the library's published settings, net.mptcp.enabled. Ports 49000-49499.
# Network namespaces made here are named msst-$$-N and removed by teardown.

# The single quotes below are meant: the child expands the variables.
# shellcheck disable=SC2016
load common
bats_require_minimum_version 1.5.0

CLI=$BUILD/cli/mptcpshim
PEER=$TOP/tests/tools/clipeer.py
FAKEPUB=$BUILD/tests/libmptcpshim-fakepub.so

setup() {
	[ -x "$CLI" ] || {
		echo "# $CLI missing: build first" >&3
		return 1
	}
	probe_setup 49000 49499
	NETNS=()
	CGROUPS=()
	export MPTCPSHIM_LIBRARY=$SHIM
	unset MPTCPSHIM_PORTS MPTCPSHIM_LOG MPTCPSHIM_STRICT MPTCPSHIM_CONNECT \
		MPTCPSHIM_TOLERATE
	export MPTCPSHIM_CONFIG=/dev/null
}

teardown() {
	local n c
	probe_teardown
	for c in "${CGROUPS[@]}"; do rmdir "$c" 2>/dev/null || true; done
	for n in "${NETNS[@]}"; do ip netns del "$n" 2>/dev/null || true; done
}

# The JSON in $output against doc/status.schema.json.
check_schema() {
	printf '%s\n' "$output" >"$TMP/status.json"
	python3 "$TOP/tests/tools/jsoncheck.py" "$TOP/doc/status.schema.json" "$TMP/status.json"
}

other_port() {
	local p
	p=$(pick_port 49000 49499)
	[ "$p" != "$PORT" ] || p=$((PORT == 49499 ? 49000 : PORT + 1))
	echo "$p"
}

wait_line() {
	local _
	for _ in $(seq 1 50); do
		grep -q -- "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	echo "no '$2' in $1 after 5 s:" >&2
	cat "$1" >&2
	return 1
}

# A listener that stays up: python3 listening on every port given
# (SO_REUSEPORT, N sockets per port with REUSE=N), prints "listening".
listen_py() {
	exec python3 -c '
import os, socket, sys, time
n = int(os.environ.get("REUSE", "1"))
socks = []
for p in sys.argv[2:]:
    for _ in range(n):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if n > 1:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        s.bind((sys.argv[1], int(p)))
        s.listen(8)
        socks.append(s)
print("listening", flush=True)
time.sleep(60)
' "$@"
}

@test "status: bad arguments give exit 2, a missing process 1" {
	run "$CLI" status
	[ "$status" -eq 2 ]
	[[ "$output" == *"give either a PID or --unit UNIT"* ]]
	run "$CLI" status abc
	[ "$status" -eq 2 ]
	[[ "$output" == *"'abc' is not a process id"* ]]
	run "$CLI" status 99999999999999999999
	[ "$status" -eq 2 ]
	[[ "$output" == *"'99999999999999999999' is not a process id"* ]]
	run "$CLI" status 1 2
	[ "$status" -eq 2 ]
	run "$CLI" status 1 --unit x
	[ "$status" -eq 2 ]
	run "$CLI" status --bogus 1
	[ "$status" -eq 2 ]
	[[ "$output" == *"unknown option '--bogus'"* ]]
	run "$CLI" status --json --prometheus 1
	[ "$status" -eq 2 ]
	run "$CLI" status 999999999
	[ "$status" -eq 1 ]
	[[ "$output" == *"no process 999999999"* ]]
}

@test "status: a plain TCP client of an MPTCP listener is a TCP client, not a fallback" {
	need_mptcp
	other=$(other_port)
	"$CLI" run --ports "$PORT" -- python3 "$PEER" server 127.0.0.1 "$PORT" "$other" \
		>"$TMP/server.out" 2>&1 &
	PIDS+=($!)
	server=$!
	wait_line "$TMP/server.out" listening
	python3 "$PEER" client --mptcp 127.0.0.1 "$PORT" >"$TMP/c1" &
	PIDS+=($!)
	python3 "$PEER" client --mptcp 127.0.0.1 "$PORT" >"$TMP/c2" &
	PIDS+=($!)
	python3 "$PEER" client --tcp 127.0.0.1 "$PORT" >"$TMP/c3" &
	PIDS+=($!)
	python3 "$PEER" client --tcp 127.0.0.1 "$other" >"$TMP/c4" &
	PIDS+=($!)
	wait_line "$TMP/c1" is_mptcp=1
	wait_line "$TMP/c2" is_mptcp=1
	wait_line "$TMP/c3" is_mptcp=0
	wait_line "$TMP/c4" is_mptcp=0
	for _ in $(seq 50); do
		[ "$(grep -c accepted "$TMP/server.out")" -eq 4 ] && break
		sleep 0.1
	done
	# the kernel's own view, for comparison: two MPTCP connections
	[ "$(ss -HMn state established "sport = :$PORT" | wc -l)" -eq 2 ]
	run "$CLI" status -v "$server"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"listening: 2 addresses"* ]]
	[[ "$output" =~ "127.0.0.1:$PORT "\ +"MPTCP"\ +"established: 2 MPTCP (2 subflows), 0 fell back to TCP, 1 TCP client" ]]
	[[ "$output" =~ "127.0.0.1:$other "\ +"TCP"\ +"established: 0 MPTCP (0 subflows), 0 fell back to TCP, 1 TCP client" ]]
	[ "$(grep -c "<- 127.0.0.1:.*  MPTCP, 1 subflow" <<<"$output")" -eq 2 ]
	[ "$(grep -c "<- 127.0.0.1:.*  TCP client" <<<"$output")" -eq 2 ]
	run "$CLI" status --json "$server"
	check_schema
	python3 -c '
import json, sys
d = json.loads(sys.argv[1])
l = {x["port"]: x for x in d["listeners"]}
p = int(sys.argv[2])
assert l[p]["protocol"] == "mptcp" and l[p]["mptcp"] == 2, l[p]
assert l[p]["tcp_clients"] == 1 and l[p]["fallback"] == 0, l[p]
' "$output" "$PORT"
}

@test "status: an MPTCP connection whose MPTCP was negotiated away fell back to TCP" {
	need_mptcp
	# an MPTCP client of a plain TCP listener: the kernel keeps an MPTCP
	# socket with MPTCP_INFO's fallback flag
	python3 "$PEER" server 127.0.0.1 "$PORT" >"$TMP/server.out" 2>&1 &
	PIDS+=($!)
	wait_line "$TMP/server.out" listening
	python3 "$PEER" client --mptcp 127.0.0.1 "$PORT" >"$TMP/c1" &
	PIDS+=($!)
	client=$!
	wait_line "$TMP/c1" is_mptcp=0
	run "$CLI" status -v "$client"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"outbound: 0 MPTCP (0 subflows), 1 fell back to TCP, 0 TCP"* ]]
	[[ "$output" == *"-> 127.0.0.1:$PORT  fell back to TCP"* ]]
	# the server side saw a TCP client, not a fallback
	run "$CLI" status "${PIDS[0]}"
	[[ "$output" =~ "127.0.0.1:$PORT "\ +"TCP"\ +"established: 0 MPTCP (0 subflows), 0 fell back to TCP, 1 TCP client" ]]
}

@test "status: reuseport listeners are one line with their socket count" {
	need_mptcp
	other=$(other_port)
	# three MPTCP and two TCP sockets, SO_REUSEPORT, made by the program
	python3 -c '
import socket, sys, time
socks = []
for proto, port, n in ((262, sys.argv[1], 3), (0, sys.argv[2], 2)):
    for _ in range(n):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM, proto)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        s.bind(("127.0.0.1", int(port)))
        s.listen(8)
        socks.append(s)
print("listening", flush=True)
time.sleep(60)
' "$PORT" "$other" >"$TMP/l.out" 2>&1 &
	PIDS+=($!)
	wait_line "$TMP/l.out" listening
	# the kernel: three TCP subflow listeners with the mptcp upper layer
	# (ss -Ml itself may list fewer: its MPTCP dump misses reuseport
	# members on 6.18, which status makes up for)
	[ "$(ss -Hltni "sport = :$PORT" | grep -c tcp-ulp-mptcp)" -eq 3 ]
	run "$CLI" status "${PIDS[0]}"
	echo "$output"
	[[ "$output" == *"listening: 2 addresses"* ]]
	[[ "$output" =~ "127.0.0.1:$PORT "\ +"MPTCP x3"\ +"established:" ]]
	[[ "$output" =~ "127.0.0.1:$other "\ +"TCP"\ +"x2"\ +"established:" ]]
	run "$CLI" status --prometheus "${PIDS[0]}"
	[[ "$output" == *"mptcpshim_listener_sockets{pid=\"${PIDS[0]}\",listener=\"127.0.0.1:$PORT\",protocol=\"mptcp\"} 3"* ]]
}

@test "status: the library's published settings, and why a listener is TCP" {
	need_mptcp
	other=$(other_port)
	FAKEPUB_TEXT="version=0.1.0;ports=$PORT;connect=none;tolerate=none;log=warn;strict=0;config=none" \
		FAKEPUB_CONVERTED=1 FAKEPUB_STAYED=0 LD_PRELOAD=$FAKEPUB \
		bash -c "$(declare -f listen_py); listen_py 127.0.0.1 $other" >"$TMP/l.out" 2>&1 &
	PIDS+=($!)
	wait_line "$TMP/l.out" listening
	run "$CLI" status "${PIDS[0]}"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"library: loaded in 1 of 1 process"* ]]
	[[ "$output" == *" version=0.1.0 ports=$PORT connect=none tolerate=none log=warn strict=0 config=none"* ]]
	[[ "$output" == *"converted 1, left TCP 0"* ]]
	[[ "$output" == *"note: 127.0.0.1:$other is TCP: not in the library's ports (ports=$PORT)"* ]]
	run "$CLI" status --json "${PIDS[0]}"
	check_schema
	python3 -c '
import json, sys
d = json.loads(sys.argv[1])
assert d["mptcp_enabled"] == 1, d
lib = d["processes"][0]["library"]
assert lib["settings"]["strict"] is False, lib
assert lib["loaded"] and lib["settings"]["ports"] == sys.argv[2], lib
assert lib["converted"] == 1 and not lib["broken"], lib
' "$output" "$PORT"
}

@test "status: the real library's block: its ports, and a listener left out of them" {
	need_mptcp
	other=$(other_port)
	"$CLI" run --ports "$PORT" -- "$PROBE" listen --serve 1 127.0.0.1 "$PORT" \
		>"$TMP/a.out" 2>&1 &
	PIDS+=($!)
	"$CLI" run --ports "$PORT" -- "$PROBE" listen --serve 1 127.0.0.1 "$other" \
		>"$TMP/b.out" 2>&1 &
	PIDS+=($!)
	wait_listen "$PORT"
	wait_listen "$other"
	run "$CLI" status "${PIDS[0]}"
	echo "$output"
	[[ "$output" == *"library: loaded in 1 of 1 process"* ]]
	[[ "$output" =~ "settings (1 process): version="[^\ ]+" ports=$PORT connect=none " ]]
	[[ "$output" == *"converted 1, left TCP 0"* ]]
	[[ "$output" =~ "127.0.0.1:$PORT "\ +"MPTCP"\ +"established:" ]]
	run "$CLI" status "${PIDS[1]}"
	echo "$output"
	[[ "$output" =~ "127.0.0.1:$other "\ +"TCP"\ +"established:" ]]
	[[ "$output" == *"converted 0, left TCP 0"* ]]
	[[ "$output" == *"note: 127.0.0.1:$other is TCP: not in the library's ports (ports=$PORT)"* ]]
}

@test "status: nginx daemonized with 2 workers and 2 converted listeners counts 2 conversions" {
	need_mptcp
	command -v nginx >/dev/null || skip "no nginx (scripts/install-deps.sh installs it)"
	mkdir -p "$TMP/ngx/logs"
	cat >"$TMP/ngx/nginx.conf" <<-EOF
		pid $TMP/ngx/nginx.pid;
		error_log $TMP/ngx/logs/error.log;
		worker_processes 2;
		events {}
		http {
		  access_log off;
		  server { listen 127.0.0.1:$PORT; listen [::1]:$PORT; }
		}
	EOF
	# nginx forks to become a daemon: the process that converted the
	# listeners exits; its child, the master, forks the workers.
	"$CLI" run --ports "$PORT" -- nginx -p "$TMP/ngx" -c "$TMP/ngx/nginx.conf" \
		>"$TMP/ngx.out" 2>&1
	master=$(cat "$TMP/ngx/nginx.pid")
	PIDS+=("$master")
	wait_listen "$PORT"
	run "$CLI" status "$master"
	echo "$output"
	[[ "$output" == *"library: loaded in 3 of 3 processes"* ]]
	[[ "$output" == *"converted 2, left TCP 0"* ]]
}

@test "status: a broken configuration is named from the published block" {
	need_mptcp
	FAKEPUB_TEXT="version=0.1.0;ports=none;error=/etc/mptcpshim.conf:3: invalid entry \"x\"" \
		FAKEPUB_FLAGS=1 LD_PRELOAD=$FAKEPUB \
		bash -c "$(declare -f listen_py); listen_py 127.0.0.1 $PORT" >"$TMP/l.out" 2>&1 &
	PIDS+=($!)
	wait_line "$TMP/l.out" listening
	run "$CLI" status "${PIDS[0]}"
	echo "$output"
	[[ "$output" == *"converted 0, left TCP 0 (invalid configuration: nothing converted)"* ]]
	[[ "$output" == *"note: invalid configuration: nothing converted (/etc/mptcpshim.conf:3: invalid entry \"x\")"* ]]
}

@test "status: a process without the library says so" {
	need_mptcp
	listen_py 127.0.0.1 "$PORT" >"$TMP/l.out" 2>&1 &
	PIDS+=($!)
	wait_line "$TMP/l.out" listening
	run "$CLI" status "${PIDS[0]}"
	echo "$output"
	[[ "$output" == *"library: not loaded"* ]]
	[[ "$output" == *"note: the library is not loaded in these processes"* ]]
}

@test "status: LD_PRELOAD ignored by the loader (set-user-ID) is told apart from not preloaded" {
	need_root
	need_mptcp
	# a set-user-ID copy of python3 owned by nobody, run by root: the
	# loader runs in secure mode and drops LD_PRELOAD entries with '/'
	mkdir -p "$TMP/bin"
	chmod 755 "$TMP" "$TMP/bin"
	# the interpreter itself (an ELF file), not a wrapper script on PATH
	cp "$(readlink -f /usr/bin/python3)" "$TMP/bin/python3"
	[ "$(head -c4 "$TMP/bin/python3" | tail -c3)" = ELF ]
	chown nobody "$TMP/bin/python3"
	chmod 4755 "$TMP/bin/python3"
	LD_PRELOAD=$SHIM "$TMP/bin/python3" -c '
import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(4)
print("listening", flush=True); time.sleep(60)
' "$PORT" >"$TMP/l.out" 2>&1 &
	PIDS+=($!)
	wait_line "$TMP/l.out" listening
	run ! grep -q libmptcpshim "/proc/${PIDS[0]}/maps"
	run "$CLI" status "${PIDS[0]}"
	echo "$output"
	[[ "$output" == *"library: not loaded"* ]]
	[[ "$output" == *"note: LD_PRELOAD names libmptcpshim but the loader did not load it"* ]]
}

@test "status: net.mptcp.enabled = 0 is named instead of the port list" {
	need_root
	need_mptcp
	ns=msst-$$-1
	ip netns add "$ns"
	NETNS+=("$ns")
	ip -n "$ns" link set lo up
	ip netns exec "$ns" sysctl -qw net.mptcp.enabled=0
	ip netns exec "$ns" "$CLI" run --ports "$PORT" -- "$PROBE" listen --serve 1 127.0.0.1 "$PORT" \
		>"$TMP/l.out" 2>&1 &
	PIDS+=($!)
	wait_line "$TMP/l.out" "proto="
	pid=$(pgrep -f "shimprobe listen --serve 1 127.0.0.1 $PORT" | head -1)
	run "$CLI" status "$pid"
	echo "$output"
	[[ "$output" == *"net.mptcp.enabled = 0"* ]]
	[[ "$output" =~ "127.0.0.1:$PORT "\ +"TCP " ]]
	[[ "$output" == *"note: net.mptcp.enabled = 0 in the processes' network namespace"* ]]
	[[ "$output" != *"not in the library's ports"* ]]
}

@test "status: two subflows of one connection, in a network namespace" {
	need_root
	need_mptcp
	ns=msst-$$-2
	ip netns add "$ns"
	NETNS+=("$ns")
	cat >"$TMP/ns.sh" <<-EOF
	set -e
	ip link set lo up
	ip addr add 192.0.2.1/32 dev lo
	ip addr add 192.0.2.2/32 dev lo
	ip mptcp limits set subflows 2 add_addr_accepted 2
	ip mptcp endpoint add 192.0.2.2 dev lo subflow
	"$CLI" run --ports $PORT -- python3 "$PEER" server 192.0.2.1 $PORT >"$TMP/server.out" 2>&1 &
	server=\$!
	for i in \$(seq 50); do grep -q listening "$TMP/server.out" && break; sleep 0.1; done
	python3 "$PEER" client --mptcp 192.0.2.1 $PORT >"$TMP/c1" &
	client=\$!
	for i in \$(seq 50); do grep -q is_mptcp "$TMP/c1" && break; sleep 0.1; done
	for i in \$(seq 50); do
		"$CLI" status \$server >"$TMP/status" || true
		grep -q "2 subflows" "$TMP/status" && break
		sleep 0.1
	done
	ss -HMni >"$TMP/ss"
	kill \$server \$client
	EOF
	run timeout 30 ip netns exec "$ns" bash "$TMP/ns.sh"
	cat "$TMP/status" "$TMP/ss"
	# the kernel says two subflows (one extra), and so does status
	grep -q "subflows:1 " "$TMP/ss"
	[[ "$(cat "$TMP/status")" == *"total: 1 MPTCP (2 subflows), 0 fell back to TCP, 0 TCP"* ]]
}

@test "status: a process in another network namespace is read from there" {
	need_root
	need_mptcp
	ns=msst-$$-3
	ip netns add "$ns"
	NETNS+=("$ns")
	ip -n "$ns" link set lo up
	ip netns exec "$ns" "$CLI" run --ports "$PORT" -- "$PROBE" listen --serve 1 127.0.0.1 "$PORT" \
		>"$TMP/ns.out" 2>&1 &
	PIDS+=($!)
	wait_line "$TMP/ns.out" "proto=262"
	pid=$(pgrep -f "shimprobe listen --serve 1 127.0.0.1 $PORT" | head -1)
	run "$CLI" status "$pid"
	[ "$status" -eq 0 ]
	[[ "$output" =~ "127.0.0.1:$PORT "\ +"MPTCP" ]]
}

@test "status --prometheus: node_exporter's textfile format, per listener" {
	need_mptcp
	"$CLI" run --ports "$PORT" -- python3 "$PEER" server 127.0.0.1 "$PORT" \
		>"$TMP/server.out" 2>&1 &
	PIDS+=($!)
	server=$!
	wait_line "$TMP/server.out" listening
	python3 "$PEER" client --mptcp 127.0.0.1 "$PORT" >"$TMP/c1" &
	PIDS+=($!)
	python3 "$PEER" client --tcp 127.0.0.1 "$PORT" >"$TMP/c2" &
	PIDS+=($!)
	wait_line "$TMP/c1" is_mptcp=1
	wait_line "$TMP/c2" is_mptcp=0
	run "$CLI" status --prometheus "$server"
	echo "$output"
	[ "$status" -eq 0 ]
	# every line: a HELP, a TYPE, or NAME{LABELS} VALUE; every metric
	# has its HELP and TYPE before it
	python3 -c '
import re, sys
seen = set()
for line in sys.argv[1].splitlines():
    m = re.match(r"# (HELP|TYPE) ([a-z_]+) ", line)
    if m:
        seen.add(m.group(2)); continue
    m = re.match(r"([a-z_]+)\{([a-z_]+=\"[^\"]*\",?)+\} [0-9]+$", line)
    assert m, line
    assert m.group(1) in seen, line
' "$output"
	l="pid=\"$server\",listener=\"127.0.0.1:$PORT\",protocol=\"mptcp\""
	[[ "$output" == *"mptcpshim_mptcp_connections{$l} 1"* ]]
	[[ "$output" == *"mptcpshim_mptcp_subflows{$l} 1"* ]]
	[[ "$output" == *"mptcpshim_tcp_clients{$l} 1"* ]]
	[[ "$output" == *"mptcpshim_fallback_connections{$l} 0"* ]]
	[[ "$output" == *"mptcpshim_mptcp_enabled{pid=\"$server\"} 1"* ]]
}

# --unit without a booted systemd: a private /run with
# /run/systemd/system (what sd_booted() looks at), a systemctl on PATH
# that answers 'show' as systemd does, and a real control group.
fake_systemd_status() { # UNIT LOADSTATE CGROUP
	mkdir -p "$TMP/bin"
	cat >"$TMP/bin/systemctl" <<-EOF
	#!/bin/sh
	[ "\$1" = show ] || exit 1
	printf 'LoadState=%s\nActiveState=%s\nControlGroup=%s\n' "$2" \
		"$([ -n "$3" ] && echo active || echo inactive)" "$3"
	EOF
	chmod +x "$TMP/bin/systemctl"
	run unshare --mount sh -c 'mount -t tmpfs tmpfs /run &&
		mkdir -p /run/systemd/system &&
		PATH="$1:$PATH" exec "$2" status --unit "$3"' _ "$TMP/bin" "$CLI" "$1"
}

@test "status --unit: the control group under hybrid (name=systemd) and unified hierarchies" {
	need_root
	need_mptcp
	# hybrid: name=systemd and unified/ below a tmpfs; unified only:
	# /sys/fs/cgroup itself (whichever this host has)
	roots=(/sys/fs/cgroup/systemd /sys/fs/cgroup/unified)
	[ "$(stat -f -c %T /sys/fs/cgroup)" = cgroup2fs ] && roots=(/sys/fs/cgroup)
	for root in "${roots[@]}"; do
		[ -d "$root" ] || continue
		cg=/mptcpshim-test-$$-$(basename "$root")
		mkdir "$root$cg"
		CGROUPS+=("$root$cg")
		"$CLI" run --ports "$PORT" -- "$PROBE" listen --serve 1 127.0.0.1 "$PORT" \
			>"$TMP/l.out" 2>&1 &
		pid=$!
		PIDS+=("$pid")
		echo "$pid" >"$root$cg/cgroup.procs"
		wait_line "$TMP/l.out" "proto=262"
		fake_systemd_status demo.service loaded "$cg"
		echo "$output"
		[ "$status" -eq 0 ]
		[[ "$output" == *"unit demo.service: 1 process"* ]]
		[[ "$output" =~ "127.0.0.1:$PORT "\ +"MPTCP" ]]
		kill "$pid"
		wait "$pid" || true
		rmdir "$root$cg"
	done
	[ "${#CGROUPS[@]}" -gt 0 ]
}

@test "status --unit nosuch: the unit was not found (LoadState=not-found)" {
	need_root
	fake_systemd_status nosuch.service not-found ""
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "$output" == *"unit nosuch.service not found (LoadState=not-found)"* ]]
	fake_systemd_status idle.service loaded ""
	[ "$status" -eq 1 ]
	[[ "$output" == *"unit idle.service is not running (ActiveState=inactive, no control group)"* ]]
}

@test "status --unit needs a running systemd (or says so)" {
	if [ -d /run/systemd/system ]; then
		run "$CLI" status --unit mptcpshim-no-such-unit.service
		[ "$status" -eq 1 ]
		[[ "$output" == *"not found (LoadState=not-found)"* ]]
	else
		run "$CLI" status --unit nginx
		[ "$status" -eq 1 ]
		[[ "$output" == *"--unit needs a running systemd"* ]]
	fi
}

@test "status: an invalid MPTCPSHIM_PORTS is named, not shown as ports=all" {
	need_mptcp
	# env execs the probe, so $! is the probe (a backgrounded shell
	# function is a subshell: killing it left the probe running, holding
	# bats' output and hanging the whole run at its end)
	env LD_PRELOAD="$SHIM" MPTCPSHIM_CONFIG=/dev/null MPTCPSHIM_PORTS=abc \
		"$PROBE" listen --serve 1 127.0.0.1 "$PORT" >"$TMP/l.out" 2>&1 3>&- &
	PIDS+=($!)
	wait_listen "$PORT"
	run "$CLI" status "${PIDS[0]}"
	echo "$output"
	[[ "$output" != *"ports=all"* ]]
	[[ "$output" == *" ports=(invalid) "* ]]
	[[ "$output" == *"converted 0, left TCP 0 (invalid ports setting: nothing converted)"* ]]
	[[ "$output" == *'note: invalid ports setting: nothing converted (MPTCPSHIM_PORTS: invalid entry "abc"'* ]]
	run "$CLI" status --json "${PIDS[0]}"
	check_schema
}

@test "status: a wrong LD_PRELOAD order is named as such, not as a broken configuration" {
	need_mptcp
	local libc
	libc=$(ldd "$PROBE" | awk '$1 ~ /^libc\.so/ { print $3 }')
	[ -e "$libc" ]
	LD_PRELOAD="$libc $SHIM" MPTCPSHIM_CONFIG=/dev/null MPTCPSHIM_PORTS=$PORT \
		"$PROBE" listen --serve 1 127.0.0.1 "$PORT" >"$TMP/l.out" 2>&1 &
	PIDS+=($!)
	wait_listen "$PORT"
	run "$CLI" status "${PIDS[0]}"
	echo "$output"
	[[ "$output" != *"configuration"* ]]
	[[ "$output" == *"note: wrong LD_PRELOAD order: the library is loaded after libc, so the program's socket() and bind() do not reach it: nothing converted (libmptcpshim is loaded after libc"* ]]
}

@test "status: 'established:' counts ESTABLISHED connections only; CLOSE-WAIT is in other states" {
	need_mptcp
	python3 -c '
import socket, sys, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(4)
print("listening", flush=True)
c, _ = s.accept()
print("accepted", flush=True)
time.sleep(60)
' "$PORT" >"$TMP/l.out" 2>&1 &
	PIDS+=($!)
	wait_line "$TMP/l.out" listening
	# the client closes at once: the accepted socket stays in CLOSE-WAIT
	python3 -c 'import socket, sys; socket.create_connection(("127.0.0.1", int(sys.argv[1]))).close()' "$PORT"
	wait_line "$TMP/l.out" accepted
	local _
	for _ in $(seq 1 50); do
		[ -n "$(ss -Htn state close-wait "sport = :$PORT")" ] && break
		sleep 0.1
	done
	run "$CLI" status "${PIDS[0]}"
	echo "$output"
	[[ "$output" == *"established: 0 MPTCP (0 subflows), 0 fell back to TCP, 0 TCP clients; 1 in other states (closing or opening)"* ]]
	run "$CLI" status --json -v "${PIDS[0]}"
	check_schema
	python3 -c '
import json, sys
d = json.loads(sys.argv[1])
assert d["listeners"][0]["tcp_clients"] == 0 and d["listeners"][0]["other_state"] == 1, d
assert d["connections"][0]["established"] is False, d
' "$output"
}

@test "jsoncheck: both validators refuse status's old JSON strings (\"mptcp_enabled\":\"1\", \"strict\":\"0\") and take the numbers" {
	need_mptcp
	listen_py 127.0.0.1 "$PORT" >"$TMP/l.out" 2>&1 &
	PIDS+=($!)
	wait_line "$TMP/l.out" listening
	run "$CLI" status --json "${PIDS[0]}"
	check_schema
	python3 "$TOP/tests/tools/jsoncheck.py" --small "$TOP/doc/status.schema.json" "$TMP/status.json"
	python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
d["mptcp_enabled"] = "1"
d["processes"][0]["library"]["settings"] = {"strict": "0"}
d["listeners"][0]["bogus"] = 1
json.dump(d, open(sys.argv[1], "w"))' "$TMP/status.json"
	local small
	for small in "" --small; do
		run python3 "$TOP/tests/tools/jsoncheck.py" $small "$TOP/doc/status.schema.json" "$TMP/status.json"
		echo "$output"
		[ "$status" -eq 1 ]
		[[ "$output" == *"mptcp_enabled: '1' is not of type"* ]]
		[[ "$output" == *"strict: '0' is not of type"* ]]
		[[ "$output" == *"bogus"* ]]
	done
}
