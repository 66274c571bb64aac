#!/usr/bin/env bats
# mptcpshim doctor against the conditions that break MPTCP in the field,
# built in network namespaces (msdp-$$-*, documentation prefixes only,
# removed by teardown): a server and a client joined by two paths
# (192.0.2.0/24 and 2001:db8:a::/64 on a, 198.51.100.0/24 on b; the
# server announces its b address). Each condition is proved with the
# kernel's own counters (nstat MPTcpExt*) and MPTCP_INFO on the client
# (pathpeer.py) before doctor is asked; each fix doctor prints is run and
# the finding must be gone, and the connection MPTCP again.

load common
load doctor
bats_require_minimum_version 1.5.0

CLI=$BUILD/cli/mptcpshim
PEER=$TOP/tests/tools/pathpeer.py

setup() {
	[ -x "$CLI" ] || {
		echo "# $CLI missing: build first" >&3
		return 1
	}
	need_root
	need_mptcp
	command -v nft >/dev/null || skip "no nft (scripts/install-deps.sh installs nftables)"
	probe_setup 49000 49499
	NETNS=()
	doctor_env
}

teardown() {
	local n
	probe_teardown
	for n in "${NETNS[@]}"; do ip netns del "$n" 2>/dev/null || true; done
}

# The two-path lab: $srv and $cli, the server's MPTCP listener on $PORT.
# $1: the client's address on path b (default 198.51.100.1/24, on the
# server's subnet; another one needs its own route).
lab() {
	local b=${1:-198.51.100.1/24}
	srv=msdp-$$-s
	cli=msdp-$$-c
	ip netns add "$srv"
	NETNS+=("$srv")
	ip netns add "$cli"
	NETNS+=("$cli")
	ip -n "$srv" link set lo up
	ip -n "$cli" link set lo up
	ip -n "$srv" link add a0 type veth peer name a1 netns "$cli"
	ip -n "$srv" link add b0 type veth peer name b1 netns "$cli"
	ip -n "$srv" addr add 192.0.2.10/24 dev a0
	ip -n "$srv" addr add 2001:db8:a::10/64 dev a0 nodad
	ip -n "$srv" addr add 198.51.100.10/24 dev b0
	ip -n "$cli" addr add 192.0.2.1/24 dev a1
	ip -n "$cli" addr add 2001:db8:a::1/64 dev a1 nodad
	ip -n "$cli" addr add "$b" dev b1
	for l in a0 b0; do ip -n "$srv" link set "$l" up; done
	for l in a1 b1; do ip -n "$cli" link set "$l" up; done
	ip -n "$srv" mptcp endpoint add 198.51.100.10 dev b0 signal
	ip -n "$srv" mptcp limits set subflows 2 add_addr_accepted 0
	ip -n "$cli" mptcp limits set subflows 2 add_addr_accepted 2
	# blackhole detection (6.12+) would turn the client's MPTCP off after
	# a test's dropped SYNs; its own test turns it back on
	[ ! -e /proc/sys/net/mptcp/blackhole_timeout ] ||
		ip netns exec "$cli" sysctl -qw net.mptcp.blackhole_timeout=0
	ip netns exec "$srv" python3 "$PEER" server "$PORT" >"$TMP/server.log" 2>&1 &
	PIDS+=($!)
	for _ in $(seq 50); do grep -q listening "$TMP/server.log" && break; sleep 0.1; done
	grep -q listening "$TMP/server.log"
}

# A counter of namespace $1 (absolute, the history file untouched).
ctr() {
	ip netns exec "$1" nstat -asz "$2" | awk -v n="$2" '$1 == n {print $2}'
}

# One MPTCP connection from the client to $1 (default 192.0.2.10), held
# $2 seconds; its line ("is_mptcp=M" or "error=E") in $conn.
connect() {
	conn=$(ip netns exec "$cli" timeout 30 python3 "$PEER" client "${1:-192.0.2.10}" "$PORT" "${2:-0}") || true
	echo "connection: $conn"
}

