#!/usr/bin/env bats
# Opt-in MPTCP towards chosen upstreams (MPTCPSHIM_CONNECT) with Debian's
# nginx: proxy_pass to a listed upstream port is MPTCP - the backend's own
# kernel shows an MPTCP connection accepted from nginx - while an unlisted
# upstream stays TCP, and a plain TCP backend on a listed port still works.
# Ports 45000-47999 (nginx.bash), loopback only.

load common
load nginx

setup() {
	need_root
	need_mptcp
	ngx_setup
}

teardown() {
	if [ -z "${BATS_TEST_COMPLETED:-}" ] && [ -n "${NGX_DIR:-}" ]; then
		ngx_diag
	fi
	ngx_teardown
}

# Established connections towards port $1 (nginx's side) and accepted on
# it (the backend's side), as MPTCP sockets: "out N in N".
mptcp_conns() {
	echo "out $(ss -HMn state established "dport = :$1" | grep -c .)" \
		"in $(ss -HMn state established "sport = :$1" | grep -c .)"
}
tcp_conns_to() {
	ss -Htn state established "dport = :$1" | grep -c .
}

# An echo backend, as MPTCP listener (through the shim) or plain TCP.
echo_backend() { # mptcp|tcp PORT
	local pre=()
	[ "$1" = mptcp ] && pre=(env LD_PRELOAD="$SHIM" MPTCPSHIM_CONFIG=/dev/null MPTCPSHIM_PORTS="$2")
	"${pre[@]}" python3 "$PEER_PY" serve-echo --seconds 60 127.0.0.1 "$2" \
		>"$NGX_DIR/be$2.out" 2>&1 </dev/null 3>&- &
	echo "peer $!" >>"$NGX_DIR/pids"
	wait_listen "$2"
}

@test "http proxy_pass: a listed upstream port is reached over MPTCP, an unlisted one over TCP" {
	H1=$(port)
	H2=$(port "$H1")
	B1=$(port "$H1" "$H2")
	B2=$(port "$H1" "$H2" "$B1")
	ngx_conf <<-EOF
		http {
		$(http_common)
		upstream b1 { server 127.0.0.1:$B1; keepalive 2; }
		upstream b2 { server 127.0.0.1:$B2; keepalive 2; }
		server { listen 127.0.0.1:$H1; location / { proxy_pass http://b1;
		    proxy_http_version 1.1; proxy_set_header Connection ""; } }
		server { listen 127.0.0.1:$H2; location / { proxy_pass http://b2;
		    proxy_http_version 1.1; proxy_set_header Connection ""; } }
		server { listen 127.0.0.1:$B1; location / { return 200 "backend one\n"; } }
		server { listen 127.0.0.1:$B2; location / { return 200 "backend two\n"; } }
		}
	EOF
	# Both backends are MPTCP listeners; only B1 is a listed destination.
	ngx_start MPTCPSHIM_PORTS="$H1,$H2,$B1,$B2" MPTCPSHIM_CONNECT="$B1"
	for p in "$H1" "$H2" "$B1" "$B2"; do wait_listen "$p"; done

	run peer http --tcp 127.0.0.1 "$H1"
	[ "$status" -eq 0 ]
	[ "${lines[2]}" = "body=backend one" ]
	run peer http --tcp 127.0.0.1 "$H2"
	[ "${lines[2]}" = "body=backend two" ]

	# The kept-alive upstream connections, from the kernel: towards B1
	# MPTCP at both ends, towards B2 plain TCP.
	[ "$(mptcp_conns "$B1")" = "out 1 in 1" ]
	run ss -HMnp state established "dport = :$B1"
	[[ "$output" == *'"nginx"'* ]]
	[ "$(mptcp_conns "$B2")" = "out 0 in 0" ]
	[ "$(tcp_conns_to "$B2")" -eq 1 ]
	# nginx said it once for the destination (on stderr or its error log)
	run cat "$NGX_DIR/stderr" "$NGX_DIR/error.log"
	[ "$(grep -c "outbound connection to 127.0.0.1:$B1 uses MPTCP" <<<"$output")" -eq 1 ]
}

@test "stream proxy_pass: listed MPTCP backend over MPTCP; a plain TCP backend on a listed port still works" {
	T1=$(port)
	T2=$(port "$T1")
	B1=$(port "$T1" "$T2")
	B2=$(port "$T1" "$T2" "$B1")
	ngx_conf <<-EOF
		stream {
		    server { listen 127.0.0.1:$T1; proxy_pass 127.0.0.1:$B1; }
		    server { listen 127.0.0.1:$T2; proxy_pass 127.0.0.1:$B2; }
		}
	EOF
	echo_backend mptcp "$B1"
	echo_backend tcp "$B2"
	ngx_start MPTCPSHIM_PORTS="$T1,$T2" MPTCPSHIM_CONNECT="$B1,$B2"
	wait_listen "$T1"
	wait_listen "$T2"

	peer_bg c1 talk --send 'one\n' --read --hold "$NGX_DIR/c1.ready" "$NGX_DIR/release" 127.0.0.1 "$T1"
	peer_bg c2 talk --send 'two\n' --read --hold "$NGX_DIR/c2.ready" "$NGX_DIR/release" 127.0.0.1 "$T2"
	wait_file "$NGX_DIR/c1.ready"
	wait_file "$NGX_DIR/c2.ready"
	run cat "$NGX_DIR/c1.out"
	[ "${lines[0]}" = "is_mptcp=1" ]
	[ "${lines[1]}" = "reply=echo:one" ]
	run cat "$NGX_DIR/c2.out"
	[ "${lines[1]}" = "reply=echo:two" ]

	# B1: an MPTCP connection from nginx, accepted as MPTCP by the backend
	[ "$(mptcp_conns "$B1")" = "out 1 in 1" ]
	# B2 is plain TCP: the kernel fell back, the backend accepted TCP
	[ "$(ss -HMn state established "sport = :$B2" | grep -c .)" -eq 0 ]
	[ "$(tcp_conns_to "$B2")" -eq 1 ]
	touch "$NGX_DIR/release"
	peer_wait c1
	peer_wait c2
}
