# Shared helpers of the bats suites. Source with `load common`.
# The build directory is $MPTCPSHIM_BUILD (scripts/test.sh sets it);
# default: build/ next to the sources.

TOP=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
BUILD=${MPTCPSHIM_BUILD:-$TOP/build}
SHIM=$BUILD/libmptcpshim.so
PROBE=$BUILD/tests/shimprobe

if [ ! -e "$SHIM" ] || [ ! -x "$PROBE" ]; then
	echo "# $SHIM or $PROBE missing: build first (meson setup build && ninja -C build)" >&3
	exit 1
fi

# Skip only when the machine truly lacks something, and say what.
need_root() {
	[ "$(id -u)" -eq 0 ] || skip "needs root (network namespaces, nginx)"
}
need_mptcp() {
	[ "$(sysctl -n net.mptcp.enabled 2>/dev/null)" = 1 ] ||
		skip "this kernel has no MPTCP enabled (net.mptcp.enabled != 1)"
}

# A TCP port in [lo, hi] with nothing bound to it on this machine.
pick_port() {
	local lo=$1 hi=$2 p _
	for _ in $(seq 1 200); do
		p=$((lo + RANDOM % (hi - lo + 1)))
		if [ -z "$(ss -Hant "sport = :$p")" ] && [ -z "$(ss -Hanu "sport = :$p")" ]; then
			echo "$p"
			return 0
		fi
	done
	echo "pick_port: no free port in $lo-$hi" >&2
	return 1
}

# Runs a command with the shim preloaded and no configuration file.
shim_run() {
	env LD_PRELOAD="$SHIM" MPTCPSHIM_CONFIG=/dev/null "$@"
}

# Waits (at most 5 s) until a TCP listener is on port $1.
wait_listen() {
	local _
	for _ in $(seq 1 50); do
		[ -n "$(ss -Hltn "sport = :$1")" ] && return 0
		sleep 0.1
	done
	echo "nothing listens on port $1 after 5 s" >&2
	return 1
}

# The usual per-test fixture: a temp dir, a free port from the suite's
# range, and background processes to end. Call from setup / teardown.
# shellcheck disable=SC2034 # TMP, PORT, PIDS: for the suites
probe_setup() { # LO HI
	TMP=$(mktemp -d)
	PORT=$(pick_port "$1" "$2")
	PIDS=()
}
probe_teardown() {
	local p
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
	rm -rf "$TMP"
}
