#!/usr/bin/env bats
# A kernel before 5.17, simulated: the case `tolerate` was made for.
#
# On kernels 5.6 to 5.16, MPTCP sockets refuse TCP_NODELAY and TCP_CORK
# with ENOPROTOOPT. nginx sets TCP_NODELAY on an accepted connection when
# it goes to keep-alive, and TCP_CORK (tcp_nopush) before it sends a file
# with sendfile; when either fails, nginx closes the connection. No such
# kernel with MPTCP can be had from the archive these machines reach
# (Debian 11's 5.10 is built without MPTCP, nothing older or newer from
# backports is there), so this suite makes this kernel answer like one:
#
# tests/tools/refuseopt runs nginx under a seccomp filter that hands each
# setsockopt(IPPROTO_TCP, TCP_NODELAY or TCP_CORK) of nginx and all its
# processes to a supervisor; the supervisor looks at the socket itself
# (pidfd_getfd, SO_PROTOCOL) and answers ENOPROTOOPT for an MPTCP socket,
# as those kernels did, and lets the real call run for any other socket.
#
# Simulated: exactly that errno, for those two options, on MPTCP sockets,
# through the real system call path (nginx, libc, the library). Not
# simulated: anything else those kernels did differently (other options
# they refuse - the keepalive ones, for instance, which nginx's
# so_keepalive= sets and only logs when refused -, no MPTCP_INFO before
# 5.16, their subflow handling). MPTCP itself is this kernel's.
#
# Debian's nginx 1.22 serves MPTCP clients (proven MPTCP from the client
# side) with the library's default `tolerate` list and drops them with
# MPTCPSHIM_TOLERATE=none; plain TCP clients are served either way.
# Ports 39000-39499.
#
# shellcheck disable=SC2034 # PORT_LO, PORT_HI, NGINX: read by nginx.bash

load common
load nginx
PORT_LO=39000
PORT_HI=39499
REFUSEOPT=$BUILD/tests/refuseopt
NGX_REAL=$NGINX # the nginx nginx.bash chose (Debian's 1.22 by default)

setup() {
	need_root
	need_mptcp
	command -v "$NGX_REAL" >/dev/null || {
		echo "# $NGX_REAL missing: run scripts/install-deps.sh" >&3
		return 1
	}
	[ -x "$REFUSEOPT" ] || {
		echo "# $REFUSEOPT missing: build first" >&3
		return 1
	}
	ngx_setup
	# nginx.bash starts "$NGINX": a wrapper that puts nginx under
	# refuseopt and leaves its supervisor running in the background.
	cat >"$NGX_DIR/nginx-refusing" <<-EOF
		#!/bin/sh
		exec "$REFUSEOPT" --seconds 120 --detach "$NGX_DIR/refuseopt.pid" \
			TCP_NODELAY,TCP_CORK -- "$NGX_REAL" "\$@"
	EOF
	chmod 755 "$NGX_DIR/nginx-refusing"
	NGINX=$NGX_DIR/nginx-refusing
	# a file nginx sends with sendfile (and, with tcp_nopush, TCP_CORK)
	mkdir "$NGX_DIR/www"
	head -c 200000 /dev/zero | tr '\0' 'x' >"$NGX_DIR/www/file.txt"
}

teardown() {
	local sup _
	if [ -z "${BATS_TEST_COMPLETED:-}" ] && [ -n "${NGX_DIR:-}" ]; then
		ngx_diag
	fi
	sup=$(cat "${NGX_DIR:-/nonexistent}/refuseopt.pid" 2>/dev/null || true)
	ngx_teardown
	# With nginx gone the supervisor ends by itself (no process is left
	# under its filter); it is killed by pid if it did not.
	[ -n "$sup" ] || return 0
	for _ in $(seq 1 50); do
		alive "$sup" || return 0
		sleep 0.1
	done
	case "$(tr '\0' ' ' <"/proc/$sup/cmdline" 2>/dev/null)" in
	*refuseopt*) kill -KILL "$sup" 2>/dev/null || true ;;
	esac
}

