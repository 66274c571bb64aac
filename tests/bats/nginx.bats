#!/usr/bin/env bats
# libmptcpshim under Debian's real nginx (1.22): http, stream and mail
# listeners, upstreams, reuseport, listen parameters, nginx -t, reload,
# binary upgrade, a kernel without MPTCP, and the configuration file.
#
# Every case asks the kernel: `ss -M` for the listeners, and an MPTCP
# client's own view of its connection (ngxpeer's is_mptcp: MPTCP_INFO,
# and TCP_IS_MPTCP where the kernel has it) with a correct protocol answer.
# Ports come from 45000-47999 only, addresses are 127.0.0.1 and ::1 (a
# wildcard listener is only ever bound inside a private network namespace).
#
# shellcheck disable=SC2034 # NGX_WORKERS, NGX_ENV...: read by nginx.bash

load common
load nginx

setup() {
	need_root
	need_mptcp
	command -v "$NGINX" >/dev/null || {
		echo "# $NGINX missing: run scripts/install-deps.sh" >&3
		return 1
	}
	ngx_setup
}

teardown() {
	if [ -z "${BATS_TEST_COMPLETED:-}" ] && [ -n "${NGX_DIR:-}" ]; then
		ngx_diag
	fi
	ngx_teardown
}

# An http server block answering "$1 pid=<worker pid>" on every listen
# line given as the remaining arguments.
http_server() {
	local name=$1 l
	shift
	echo "server {"
	for l in "$@"; do echo "    listen $l;"; done
	echo "    location / { return 200 \"$name pid=\$pid\\n\"; }"
	echo "}"
}

# ---- 1. http ----

@test "http: listed ports are MPTCP on 127.0.0.1 and ::1, TCP clients still served, unlisted port stays TCP" {
	P=$(port)
	U=$(port "$P")
	ngx_conf <<-EOF
		http {
		$(http_common)
		$(http_server listed "127.0.0.1:$P" "[::1]:$P")
		$(http_server unlisted "127.0.0.1:$U")
		}
	EOF
	ngx_start MPTCPSHIM_PORTS="$P"
	wait_listen "$P"
	wait_listen "$U"

	[ "$(mptcp_listeners "$P")" -eq 2 ]
	run ss -HMln "sport = :$P"
	[[ "$output" == *"127.0.0.1:$P"* ]]
	[[ "$output" == *"[::1]:$P"* ]]

	for addr in 127.0.0.1 ::1; do
		run peer http "$addr" "$P"
		[ "$status" -eq 0 ]
		[ "${lines[0]}" = "is_mptcp=1" ]
		[ "${lines[1]}" = "status=200" ]
		[[ "${lines[2]}" == "body=listed pid="* ]]

		run peer http --tcp "$addr" "$P"
		[ "$status" -eq 0 ]
		[ "${lines[0]}" = "is_mptcp=0" ]
		[[ "${lines[2]}" == "body=listed pid="* ]]
	done

	# Unlisted: a TCP listener and no MPTCP one; an MPTCP client falls
	# back to TCP and still gets the page.
	[ "$(mptcp_listeners "$U")" -eq 0 ]
	[ "$(tcp_listeners "$U")" -eq 1 ]
	run peer http 127.0.0.1 "$U"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "is_mptcp=0" ]
	[[ "${lines[2]}" == "body=unlisted pid="* ]]
}

