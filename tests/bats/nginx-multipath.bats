#!/usr/bin/env bats
# libmptcpshim under a current nginx, 1.30.4 (scripts/nginx-build.sh, from
# the vendored source), where what nginx 1.22 does not have matters:
#
# - On a binary upgrade the new master reads SO_PROTOCOL of every listener
#   it inherits (added with `listen ... multipath` in 1.29.7) and opens a
#   new socket where it differs from its configuration (plain TCP for a
#   listener without `multipath`). Under the library every listed listener
#   must keep its very socket - MPTCP, no second socket on the address,
#   MPTCP clients served throughout - with and without the
#   `env LD_PRELOAD; env MPTCPSHIM_PORTS;` lines.
# - A native `listen ... multipath` listener next to the library: nginx
#   makes it MPTCP itself, the library leaves it alone (and says so at
#   debug level), and an upgrade keeps it too.
#
# MPTCP is proven from outside nginx: `ss -M`, the socket's inode, the
# options of nginx's own sockets read through pidfd_getfd (ngxpeer.py
# sockopts: the kernel's SO_PROTOCOL, SO_REUSEPORT), and the clients'
# side. Ports 49000-49499, addresses 127.0.0.1 and ::1.
#
# shellcheck disable=SC2034 # NGX_MAIN_EXTRA, PORT_LO, PORT_HI: read by nginx.bash

load common
# The binary setup_file finds (exported to the tests); nginx.bash reads
# NGINX when it is loaded.
NGINX=${MPTCPSHIM_NGINX_CURRENT:-}
load nginx
PORT_LO=49000
PORT_HI=49499

setup_file() {
	need_root
	need_mptcp
	if [ -z "${MPTCPSHIM_NGINX_CURRENT:-}" ]; then
		MPTCPSHIM_NGINX_CURRENT=$("$TOP/scripts/nginx-build.sh")
	fi
	export MPTCPSHIM_NGINX_CURRENT
}

setup() {
	need_root
	need_mptcp
	# what this file is about: an nginx that compares SO_PROTOCOL
	[[ "$NGX_VERSION" == 1.3[0-9].* ]] || {
		echo "# $NGINX is nginx '$NGX_VERSION', not 1.30" >&3
		return 1
	}
	ngx_setup
}

teardown() {
	ngx_test_teardown
}

# "ino:N" of every MPTCP (or with $2=tcp, TCP) listener on port $1, sorted.
inodes() {
	if [ "${2:-mptcp}" = tcp ]; then
		ss -Hltne "sport = :$1"
	else
		ss -HMlne "sport = :$1"
	fi | grep -o 'ino:[0-9]*' | sort | tr '\n' ' '
}

http_stream_conf() { # LISTEN-PARAMETERS-OF-THE-HTTP-LISTENERS
	ngx_conf <<-EOF
		http {
		$(http_common)
		server {
		    listen 127.0.0.1:$P $1;
		    listen [::1]:$P $1;
		    location / { return 200 "listed pid=\$pid\n"; }
		}
		server {
		    listen 127.0.0.1:$U;
		    location / { return 200 "unlisted pid=\$pid\n"; }
		}
		}
		stream { server { listen 127.0.0.1:$S; return "stream pid=\$pid\n"; } }
	EOF
}

# Upgrades the running nginx's binary (USR2, then QUIT to the old master)
# while an MPTCP client makes requests in a loop on $P; sets old, new.
upgrade_under_load() {
	old=$(ngx_master)
	peer_bg loop loop --max 100000 --seconds 60 --stop "$NGX_DIR/stop" \
		--progress "$NGX_DIR/progress" 127.0.0.1 "$P"
	wait_file "$NGX_DIR/progress"

	new=$(ngx_usr2 "$old")
	# Old and new workers side by side: requests go on.
	more_requests
	check_listeners "during the overlap"

	kill -QUIT "$old"
	wait_gone "$old"
	more_requests
	touch "$NGX_DIR/stop"
	peer_wait loop
}