# Waits (at most 5 s) until counter $2 of namespace $1 exceeds $3.
wait_ctr() {
	for _ in $(seq 50); do
		[ "$(ctr "$1" "$2")" -gt "$3" ] && return 0
		sleep 0.1
	done
	echo "$2 in $1 stayed at $(ctr "$1" "$2")"
	return 1
}

# doctor in namespace $1.
ns_doctor() {
	local ns=$1
	shift
	doctor_run ip netns exec "$ns" "$CLI" doctor "$@"
}

# Runs each fix of $output in namespace $1; prints how many ran.
paste_fixes() {
	local line n=0
	while IFS= read -r line; do
		ip netns exec "$1" sh -ec "$line" >&2
		n=$((n + 1))
	done < <(doctor_fixes | grep -e "${2:-.}")
	echo "$n"
}

@test "doctor-paths: a clean path with two addresses: MPTCP can work here, joins counted" {
	lab
	connect 192.0.2.10 3
	[ "$conn" = is_mptcp=1 ]
	wait_ctr "$srv" MPTcpExtMPJoinSynRx 0
	rx=$(ctr "$srv" MPTcpExtMPCapableSYNRX)
	ns_doctor "$srv"
	[ "$status" -eq 0 ]
	[[ "$output" == *"result: MPTCP can work here"* ]]
	[[ "$output" != *"[error]"* ]]
	[[ "$output" == *"[ok]    MPTcpExt: $rx MPTCP SYNs received, no fallback of an accepted connection, since this network namespace was created"* ]]
	[[ "$output" == *"[ok]    $(ctr "$srv" MPTcpExtMPJoinSynRx) MP_JOIN SYNs received, since this network namespace was created: clients open extra paths"* ]]
	# over a window doctor measures: a connection inside it is counted
	(sleep 1 && connect 192.0.2.10 0 >/dev/null) &
	PIDS+=($!)
	ns_doctor "$srv" --window 6
	[ "$status" -eq 0 ]
	[[ "$output" == *"[ok]    MPTcpExt: 1 MPTCP SYNs received, no fallback of an accepted connection, in the 6 s measured (--window)"* ]]
}

# The one fix of $output that matches $2, run in namespace $1, ends every
# error: doctor then exits 0.
fix_ends_errors() {
	[ "$(paste_fixes "$1" "$2")" -eq 1 ]
	ns_doctor "$1"
	[ "$status" -eq 0 ]
	[[ "$output" != *"[error]"* ]]
}

# A rule in the server's namespace; the next finding must be an error
# naming it, whose fix deletes it.
nft_rule() { # FAMILY HOOK RULE...
	local fam=$1 hook=$2
	shift 2
	ip netns exec "$srv" nft add table "$fam" mb 2>"$TMP/nft.err" ||
		skip "this kernel takes no nftables table $fam: $(head -n 1 "$TMP/nft.err")"
	ip netns exec "$srv" nft add chain "$fam" mb c "{ type filter hook $hook priority 0; }"
	ip netns exec "$srv" nft add rule "$fam" mb c tcp dport 22 accept
	ip netns exec "$srv" nft add rule "$fam" mb c "$@"
}

# doctor names the rule of table $1 $2 and its fix works: no error after.
named_and_fixed() { # FAMILY WORDS
	ns_doctor "$srv"
	[ "$status" -eq 1 ]
	[[ "$output" == *"[error] nftables rule $1 mb chain c handle "*" $2"* ]]
	[[ "$output" == *"fix: nft delete rule $1 mb c handle "* ]]
	fix_ends_errors "$srv" "nft delete rule"
	[[ "$output" == *"result: MPTCP can work here"* ]]
	ip netns exec "$srv" nft delete table "$1" mb
}