@test "http: wildcard pair (listen P; listen [::]:P ipv6only=on) is MPTCP on both families (private netns)" {
	ngx_netns 1
	P=$(port)
	ngx_conf <<-EOF
		http {
		$(http_common)
		$(http_server wildcard "$P" "[::]:$P ipv6only=on")
		}
	EOF
	ngx_start MPTCPSHIM_PORTS="$P"
	ngx_wait_listen "$P"

	run in_ns ss -HMln "sport = :$P"
	[ "${#lines[@]}" -eq 2 ]
	[[ "$output" == *"0.0.0.0:$P"* ]]
	[[ "$output" == *"[::]:$P"* ]]
	# The [::] socket really is V6ONLY (else it could not share the port
	# with 0.0.0.0, and IPv4 clients would land on it).
	run peer sockopts "$(ngx_master)" :: "$P"
	[ "$status" -eq 0 ]
	[[ "$output" == *"proto=262 "* ]]
	[[ "$output" == *"v6only=1"* ]]

	for addr in 127.0.0.1 ::1; do
		run in_ns python3 "$PEER_PY" http "$addr" "$P"
		[ "$status" -eq 0 ]
		[ "${lines[0]}" = "is_mptcp=1" ]
		[[ "${lines[2]}" == "body=wildcard pid="* ]]
		run in_ns python3 "$PEER_PY" http --tcp "$addr" "$P"
		[ "$status" -eq 0 ]
		[ "${lines[0]}" = "is_mptcp=0" ]
		[[ "${lines[2]}" == "body=wildcard pid="* ]]
	done
}

# ---- 2. stream ----

@test "stream: TCP listener on a listed port is MPTCP and answers; UDP on the same port stays UDP" {
	P=$(port)
	ngx_conf <<-EOF
		stream {
		    server { listen 127.0.0.1:$P; listen [::1]:$P; return "stream-tcp \$protocol\n"; }
		    server { listen 127.0.0.1:$P udp; return "stream-udp \$protocol\n"; }
		}
	EOF
	ngx_start MPTCPSHIM_PORTS="$P"
	wait_listen "$P"

	[ "$(mptcp_listeners "$P")" -eq 2 ]
	[ "$(ss -Hlun "sport = :$P" | grep -c .)" -eq 1 ]

	for addr in 127.0.0.1 ::1; do
		run peer talk --read "$addr" "$P"
		[ "$status" -eq 0 ]
		[ "${lines[0]}" = "is_mptcp=1" ]
		[ "${lines[1]}" = "reply=stream-tcp TCP" ]
	done
	run peer talk --tcp --read 127.0.0.1 "$P"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "is_mptcp=0" ]
	[ "${lines[1]}" = "reply=stream-tcp TCP" ]

	run peer udp 127.0.0.1 "$P" hello
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "proto=17" ]
	[ "${lines[1]}" = "reply=stream-udp UDP" ]
}

# ---- 3. mail ----

# The mail block used by cases 3 and 4: smtp/imap/pop3 on $S/$I/$O,
# auth_http on $A (served by the same nginx) sending each protocol to a
# backend on $SB/$IB/$OB; only the password "secret" is accepted.
# $1: more http servers, $2: more top-level blocks.
mail_conf() {
	ngx_conf <<-EOF
		http {
		$(http_common)
		${1:-}
		    map \$http_auth_protocol \$be_port { smtp $SB; imap $IB; pop3 $OB; }
		    map \$http_auth_pass \$auth_status { secret OK; default "Invalid login or password"; }
		    server {
		        listen 127.0.0.1:$A;
		        location = /auth {
		            add_header Auth-Status \$auth_status;
		            add_header Auth-Server 127.0.0.1;
		            add_header Auth-Port \$be_port;
		            add_header Auth-Wait 1;
		            return 204;
		        }
		    }
		}
		mail {
		    server_name mail.test;
		    auth_http 127.0.0.1:$A/auth;
		    proxy_pass_error_message on;
		    xclient off;
		    server { listen 127.0.0.1:$S; protocol smtp; smtp_auth plain; }
		    server { listen 127.0.0.1:$I; protocol imap; }
		    server { listen 127.0.0.1:$O; protocol pop3; }
		}
		${2:-}
	EOF
}

# Seven distinct free ports, none of the arguments.
mail_ports() {
	S=$(port "$@")
	I=$(port "$@" "$S")
	O=$(port "$@" "$S" "$I")
	A=$(port "$@" "$S" "$I" "$O")
	SB=$(port "$@" "$S" "$I" "$O" "$A")
	IB=$(port "$@" "$S" "$I" "$O" "$A" "$SB")
	OB=$(port "$@" "$S" "$I" "$O" "$A" "$SB" "$IB")
}

