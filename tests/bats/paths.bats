#!/usr/bin/env bats
# status and probe under the conditions that break MPTCP in the field,
# built in two network namespaces (paths.bash: two paths, documentation
# prefixes only), each checked against the kernel's own counters (nstat in
# each namespace) and MPTCP_INFO. Every JSON output is validated against
# doc/status.schema.json or doc/probe.schema.json.
load common
load paths
bats_require_minimum_version 1.5.0

CLI=$BUILD/cli/mptcpshim

setup() {
	[ -x "$CLI" ] || {
		echo "# $CLI missing: build first" >&3
		return 1
	}
	need_root
	need_mptcp
	TMP=$(mktemp -d)
	PIDS=()
	unset MPTCPSHIM_PORTS MPTCPSHIM_LOG MPTCPSHIM_STRICT MPTCPSHIM_CONNECT \
		MPTCPSHIM_TOLERATE
	export MPTCPSHIM_CONFIG=/dev/null MPTCPSHIM_LIBRARY=$SHIM
	lab_up
}

teardown() {
	local p
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
	lab_down
	rm -rf "$TMP"
}

# status --json of the lab's server, validated; in $TMP/status.json
server_status() {
	ip netns exec "$LAB_S" "$CLI" status --json "$@" "$(lab_server_pid)" >"$TMP/status.json"
	cat "$TMP/status.json"
	python3 "$TOP/tests/tools/jsoncheck.py" "$TOP/doc/status.schema.json" "$TMP/status.json"
}
sj() {
	python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$TMP/status.json" "$1"
}

@test "paths: clean path: probe says MPTCP (exit 0), one subflow, as the kernel counts" {
	lab_probe --send 'ping\r\n'
	[ "$status" -eq 0 ]
	[ "$(pj 'j["sent"]')" = 6 ]
	[ "$(pj 'j["result"]')" = mptcp ]
	[ "$(pj 'j["confirmed"]')" = True ]
	[ "$(pj 'len([s for s in j["subflows"] if s["established"]])')" = 1 ]
	[ "$(pj 'j["subflows"][0]["remote"]')" = "192.0.2.1:$LAB_PORT" ]
	[ "$(pj 'j["mptcp_info"]["fallback"]')" = False ]
	[ "$(lab_counter "$LAB_C" MPTcpExtMPCapableSYNACKRX)" = 1 ]
	[ "$(pj 'j["counters"]["MPCapableSYNACKRX"]')" = 1 ]
	[ "$(lab_counter "$LAB_S" MPTcpExtMPCapableACKRX)" = 1 ]
	server_status
	[ "$(sj 'j["handshakes"]["mptcp"]')" = 1 ]
	[ "$(sj 'j["handshakes"]["fallback_handshake"]')" = 0 ]
	[ "$(sj 'j["mptcp_enabled"]')" = 1 ]
	[ "$(sj 'j["processes"][0]["library"]["settings"]["strict"]')" = False ]
}

@test "paths: option stripped on the SYN: probe says fallback at the SYN-ACK (exit 1); the server saw a TCP client" {
	lab_nft "$LAB_C" output "tcp dport $LAB_PORT tcp flags syn reset tcp option mptcp"
	lab_probe
	[ "$status" -eq 1 ]
	[ "$(pj 'j["result"]')" = fallback ]
	[[ "$(pj 'j["fallback_step"]')" == "SYN-ACK: it came without MP_CAPABLE"* ]]
	[ "$(lab_counter "$LAB_C" MPTcpExtMPCapableFallbackSYNACK)" = 1 ]
	[ "$(pj 'j["counters"]["MPCapableFallbackSYNACK"]')" = 1 ]
	# the server never saw MPTCP asked: nothing to count there
	[ "$(lab_counter "$LAB_S" MPTcpExtMPCapableSYNRX)" = 0 ]
	server_status
	[ "$(sj 'j["handshakes"]["asked"]')" = 0 ]
}