# Waits (at most 5 s) until the loop client has made 20 more requests.
more_requests() {
	local before _
	before=$(cat "$NGX_DIR/progress")
	for _ in $(seq 1 100); do
		[ "$(cat "$NGX_DIR/progress")" -ge $((before + 20)) ] && return 0
		sleep 0.05
	done
	echo "the loop client made no 20 more requests in 5 s" >&2
	return 1
}

# Every listener is still the socket it was before the upgrade ($ino_*),
# and no other socket has joined it on its address.
check_listeners() {
	echo "checking listeners ($1)"
	[ "$(inodes "$P")" = "$ino_p" ]
	[ "$(inodes "$S")" = "$ino_s" ]
	[ "$(inodes "$U" tcp)" = "$ino_u" ]
	[ "$(mptcp_listeners "$P")" -eq 2 ]
	[ "$(tcp_listeners "$P")" -eq 2 ]
	[ "$(mptcp_listeners "$S")" -eq 1 ]
	[ "$(tcp_listeners "$S")" -eq 1 ]
	[ "$(mptcp_listeners "$U")" -eq 0 ]
	[ "$(tcp_listeners "$U")" -eq 1 ]
}

# The binary upgrade case, with $1 as the env lines of nginx.conf.
binary_upgrade() {
	P=$(port)
	S=$(port "$P")
	U=$(port "$P" "$S")
	NGX_MAIN_EXTRA=$1
	http_stream_conf ""
	ngx_start MPTCPSHIM_PORTS="$P,$S"
	for p in "$P" "$S" "$U"; do wait_listen "$p"; done
	ino_p=$(inodes "$P")
	ino_s=$(inodes "$S")
	ino_u=$(inodes "$U" tcp)
	check_listeners "before the upgrade"

	upgrade_under_load

	# The new master runs the library (with the env lines because nginx
	# passes LD_PRELOAD on, without them because the library carries
	# itself across the exec while converted listeners stay open).
	grep -q libmptcpshim "/proc/$new/maps"
	check_listeners "after the upgrade"
	# The kernel's view of nginx's own sockets (through pidfd_getfd, from
	# outside the library): MPTCP, and no SO_REUSEPORT (nginx sets it
	# only to open a second socket beside one whose protocol differs).
	for addr in 127.0.0.1 ::1; do
		run peer sockopts "$new" "$addr" "$P"
		[ "$status" -eq 0 ]
		[[ "$output" == *" proto=262 "* ]]
		[[ "$output" == *" reuseport=0"* ]]
	done

	# Every request of the loop was served, over MPTCP, before, during
	# and after the upgrade, by old and new workers.
	run cat "$NGX_DIR/loop.out"
	echo "$output"
	[[ "${lines[0]}" =~ ^requests=([0-9]+)\ ok=([0-9]+)\ failed=0\ mptcp=([0-9]+)$ ]]
	[ "${BASH_REMATCH[1]}" = "${BASH_REMATCH[2]}" ]
	[ "${BASH_REMATCH[1]}" = "${BASH_REMATCH[3]}" ]
	new_worker=$(wait_workers "$new" 1)
	[[ "$output" == *"body=listed pid=$new_worker count="* ]]
	[ "$(grep -c '^body=listed pid=' <<<"$output")" -ge 2 ]

	for addr in 127.0.0.1 ::1; do
		run peer http "$addr" "$P"
		[ "$status" -eq 0 ]
		[ "${lines[0]}" = is_mptcp=1 ]
		[ "${lines[2]}" = "body=listed pid=$new_worker" ]
	done
	run peer talk --read 127.0.0.1 "$S"
	[ "${lines[0]}" = is_mptcp=1 ]
	[ "${lines[1]}" = "reply=stream pid=$new_worker" ]
	run peer http 127.0.0.1 "$U"
	[ "${lines[0]}" = is_mptcp=0 ]
	[ "${lines[2]}" = "body=unlisted pid=$new_worker" ]
	# nginx complained about nothing
	run grep -E '\[(alert|emerg|crit)\]' "$NGX_DIR/error.log" "$NGX_DIR/stderr"
	[ "$status" -eq 1 ]
}