mail_backends() {
	peer_bg smtpbe serve-smtp --seconds 60 127.0.0.1 "$SB"
	peer_bg imapbe serve-imap --seconds 60 127.0.0.1 "$IB"
	peer_bg pop3be serve-pop3 --seconds 60 127.0.0.1 "$OB"
	wait_listen "$SB"
	wait_listen "$IB"
	wait_listen "$OB"
}

@test "mail: smtp, imap and pop3 listeners are MPTCP, greet, and log in through auth_http to a backend" {
	mail_ports
	mail_conf
	mail_backends
	ngx_start MPTCPSHIM_PORTS="$S,$I,$O"
	for p in "$S" "$I" "$O" "$A"; do wait_listen "$p"; done

	for p in "$S" "$I" "$O"; do
		[ "$(mptcp_listeners "$p")" -eq 1 ]
	done
	[ "$(mptcp_listeners "$A")" -eq 0 ]

	run peer smtp --login alice secret 127.0.0.1 "$S"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "is_mptcp=1" ]
	[[ "${lines[1]}" == "greeting=220 mail.test ESMTP ready" ]]
	[[ "${lines[2]}" == "login=235 "* ]]
	[ "${lines[3]}" = "after=250 backend-smtp NOOP" ]

	run peer imap --login alice secret 127.0.0.1 "$I"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "is_mptcp=1" ]
	[ "${lines[1]}" = "greeting=* OK IMAP4 ready" ]
	[ "${lines[2]}" = "login=a1 OK backend-imap LOGIN alice" ]
	[ "${lines[3]}" = "after=a2 OK backend-imap NOOP" ]

	run peer pop3 --login alice secret 127.0.0.1 "$O"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "is_mptcp=1" ]
	[ "${lines[1]}" = "greeting=+OK POP3 ready" ]
	[ "${lines[2]}" = "login=+OK backend-pop3 logged in alice" ]
	[ "${lines[3]}" = "after=+OK backend-pop3 NOOP" ]

	# A wrong password is refused by the auth_http answer.
	run peer imap --login alice wrong 127.0.0.1 "$I"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "is_mptcp=1" ]
	[[ "${lines[2]}" == "login=a1 NO "* ]]
	# A plain TCP client is served as before.
	run peer pop3 --tcp 127.0.0.1 "$O"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "is_mptcp=0" ]
	[ "${lines[1]}" = "greeting=+OK POP3 ready" ]
}

# ---- 4. upstreams ----

# Prints the established sockets towards port $1 as "PROTO COUNT" lines.
conns_to() {
	echo "tcp $(ss -Htn state established "dport = :$1" | grep -c .)"
	echo "mptcp $(ss -HMn state established "dport = :$1" | grep -c .)"
}

