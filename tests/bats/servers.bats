#!/usr/bin/env bats
# The compatibility matrix (issue 16): Debian 12's servers under
# libmptcpshim. Each test starts one server, from a configuration it writes
# into its own directory, in a network namespace of its own (ports
# 49001-49012 there, see servers.bash; addresses 127.0.0.1 and ::1), and
# records one row of doc/servers.md (tests/tools/servers-table.py renders
# the rows; scripts/servers-matrix.sh runs both).
#
# Every row is proven at the kernel boundary, never by a log line:
# - the listener: `ss -Ml` in the namespace (MPTCP listeners only);
# - the connection: srvpeer's own socket, getsockopt(SOL_MPTCP,
#   MPTCP_INFO), which works only while MPTCP is in use (TCP_IS_MPTCP does
#   not exist on Debian 12's 6.1);
# - the server's outbound connections: a backend listening with
#   IPPROTO_MPTCP itself reads SO_PROTOCOL of the socket it accepted.
#
# The socket options each server sets were read once with
#   strace -f -e trace=%network,dup,dup2,dup3,fcntl,clone,clone3,fork,vfork,close,execve
# (without the library) and are kept in a comment above its test; the
# same lists go into the row, and the table says on which kernels MPTCP
# refuses them (tests/tools/servers-table.py, after doc/kernels.md).

load common
load servers

BATS_TEST_TIMEOUT=${BATS_TEST_TIMEOUT:-180}

setup_file() {
	# A fresh results file per run of the whole file.
	[ -n "${SERVERS_KEEP_RESULTS:-}" ] || rm -f "$SRV_RESULTS"
}

setup() {
	need_root
	need_mptcp
	srv_setup
}

teardown() {
	srv_teardown
}

# ---- apache2 (event MPM) ----
# strace, Apache 2.4.71 (Debian 12), `Listen` on 127.0.0.1 and [::1]:
#   socket(AF_INET, SOCK_STREAM|SOCK_CLOEXEC, IPPROTO_IP)
#   setsockopt(SOL_SOCKET, SO_REUSEADDR, [1]); setsockopt(SOL_SOCKET, SO_KEEPALIVE, [1])
#   setsockopt(SOL_TCP, TCP_NODELAY, [1]); [AF_INET6: setsockopt(SOL_IPV6, IPV6_V6ONLY, [0])]
#   bind(); listen(511); fcntl(F_SETFL, O_NONBLOCK)
#   setsockopt(SOL_TCP, TCP_DEFER_ACCEPT, [30])   (AcceptFilter http data, the default)
# All in the first process, before it detaches (fork): the listeners
# outlive the fork and every later configuration pass and graceful restart
# reuses them (no new socket). Accepted sockets: no option set (they inherit
# TCP_NODELAY). mod_proxy_http: socket(); setsockopt(TCP_NODELAY, [1]); connect().
@test "apache2 (event MPM): listeners, clients, graceful restart, mod_proxy outbound" {
	row server "apache2 (event MPM)"
	row version "$(pkg_version apache2)"
	row prebind "SO_REUSEADDR SO_KEEPALIVE TCP_NODELAY IPV6_V6ONLY"
	row afterbind "TCP_DEFER_ACCEPT"
	row accepted "-"
	row outopts "TCP_NODELAY"
	mkdir "$SRV_DIR/htdocs"
	echo "hello from apache2" >"$SRV_DIR/htdocs/index.html"
	local mods=/usr/lib/apache2/modules
	cat >"$SRV_DIR/apache2.conf" <<-EOF
		ServerRoot $SRV_DIR
		ServerName server.test
		LoadModule mpm_event_module $mods/mod_mpm_event.so
		LoadModule authz_core_module $mods/mod_authz_core.so
		LoadModule dir_module $mods/mod_dir.so
		LoadModule proxy_module $mods/mod_proxy.so
		LoadModule proxy_http_module $mods/mod_proxy_http.so
		User www-data
		Group www-data
		Listen 127.0.0.1:$P
		Listen [::1]:$P
		Listen 127.0.0.1:$U
		PidFile $SRV_DIR/apache2.pid
		ErrorLog $SRV_DIR/error.log
		LogLevel info
		Mutex file:$SRV_DIR
		DefaultRuntimeDir $SRV_DIR
		DocumentRoot $SRV_DIR/htdocs
		<Directory $SRV_DIR/htdocs>
		    Require all granted
		</Directory>
		ProxyPass /bt/ http://127.0.0.1:$BT/
		ProxyPass /bm/ http://127.0.0.1:$BM/
	EOF
	local shim=(MPTCPSHIM_PORTS="$P" MPTCPSHIM_CONNECT="$BM")
	SRV_STOP+=("ip netns exec $SRV_NS apache2 -d $SRV_DIR -f $SRV_DIR/apache2.conf -k stop")
	srv_run apache2 "${shim[@]}" -- apache2 -d "$SRV_DIR" -f "$SRV_DIR/apache2.conf" -k start
	srv_wait_listen "$P"

	[ "$(mptcp_listener_addrs "$P")" = "127.0.0.1:$P [::1]:$P" ]
	row listener "yes: 127.0.0.1:$P, [::1]:$P"
	for addr in 127.0.0.1 ::1; do
		run peer http "$addr" "$P"
		[ "$status" -eq 0 ]
		line_is 0 "mptcp=1"
		line_is 2 "body=hello from apache2"
	done
	row mptcp "yes: HTTP GET, IPv4 and IPv6"
	run peer --tcp http 127.0.0.1 "$P"
	[ "$status" -eq 0 ]
	line_is 0 "mptcp=0"
	line_is 2 "body=hello from apache2"
	row tcp "yes: HTTP GET"

	assert_tcp_only "$U"
	run peer http 127.0.0.1 "$U"
	[ "$status" -eq 0 ]
	line_is 0 "mptcp=0"
	row unlisted "stays TCP (an MPTCP client falls back and is served)"

	# graceful restart (apachectl graceful = apache2 -k graceful, SIGUSR1)
	local before
	before=$(mptcp_listener_inodes "$P")
	srv_run apache2 "${shim[@]}" -- apache2 -d "$SRV_DIR" -f "$SRV_DIR/apache2.conf" -k graceful
	wait_line "$SRV_DIR/error.log" "AH00493: SIGUSR1 received"
	wait_count "$SRV_DIR/error.log" "resuming normal operations" 2
	[ "$(mptcp_listener_inodes "$P")" = "$before" ]
	run peer http 127.0.0.1 "$P"
	[ "$status" -eq 0 ]
	line_is 0 "mptcp=1"
	row reload "apachectl graceful: same MPTCP listeners, served over MPTCP"

	# mod_proxy: to a backend not named in MPTCPSHIM_CONNECT, and to one named
	backend bt http "$BT"
	backend bm http "$BM"
	run peer http 127.0.0.1 "$P" /bt/
	[ "$status" -eq 0 ]
	line_is 2 "body=backend proto=6"
	run peer http 127.0.0.1 "$P" /bm/
	[ "$status" -eq 0 ]
	line_is 2 "body=backend proto=262"
	row outbound "mod_proxy_http: TCP; MPTCP to the port named in MPTCPSHIM_CONNECT"

	# Nothing refused: no fallback warning, no failed setsockopt in the log.
	no_fallback "$SRV_DIR/apache2.out"
	absent 'setsockopt\|AH00138\|AH00139' "$SRV_DIR/error.log"
	row notes "TCP_DEFER_ACCEPT (AcceptFilter) is set after listen(): accepted by MPTCP since 5.19."
}
