#!/usr/bin/env bats
# mptcpshim doctor's kernel advice, on whatever kernel runs the tests: the
# options it reports refused are the ones the kernel refuses, and a
# refused option names the nginx listen lines it affects. Kept apart from
# doctor.bats so that scripts/vm-test.sh runs it on 6.1 (which refuses
# TCP_FASTOPEN: the branch the host's kernel never takes) and 6.12.
# Ports 49500-49999, as doctor.bats (never run at the same time).

load common
load doctor
bats_require_minimum_version 1.5.0

CLI=$BUILD/cli/mptcpshim

setup() {
	[ -x "$CLI" ] || {
		echo "# $CLI missing: build first" >&3
		return 1
	}
	probe_setup 49500 49999
	doctor_env
}

teardown() {
	# an nginx a test started (its pid file), also when the test failed
	[ ! -s "$TMP/nginx.pid" ] || kill "$(cat "$TMP/nginx.pid")" 2>/dev/null || true
	probe_teardown
}

@test "doctor: the socket options it reports refused are the ones this kernel refuses" {
	need_mptcp
	doctor_run "$CLI" doctor --json
	printf '%s\n' "$output" >"$TMP/d.json"
	# the same options, set by hand on an MPTCP listener and on an
	# accepted MPTCP socket: the verdicts must agree one by one
	python3 - "$TMP/d.json" <<-'EOF'
	import json, socket, sys
	d = json.load(open(sys.argv[1]))
	opts = {o["name"]: o for o in d["options"]}
	assert "TCP_FASTOPEN" in opts and opts["TCP_FASTOPEN"]["nginx"] == "fastopen="
	T, S = socket.IPPROTO_TCP, socket.SOL_SOCKET
	table = {"SO_REUSEADDR": (S, 2), "SO_REUSEPORT": (S, 15), "SO_RCVBUF": (S, 8),
	         "SO_SNDBUF": (S, 7), "SO_KEEPALIVE": (S, 9), "TCP_KEEPIDLE": (T, 4),
	         "TCP_KEEPINTVL": (T, 5), "TCP_KEEPCNT": (T, 6), "TCP_FASTOPEN": (T, 23),
	         "TCP_DEFER_ACCEPT": (T, 9), "TCP_NODELAY": (T, 1), "TCP_CORK": (T, 3),
	         "TCP_MAXSEG": (T, 2), "TCP_USER_TIMEOUT": (T, 18), "TCP_QUICKACK": (T, 12)}
	l = socket.socket(socket.AF_INET, socket.SOCK_STREAM, 262)
	l.bind(("127.0.0.1", 0)); l.listen(4)
	c = socket.socket(socket.AF_INET, socket.SOCK_STREAM, 262)
	c.connect(l.getsockname()); a, _ = l.accept()
	for name, o in opts.items():
	    lvl, opt = table[name]
	    s = a if o["socket"] == "accepted" else l
	    try:
	        s.setsockopt(lvl, opt, o["value"])
	        ok = True
	    except OSError:
	        ok = False
	    assert ok == o["accepted"], (name, ok, o)
	print(len(opts), "options agree")
	EOF
}


@test "doctor: Debian's nginx and its configuration, read with nginx -T" {
	need_root
	[ -x /usr/sbin/nginx ] || skip "no /usr/sbin/nginx (scripts/install-deps.sh installs it)"
	cat >"$TMP/nginx.conf" <<-EOF
	pid $TMP/nginx.pid;
	error_log $TMP/error.log;
	events {}
	http {
	    access_log off;
	    server { listen 127.0.0.1:$PORT fastopen=16; }
	}
	EOF
	printf '#!/bin/sh\nexec /usr/sbin/nginx -c %s "$@"\n' "$TMP/nginx.conf" >"$TMP/nginx"
	chmod +x "$TMP/nginx"
	doctor_run "$CLI" doctor --nginx "$TMP/nginx" --json
	python3 - "$output" "$PORT" <<-'EOF'
	import json, sys
	d = json.loads(sys.argv[1])
	msgs = [f["message"] for f in d["findings"] if f["check"] == "nginx"]
	assert any("has no native 'listen ... multipath'" in m for m in msgs), msgs
	fo = [o for o in d["options"] if o["name"] == "TCP_FASTOPEN"][0]
	opt = [f for f in d["findings"] if f["check"] == "options" and "TCP_FASTOPEN" in f["message"]]
	# refused: the finding names the listen line; accepted: none
	if fo["accepted"]:
	    assert not opt, opt
	else:
	    assert any("listen 127.0.0.1:%s fastopen=16;" % sys.argv[2] in x
	               for x in opt[0]["details"]), opt
	EOF
}