@test "upstreams stay TCP: http proxy_pass, stream proxy_pass and the mail proxy; client sides are MPTCP" {
	H=$(port)  # http, proxies to $HB
	T=$(port "$H")  # stream, proxies to $TB
	HB=$(port "$H" "$T")  # an http server of the same nginx (listed too)
	TB=$(port "$H" "$T" "$HB")  # echo backend
	mail_ports "$H" "$T" "$HB" "$TB"
	mail_conf "$(
		cat <<-EOF
			upstream be { server 127.0.0.1:$HB; keepalive 4; }
			server {
			    listen 127.0.0.1:$H;
			    location / {
			        proxy_pass http://be;
			        proxy_http_version 1.1;
			        proxy_set_header Connection "";
			    }
			}
			$(http_server backend "127.0.0.1:$HB")
		EOF
	)" "stream { server { listen 127.0.0.1:$T; proxy_pass 127.0.0.1:$TB; } }"
	mail_backends
	peer_bg echobe serve-echo --seconds 60 127.0.0.1 "$TB"
	wait_listen "$TB"
	# All of nginx's mail, stream and http listeners are listed, the
	# upstream http server $HB too: what keeps the upstream connections
	# TCP is that nginx opens them (outbound), not the backend's listener.
	ngx_start MPTCPSHIM_PORTS="$H,$T,$HB,$S,$I,$O"
	for p in "$H" "$T" "$HB" "$I"; do wait_listen "$p"; done

	# Three clients that hold their connection open once answered.
	peer_bg c_http talk --send 'GET / HTTP/1.1\r\nHost: x\r\n\r\n' --read \
		--hold "$NGX_DIR/http.ready" "$NGX_DIR/release" 127.0.0.1 "$H"
	peer_bg c_stream talk --send 'ping\n' --read \
		--hold "$NGX_DIR/stream.ready" "$NGX_DIR/release" 127.0.0.1 "$T"
	peer_bg c_imap imap --login bob secret \
		--hold "$NGX_DIR/imap.ready" "$NGX_DIR/release" 127.0.0.1 "$I"
	for c in http stream imap; do wait_file "$NGX_DIR/$c.ready"; done

	# Client sides: MPTCP, with the right answers.
	run cat "$NGX_DIR/c_http.out"
	[ "${lines[0]}" = "is_mptcp=1" ]
	[ "${lines[1]}" = "reply=HTTP/1.1 200 OK" ]
	run cat "$NGX_DIR/c_stream.out"
	[ "${lines[0]}" = "is_mptcp=1" ]
	[ "${lines[1]}" = "reply=echo:ping" ]
	run cat "$NGX_DIR/c_imap.out"
	[ "${lines[0]}" = "is_mptcp=1" ]
	[ "${lines[2]}" = "login=a1 OK backend-imap LOGIN bob" ]
	for p in "$H" "$T" "$I"; do
		[ "$(ss -HMn state established "sport = :$p" | grep -c .)" -eq 1 ]
	done

	# nginx's sockets towards the backends: established, TCP, no MPTCP.
	for p in "$HB" "$TB" "$IB"; do
		run conns_to "$p"
		[ "${lines[0]}" = "tcp 1" ]
		[ "${lines[1]}" = "mptcp 0" ]
		run ss -Htnp state established "dport = :$p"
		[[ "$output" == *'"nginx"'* ]]
	done
	touch "$NGX_DIR/release"
	for c in c_http c_stream c_imap; do peer_wait "$c"; done
}

# ---- 5. reuseport ----

@test "reuseport with worker_processes 2: both clones are MPTCP and both workers accept" {
	P=$(port)
	NGX_WORKERS=2
	ngx_conf <<-EOF
		http {
		$(http_common)
		$(http_server rp "127.0.0.1:$P reuseport")
		}
	EOF
	ngx_start MPTCPSHIM_PORTS="$P"
	wait_listen "$P"

	[ "$(mptcp_listeners "$P")" -eq 2 ]
	[ "$(tcp_listeners "$P")" -eq 2 ]
	master=$(ngx_master)
	mapfile -t workers < <(wait_workers "$master" 2)
	[ "${#workers[@]}" -eq 2 ]
	# ss -Mlp: the MPTCP listeners are held by the master and its workers
	# (nginx 1.22 keeps every clone open in every worker; the kernel's
	# reuseport group spreads the connections).
	run ss -HMlnp "sport = :$P"
	for pid in "$master" "${workers[@]}"; do
		[[ "$output" == *"pid=$pid,"* ]]
	done

	# 60 connections, each new: both workers answer, all over MPTCP.
	run peer loop --max 60 --seconds 30 127.0.0.1 "$P"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "requests=60 ok=60 failed=0 mptcp=60" ]
	for pid in "${workers[@]}"; do
		[[ "$output" == *"body=rp pid=$pid count="* ]]
	done
}

# ---- 6. listen parameters ----