@test "doctor-paths: the server's nft rules dropping or resetting option 30 (inet, ip, ip6; input, prerouting) are errors, named; the fix works" {
	lab
	# drop in inet input: the kernel sees no MPTCP SYN while it is there
	nft_rule inet input tcp option mptcp exists drop
	rx=$(ctr "$srv" MPTcpExtMPCapableSYNRX)
	connect 192.0.2.10
	[ "$conn" != is_mptcp=1 ]
	[ "$(ctr "$srv" MPTcpExtMPCapableSYNRX)" -eq "$rx" ]
	named_and_fixed inet "drops packets that carry TCP option 30 (MPTCP)"
	connect 192.0.2.10
	[ "$conn" = is_mptcp=1 ]
	[ "$(ctr "$srv" MPTcpExtMPCapableSYNRX)" -gt "$rx" ]
	# reset in inet prerouting: the client sees a SYN-ACK without MPTCP
	nft_rule inet prerouting reset tcp option mptcp
	fb=$(ctr "$cli" MPTcpExtMPCapableFallbackSYNACK)
	connect 192.0.2.10
	[ "$conn" = is_mptcp=0 ]
	[ "$(ctr "$cli" MPTcpExtMPCapableFallbackSYNACK)" -gt "$fb" ]
	named_and_fixed inet "strips TCP option 30 (MPTCP)"
	connect 192.0.2.10
	[ "$conn" = is_mptcp=1 ]
	# the other families and hooks
	nft_rule ip prerouting tcp option mptcp exists drop
	named_and_fixed ip "drops packets that carry TCP option 30"
	nft_rule ip input reset tcp option mptcp
	named_and_fixed ip "strips TCP option 30"
	nft_rule ip6 input tcp option mptcp exists reject with tcp reset
	rx=$(ctr "$srv" MPTcpExtMPCapableSYNRX)
	connect 2001:db8:a::10
	[ "$conn" != is_mptcp=1 ]
	[ "$(ctr "$srv" MPTcpExtMPCapableSYNRX)" -eq "$rx" ]
	named_and_fixed ip6 "rejects packets that carry TCP option 30 (MPTCP)"
	connect 2001:db8:a::10
	[ "$conn" = is_mptcp=1 ]
	nft_rule ip6 prerouting reset tcp option mptcp
	named_and_fixed ip6 "strips TCP option 30"
}

# An iptables-like command's TCPOPTSTRIP 30 on the server: an error, the
# fix deletes it. $1: the command, $2: the address to connect to.
xt_strip() {
	local ipt=$1 addr=$2 fb
	ip netns exec "$srv" "$ipt" -t mangle -A PREROUTING -p tcp --dport 22 -j ACCEPT 2>"$TMP/ipt.err" ||
		skip "$ipt does not work here: $(cat "$TMP/ipt.err")"
	ip netns exec "$srv" "$ipt" -t mangle -A PREROUTING -p tcp --dport "$PORT" -j TCPOPTSTRIP --strip-options 2,30 2>"$TMP/ipt.err" ||
		skip "$ipt: no TCPOPTSTRIP target in this kernel: $(cat "$TMP/ipt.err")"
	fb=$(ctr "$cli" MPTcpExtMPCapableFallbackSYNACK)
	connect "$addr"
	[ "$conn" = is_mptcp=0 ]
	[ "$(ctr "$cli" MPTcpExtMPCapableFallbackSYNACK)" -gt "$fb" ]
	ns_doctor "$srv"
	[ "$status" -eq 1 ]
	[[ "$output" == *"strips TCP option 30 (MPTCP)"* ]]
	[[ "$output" == *"fix: $ipt -t mangle -D PREROUTING 2"* ]]
	fix_ends_errors "$srv" "$ipt"
	connect "$addr"
	[ "$conn" = is_mptcp=1 ]
	# a drop of option 30 by its number (-m tcp --tcp-option 30)
	ip netns exec "$srv" "$ipt" -A INPUT -p tcp --tcp-option 30 -j DROP
	ns_doctor "$srv"
	[ "$status" -eq 1 ]
	[[ "$output" == *"drops packets that carry TCP option 30 (MPTCP)"* ]]
	[[ "$output" == *"fix: $ipt -t filter -D INPUT 1"* ]]
	fix_ends_errors "$srv" "$ipt"
	# TCPOPTSTRIP without 30 keeps MPTCP: no error
	ip netns exec "$srv" "$ipt" -t mangle -A PREROUTING -p tcp -j TCPOPTSTRIP --strip-options 2
	ns_doctor "$srv"
	[ "$status" -eq 0 ]
}