# The http block: keep-alive with tcp_nodelay, sendfile with tcp_nopush.
keepalive_conf() {
	ngx_conf <<-EOF
		http {
		$(http_common)
		    keepalive_timeout 30s;
		    keepalive_requests 100;
		    tcp_nodelay on;
		    sendfile on;
		    tcp_nopush on;
		    server {
		        listen 127.0.0.1:$P;
		        root $NGX_DIR/www;
		        location = / { return 200 "hello\n"; }
		    }
		}
	EOF
}

# Starts nginx under refuseopt on a free port $P (listed), with the
# settings given as arguments; its listener must be MPTCP.
start_refusing() {
	P=$(port)
	keepalive_conf
	ngx_start MPTCPSHIM_PORTS="$P" "$@"
	wait_listen "$P"
	[ "$(mptcp_listeners "$P")" -eq 1 ]
}

@test "simulated kernel before 5.17, default tolerate: nginx serves MPTCP clients on keep-alive connections and with sendfile" {
	start_refusing

	# Three requests on one MPTCP connection: nginx sets TCP_NODELAY
	# after the first (refused, tolerated), and keeps serving.
	run peer keepalive --count 3 127.0.0.1 "$P" /
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "is_mptcp=1" ]
	[ "${lines[1]}" = "request 1: status=200 length=6" ]
	[ "${lines[3]}" = "request 3: status=200 length=6" ]
	[ "${lines[4]}" = "ok=3 of 3" ]
	# A file sent with sendfile after TCP_CORK (refused, tolerated).
	run peer keepalive --count 2 127.0.0.1 "$P" /file.txt
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "is_mptcp=1" ]
	[ "${lines[1]}" = "request 1: status=200 length=200000" ]
	[ "${lines[3]}" = "ok=2 of 2" ]

	# The refusals did happen, and the library said so once per option;
	# nginx saw no failure.
	ngx_end nginx "$(ngx_master)"
	wait_gone "$(cat "$NGX_DIR/refuseopt.pid")"
	# (the workers' messages land in nginx's error log)
	run cat "$NGX_DIR/stderr" "$NGX_DIR/error.log"
	[[ "$output" =~ refuseopt:\ refused\ ([0-9]+), ]]
	[ "${BASH_REMATCH[1]}" -ge 2 ]
	[ "$(grep -c 'warn: TCP_NODELAY is not supported on MPTCP sockets by this kernel (Protocol not available (ENOPROTOOPT)); reporting success as `tolerate` says' <<<"$output")" -eq 1 ]
	[ "$(grep -c 'warn: TCP_CORK is not supported on MPTCP sockets by this kernel' <<<"$output")" -eq 1 ]
	run grep -E 'setsockopt\(TCP_(NODELAY|NOPUSH|CORK)\) failed' "$NGX_DIR/error.log"
	[ "$status" -eq 1 ]
}

@test "simulated kernel before 5.17, MPTCPSHIM_TOLERATE=none: nginx drops MPTCP clients, still serves TCP clients" {
	start_refusing MPTCPSHIM_TOLERATE=none

	# The first answer arrives, then TCP_NODELAY fails and nginx closes.
	run peer keepalive --count 3 127.0.0.1 "$P" /
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "is_mptcp=1" ]
	[ "${lines[1]}" = "request 1: status=200 length=6" ]
	[[ "${lines[2]}" == "request 2: error "* ]]
	[ "${lines[3]}" = "ok=1 of 3" ]
	# The file: TCP_CORK fails before it is sent; nothing arrives.
	run peer keepalive --count 1 127.0.0.1 "$P" /file.txt
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "is_mptcp=1" ]
	[[ "${lines[1]}" == "request 1: error "* ]]
	[ "${lines[2]}" = "ok=0 of 1" ]
	grep -q 'setsockopt(TCP_NODELAY) failed (92: Protocol not available)' "$NGX_DIR/error.log"
	grep -q 'setsockopt(TCP_CORK) failed (92: Protocol not available)' "$NGX_DIR/error.log"

	# Plain TCP clients of the same listener are not affected.
	run peer keepalive --tcp --count 3 127.0.0.1 "$P" /
	[ "${lines[0]}" = "is_mptcp=0" ]
	[ "${lines[4]}" = "ok=3 of 3" ]
	run peer keepalive --tcp --count 2 127.0.0.1 "$P" /file.txt
	[ "${lines[3]}" = "ok=2 of 2" ]
}