@test "listen parameters (backlog, rcvbuf, sndbuf, so_keepalive, deferred, fastopen, bind) take effect on the MPTCP socket" {
	P=$(port)
	U=$(port "$P")
	params="backlog=123 rcvbuf=98304 sndbuf=65536 so_keepalive=30s:10s:3 deferred fastopen=64 bind"
	ngx_conf <<-EOF
		http {
		$(http_common)
		$(http_server params "127.0.0.1:$P $params" "[::1]:$P $params")
		$(http_server tcp "127.0.0.1:$U $params")
		}
	EOF
	ngx_start MPTCPSHIM_PORTS="$P"
	wait_listen "$P"
	wait_listen "$U"

	# backlog: ss shows it as Send-Q of the MPTCP listener.
	run ss -HMln "sport = :$P"
	[ "${#lines[@]}" -eq 2 ]
	for l in "${lines[@]}"; do
		[ "$(echo "$l" | awk '{print $3}')" = 123 ]
	done
	# Buffers: the kernel reports twice the value set (skmem rb/tb).
	run ss -HMlnm "sport = :$P"
	[ "$(grep -c 'rb196608,t0,tb131072' <<<"$output")" -eq 2 ]

	# Every option read back from nginx's own sockets (a copy of the fd
	# taken with pidfd_getfd): the MPTCP listeners carry exactly what
	# the TCP listener of the unlisted port, configured alike, carries -
	# except, on a kernel whose MPTCP sockets refuse TCP_FASTOPEN
	# (Debian 12's 6.1, doc/kernels.md), fastopen=: nginx sets it after
	# listen(), the default `tolerate` reports success and says so once,
	# and the MPTCP listener runs without it (its getsockopt fails).
	master=$(ngx_master)
	run peer sockopts "$master" 127.0.0.1 "$U"
	[ "$status" -eq 0 ]
	tcp=${output#fd=* proto=6 }
	[[ "$tcp" == "rcvbuf=196608 sndbuf=131072 keepalive=1 keepidle=30 keepintvl=10 keepcnt=3 defer_accept="*" fastopen=64 reuseaddr=1 reuseport=0" ]]
	mptcp=$tcp
	if ! fo=$("$BUILD/tests/optprobe" TCP_FASTOPEN listen); then
		echo "# kernel $(uname -r): MPTCP listeners refuse TCP_FASTOPEN ($fo)" >&3
		mptcp=${tcp/fastopen=64/fastopen=error:*}
		[ "$(grep -c 'warn: TCP_FASTOPEN is not supported on MPTCP sockets by this kernel .*; reporting success as `tolerate` says' "$NGX_DIR/stderr")" -eq 1 ]
	fi
	run peer sockopts "$master" 127.0.0.1 "$P"
	[ "$status" -eq 0 ]
	# shellcheck disable=SC2053 # $mptcp may be a pattern
	[[ "${output#fd=* proto=262 }" == $mptcp ]]
	run peer sockopts "$master" ::1 "$P"
	[ "$status" -eq 0 ]
	# shellcheck disable=SC2053
	[[ "${output#fd=* proto=262 }" == $mptcp" v6only=1" ]]

	# The listeners work, and nginx complained about no option.
	run peer http 127.0.0.1 "$P"
	[ "${lines[0]}" = "is_mptcp=1" ]
	[[ "${lines[2]}" == "body=params pid="* ]]
	run peer http ::1 "$P"
	[ "${lines[0]}" = "is_mptcp=1" ]
	# (nginx words it "setsockopt(TCP_..., ...) for ADDR failed, ignored".)
	run grep -E 'setsockopt|failed|\[alert\]|\[emerg\]' "$NGX_DIR/error.log" "$NGX_DIR/stderr"
	[ "$status" -eq 1 ]
}

# ---- 7. nginx -t ----

@test "nginx -t under the shim succeeds and leaves no listener behind" {
	P=$(port)
	ngx_conf <<-EOF
		http {
		$(http_common)
		$(http_server t "127.0.0.1:$P" "[::1]:$P")
		}
	EOF
	NGX_ENV=(MPTCPSHIM_PORTS="$P" MPTCPSHIM_LOG=info)
	run ngx_cmd -t
	[ "$status" -eq 0 ]
	[[ "$output" == *"test is successful"* ]]
	# The test run did open (and convert) the sockets, then closed them.
	[[ "$output" == *"127.0.0.1:$P: socket converted to MPTCP"* ]]
	[ "$(tcp_listeners "$P")" -eq 0 ]
	[ "$(mptcp_listeners "$P")" -eq 0 ]
	# (nginx -t writes the pid file, with its own pid: that process is gone.)
	if [ -s "$NGX_DIR/nginx.pid" ]; then ! alive "$(ngx_master)"; fi

	# The port is free for the real start, MPTCP as listed.
	ngx_start MPTCPSHIM_PORTS="$P"
	wait_listen "$P"
	[ "$(mptcp_listeners "$P")" -eq 2 ]
	run peer http 127.0.0.1 "$P"
	[ "${lines[0]}" = "is_mptcp=1" ]
}

# ---- 8. reload ----

@test "reload adding a listed port: the new listener is MPTCP, the old one keeps serving, no request fails" {
	P=$(port)
	N=$(port "$P")
	conf() {
		ngx_conf <<-EOF
			http {
			$(http_common)
			$(http_server srv "$@")
			}
		EOF
	}
	conf "127.0.0.1:$P"
	# Settings are read at start: the port to add is already listed.
	ngx_start MPTCPSHIM_PORTS="$P,$N"
	wait_listen "$P"
	[ "$(mptcp_listeners "$P")" -eq 1 ]
	master=$(ngx_master)
	old_worker=$(wait_workers "$master" 1)
	inode=$(ss -HMlne "sport = :$P" | grep -o 'ino:[0-9]*')

	peer_bg loop loop --max 4000 --seconds 60 --stop "$NGX_DIR/stop" \
		--progress "$NGX_DIR/progress" 127.0.0.1 "$P"
	wait_file "$NGX_DIR/progress"

	conf "127.0.0.1:$P" "127.0.0.1:$N"
	run ngx_cmd -s reload
	[ "$status" -eq 0 ]
	wait_listen "$N"
	wait_gone "$old_worker"
	# Some more requests after the old worker is gone, then stop.
	before=$(cat "$NGX_DIR/progress")
	for _ in $(seq 1 100); do
		[ "$(cat "$NGX_DIR/progress")" -ge $((before + 20)) ] && break
		sleep 0.1
	done
	touch "$NGX_DIR/stop"
	peer_wait loop

	run cat "$NGX_DIR/loop.out"
	[[ "${lines[0]}" =~ ^requests=([0-9]+)\ ok=([0-9]+)\ failed=0\ mptcp=([0-9]+)$ ]]
	[ "${BASH_REMATCH[1]}" = "${BASH_REMATCH[2]}" ]
	[ "${BASH_REMATCH[1]}" = "${BASH_REMATCH[3]}" ]
	# Served by the old worker, then by the new one.
	new_worker=$(wait_workers "$master" 1)
	[ "$new_worker" != "$old_worker" ]
	[[ "$output" == *"body=srv pid=$old_worker count="* ]]
	[[ "$output" == *"body=srv pid=$new_worker count="* ]]

	# Same master, old listener kept (same socket), new one MPTCP.
	[ "$(ngx_master)" = "$master" ]
	[ "$(ss -HMlne "sport = :$P" | grep -o 'ino:[0-9]*')" = "$inode" ]
	[ "$(mptcp_listeners "$N")" -eq 1 ]
	run peer http 127.0.0.1 "$N"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "is_mptcp=1" ]
	[ "${lines[2]}" = "body=srv pid=$new_worker" ]
}

