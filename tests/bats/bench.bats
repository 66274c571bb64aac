#!/usr/bin/env bats
# A smoke run of scripts/bench.sh --quick (one round, 1 s wrk runs), so
# that the benchmark cannot rot. It checks structure and what the kernel
# reported (which sockets were MPTCP, which system calls were made), never
# speed: no assertion here depends on a timing.

load common

setup() {
	need_root
	need_mptcp
	local c
	for c in wrk mptcpize strace /usr/sbin/nginx; do
		command -v "$c" >/dev/null || {
			echo "# $c missing: run scripts/install-deps.sh" >&3
			return 1
		}
	done
	[ -x "$BUILD/bench/microbench" ] || {
		echo "# $BUILD/bench/microbench missing: rebuild (ninja -C $BUILD)" >&3
		return 1
	}
	OUT=$(mktemp -d "${BATS_TMPDIR:-/tmp}/mptcpshim-bench-out.XXXXXX")
}

teardown() {
	[ -n "${OUT:-}" ] && rm -rf "$OUT"
	return 0
}

@test "bench.sh --quick: every row in the JSON and the Markdown table, kernel checks hold" {
	run env MPTCPSHIM_BUILD="$BUILD" timeout 150 "$TOP/scripts/bench.sh" --quick --out "$OUT"
	echo "$output"
	[ "$status" -eq 0 ]
	[ -s "$OUT/bench.json" ]
	[ -s "$OUT/bench.md" ]
	python3 - "$OUT/bench.json" "$OUT/bench.md" <<-'PY'
		import json, sys
		doc = json.load(open(sys.argv[1]))
		md = open(sys.argv[2]).read().splitlines()
		ops = ["udp_socket", "tcp_socket", "udp_setsockopt", "tcp_setsockopt_pre",
		       "tcp_setsockopt", "udp_connect", "udp_epoll", "tcp_epoll_pre",
		       "tcp_connect"]
		want = (["micro." + o for o in ops] + ["syscalls." + o for o in ops]
		        + ["startup.shim1", "startup.shim1000", "load.nginx_worker_rss",
		           "nginx.keepalive", "nginx.close", "nginx.proxy",
		           "check.listener", "check.clients", "check.upstream",
		           "lab.aggregation", "lab.failover"])
		rows = {r["id"]: r for r in doc["rows"]}
		got = [r["id"] for r in doc["rows"]]
		assert got == want, "rows: %s" % got
		for k in ("kernel", "cpu", "cores", "nginx", "wrk", "mptcpd", "command"):
		    assert doc["meta"].get(k), "meta %s missing" % k
		num = (int, float)
		for i in want:
		    r = rows[i]
		    if i.startswith(("micro.", "startup.", "nginx.")):
		        assert isinstance(r["baseline"], num) and r["baseline"] > 0, i
		        assert isinstance(r["shim"], num) and r["shim"] > 0, i
		        assert isinstance(r["shim/baseline"]["median"], num), i
		    if i.startswith("nginx."):
		        assert isinstance(r["mptcpize"], num) and r["mptcpize"] > 0, i
		        assert isinstance(r["shim/mptcpize"]["median"], num), i
		    # Not timings: what strace and ss saw.
		    if i.startswith(("syscalls.", "check.")):
		        assert r["status"] == "ok", "%s: %s %s" % (i, r["status"], r["note"])
		    if i.startswith("syscalls."):
		        assert r["baseline"] == r["shim"] and r["baseline"] >= 1, i
		    if i.startswith("lab."):
		        assert r["status"] in ("ok", "not run"), "%s: %s %s" % (i, r["status"], r["note"])
		    if i.startswith("lab.") and r["status"] == "not run":
		        assert r["note"], i
		assert isinstance(rows["load.nginx_worker_rss"]["shim"], int)
		# The Markdown table: its header, a separator, one line per row.
		start = [n for n, l in enumerate(md) if l.startswith("| measurement |")]
		assert len(start) == 1, "no table header"
		body = md[start[0] + 2:]
		body = body[:next((n for n, l in enumerate(body) if not l.startswith("|")), len(body))]
		assert md[start[0] + 1].startswith("|---"), md[start[0] + 1]
		assert len(body) == len(want), "%d table lines, %d rows" % (len(body), len(want))
		assert all(l.count(" | ") >= 8 for l in body)
	PY
}
