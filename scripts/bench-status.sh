#!/usr/bin/env bash
# How long does `mptcpshim status` take on a server with many connections,
# next to `ss -tanpi` on the same namespace? (issue 15: at most twice.)
#
# Usage (root): scripts/bench-status.sh [-n CONNECTIONS] [-r RUNS] [-b BUILD]
#   -n  connections to hold open (default 100000): half MPTCP, half plain
#       TCP clients, to MPTCP listeners on 4 ports, accepted by the
#       server's worker processes (15,000 each) and timed on the parent
#   -r  timed runs of each command (default 5); the median is printed
#   -b  build directory (default: build)
#
# Everything runs in a network namespace of its own (loopback only),
# created here and removed on exit with every process started here. The
# load is bounded: the peers exit after 15 minutes whatever happens.
set -euo pipefail

n=100000
runs=5
build=build
while getopts "n:r:b:h" o; do
	case $o in
	n) n=$OPTARG ;;
	r) runs=$OPTARG ;;
	b) build=$OPTARG ;;
	*)
		sed -n '2,14s/^# \{0,1\}//p' "$0"
		exit 2
		;;
	esac
done
[[ $n =~ ^[0-9]+$ && $n -ge 4 && $n -le 400000 ]] || {
	echo "bench-status: -n $n: give 4 to 400000 connections" >&2
	exit 2
}
[[ $runs =~ ^[0-9]+$ && $runs -ge 1 && $runs -le 50 ]] || {
	echo "bench-status: -r $runs: give 1 to 50 runs" >&2
	exit 2
}
cli=$(cd "$build" && pwd)/cli/mptcpshim
[ -x "$cli" ] || {
	echo "bench-status: $cli missing: build first (meson setup $build && ninja -C $build)" >&2
	exit 1
}
[ "$(id -u)" -eq 0 ] || {
	echo "bench-status: needs root (a network namespace of its own)" >&2
	exit 1
}

ns=msbench-$$
tmp=$(mktemp -d)
pids=()
cleanup() {
	local p
	# each peer leads its own process group (setsid): its workers too
	for p in "${pids[@]}"; do kill -- "-$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	ip netns del "$ns" 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT
ip netns add "$ns"
ip -n "$ns" link set lo up
ip netns exec "$ns" sysctl -qw net.ipv4.ip_local_port_range="1024 65535" \
	net.core.somaxconn=4096 net.ipv4.tcp_max_syn_backlog=8192

# Several processes on each side: a process may hold at most 20,000
# files on these machines (no CAP_SYS_RESOURCE), and a server's workers
# are child processes anyway (status counts a process and its children).
cat >"$tmp/peer.py" <<'EOF'
import os, select, socket, sys, time
role, n, base, per = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), 15000
deadline = time.time() + 900
workers = (n + per - 1) // per
quota = [n // workers + (1 if i < n % workers else 0) for i in range(workers)]

def hold():
    while time.time() < deadline:
        time.sleep(5)

if role == "server":
    ls = []
    for i in range(4):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM, 262)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", base + i))
        s.listen(4096)
        s.setblocking(False)
        ls.append(s)
    r, w = os.pipe()
    for k in range(workers):
        if os.fork() == 0:
            ep = select.epoll()
            by_fd = {s.fileno(): s for s in ls}
            for s in ls:
                ep.register(s.fileno(), select.EPOLLIN | select.EPOLLEXCLUSIVE)
            conns = []
            while len(conns) < quota[k] and time.time() < deadline:
                for fd, _ in ep.poll(1):
                    while len(conns) < quota[k]:
                        try:
                            c, _ = by_fd[fd].accept()
                        except BlockingIOError:
                            break
                        conns.append(c)
            ep.close()
            os.write(w, b"x")
            hold()
            os._exit(0)
    print("listening", flush=True)
    got = 0
    while got < workers and time.time() < deadline:
        got += len(os.read(r, 64))
    print("accepted %d" % n, flush=True)
    hold()
else:
    for k in range(workers):
        if os.fork() == 0:
            conns = []
            for i in range(quota[k]):
                c = socket.socket(socket.AF_INET, socket.SOCK_STREAM,
                                  262 if i % 2 == 0 else 0)
                c.connect(("127.0.0.1", base + i % 4))
                conns.append(c)
            print("connected %d" % len(conns), flush=True)
            hold()
            os._exit(0)
    hold()
EOF

wait_for() { # FILE TEXT SECONDS
	local i
	for ((i = 0; i < $3 * 10; i++)); do
		grep -q "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	echo "bench-status: no '$2' in $1 after $3 s" >&2
	cat "$1" >&2
	exit 1
}

base=47000
ip netns exec "$ns" setsid python3 "$tmp/peer.py" server "$n" "$base" >"$tmp/server.out" 2>&1 &
pids+=($!)
server=$!
wait_for "$tmp/server.out" listening 10
ip netns exec "$ns" setsid python3 "$tmp/peer.py" client "$n" "$base" >"$tmp/client.out" 2>&1 &
pids+=($!)
echo "bench-status: opening $n connections ..." >&2
wait_for "$tmp/server.out" accepted 600
[ "$(grep -c connected "$tmp/client.out")" -eq $(((n + 14999) / 15000)) ] || {
	echo "bench-status: the clients did not all connect:" >&2
	cat "$tmp/client.out" >&2
	exit 1
}

# The server's pid as the namespace sees it is the same (no pid namespace).
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
time_runs() { # CMD...
	local i t0 t1
	for ((i = 0; i < runs; i++)); do
		t0=$(date +%s.%N)
		"$@" >/dev/null
		t1=$(date +%s.%N)
		echo "$t1 - $t0" | bc -l
	done | median
}
sockets=$(ip netns exec "$ns" ss -Htan | wc -l)
ss_t=$(time_runs ip netns exec "$ns" ss -tanpi)
st_t=$(time_runs ip netns exec "$ns" "$cli" status "$server")
total=$(ip netns exec "$ns" "$cli" status "$server" | grep '^total:')

printf 'connections: %d (%d TCP sockets in ss -tan, subflows included)\n' "$n" "$sockets"
printf 'status says: %s\n' "$total"
printf 'ss -tanpi:               %.3f s (median of %d)\n' "$ss_t" "$runs"
printf 'mptcpshim status PID:    %.3f s (median of %d)\n' "$st_t" "$runs"
printf 'ratio status / ss:       %.2f\n' "$(echo "$st_t / $ss_t" | bc -l)"