# ---- 9. binary upgrade ----

# Starts nginx on $P, upgrades its binary (USR2, then QUIT to the old
# master) with a configuration that adds $N. $1: the env lines.
upgrade() {
	NGX_MAIN_EXTRA=$1
	conf() {
		ngx_conf <<-EOF
			http {
			$(http_common)
			$(http_server srv "$@")
			}
		EOF
	}
	conf "127.0.0.1:$P"
	ngx_start MPTCPSHIM_PORTS="$P,$N"
	wait_listen "$P"
	[ "$(mptcp_listeners "$P")" -eq 1 ]
	old=$(ngx_master)
	inode=$(ss -HMlne "sport = :$P" | grep -o 'ino:[0-9]*')

	conf "127.0.0.1:$P" "127.0.0.1:$N"
	kill -USR2 "$old"
	wait_file "$NGX_DIR/nginx.pid.oldbin"
	for _ in $(seq 1 100); do
		[ -s "$NGX_DIR/nginx.pid" ] && [ "$(ngx_master)" != "$old" ] && break
		sleep 0.1
	done
	new=$(ngx_master)
	[ "$new" != "$old" ]
	echo "nginx $new" >>"$NGX_DIR/pids"
	wait_listen "$N"
	kill -QUIT "$old"
	wait_gone "$old"
	new_worker=$(wait_workers "$new" 1)
	# The inherited listener is the very same socket.
	[ "$(ss -HMlne "sport = :$P" | grep -o 'ino:[0-9]*')" = "$inode" ]
}

