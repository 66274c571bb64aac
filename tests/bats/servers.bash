# shellcheck shell=bash
# Helpers of servers.bats: each test starts one of Debian's servers under
# libmptcpshim in a network namespace of its own, from a configuration it
# writes into its own directory, talks to it with tests/tools/srvpeer.py
# and records one row of the compatibility matrix. Load after common.
#
# Everything runs inside the test's namespace, so ending every process
# in it (`ip netns pids`) ends exactly what the test started, daemons
# that detached included. Set SRV_KEEP=1 to keep the directory of a
# failed test for debugging, SRV_KEEP=all to keep every test's.

# Debian's interpreter, not whatever `python3` is first on PATH: the
# Python server of the matrix is Debian's, and the peer needs nothing else.
SRV_PY=/usr/bin/python3
SRV_PEER=$TOP/tests/tools/srvpeer.py
# One row per test, tab-separated; tests/tools/servers-table.py renders it.
SRV_RESULTS=${SERVERS_RESULTS:-$BUILD/servers-results.tsv}
# The columns of a row, in order (see srv_row_write).
SRV_COLUMNS=(server version listener mptcp tcp unlisted reload outbound
	prebind afterbind accepted outopts tolerate notes)

# Ports inside the test's own namespace (nothing else listens there).
# shellcheck disable=SC2034 # used by servers.bats
P=49001  # listed in MPTCPSHIM_PORTS
# shellcheck disable=SC2034
U=49002  # not listed
# shellcheck disable=SC2034
P2=49003 # listed, used by a reload or a runtime change
# shellcheck disable=SC2034
BT=49011 # backend the server reaches, not named in MPTCPSHIM_CONNECT
# shellcheck disable=SC2034
BM=49012 # backend the server reaches, named in MPTCPSHIM_CONNECT

# The servers that drop privileges (postgres, redis, ...) load the library
# as their own users, who may not reach the build directory: a clone under
# /root is mode 0700. Called from setup_file: the library is copied into
# a temporary directory anyone can read, and $SRV_SHIM names the copy
# (exported: the tests run in other processes).
srv_lib_setup() {
	SRV_LIB_DIR=$(mktemp -d "${BATS_TMPDIR:-/tmp}/mptcpshim-lib.XXXXXX")
	chmod 755 "$SRV_LIB_DIR"
	cp "$SHIM" "$SRV_LIB_DIR/libmptcpshim.so"
	chmod 644 "$SRV_LIB_DIR/libmptcpshim.so"
	SRV_SHIM=$SRV_LIB_DIR/libmptcpshim.so
	export SRV_SHIM SRV_LIB_DIR
}

srv_lib_teardown() {
	[ -z "${SRV_LIB_DIR:-}" ] || rm -rf "$SRV_LIB_DIR"
}

# The version of the release's PostgreSQL server (15 on Debian 12, 17 on
# 13): the highest one installed.
srv_pg_major() {
	local d
	d=$(find /usr/lib/postgresql -mindepth 3 -maxdepth 3 -path '*/bin/postgres' 2>/dev/null |
		sort -V | tail -n 1)
	d=${d#/usr/lib/postgresql/}
	echo "${d%%/*}"
}

# Debian's python3.N package behind $SRV_PY (3.11 on Debian 12, 3.13 on 13).
srv_py_package() {
	"$SRV_PY" -c 'import sys; print("python3.%d" % sys.version_info[1])'
}

srv_setup() {
	SRV_DIR=$(mktemp -d "${BATS_TMPDIR:-/tmp}/mptcpshim-srv.XXXXXX")
	# Servers drop privileges: their users must reach their files.
	chmod 755 "$SRV_DIR"
	SRV_NS=mptcpshim-srv-$$-${BATS_TEST_NUMBER:-0}
	ip netns add "$SRV_NS"
	ip -n "$SRV_NS" link set lo up
	ip netns exec "$SRV_NS" sysctl -qw net.mptcp.enabled=1
	SRV_STOP=()
	declare -gA ROW=()
}

# Ends every process in the namespace: TERM, then KILL after 5 s.
srv_kill_all() {
	local pids _
	pids=$(ip netns pids "$SRV_NS" 2>/dev/null) || return 0
	[ -n "$pids" ] || return 0
	# shellcheck disable=SC2086 # a list of pids
	kill -TERM $pids 2>/dev/null || true
	for _ in $(seq 1 50); do
		[ -n "$(ip netns pids "$SRV_NS" 2>/dev/null)" ] || return 0
		sleep 0.1
	done
	pids=$(ip netns pids "$SRV_NS" 2>/dev/null)
	# shellcheck disable=SC2086
	[ -z "$pids" ] || kill -KILL $pids 2>/dev/null || true
}

srv_teardown() {
	local c
	[ -n "${SRV_NS:-}" ] || return 0
	if [ -z "${BATS_TEST_COMPLETED:-}" ]; then
		srv_diag
	fi
	# A server's own stop command first (it may clean up after itself).
	for c in "${SRV_STOP[@]}"; do
		timeout 10 bash -c "$c" >/dev/null 2>&1 || true
	done
	srv_kill_all
	ip netns del "$SRV_NS" 2>/dev/null || true
	srv_row_write
	case "${SRV_KEEP:-}/${BATS_TEST_COMPLETED:-}" in
	all/* | ?*/) echo "# kept $SRV_DIR" >&3 ;;
	*) rm -rf "$SRV_DIR" ;;
	esac
}