@test "nginx 1.30 binary upgrade with env LD_PRELOAD/MPTCPSHIM_*: every listed listener keeps its MPTCP socket, clients served throughout" {
	binary_upgrade "env LD_PRELOAD; env MPTCPSHIM_PORTS; env MPTCPSHIM_CONFIG;"
}

@test "nginx 1.30 binary upgrade without the env lines: the same" {
	binary_upgrade ""
}

# An http server on $P (the library converts it) and on $M with nginx's
# own multipath parameter.
native_conf() {
	ngx_conf <<-EOF
		http {
		$(http_common)
		server {
		    listen 127.0.0.1:$P;
		    listen 127.0.0.1:$M multipath;
		    location / { return 200 "srv pid=\$pid\n"; }
		}
		}
	EOF
}

@test "nginx 1.30: a native 'listen ... multipath' next to the library is left alone (said at debug level); both serve MPTCP" {
	P=$(port)
	M=$(port "$P")
	native_conf
	# Both ports listed: the library would convert M, were it not MPTCP.
	ngx_start MPTCPSHIM_PORTS="$P,$M" MPTCPSHIM_LOG=debug
	wait_listen "$P"
	wait_listen "$M"
	[ "$(mptcp_listeners "$P")" -eq 1 ]
	[ "$(mptcp_listeners "$M")" -eq 1 ]
	[ "$(tcp_listeners "$M")" -eq 1 ]

	run cat "$NGX_DIR/stderr"
	echo "$output"
	[[ "$output" == *"127.0.0.1:$P: socket converted to MPTCP"* ]]
	[[ "$output" != *"127.0.0.1:$M: socket converted"* ]]
	# one debug line says the library left the MPTCP socket alone
	[ "$(grep -cE "mptcpshim\[[0-9]+\]: debug: .*127\.0\.0\.1:$M\b.*MPTCP" <<<"$output")" -ge 1 ]
	run grep -E "mptcpshim\[[0-9]+\]: (warn|error)" <<<"$output"
	[ "$status" -eq 1 ]

	for p in "$P" "$M"; do
		run peer http 127.0.0.1 "$p"
		[ "$status" -eq 0 ]
		[ "${lines[0]}" = is_mptcp=1 ]
		[[ "${lines[2]}" == "body=srv pid="* ]]
	done
}

@test "nginx 1.30 binary upgrade with a native multipath listener and a converted one: both sockets kept" {
	P=$(port)
	M=$(port "$P")
	NGX_MAIN_EXTRA="env LD_PRELOAD; env MPTCPSHIM_PORTS;"
	native_conf
	ngx_start MPTCPSHIM_PORTS="$P,$M"
	wait_listen "$P"
	wait_listen "$M"
	ino_p=$(inodes "$P")
	ino_m=$(inodes "$M")
	[ -n "$ino_p" ] && [ -n "$ino_m" ]
	old=$(ngx_master)

	new=$(ngx_usr2 "$old")
	kill -QUIT "$old"
	wait_gone "$old"

	# The native socket reads 262 in nginx too (the library answers 6
	# only for sockets it converted): nginx keeps both.
	[ "$(inodes "$P")" = "$ino_p" ]
	[ "$(inodes "$M")" = "$ino_m" ]
	[ "$(tcp_listeners "$P")" -eq 1 ]
	[ "$(tcp_listeners "$M")" -eq 1 ]
	for p in "$P" "$M"; do
		run peer sockopts "$new" 127.0.0.1 "$p"
		[[ "$output" == *" proto=262 "* ]]
		[[ "$output" == *" reuseport=0"* ]]
		run peer http 127.0.0.1 "$p"
		[ "${lines[0]}" = is_mptcp=1 ]
	done
	run grep -E '\[(alert|emerg|crit)\]' "$NGX_DIR/error.log" "$NGX_DIR/stderr"
	[ "$status" -eq 1 ]
}
