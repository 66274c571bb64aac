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
		       "tcp_connect", "dup_close", "dup2_close", "dup3_close", "close",
		       "close_range", "closefrom", "fcntl_getfl", "getsockopt",
		       "sendmsg", "sendmmsg"]
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
		    if i in ("syscalls.tcp_connect", "syscalls.tcp_socket",
		             "syscalls.tcp_setsockopt_pre", "syscalls.tcp_epoll_pre"):
		        # tracked sockets: exactly the extra calls bench.sh's
		        # expected_extra names (status ok), none for the rest
		        assert r["shim"] > r["baseline"], i
		        assert "plus the expected" in r["note"], "%s: %s" % (i, r["note"])
		    elif i.startswith("syscalls."):
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
	[ -s "$OUT/raw/samples" ] && [ -s "$OUT/raw/meta" ]
}

@test "bench.sh --report-from: medians and interquartile ranges over several rounds" {
	# Raw samples of three rounds, made up (the same row ids as a real run,
	# and values that vary round to round); nothing is measured here.
	mkdir "$OUT/raw"
	cat >"$OUT/raw/meta" <<-EOF
		date	2026-01-01 00:00 UTC
		kernel	test
		cpu	test
		cores	2
		loadavg	0 0 0
		os	test
		nginx	test
		wrk	test
		mptcpd	test
		shim	test
		command	scripts/bench.sh --rounds 3
		quick	0
		rounds	3
		micro_rounds	3
		lab_status	not run
		lab_reason	test
	EOF
	{
		local op v r
		for op in udp_socket tcp_socket udp_setsockopt tcp_setsockopt_pre tcp_setsockopt \
			udp_connect udp_epoll tcp_epoll_pre tcp_connect dup_close dup2_close \
			dup3_close close close_range closefrom fcntl_getfl getsockopt sendmsg \
			sendmmsg; do
			for r in 0 1 2; do
				echo "micro $op plain $r $((100 + r))"
				echo "micro $op shim $r $((100 + 2 * r))"
			done
			echo "syscalls $op plain 0 socket=1"
			echo "syscalls $op shim 0 socket=1"
		done
		for v in plain shim1 shim1000 wrap; do
			for r in 0 1 2; do
				echo "startup start $v $r $((500 + 10 * r))"
				echo "startup wall $v $r $((900 + 10 * r))"
			done
		done
		for w in keepalive close proxy; do
			for v in plain shim mptcpize; do
				for r in 0 1 2; do
					echo "nginx $w $v $r $((1000 + 100 * r))"
					echo "nginx_errors $w $v $r 0"
				done
			done
		done
		for v in plain shim mptcpize; do
			for k in worker_start private_start lib_start worker_after private_after; do
				echo "rss $k $v 0 100"
			done
		done
	} >"$OUT/raw/samples"
	run "$TOP/scripts/bench.sh" --report-from "$OUT/raw" --out "$OUT"
	echo "$output"
	[ "$status" -eq 0 ]
	python3 - "$OUT/bench.json" <<-'PY'
		import json, sys
		rows = {r["id"]: r for r in json.load(open(sys.argv[1]))["rows"]}
		assert len(rows) == 49, len(rows)  # 19 micro-benchmarks, their strace rows, 11 others
		r = rows["micro.udp_socket"]["shim/baseline"]
		# per-round ratios 1.000, 1.0099, 1.0196
		assert r["rounds"] == 3 and abs(r["median"] - 1.01) < 0.001, r
		assert r["q1"] <= r["median"] <= r["q3"], r
		assert rows["lab.failover"]["status"] == "not run"
	PY
}