# Prints what helps understand a failure (bats shows it only then).
srv_diag() {
	local f
	for f in "$SRV_DIR"/*.out "$SRV_DIR"/*.log "$SRV_DIR"/*/*.log; do
		[ -s "$f" ] && { echo "--- ${f##*/}"; tail -n 25 "$f"; }
	done
	echo "--- ss -Mlnp / -ltnp in $SRV_NS"
	ip netns exec "$SRV_NS" ss -HMlnp 2>/dev/null || true
	ip netns exec "$SRV_NS" ss -Hltnp 2>/dev/null || true
	return 0
}

# ---- the result row ----

# row KEY VALUE: one cell of this test's row.
row() {
	ROW[$1]=$2
}

# Appends the row to $SRV_RESULTS. A cell the test did not reach says so;
# a failed test is marked in the last column.
srv_row_write() {
	local c line="" v status=pass
	[ -n "${ROW[server]:-}" ] || return 0
	[ -n "${BATS_TEST_COMPLETED:-}" ] || status=FAIL
	for c in "${SRV_COLUMNS[@]}"; do
		v=${ROW[$c]:-}
		if [ -z "$v" ]; then
			if [ "$status" = FAIL ]; then v="not reached (test failed)"; else v="-"; fi
		fi
		v=${v//$'\t'/ }
		v=${v//$'\r'/}
		line+="${v//$'\n'/ }"$'\t'
	done
	mkdir -p "$(dirname "$SRV_RESULTS")"
	printf '%s\t%s%s\n' "${BATS_TEST_NUMBER:-0}" "$line" "$status" >>"$SRV_RESULTS"
}

# The installed version of a Debian package.
pkg_version() {
	dpkg-query -W -f='${Version}' "$1"
}

# The cells every test fills first: server, version, and the socket
# options it sets (read with strace): before bind(), on the listener
# after bind(), on accepted sockets, on its outbound sockets before
# connect() ("-": none). A test that sets MPTCPSHIM_TOLERATE also fills
# the cell tolerate with it.
row_start() { # SERVER VERSION PREBIND AFTERBIND ACCEPTED OUTOPTS
	row server "$1"
	row version "$2"
	row prebind "$3"
	row afterbind "$4"
	row accepted "$5"
	row outopts "$6"
}

# ---- the exchanges ----
# Each test defines talk ADDR PORT [--tcp]: one protocol exchange through
# srvpeer (or a real client) that prints a "mptcp=..." line and what the
# server answered, and sets EXPECT to the lines a right answer contains.

# shellcheck disable=SC2154 # output, status: set by bats' run
# exchange ADDR PORT MPTCP: talk must succeed, report mptcp=MPTCP (1 or
# 0) and print every line of EXPECT; MPTCP 0 asks for a plain TCP client
# unless the port is an unlisted one (then an MPTCP client falls back).
exchange() {
	local tcp=() l
	[ "$3" = 0 ] && [ "$2" = "$P" ] && tcp=(--tcp)
	run talk "$1" "$2" "${tcp[@]}"
	if [ "$status" -ne 0 ]; then
		echo "talk $1 $2 ${tcp[*]} failed ($status):"
		echo "$output"
		return 1
	fi
	for l in "mptcp=$3" "${EXPECT[@]}"; do
		has_line "$l"
	done
}

# The checks every row starts with: the listener on P is MPTCP on
# 127.0.0.1 and ::1 (`ss -Ml`), an MPTCP client is served over MPTCP on
# both, a TCP client is served over TCP. $1 names the exchange.
check_listener_and_clients() {
	[ "$(mptcp_listener_addrs "$P")" = "127.0.0.1:$P [::1]:$P" ]
	row listener "yes: 127.0.0.1:$P, [::1]:$P"
	exchange 127.0.0.1 "$P" 1
	exchange ::1 "$P" 1
	row mptcp "yes: $1, IPv4 and IPv6"
	exchange 127.0.0.1 "$P" 0
	row tcp "yes: the same exchange"
}

# The listener on the unlisted port U is TCP only, and an MPTCP client
# that comes there falls back to TCP and is served.
check_unlisted() { # [WHAT]
	assert_tcp_only "$U"
	exchange 127.0.0.1 "$U" 0
	row unlisted "stays TCP (${1:+$1; }an MPTCP client falls back and is served)"
}

# After a reload: the very MPTCP listeners that were there before (their
# inodes, $1), still serving MPTCP.
check_kept() { # INODES
	[ "$(mptcp_listener_inodes "$P")" = "$1" ]
	exchange 127.0.0.1 "$P" 1
}

# An HTTP server whose /bt/ and /bm/ lead to the backends BT and BM:
# the first is reached over TCP, the second (named in MPTCPSHIM_CONNECT)
# over MPTCP.
check_http_outbound() { # WHAT
	backend bt http "$BT"
	backend bm http "$BM"
	run peer http 127.0.0.1 "$P" /bt/
	[ "$status" -eq 0 ]
	has_line "body=backend proto=6"
	run peer http 127.0.0.1 "$P" /bm/
	[ "$status" -eq 0 ]
	has_line "body=backend proto=262"
	row outbound "$1: TCP; MPTCP to the port named in MPTCPSHIM_CONNECT"
}

# Waits until backend NAME recorded a connection, then checks that every
# connection it recorded came with protocol PROTO.
backend_saw() { # NAME PROTO
	wait_line "$SRV_DIR/$1.out" "^accepted"
	[ "$(grep '^accepted' "$SRV_DIR/$1.out" | sort -u)" = "accepted proto=$2" ]
}

# ---- running things in the namespace ----

# ip netns exec, without a line iproute2 sometimes prints on hosts with
# hybrid cgroups ("Failed to find cgroup2 mount", harmless) that would
# otherwise land in the output the tests read.
ns() {
	ip netns exec "$SRV_NS" "$@" 2> >(grep -v '^Failed to find cgroup2 mount$' >&2)
}

# srv_exec SECONDS NAME VAR=VALUE... -- COMMAND...: runs COMMAND in the
# namespace (and in IPC and mount namespaces of its own: a killed server
# leaves no SysV memory, and /run can be private) with the library
# preloaded, no configuration file and the given settings, for at most
# SECONDS (0: no limit); output appended to $SRV_DIR/NAME.out.
srv_exec() {
	local seconds=$1 name=$2 vars=()
	shift 2
	while [ "$#" -gt 0 ] && [ "$1" != -- ]; do
		vars+=("$1")
		shift
	done
	shift
	timeout "$seconds" ip netns exec "$SRV_NS" unshare --ipc --mount --propagation private \
		env LD_PRELOAD="${SRV_SHIM:?srv_lib_setup in setup_file}" MPTCPSHIM_CONFIG=/dev/null "${vars[@]}" "$@" \
		>>"$SRV_DIR/$name.out" 2>&1 </dev/null 3>&-
}

# srv_start NAME VAR=VALUE... -- COMMAND...: a server in the background
# (the teardown ends it).
srv_start() {
	srv_exec 0 "$@" &
}

# srv_run NAME VAR=VALUE... -- COMMAND...: in the foreground, bounded
# (30 s), for commands that start a daemon and return, or signal one
# (apache2 -k start, postfix reload); returns the command's status.
srv_run() {
	srv_exec 30 "$@"
}

# A backend (srvpeer serve KIND, not preloaded) on 127.0.0.1:PORT whose
# log, $SRV_DIR/NAME.out, says per connection whether it came over MPTCP.
backend() { # NAME KIND PORT
	ns timeout 120 "$SRV_PY" "$SRV_PEER" serve "$2" 127.0.0.1 "$3" \
		--seconds 100 >"$SRV_DIR/$1.out" 2>&1 </dev/null 3>&- &
	srv_wait_listen "$3"
}

# After `run ...`: the output has the line $1 (exactly, a CR at its end
# aside); shows the whole output otherwise.
# shellcheck disable=SC2154 # output: set by bats' run
has_line() {
	grep -qxF -- "$1" <<<"${output//$'\r'/}" && return 0
	echo "no line '$1' in:"
	echo "$output"
	return 1
}

# srvpeer in the namespace, bounded.
peer() {
	ns timeout 30 "$SRV_PY" "$SRV_PEER" "$@"
}

# The number of connections backend log $1 has recorded so far.
accepted_count() {
	grep -c '^accepted proto=' "$1" || true
}
# Waits for connections after the first $2 in backend log $1 and prints
# their "accepted proto=N" lines (one or more: servers retry).
accepted_since() { # FILE N
	wait_count "$1" '^accepted proto=' $(($2 + 1)) >&2 || return 1
	grep '^accepted proto=' "$1" | tail -n +$(($2 + 1)) | sort -u
}

# Waits (at most $2 s, default 15) until something listens on TCP port $1.
srv_wait_listen() {
	local _
	for _ in $(seq 1 $((${2:-15} * 10))); do
		[ -n "$(ns ss -Hltn "sport = :$1")" ] && return 0
		sleep 0.1
	done
	echo "nothing listens on port $1 after ${2:-15} s" >&2
	return 1
}

# Waits (at most 15 s) until file $1 has at least $3 lines matching $2.
wait_count() {
	local _
	for _ in $(seq 1 150); do
		[ "$(grep -c -- "$2" "$1" 2>/dev/null)" -ge "$3" ] && return 0
		sleep 0.1
	done
	echo "fewer than $3 lines matching '$2' in $1 after 15 s" >&2
	return 1
}

# Waits (at most 15 s) until file $1 contains a line matching $2.
wait_line() {
	wait_count "$1" "$2" 1
}

# Number of MPTCP listeners on port $1 (`ss -M` lists only those).
mptcp_listeners() {
	ns ss -HMln "sport = :$1" | grep -c . || true
}
# Number of TCP listening rows on port $1 (an MPTCP listener has one too:
# its first subflow's listener).
tcp_listeners() {
	ns ss -Hltn "sport = :$1" | grep -c . || true
}
# The sorted local addresses of the MPTCP listeners on port $1, one line.
mptcp_listener_addrs() {
	ns ss -HMln "sport = :$1" | awk '{print $4}' | sort | tr '\n' ' ' | sed 's/ $//'
}
# Inodes of the MPTCP listeners on port $1 (a reload keeps or renews them).
mptcp_listener_inodes() {
	ns ss -HMlne "sport = :$1" | grep -o 'ino:[0-9]*' | sort | tr '\n' ' '
}

# The port is served by a TCP listener only: asserted, then recorded.
assert_tcp_only() { # PORT
	[ "$(mptcp_listeners "$1")" -eq 0 ]
	[ "$(tcp_listeners "$1")" -ge 1 ]
}

# No line of the files matches the pattern (grep -i); prints the lines
# that do and fails otherwise.
absent() { # PATTERN FILE...
	! grep -i -- "$@"
}

# Library messages that must not appear: a fallback on a listed port or a
# refusal. Prints them (for the failure output) and fails if any.
no_fallback() { # FILE...
	! grep -h 'mptcpshim\[[0-9]*\]: \(warn\|error\)' "$@"
}