@test "paths: option stripped after the SYN: probe says fallback after the handshake; status counts the fallback" {
	lab_nft "$LAB_C" output "tcp dport $LAB_PORT tcp flags != syn reset tcp option mptcp"
	# a client that stays connected, for status's TCP client line
	ip netns exec "$LAB_C" python3 "$TOP/tests/tools/clipeer.py" client --mptcp 192.0.2.1 "$LAB_PORT" \
		>"$TMP/client.out" 2>&1 &
	PIDS+=($!)
	local _
	for _ in $(seq 1 50); do
		grep -q is_mptcp "$TMP/client.out" && break
		sleep 0.1
	done
	grep -q 'is_mptcp=0' "$TMP/client.out"
	lab_probe
	[ "$status" -eq 1 ]
	[[ "$(pj 'j["fallback_step"]')" == "after the handshake"* ]]
	# MPCapableDataFallback is recent (not on every kernel); where it is
	# there, the step names it
	if [ -n "$(lab_counter "$LAB_C" MPTcpExtMPCapableDataFallback)" ]; then
		[ "$(pj 'j["counters"]["MPCapableDataFallback"]')" = 1 ]
		[[ "$(pj 'j["fallback_step"]')" == "after the handshake: the SYN-ACK had MP_CAPABLE"* ]]
	fi
	# (the client namespace also holds the clipeer client's handshake:
	# the probe's own deltas)
	[ "$(pj 'j["counters"].get("MPCapableSYNACKRX", "absent")')" != 0 ]
	[ "$(lab_counter "$LAB_S" MPTcpExtMPCapableFallbackACK)" = 2 ]
	server_status
	[ "$(sj 'j["handshakes"]["fallback_handshake"]')" = 2 ]
	[ "$(sj 'j["handshakes"]["asked"]')" = "$(lab_counter "$LAB_S" MPTcpExtMPCapableSYNRX)" ]
	[ "$(sj 'j["handshakes"]["mptcp"]')" = 0 ]
	run ip netns exec "$LAB_S" "$CLI" status "$(lab_server_pid)"
	echo "$output"
	[[ "$output" == *"0 got MPTCP (MPCapableACKRX)"* ]]
	[[ "$output" == *"2 fell back to TCP in the handshake"* ]]
	[[ "$output" == *"note: 2 clients asked for MPTCP and fell back to TCP in the handshake (MPTcpExtMPCapableFallbackACK since "* ]]
	# the window, measured now: the two fallbacks are before it
	server_status --interval 1
	[ "$(sj 'j["handshakes"]["window"]')" = sampled ]
	[ "$(sj 'j["handshakes"]["seconds"]')" = 1 ]
	[ "$(sj 'j["handshakes"]["fallback_handshake"]')" = 0 ]
	run ip netns exec "$LAB_S" "$CLI" status --prometheus "$(lab_server_pid)"
	[[ "$output" == *"mptcpshim_netns_mptcp_handshake_fallback_total{pid=\"$(lab_server_pid)\"} 2"* ]]
}

@test "paths: a second server address announced and reachable: two subflows, over both local addresses" {
	ip -n "$LAB_S" mptcp endpoint add 198.51.100.1 dev s2 signal
	lab_probe --wait 3
	[ "$status" -eq 0 ]
	[ "$(pj 'len([s for s in j["subflows"] if s["established"]])')" = 2 ]
	[ "$(pj 'sorted(s["local"].split(":")[0] for s in j["subflows"] if s["established"])')" = "['192.0.2.2', '198.51.100.2']" ]
	[ "$(pj 'j["mptcp_info"]["add_addr_accepted"]')" = 1 ]
	[ "$(lab_counter "$LAB_C" MPTcpExtAddAddr)" = 1 ]
	[ "$(pj 'j["counters"]["AddAddr"]')" = 1 ]
	[ "$(lab_counter "$LAB_C" MPTcpExtMPJoinSynAckRx)" = 1 ]
	[ "$(pj 'j["counters"]["MPJoinSynAckRx"]')" = 1 ]
}

