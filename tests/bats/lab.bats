#!/usr/bin/env bats
# The two-path lab, scripts/mptcp-lab.sh: Debian's nginx under the shim in
# a server namespace, two tbf-shaped veth paths to a client namespace.
# Asserts aggregation (>= 1.6x one path), two subflows on the server,
# failover with a matching checksum, and that nothing is left behind -
# after success, failure and Ctrl-C. The lab's own table goes to the bats
# output (>&3) with the real figures.
#
# Sizes: at 40 Mbit/s per path the second subflow is up ~2 ms after
# connect(); 8-12 MiB gave 1.75x-1.96x over 24 runs (IPv4 and IPv6),
# each run of the lab takes 11-16 s.

load common

LAB=$TOP/scripts/mptcp-lab.sh

setup() {
	need_root
	need_mptcp
	[ -x /usr/sbin/nginx ] || {
		echo "# /usr/sbin/nginx missing: run scripts/install-deps.sh" >&3
		return 1
	}
	command -v jq >/dev/null || skip "jq missing"
	LAB_DIR=$(mktemp -d "${BATS_TMPDIR:-/tmp}/mptcp-lab-bats.XXXXXX")
}

teardown() {
	[ -n "${LAB_DIR:-}" ] && rm -rf "$LAB_DIR"
	return 0
}

j() { jq -r "$1" "$LAB_DIR/lab.json"; }

# No namespace named $1.. left, and no process in a namespace whose inode
# is among the rest (a deleted namespace with a process in it lives on).
nothing_left() { # "ns1 ns2" "inode1 inode2"
	local ns ino p
	for ns in $1; do
		if ip netns list | grep -qw "$ns"; then
			echo "namespace $ns left behind" >&2
			return 1
		fi
	done
	for ino in $2; do
		for p in /proc/[0-9]*/ns/net; do
			if [ "$(readlink "$p" 2>/dev/null)" = "net:[$ino]" ]; then
				echo "process ${p#/proc/} still in the lab's namespace ($ino)" >&2
				return 1
			fi
		done
	done
}

# run_lab FAMILY-FLAGS...: runs the lab with --json, shows its table.
run_lab() {
	run "$LAB" --json "$LAB_DIR/lab.json" "$@"
	echo "$output" | sed 's/^/# /' >&3
	[ "$status" -eq 0 ]
}

check_lab() {
	local nss inodes
	nss=$(j '.namespaces | join(" ")')
	inodes=$(j '.netns_inodes | map(tostring) | join(" ")')
	[ "$(j .baseline.checksum_ok)" = true ]
	[ "$(j .baseline.is_mptcp)" = 0 ]
	# aggregation
	[ "$(j .mptcp.is_mptcp)" = 1 ]
	awk -v r="$(j .mptcp.ratio)" 'BEGIN { exit !(r >= 1.6) }' || {
		echo "aggregation $(j .mptcp.ratio)x < 1.6x" >&2
		return 1
	}
	[ "$(j .mptcp.subflows_ss_M)" -eq 2 ]
	[ "$(j .mptcp.subflows_tcp_rows)" -eq 2 ]
	# failover
	[ "$(j .failover.checksum_ok)" = true ]
	[ "$(j .failover.is_mptcp)" = 1 ]
	[ "$(j .failover.subflows_ss_M)" -eq 2 ]
	# nothing left behind
	nothing_left "$nss" "$inodes"
	[ ! -e "$(j .tmpdir)" ]
	! kill -0 "$(j .nginx_pid)" 2>/dev/null ||
		! tr '\0' ' ' <"/proc/$(j .nginx_pid)/cmdline" | grep -q "$(j .tmpdir)"
}

@test "lab IPv4: MPTCP >= 1.6x one path, 2 subflows, failover keeps the file intact, nothing left" {
	run_lab --size 12
	check_lab
	[ "$(j .family)" = IPv4 ]
}

@test "lab IPv6 (2001:db8::/32): the same" {
	run_lab --ipv6 --size 8
	check_lab
	[ "$(j .family)" = IPv6 ]
}

@test "lab: Ctrl-C (SIGINT) mid-run removes namespaces and processes" {
	# env --default-signal: bats' background jobs would ignore SIGINT.
	env --default-signal=INT "$LAB" --size 40 >"$LAB_DIR/out" 2>&1 &
	pid=$!
	nss="mptcplab-$pid-cli mptcplab-$pid-srv"
	# Until the download runs (nginx is up): at most 20 s.
	for _ in $(seq 1 200); do
		grep -q '1/3 baseline' "$LAB_DIR/out" && break
		sleep 0.1
	done
	grep -q '1/3 baseline' "$LAB_DIR/out"
	inodes=$(for ns in $nss; do stat -L -c %i "/run/netns/$ns"; done)
	[ -n "$(ip netns pids "mptcplab-$pid-srv")" ]
	sleep 1
	kill -INT "$pid"
	rc=0
	wait "$pid" || rc=$?
	sed 's/^/# /' "$LAB_DIR/out" >&3
	[ "$rc" -eq 130 ]
	grep -q 'interrupted, cleaning up' "$LAB_DIR/out"
	nothing_left "$nss" "$inodes"
}

@test "lab: a failure (nginx does not start) still removes everything" {
	run env NGINX=/bin/false "$LAB" --size 1
	[ "$status" -eq 1 ]
	[[ "$output" == *"no MPTCP listener"* ]]
	ns=$(echo "$output" | sed -n 's/.*namespaces \(mptcplab-[0-9]*\)-cli.*/\1/p')
	[ -n "$ns" ]
	nothing_left "$ns-cli $ns-srv" ""
}

@test "lab: refuses to run without root, and says so" {
	# The user nobody cannot reach the script where the clone sits in a
	# directory only root may enter (a fresh clone under a 0700 home):
	# run a copy from a directory of its own (the root check comes before
	# the script looks for anything next to it).
	chmod 755 "$LAB_DIR"
	mkdir -m 755 "$LAB_DIR/scripts"
	install -m 755 "$LAB" "$LAB_DIR/scripts/mptcp-lab.sh"
	run setpriv --reuid=65534 --regid=65534 --clear-groups test -x "$LAB_DIR/scripts/mptcp-lab.sh"
	[ "$status" -eq 0 ] || {
		echo "nobody cannot reach $LAB_DIR: set TMPDIR to a directory every user may enter" >&2
		false
	}
	run setpriv --reuid=65534 --regid=65534 --clear-groups "$LAB_DIR/scripts/mptcp-lab.sh" --size 1
	[ "$status" -eq 1 ]
	[[ "$output" == *"must run as root"* ]]
}