@test "binary upgrade with env LD_PRELOAD/MPTCPSHIM_*: inherited and new listeners are MPTCP" {
	P=$(port)
	N=$(port "$P")
	upgrade "env LD_PRELOAD; env MPTCPSHIM_PORTS; env MPTCPSHIM_CONFIG;"
	# (nginx overwrites its /proc/PID/environ with its title: look at
	# the libraries mapped instead.)
	grep -q libmptcpshim "/proc/$new/maps"

	for p in "$P" "$N"; do
		[ "$(mptcp_listeners "$p")" -eq 1 ]
		run peer http 127.0.0.1 "$p"
		[ "$status" -eq 0 ]
		[ "${lines[0]}" = "is_mptcp=1" ]
		[ "${lines[2]}" = "body=srv pid=$new_worker" ]
	done
}

@test "binary upgrade without the env lines: the library goes with its listeners; inherited and new ones are MPTCP" {
	P=$(port)
	N=$(port "$P")
	upgrade ""
	# nginx dropped LD_PRELOAD from the new binary's environment; the
	# library put itself and its settings back, because a converted
	# listener stays open across the execve(), and said so.
	grep -q libmptcpshim "/proc/$new/maps"
	grep -q "execve(.*): 1 converted socket(s) stay open in the new program; passing on what its environment lacks: LD_PRELOAD, MPTCPSHIM_PORTS" "$NGX_DIR/stderr" "$NGX_DIR/error.log"

	for p in "$P" "$N"; do
		[ "$(mptcp_listeners "$p")" -eq 1 ]
		run peer http 127.0.0.1 "$p"
		[ "$status" -eq 0 ]
		[ "${lines[0]}" = "is_mptcp=1" ]
		[ "${lines[2]}" = "body=srv pid=$new_worker" ]
	done
}

# ---- 10. no MPTCP ----