@test "paths: the announced address with MP_JOIN SYNs dropped by a firewall: one subflow, and the note says why" {
	ip -n "$LAB_S" mptcp endpoint add 198.51.100.1 dev s2 signal
	lab_nft "$LAB_S" input "tcp dport $LAB_PORT tcp option mptcp subtype 1 drop"
	lab_probe --wait 3
	[ "$status" -eq 0 ]
	[ "$(pj 'len([s for s in j["subflows"] if s["established"]])')" = 1 ]
	[ "$(pj 'j["counters"]["AddAddr"]')" = 1 ]
	[ "$(lab_counter "$LAB_C" MPTcpExtMPJoinSynAckRx)" = 0 ]
	[ "$(lab_counter "$LAB_S" MPTcpExtMPJoinSynRx)" = 0 ]
	[[ "$(pj 'j["notes"]')" == *"the MP_JOIN SYN from 198.51.100.2:"*" to 198.51.100.1:$LAB_PORT got no answer in 3 s"* ]]
}

@test "paths: strict rp_filter on the second path drops the join: one subflow, IPReversePathFilter counts it" {
	ip -n "$LAB_S" mptcp endpoint add 198.51.100.1 dev s2 signal
	# the server routes the client's second address over path 1: packets
	# from it that arrive on s2 fail the strict reverse path check
	ip -n "$LAB_S" route add 198.51.100.2/32 dev s1
	ip netns exec "$LAB_S" sysctl -qw net.ipv4.conf.all.rp_filter=1 net.ipv4.conf.s2.rp_filter=1
	# (the check drops the client's ARP requests too: a static entry, so
	# that the join SYN itself reaches the check)
	ip -n "$LAB_C" neigh replace 198.51.100.1 dev c2 \
		lladdr "$(ip -n "$LAB_S" -j link show s2 | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["address"])')"
	lab_probe --wait 3
	[ "$status" -eq 0 ]
	[ "$(pj 'len([s for s in j["subflows"] if s["established"]])')" = 1 ]
	[ "$(lab_counter "$LAB_S" TcpExtIPReversePathFilter)" -ge 1 ] || { ip netns exec "$LAB_S" nstat -az | grep -v " 0 " ; false; }
	[ 1 ]
	[ "$(lab_counter "$LAB_S" MPTcpExtMPJoinSynRx)" = 0 ]
	[[ "$(pj 'j["notes"]')" == *"the MP_JOIN SYN from 198.51.100.2:"*" to 198.51.100.1:$LAB_PORT got no answer in 3 s"* ]]
}

@test "probe: bad arguments and errors exit 2 (JSON error object with --json)" {
	run "$CLI" probe
	[ "$status" -eq 2 ]
	run "$CLI" probe 192.0.2.1
	[ "$status" -eq 2 ]
	[[ "$output" == *"'192.0.2.1' is not HOST:PORT"* ]]
	run "$CLI" probe --wait 99 192.0.2.1:1
	[ "$status" -eq 2 ]
	run "$CLI" probe --send 'bad\q' 192.0.2.1:1
	[ "$status" -eq 2 ]
	run --separate-stderr ip netns exec "$LAB_C" "$CLI" probe --json --timeout 1 192.0.2.1:1
	[ "$status" -eq 2 ]
	echo "$output" >"$TMP/probe.json"
	python3 "$TOP/tests/tools/jsoncheck.py" "$TOP/doc/probe.schema.json" "$TMP/probe.json"
	[ "$(pj 'j["result"]')" = error ]
	ip netns exec "$LAB_C" sysctl -qw net.mptcp.enabled=0
	run ip netns exec "$LAB_C" "$CLI" probe "192.0.2.1:$LAB_PORT"
	[ "$status" -eq 2 ]
	[[ "$output" == *"net.mptcp.enabled = 0 here"* ]]
}