@test "doctor-paths: iptables-nft TCPOPTSTRIP 30 and --tcp-option 30 DROP are errors; the fix works" {
	command -v iptables-nft >/dev/null || skip "no iptables-nft (the iptables package)"
	lab
	xt_strip iptables-nft 192.0.2.10
	[[ "$output" == *"ip mangle chain PREROUTING handle "*": TCPOPTSTRIP without 30 in its list"* ]]
}

@test "doctor-paths: ip6tables-nft TCPOPTSTRIP 30 is an error; the fix works" {
	command -v ip6tables-nft >/dev/null || skip "no ip6tables-nft (the iptables package)"
	lab
	xt_strip ip6tables-nft 2001:db8:a::10
}

@test "doctor-paths: legacy iptables TCPOPTSTRIP 30 and --tcp-option 30 DROP are errors, read from the kernel; the fix works" {
	command -v iptables-legacy >/dev/null || skip "no iptables-legacy (the iptables package)"
	lab
	xt_strip iptables-legacy 192.0.2.10
}

@test "doctor-paths: legacy ip6tables TCPOPTSTRIP 30 is an error; the fix works" {
	command -v ip6tables-legacy >/dev/null || skip "no ip6tables-legacy (the iptables package)"
	lab
	xt_strip ip6tables-legacy 2001:db8:a::10
}

@test "doctor-paths: the kernel's blackhole detection fired, then cleared: named as such, not blamed on a firewall" {
	[ -e /proc/sys/net/mptcp/blackhole_timeout ] ||
		skip "kernel $(uname -r) has no net.mptcp.blackhole_timeout: active blackhole detection arrived in 6.12"
	lab
	ip netns exec "$cli" sysctl -qw net.mptcp.blackhole_timeout=3600
	# a middlebox that drops MPTCP SYNs (in the server's namespace: the
	# client cannot tell): the client retries without MPTCP and counts
	# a blackhole
	nft_rule inet input tcp option mptcp exists drop
	connect 192.0.2.10
	[ "$conn" = is_mptcp=0 ]
	[ "$(ctr "$cli" MPTcpExtBlackhole)" -eq 1 ]
	ip netns exec "$srv" nft delete table inet mb
	# the firewall is gone; the client's kernel still opens plain TCP
	connect 192.0.2.10
	[ "$conn" = is_mptcp=0 ]
	[ "$(ctr "$cli" MPTcpExtMPCapableSYNTXDisabled)" -ge 1 ]
	ns_doctor "$cli"
	[ "$status" -eq 0 ]
	[[ "$output" == *"[warn]  the kernel's MPTCP blackhole detection is in force: the connections this machine opens are plain TCP (MPTcpExtBlackhole 1, MPTcpExtMPCapableSYNTXDisabled "*", net.mptcp.blackhole_timeout 3600 s)"* ]]
	[[ "$output" == *"it ends by itself at most 3600 s"* ]]
	[[ "$output" != *"strips the MPTCP option"* ]]
	[[ "$output" != *"[error]"* ]]
	[[ "$output" == *"fix: sysctl -w net.mptcp.blackhole_timeout=3600"* ]]
	[ "$(paste_fixes "$cli" sysctl)" -eq 1 ]
	ns_doctor "$cli"
	[[ "$output" == *"[info]  the kernel's MPTCP blackhole detection fired 1 time in this network namespace (MPTcpExtBlackhole) and is not in force now"* ]]
	[[ "$output" == *"[ok]    a loopback MPTCP connection is MPTCP on both ends"* ]]
	connect 192.0.2.10
	[ "$conn" = is_mptcp=1 ]
}

