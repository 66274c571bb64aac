# The two-path lab of paths.bats: a client and a server network namespace
# joined by two veth pairs, documentation prefixes only
#   path 1: client 192.0.2.2    <-> server 192.0.2.1     (c1 / s1)
#   path 2: client 198.51.100.2 <-> server 198.51.100.1  (c2 / s2)
# and an unmodified TCP server (tests/tools/clipeer.py: it speaks first)
# made MPTCP by the library (mptcpshim run) on 0.0.0.0:$LAB_PORT in the
# server namespace. Limits 2/2 on both sides; no endpoint until a test
# adds one. lab_down removes everything (from teardown, also on failure).

LAB_PORT=8443

lab_up() {
	LAB_C=msp-$$-$BATS_TEST_NUMBER-c
	LAB_S=msp-$$-$BATS_TEST_NUMBER-s
	ip netns add "$LAB_C" || return 1
	ip netns add "$LAB_S" || return 1
	local i
	for i in 1 2; do
		ip -n "$LAB_C" link add "c$i" type veth peer name "s$i" netns "$LAB_S"
		ip -n "$LAB_C" link set "c$i" up
		ip -n "$LAB_S" link set "s$i" up
	done
	ip -n "$LAB_C" link set lo up
	ip -n "$LAB_S" link set lo up
	ip -n "$LAB_C" addr add 192.0.2.2/24 dev c1
	ip -n "$LAB_S" addr add 192.0.2.1/24 dev s1
	ip -n "$LAB_C" addr add 198.51.100.2/24 dev c2
	ip -n "$LAB_S" addr add 198.51.100.1/24 dev s2
	for i in "$LAB_C" "$LAB_S"; do
		ip netns exec "$i" sysctl -qw net.mptcp.enabled=1
		ip -n "$i" mptcp limits set subflows 2 add_addr_accepted 2
	done
	ip netns exec "$LAB_S" "$CLI" run --ports "$LAB_PORT" -- \
		python3 "$TOP/tests/tools/clipeer.py" server 0.0.0.0 "$LAB_PORT" \
		>"$TMP/server.out" 2>&1 &
	LAB_SERVER=$!
	PIDS+=("$LAB_SERVER")
	local _
	for _ in $(seq 1 50); do
		grep -q '^listening' "$TMP/server.out" && return 0
		sleep 0.1
	done
	echo "the lab's server did not start in 5 s:" >&2
	cat "$TMP/server.out" >&2
	return 1
}

lab_down() {
	[ -z "${LAB_C:-}" ] || ip netns del "$LAB_C" 2>/dev/null || true
	[ -z "${LAB_S:-}" ] || ip netns del "$LAB_S" 2>/dev/null || true
}

# nft rules in a namespace: lab_nft NS HOOK RULE
lab_nft() {
	ip netns exec "$1" nft "add table inet lab" &&
		ip netns exec "$1" nft "add chain inet lab $2 { type filter hook $2 priority 0; }" &&
		ip netns exec "$1" nft "add rule inet lab $2 $3"
}

# One MPTcpExt or TcpExt counter of a namespace, as nstat reads it.
lab_counter() { # NS NAME
	ip netns exec "$1" nstat -az "$2" | awk -v n="$2" '$1 == n { print $2 }'
}

# The server's process that holds the sockets (mptcpshim run execs python).
lab_server_pid() {
	echo "$LAB_SERVER"
}

# probe from the client namespace; its JSON in $TMP/probe.json, checked
# against doc/probe.schema.json.
lab_probe() { # [OPTIONS...]
	run ip netns exec "$LAB_C" "$CLI" probe --json "$@" "192.0.2.1:$LAB_PORT"
	echo "$output" >"$TMP/probe.json"
	echo "probe exit $status: $output"
	python3 "$TOP/tests/tools/jsoncheck.py" "$TOP/doc/probe.schema.json" "$TMP/probe.json"
}

# A field of the probe's JSON (python expression on j).
pj() {
	python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$TMP/probe.json" "$1"
}