@test "MPTCP disabled (netns, net.mptcp.enabled=0): nginx serves over TCP, one warning per address" {
	ngx_netns 0
	P=$(port)
	NGX_WORKERS=2
	ngx_conf <<-EOF
		http {
		$(http_common)
		$(http_server tcp "127.0.0.1:$P reuseport" "[::1]:$P reuseport")
		}
	EOF
	ngx_start MPTCPSHIM_PORTS="$P"
	ngx_wait_listen "$P"

	# Two addresses, two reuseport clones each: four TCP listeners.
	[ "$(mptcp_listeners "$P")" -eq 0 ]
	[ "$(tcp_listeners "$P")" -eq 4 ]
	for addr in 127.0.0.1 ::1; do
		run in_ns python3 "$PEER_PY" http --tcp "$addr" "$P"
		[ "$status" -eq 0 ]
		[ "${lines[0]}" = "is_mptcp=0" ]
		[[ "${lines[2]}" == "body=tcp pid="* ]]
	done
	# An MPTCP client cannot even create its socket here.
	run in_ns python3 "$PEER_PY" http 127.0.0.1 "$P"
	[ "$status" -ne 0 ]

	# The shim's warning, once per address (not once per clone).
	cat "$NGX_DIR/stderr" "$NGX_DIR/error.log" >"$NGX_DIR/all.log"
	[ "$(grep -c "127.0.0.1:$P: staying TCP: " "$NGX_DIR/all.log")" -eq 1 ]
	[ "$(grep -c "\[::1\]:$P: staying TCP: " "$NGX_DIR/all.log")" -eq 1 ]
	grep -q "127.0.0.1:$P: staying TCP: .*net.mptcp.enabled" "$NGX_DIR/all.log"
}

# ---- 11. configuration file ----

@test "configuration file (MPTCPSHIM_CONFIG) instead of variables gives the same result" {
	P=$(port)
	U=$(port "$P")
	printf '# nginx ports\nports = %s\nlog = info\n' "$P" >"$NGX_DIR/shim.conf"
	ngx_conf <<-EOF
		http {
		$(http_common)
		$(http_server listed "127.0.0.1:$P" "[::1]:$P")
		$(http_server unlisted "127.0.0.1:$U")
		}
	EOF
	ngx_start MPTCPSHIM_CONFIG="$NGX_DIR/shim.conf"
	wait_listen "$P"
	wait_listen "$U"
	[ "$(mptcp_listeners "$P")" -eq 2 ]
	[ "$(mptcp_listeners "$U")" -eq 0 ]
	run peer http ::1 "$P"
	[ "${lines[0]}" = "is_mptcp=1" ]
	[[ "${lines[2]}" == "body=listed pid="* ]]
	run peer http 127.0.0.1 "$U"
	[ "${lines[0]}" = "is_mptcp=0" ]
	[[ "${lines[2]}" == "body=unlisted pid="* ]]
}

@test "broken configuration file: clear error, nginx serves over TCP; strict mode: nginx refuses to start" {
	P=$(port)
	printf 'ports = %s\nport = 99\n' "$P" >"$NGX_DIR/shim.conf"
	ngx_conf <<-EOF
		http {
		$(http_common)
		$(http_server srv "127.0.0.1:$P")
		}
	EOF
	ngx_start MPTCPSHIM_CONFIG="$NGX_DIR/shim.conf"
	wait_listen "$P"
	run cat "$NGX_DIR/stderr"
	[[ "$output" == *"$NGX_DIR/shim.conf"*'unknown key "port"'*"; converting nothing"* ]]
	[ "$(mptcp_listeners "$P")" -eq 0 ]
	[ "$(tcp_listeners "$P")" -eq 1 ]
	run peer http 127.0.0.1 "$P"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "is_mptcp=0" ]
	[[ "${lines[2]}" == "body=srv pid="* ]]

	# Strict mode: the same mistake stops nginx before it opens anything.
	run ngx_end nginx "$(ngx_master)"
	wait_gone "$(ngx_master)"
	rm -f "$NGX_DIR/nginx.pid"
	: >"$NGX_DIR/stderr"
	printf 'strict = 1\nports = %s\nport = 99\n' "$P" >"$NGX_DIR/shim.conf"
	run ngx_start MPTCPSHIM_CONFIG="$NGX_DIR/shim.conf"
	[ "$status" -ne 0 ]
	run cat "$NGX_DIR/stderr"
	[[ "$output" == *'unknown key "port"'*"; stopping (strict mode)"* ]]
	[ ! -e "$NGX_DIR/nginx.pid" ]
	[ "$(tcp_listeners "$P")" -eq 0 ]
}