@test "doctor-paths: a firewall dropping MP_JOIN SYNs is an error; after the fix the joins arrive" {
	lab
	nft_rule inet input tcp option mptcp subtype 1 drop
	join=$(ctr "$srv" MPTcpExtMPJoinSynRx)
	connect 192.0.2.10 2
	[ "$conn" = is_mptcp=1 ]
	# the announcement reached the client (MPTcpExtAddAddr: received;
	# the server's AddAddrTx is not among 6.1's counters)
	[ "$(ctr "$cli" MPTcpExtAddAddr)" -ge 1 ]
	[ "$(ctr "$srv" MPTcpExtMPJoinSynRx)" -eq "$join" ]
	named_and_fixed inet "drops packets that carry TCP option 30"
	connect 192.0.2.10 2
	[ "$conn" = is_mptcp=1 ]
	wait_ctr "$srv" MPTcpExtMPJoinSynRx "$join"
}

@test "doctor-paths: strict rp_filter on the second path drops the joins; the fix works" {
	# the client's b address is outside the server's b subnet: the
	# server's route back to it leaves by a0
	lab 203.0.113.1/24
	ip -n "$cli" route add 198.51.100.0/24 dev b1 src 203.0.113.1
	# the server's ARP answer would be filtered too: the SYNs must reach
	# b0 for the kernel to count what rp_filter drops
	ip -n "$cli" neigh add 198.51.100.10 dev b1 \
		lladdr "$(ip -n "$srv" -br link show b0 | awk '{print $3}')"
	ip -n "$srv" route add default via 192.0.2.1 dev a0
	ip netns exec "$cli" sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.a1.rp_filter=0
	ip netns exec "$srv" sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.b0.rp_filter=1
	join=$(ctr "$srv" MPTcpExtMPJoinSynRx)
	rpf=$(ip netns exec "$srv" nstat -asz TcpExtIPReversePathFilter | awk '/TcpExt/ {print $2}')
	connect 192.0.2.10 2
	[ "$conn" = is_mptcp=1 ]
	[ "$(ctr "$srv" MPTcpExtMPJoinSynRx)" -eq "$join" ]
	[ "$(ip netns exec "$srv" nstat -asz TcpExtIPReversePathFilter | awk '/TcpExt/ {print $2}')" -gt "$rpf" ]
	ns_doctor "$srv"
	[[ "$output" == *"[warn]  strict reverse-path filtering on b0 (rp_filter = 1) drops the subflows that arrive on b0"* ]]
	[[ "$output" == *"fix: sysctl -w net.ipv4.conf.b0.rp_filter=2"* ]]
	[ "$(paste_fixes "$srv" rp_filter)" -eq 1 ]
	connect 192.0.2.10 2
	[ "$conn" = is_mptcp=1 ]
	wait_ctr "$srv" MPTcpExtMPJoinSynRx "$join"
}

@test "doctor-paths: the option stripped after the SYN: fallbacks judged over the window doctor measures, and said since when otherwise" {
	lab
	# a middlebox on the client's side: every segment but the SYN loses
	# option 30 (the server's fallback counter, MPCapableFallbackACK)
	ip netns exec "$cli" nft add table inet mb
	ip netns exec "$cli" nft add chain inet mb o '{ type filter hook output priority 0; }'
	ip netns exec "$cli" nft add rule inet mb o tcp dport "$PORT" tcp flags != syn reset tcp option mptcp
	fb=$(ctr "$srv" MPTcpExtMPCapableFallbackACK)
	(sleep 1 && connect 192.0.2.10 0 >/dev/null) &
	PIDS+=($!)
	ns_doctor "$srv" --window 6
	[ "$(ctr "$srv" MPTcpExtMPCapableFallbackACK)" -eq $((fb + 1)) ]
	[ "$status" -eq 0 ]
	[[ "$output" == *"[warn]  1 MPTCP connection fell back to TCP after the handshake began, in the 6 s measured (--window), of 1 MPTCP SYNs received (100.0%)"* ]]
	[[ "$output" == *"MPTcpExtMPCapableFallbackACK 1"* ]]
	[[ "$output" == *"10.00 per minute"* ]]
	# without a window: the totals, and the span they cover
	ns_doctor "$srv"
	[[ "$output" == *"fell back to TCP after the handshake began, since this network namespace was created, of "* ]]
	[[ "$output" == *"a total, not a rate"* ]]
}
