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
# (without the library; tests/tools/srvtrace.py sorts such a log by
# socket role) and are kept in a comment above its test; the same lists
# go into the row, and the table says on which kernels MPTCP refuses them
# (tests/tools/servers-table.py, after doc/kernels.md).

load common
load servers

BATS_TEST_TIMEOUT=${BATS_TEST_TIMEOUT:-180}

setup_file() {
	# A fresh results file per run, with what the table says of the run.
	mkdir -p "$(dirname "$SRV_RESULTS")"
	{
		printf '#meta\tdate\t%s\n' "$(date -u '+%Y-%m-%d %H:%M UTC')"
		printf '#meta\tkernel\t%s\n' "$(uname -r)"
		printf '#meta\tdebian\t%s\n' "$(cat /etc/debian_version 2>/dev/null || echo '?')"
		printf '#meta\tcommit\t%s\n' "$(git -C "$TOP" describe --always --dirty 2>/dev/null || echo '?')"
	} >"$SRV_RESULTS"
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

# ---- haproxy ----
# strace, HAProxy 2.6.12 (Debian 12), master-worker mode (-W):
#   socket(AF_INET, SOCK_STREAM, IPPROTO_TCP)
#   setsockopt(SOL_SOCKET, SO_REUSEADDR, [1]); setsockopt(SOL_SOCKET, SO_REUSEPORT, [1])
#   [AF_INET6: setsockopt(SOL_IPV6, IPV6_V6ONLY, [0])]; bind(); listen()
#   setsockopt(SOL_SOCKET, SO_LINGER, {0, 0}); setsockopt(SOL_TCP, TCP_USER_TIMEOUT, [0])
#   setsockopt(SOL_TCP, TCP_DEFER_ACCEPT, [0]); setsockopt(SOL_TCP, TCP_QUICKACK, [0])
# (the last three reset options an inherited socket may carry; haproxy
# ignores their result unless the bind line asks for them: `tcp-ut`).
# Accepted: setsockopt(TCP_NODELAY, [1]). To a server: socket();
# setsockopt(TCP_NODELAY, [1]); connect(); SO_LINGER {1, 0} before an abort.
# Reload (SIGUSR2 to the master): the master re-executes itself with
# `-x sockpair@N` and the new worker receives the old worker's listeners
# (SCM_RIGHTS): no new socket, no bind.
@test "haproxy: listeners, clients, master-worker reload, backends" {
	row server "haproxy"
	row version "$(pkg_version haproxy)"
	row prebind "SO_REUSEADDR SO_REUSEPORT IPV6_V6ONLY"
	row afterbind "SO_LINGER TCP_USER_TIMEOUT TCP_DEFER_ACCEPT TCP_QUICKACK"
	row accepted "TCP_NODELAY"
	row outopts "TCP_NODELAY SO_LINGER"
	cat >"$SRV_DIR/haproxy.cfg" <<-EOF
		global
		    pidfile $SRV_DIR/haproxy.pid
		defaults
		    mode http
		    timeout connect 5s
		    timeout client 10s
		    timeout server 10s
		frontend fe
		    bind 127.0.0.1:$P
		    bind [::1]:$P
		    bind 127.0.0.1:$U
		    bind 127.0.0.1:$P2 tcp-ut 30s
		    http-request return status 200 content-type text/plain string "hello from haproxy" if { path / }
		    use_backend bt if { path_beg /bt/ }
		    use_backend bm if { path_beg /bm/ }
		backend bt
		    server s 127.0.0.1:$BT
		backend bm
		    server s 127.0.0.1:$BM
	EOF
	srv_start haproxy MPTCPSHIM_PORTS="$P,$P2" MPTCPSHIM_CONNECT="$BM" -- \
		haproxy -W -f "$SRV_DIR/haproxy.cfg"
	srv_wait_listen "$P"
	wait_line "$SRV_DIR/haproxy.out" "Loading success"

	[ "$(mptcp_listener_addrs "$P")" = "127.0.0.1:$P [::1]:$P" ]
	row listener "yes: 127.0.0.1:$P, [::1]:$P"
	for addr in 127.0.0.1 ::1; do
		run peer http "$addr" "$P"
		[ "$status" -eq 0 ]
		line_is 0 "mptcp=1"
		line_is 2 "body=hello from haproxy"
	done
	row mptcp "yes: HTTP GET, IPv4 and IPv6"
	run peer --tcp http 127.0.0.1 "$P"
	[ "$status" -eq 0 ]
	line_is 0 "mptcp=0"
	line_is 2 "body=hello from haproxy"
	row tcp "yes: HTTP GET"

	assert_tcp_only "$U"
	run peer http 127.0.0.1 "$U"
	[ "$status" -eq 0 ]
	line_is 0 "mptcp=0"
	row unlisted "stays TCP (an MPTCP client falls back and is served)"

	# `tcp-ut`: the listener is MPTCP (the option comes after bind()), the
	# kernel refuses TCP_USER_TIMEOUT and haproxy says so, and serves.
	[ "$(mptcp_listeners "$P2")" -eq 1 ]
	grep -q "cannot set TCP User Timeout for \[127.0.0.1:$P2\]" "$SRV_DIR/haproxy.out"
	run peer http 127.0.0.1 "$P2"
	[ "$status" -eq 0 ]
	line_is 0 "mptcp=1"

	# Reload: SIGUSR2 to the master (what `systemctl reload haproxy` does)
	local before
	before=$(mptcp_listener_inodes "$P")
	kill -USR2 "$(cat "$SRV_DIR/haproxy.pid")"
	wait_count "$SRV_DIR/haproxy.out" "Loading success" 2
	wait_line "$SRV_DIR/haproxy.out" "Former worker .* exited"
	[ "$(mptcp_listener_inodes "$P")" = "$before" ]
	run peer http 127.0.0.1 "$P"
	[ "$status" -eq 0 ]
	line_is 0 "mptcp=1"
	row reload "SIGUSR2 (systemctl reload): the new worker gets the same MPTCP listeners, served over MPTCP"

	backend bt http "$BT"
	backend bm http "$BM"
	run peer http 127.0.0.1 "$P" /bt/
	[ "$status" -eq 0 ]
	line_is 2 "body=backend proto=6"
	run peer http 127.0.0.1 "$P" /bm/
	[ "$status" -eq 0 ]
	line_is 2 "body=backend proto=262"
	row outbound "backend servers: TCP; MPTCP to the port named in MPTCPSHIM_CONNECT"

	no_fallback "$SRV_DIR/haproxy.out"
	row notes "haproxy resets TCP_USER_TIMEOUT and TCP_QUICKACK to 0 on every listener after listen() and ignores the result; MPTCP refuses both. A bind line with \`tcp-ut\` gets the warning 'cannot set TCP User Timeout' and an MPTCP listener without that timeout (tested)."
}

# ---- lighttpd ----
# strace, lighttpd 1.4.69 (Debian 12):
#   socket(AF_INET, SOCK_STREAM|SOCK_CLOEXEC|SOCK_NONBLOCK, IPPROTO_TCP)
#   [AF_INET6: setsockopt(SOL_IPV6, IPV6_V6ONLY, [1])]
#   setsockopt(SOL_SOCKET, SO_REUSEADDR, [1]); setsockopt(SOL_TCP, TCP_NODELAY, [1])
#   bind(); listen()
# Accepted: no option (inherited). mod_proxy: socket(); connect(), no option.
# Graceful restart (SIGUSR1, Debian's ExecReload): the same process reads
# its configuration again and keeps its listening sockets (no new socket).
@test "lighttpd: listeners, clients, graceful restart, mod_proxy outbound" {
	row server "lighttpd"
	row version "$(pkg_version lighttpd)"
	row prebind "IPV6_V6ONLY SO_REUSEADDR TCP_NODELAY"
	row afterbind "-"
	row accepted "-"
	row outopts "-"
	mkdir "$SRV_DIR/www" "$SRV_DIR/log"
	echo "hello from lighttpd" >"$SRV_DIR/www/index.html"
	# lighttpd opens its log after dropping privileges
	chown www-data "$SRV_DIR/log"
	cat >"$SRV_DIR/lighttpd.conf" <<-EOF
		server.document-root = "$SRV_DIR/www"
		server.username = "www-data"
		server.groupname = "www-data"
		server.bind = "127.0.0.1"
		server.port = $P
		server.pid-file = "$SRV_DIR/lighttpd.pid"
		server.errorlog = "$SRV_DIR/log/error.log"
		server.modules = ("mod_proxy")
		index-file.names = ("index.html")
		\$SERVER["socket"] == "[::1]:$P" { }
		\$SERVER["socket"] == "127.0.0.1:$U" { }
		\$HTTP["url"] =~ "^/bt/" {
		    proxy.server = ("" => (("host" => "127.0.0.1", "port" => $BT)))
		}
		\$HTTP["url"] =~ "^/bm/" {
		    proxy.server = ("" => (("host" => "127.0.0.1", "port" => $BM)))
		}
	EOF
	srv_start lighttpd MPTCPSHIM_PORTS="$P" MPTCPSHIM_CONNECT="$BM" -- \
		lighttpd -D -f "$SRV_DIR/lighttpd.conf"
	srv_wait_listen "$P"
	wait_line "$SRV_DIR/log/error.log" "server started"

	[ "$(mptcp_listener_addrs "$P")" = "127.0.0.1:$P [::1]:$P" ]
	row listener "yes: 127.0.0.1:$P, [::1]:$P"
	for addr in 127.0.0.1 ::1; do
		run peer http "$addr" "$P"
		[ "$status" -eq 0 ]
		line_is 0 "mptcp=1"
		line_is 2 "body=hello from lighttpd"
	done
	row mptcp "yes: HTTP GET, IPv4 and IPv6"
	run peer --tcp http 127.0.0.1 "$P"
	[ "$status" -eq 0 ]
	line_is 0 "mptcp=0"
	line_is 2 "body=hello from lighttpd"
	row tcp "yes: HTTP GET"

	assert_tcp_only "$U"
	run peer http 127.0.0.1 "$U"
	[ "$status" -eq 0 ]
	line_is 0 "mptcp=0"
	row unlisted "stays TCP (an MPTCP client falls back and is served)"

	local before
	before=$(mptcp_listener_inodes "$P")
	kill -USR1 "$(cat "$SRV_DIR/lighttpd.pid")"
	wait_count "$SRV_DIR/log/error.log" "server started" 2
	[ "$(mptcp_listener_inodes "$P")" = "$before" ]
	run peer http 127.0.0.1 "$P"
	[ "$status" -eq 0 ]
	line_is 0 "mptcp=1"
	row reload "SIGUSR1 (graceful restart, systemctl reload): same MPTCP listeners, served over MPTCP"

	backend bt http "$BT"
	backend bm http "$BM"
	run peer http 127.0.0.1 "$P" /bt/
	[ "$status" -eq 0 ]
	line_is 2 "body=backend proto=6"
	run peer http 127.0.0.1 "$P" /bm/
	[ "$status" -eq 0 ]
	line_is 2 "body=backend proto=262"
	row outbound "mod_proxy: TCP; MPTCP to the port named in MPTCPSHIM_CONNECT"

	no_fallback "$SRV_DIR/lighttpd.out"
	row notes "-"
}

# ---- openssh-server ----
# strace, OpenSSH 9.2p1 (Debian 12), `sshd -D`:
#   socket(AF_INET, SOCK_STREAM, IPPROTO_TCP); setsockopt(SOL_SOCKET, SO_REUSEADDR, [1])
#   [AF_INET6: setsockopt(SOL_IPV6, IPV6_V6ONLY, [1])]; bind(); listen()
# Each connection: fork, then the child re-executes sshd (-R) with the
# accepted socket, which sets setsockopt(SO_KEEPALIVE, [1]),
# setsockopt(TCP_NODELAY, [1]) and the IPQoS class: IP_TOS (IPv4) or
# IPV6_TCLASS (IPv6). Forwarding (ssh -W, direct-tcpip): socket(); connect().
# SIGHUP: sshd closes its listeners and re-executes itself (new sockets).
@test "openssh-server: listeners, sftp session, SIGHUP re-exec, forwarding outbound" {
	row server "openssh-server (sshd -D)"
	row version "$(pkg_version openssh-server)"
	row prebind "SO_REUSEADDR IPV6_V6ONLY"
	row afterbind "-"
	row accepted "SO_KEEPALIVE TCP_NODELAY IP_TOS IPV6_TCLASS"
	row outopts "-"
	ssh-keygen -q -t ed25519 -N '' -C server -f "$SRV_DIR/hostkey"
	ssh-keygen -q -t ed25519 -N '' -C client -f "$SRV_DIR/id"
	cp "$SRV_DIR/id.pub" "$SRV_DIR/authorized_keys"
	echo "server.test $(cut -d' ' -f1,2 "$SRV_DIR/hostkey.pub")" >"$SRV_DIR/known_hosts"
	echo "hello from sshd" >"$SRV_DIR/hello.txt"
	# internal-sftp: a real session that runs no shell (root's dotfiles
	# stay out of it). StrictModes: $SRV_DIR is under /tmp (mode 1777).
	cat >"$SRV_DIR/sshd_config" <<-EOF
		ListenAddress 127.0.0.1:$P
		ListenAddress [::1]:$P
		ListenAddress 127.0.0.1:$U
		HostKey $SRV_DIR/hostkey
		PidFile $SRV_DIR/sshd.pid
		AuthorizedKeysFile $SRV_DIR/authorized_keys
		StrictModes no
		UsePAM no
		PasswordAuthentication no
		KbdInteractiveAuthentication no
		PermitRootLogin prohibit-password
		AllowTcpForwarding yes
		Subsystem sftp internal-sftp
		ForceCommand internal-sftp
		LogLevel VERBOSE
	EOF
	printf 'get %s %s\n' "$SRV_DIR/hello.txt" "$SRV_DIR/got.txt" >"$SRV_DIR/batch"
	# sshd needs its privilege separation directory /run/sshd: a tmpfs on
	# /run in the server's own mount namespace, the host's /run untouched.
	srv_start sshd MPTCPSHIM_PORTS="$P" MPTCPSHIM_CONNECT="$BM" -- sh -c \
		"mount -t tmpfs tmpfs /run && mkdir -m 755 /run/sshd &&
		 exec /usr/sbin/sshd -D -E $SRV_DIR/sshd.log -f $SRV_DIR/sshd_config"
	srv_wait_listen "$P"

	[ "$(mptcp_listener_addrs "$P")" = "127.0.0.1:$P [::1]:$P" ]
	row listener "yes: 127.0.0.1:$P, [::1]:$P"
	local n=0
	# ssh_session ADDR PORT [--tcp]: sftp (key exchange, host key check,
	# public key login, one file fetched) through srvpeer as ProxyCommand.
	ssh_session() {
		local host=$1
		[[ "$host" != *:* ]] || host="[$host]" # sftp's HOST:PATH syntax
		n=$((n + 1))
		rm -f "$SRV_DIR/got.txt"
		ns timeout 30 sftp -q -F /dev/null -i "$SRV_DIR/id" -P "$2" \
			-o UserKnownHostsFile="$SRV_DIR/known_hosts" -o HostKeyAlias=server.test \
			-o StrictHostKeyChecking=yes -o BatchMode=yes \
			-o ProxyCommand="$SRV_PY $SRV_PEER ${3:-} ssh-proxy %h %p $SRV_DIR/proxy$n" \
			-b "$SRV_DIR/batch" "root@$host" >"$SRV_DIR/sftp$n.out" 2>&1 &&
			[ "$(cat "$SRV_DIR/got.txt")" = "hello from sshd" ] &&
			head -n 1 "$SRV_DIR/proxy$n"
	}
	for addr in 127.0.0.1 ::1; do
		run ssh_session "$addr" "$P"
		[ "$status" -eq 0 ]
		line_is 0 "mptcp=1"
	done
	row mptcp "yes: SSH key exchange, public key login, sftp get (Debian's sftp through a ProxyCommand), IPv4 and IPv6"
	run ssh_session 127.0.0.1 "$P" --tcp
	[ "$status" -eq 0 ]
	line_is 0 "mptcp=0"
	row tcp "yes: the same sftp session"

	assert_tcp_only "$U"
	run ssh_session 127.0.0.1 "$U"
	[ "$status" -eq 0 ]
	line_is 0 "mptcp=0"
	row unlisted "stays TCP (an MPTCP client falls back and is served)"

	# SIGHUP: sshd re-executes itself and opens new listeners.
	local before _
	before=$(mptcp_listener_inodes "$P")
	kill -HUP "$(cat "$SRV_DIR/sshd.pid")"
	wait_line "$SRV_DIR/sshd.log" "Received SIGHUP; restarting"
	for _ in $(seq 1 50); do
		[ "$(mptcp_listeners "$P")" -eq 2 ] && [ "$(mptcp_listener_inodes "$P")" != "$before" ] && break
		sleep 0.1
	done
	[ "$(mptcp_listener_addrs "$P")" = "127.0.0.1:$P [::1]:$P" ]
	[ "$(mptcp_listener_inodes "$P")" != "$before" ]
	run ssh_session 127.0.0.1 "$P"
	[ "$status" -eq 0 ]
	line_is 0 "mptcp=1"
	row reload "SIGHUP (systemctl reload): sshd re-executes itself; its new listeners are MPTCP, served over MPTCP"

	# Forwarding: sshd itself connects to the target of ssh -W.
	backend bt echo "$BT"
	backend bm echo "$BM"
	ssh_forward() { # TARGET_PORT
		echo hello | ns timeout 30 ssh -q -F /dev/null -i "$SRV_DIR/id" -p "$P" \
			-o UserKnownHostsFile="$SRV_DIR/known_hosts" -o HostKeyAlias=server.test \
			-o StrictHostKeyChecking=yes -o BatchMode=yes \
			-o ProxyCommand="$SRV_PY $SRV_PEER ssh-proxy %h %p $SRV_DIR/fwd$1" \
			-W "127.0.0.1:$1" root@127.0.0.1 2>"$SRV_DIR/fwd$1.err"
	}
	run ssh_forward "$BT"
	[ "$status" -eq 0 ]
	[[ "$output" == *"backend proto=6: hello"* ]]
	run ssh_forward "$BM"
	[ "$status" -eq 0 ]
	[[ "$output" == *"backend proto=262: hello"* ]]
	row outbound "ssh -W forwarding (sshd connects): TCP; MPTCP to the port named in MPTCPSHIM_CONNECT"

	no_fallback "$SRV_DIR/sshd.out" "$SRV_DIR/sshd.log"
	local notes="Every connection is served by a re-executed sshd (-R) that inherits the accepted socket and the library's environment."
	# What an IPv6 MPTCP client met on this kernel (6.18 refuses
	# IPV6_TCLASS on MPTCP sockets): said as measured, not assumed.
	if grep -q 'IPV6_TCLASS' "$SRV_DIR/sshd.log"; then
		notes+=" IPv6 MPTCP clients: sshd logs \"$(grep -o 'setsockopt.*IPV6_TCLASS.*' "$SRV_DIR/sshd.log" | head -n 1 | tr -d '\r' | sed 's/socket [0-9]* //')\" (MPTCP refuses IPV6_TCLASS) and serves them without the IPQoS class."
	fi
	row notes "$notes"
}

# ---- dovecot-imapd ----
# strace, Dovecot 2.3.19.1 (Debian 12): the master opens every inet
# listener before it starts a child:
#   socket(AF_INET, SOCK_STREAM, IPPROTO_IP); setsockopt(SO_REUSEADDR, [1])
#   setsockopt(SO_KEEPALIVE, [1]); [AF_INET6: setsockopt(IPV6_V6ONLY, [1])]
#   bind(); listen()
# imap-login (a child, exec'd with the environment cleared down to
# import_environment) accepts and sets TCP_CORK [1]/[0], TCP_NODELAY [1]/[0]
# and TCP_QUICKACK [1] on the connection; imap does the same after login.
# A proxied login (passdb proxy=y): imap-login socket(); connect().
# SIGHUP (Debian's ExecReload): the master keeps listeners whose address
# did not change.
@test "dovecot-imapd: listeners, IMAP login, SIGHUP reload, proxy outbound" {
	row server "dovecot-imapd"
	row version "$(pkg_version dovecot-imapd)"
	row prebind "SO_REUSEADDR SO_KEEPALIVE IPV6_V6ONLY"
	row afterbind "-"
	row accepted "TCP_CORK TCP_NODELAY TCP_QUICKACK"
	row outopts "-"
	mkdir -p "$SRV_DIR/mail"
	chown nobody:nogroup "$SRV_DIR/mail"
	cat >"$SRV_DIR/passwd" <<-EOF
		alice:{PLAIN}secret::::::
		bob:{PLAIN}secret::::::proxy=y host=127.0.0.1 port=$BT
		carol:{PLAIN}secret::::::proxy=y host=127.0.0.1 port=$BM
	EOF
	# dovecot_conf [IMPORT]: the configuration; IMPORT is added to
	# import_environment (what the children keep of the environment).
	dovecot_conf() {
		cat >"$SRV_DIR/dovecot.conf" <<-EOF
			base_dir = $SRV_DIR/run
			state_dir = $SRV_DIR/state
			log_path = $SRV_DIR/dovecot.log
			protocols = imap
			listen = 127.0.0.1, ::1
			ssl = no
			disable_plaintext_auth = no
			auth_mechanisms = plain
			import_environment = TZ CORE_OUTOFMEM CORE_ERROR LISTEN_PID LISTEN_FDS ${1:-}
			passdb {
			  driver = passwd-file
			  args = $SRV_DIR/passwd
			}
			userdb {
			  driver = static
			  args = uid=nobody gid=nogroup home=$SRV_DIR/mail/%u
			}
			mail_location = maildir:~/Maildir
			service imap-login {
			  chroot =
			  inet_listener imap {
			    port = $P
			  }
			  inet_listener imap-unlisted {
			    address = 127.0.0.1
			    port = $U
			  }
			  inet_listener imaps {
			    port = 0
			  }
			}
			service anvil {
			  chroot =
			}
		EOF
	}
	# Started with the library's variables in import_environment: the
	# login processes that connect to a proxy backend have the library.
	local import="LD_PRELOAD MPTCPSHIM_CONFIG MPTCPSHIM_CONNECT"
	dovecot_conf "$import"
	srv_start dovecot MPTCPSHIM_PORTS="$P" MPTCPSHIM_CONNECT="$BM" -- \
		dovecot -F -c "$SRV_DIR/dovecot.conf"
	srv_wait_listen "$P"
	wait_line "$SRV_DIR/dovecot.log" "starting up"

	[ "$(mptcp_listener_addrs "$P")" = "127.0.0.1:$P [::1]:$P" ]
	row listener "yes: 127.0.0.1:$P, [::1]:$P"
	for addr in 127.0.0.1 ::1; do
		run peer imap "$addr" "$P" alice secret
		[ "$status" -eq 0 ]
		line_is 1 "login=OK Logged in"
		line_is 3 "mptcp=1"
		line_is 4 "logout=BYE"
	done
	row mptcp "yes: IMAP LOGIN, SELECT INBOX, LOGOUT (Python's imaplib), IPv4 and IPv6"
	run peer --tcp imap 127.0.0.1 "$P" alice secret
	[ "$status" -eq 0 ]
	line_is 1 "login=OK Logged in"
	line_is 3 "mptcp=0"
	row tcp "yes: the same IMAP session"

	assert_tcp_only "$U"
	run peer imap 127.0.0.1 "$U" alice secret
	[ "$status" -eq 0 ]
	line_is 3 "mptcp=0"
	row unlisted "stays TCP (an MPTCP client falls back and is served)"

	# Proxied logins (the backend hangs up, so the login itself fails):
	# imap-login connects to bob's backend over TCP, to carol's (named in
	# MPTCPSHIM_CONNECT) over MPTCP.
	backend bt close "$BT"
	backend bm close "$BM"
	run peer imap 127.0.0.1 "$P" bob secret
	wait_line "$SRV_DIR/bt.out" "accepted proto=6"
	run peer imap 127.0.0.1 "$P" carol secret
	wait_line "$SRV_DIR/bm.out" "accepted proto=262"
	row outbound "proxy=y logins (imap-login connects), with the library's variables in import_environment: TCP; MPTCP to the port named in MPTCPSHIM_CONNECT"

	# Reload (SIGHUP) to Dovecot's default import_environment: the same
	# listeners, still served over MPTCP.
	local before
	before=$(mptcp_listener_inodes "$P")
	dovecot_conf
	kill -HUP "$(cat "$SRV_DIR/run/master.pid")"
	wait_line "$SRV_DIR/dovecot.log" "SIGHUP received - reloading configuration"
	[ "$(mptcp_listener_inodes "$P")" = "$before" ]
	run peer imap 127.0.0.1 "$P" alice secret
	[ "$status" -eq 0 ]
	line_is 3 "mptcp=1"
	row reload "SIGHUP (systemctl reload): same MPTCP listeners, served over MPTCP"

	# Without the variables in import_environment Dovecot starts its
	# login processes without the library: carol's backend is reached
	# over TCP like any other, and nothing of the library is in the log.
	# (Library problem reported: the library adds LD_PRELOAD and its
	# variables back at the execve() of imap-login, because the inherited
	# listeners are converted ones, and its info lines then land in
	# Dovecot's log as "imap-login: Error: mptcpshim[...]: info: ...".)
	local n notes
	notes="The master opens the listeners: its environment is enough for them. Its children run with the environment cleared to import_environment. imap-login and imap set TCP_QUICKACK on each connection; MPTCP refuses it (ENOPROTOOPT) and Dovecot ignores that."
	row notes "$notes LIBRARY PROBLEM (reported): with Dovecot's default import_environment the library adds LD_PRELOAD and its variables back at the execve() of every imap-login (which inherits converted listeners): imap-login's proxy connection to the named port is MPTCP, and the library's lines land in Dovecot's log as \"imap-login: Error: mptcpshim[...]: info: ...\"."
	n=$(accepted_count "$SRV_DIR/bm.out")
	run peer imap 127.0.0.1 "$P" carol secret
	[ "$(accepted_since "$SRV_DIR/bm.out" "$n")" = "accepted proto=6" ]
	absent 'mptcpshim' "$SRV_DIR/dovecot.log"
	row notes "$notes"
	row outbound "proxy=y logins (imap-login connects): TCP; MPTCP to the port named in MPTCPSHIM_CONNECT when import_environment has LD_PRELOAD, MPTCPSHIM_CONFIG, MPTCPSHIM_CONNECT (without them imap-login runs without the library: TCP)"

	no_fallback "$SRV_DIR/dovecot.out"
}

# ---- postfix ----
# strace, Postfix 3.7.11 (Debian 12): `postfix start` clears its
# environment to import_environment and runs postfix-script, which starts
# master; master (after it detached) opens every inet service of
# master.cf before it starts a child:
#   socket(AF_INET, SOCK_STREAM, IPPROTO_IP); [AF_INET6: setsockopt(IPV6_V6ONLY, [1])]
#   setsockopt(SO_REUSEADDR, [1]); setsockopt(SO_REUSEPORT, [1]); bind(); listen(100)
# and hands them to smtpd (fork + execve, listener on a fixed fd); smtpd
# sets no option on the connection. The smtp client (relay):
# socket(); connect(), no option. `postfix reload`: master reads
# master.cf again and keeps the listeners of unchanged services.
@test "postfix: smtpd through master, EHLO and a relayed message, postfix reload, relay outbound" {
	row server "postfix (smtpd through master)"
	row version "$(pkg_version postfix)"
	row prebind "IPV6_V6ONLY SO_REUSEADDR SO_REUSEPORT"
	row afterbind "-"
	row accepted "-"
	row outopts "-"
	mkdir -p "$SRV_DIR/etc" "$SRV_DIR/spool" "$SRV_DIR/data"
	chown postfix "$SRV_DIR/data"
	# postfix_conf IMPORT RELAYPORT
	postfix_conf() {
		cat >"$SRV_DIR/etc/main.cf" <<-EOF
			compatibility_level = 3.6
			queue_directory = $SRV_DIR/spool
			data_directory = $SRV_DIR/data
			mail_owner = postfix
			setgid_group = postdrop
			myhostname = mx.server.test
			mydomain = server.test
			myorigin = server.test
			mydestination =
			inet_interfaces = 127.0.0.1, ::1
			inet_protocols = all
			mynetworks = 127.0.0.0/8 [::1]/128
			smtpd_relay_restrictions = permit_mynetworks, reject
			relayhost = [127.0.0.1]:$2
			smtp_dns_support_level = disabled
			smtp_host_lookup = native
			alias_maps =
			alias_database =
			maillog_file = $SRV_DIR/maillog
			maillog_file_prefixes = $SRV_DIR
			import_environment = MAIL_CONFIG MAIL_DEBUG MAIL_LOGTAG TZ LANG=C POSTLOG_SERVICE POSTLOG_HOSTNAME $1
		EOF
	}
	cat >"$SRV_DIR/etc/master.cf" <<-EOF
		127.0.0.1:$P inet n - n - - smtpd
		[::1]:$P     inet n - n - - smtpd
		127.0.0.1:$U inet n - n - - smtpd
		pickup    unix  n - n 60 1 pickup
		cleanup   unix  n - n -  0 cleanup
		qmgr      unix  n - n 300 1 qmgr
		rewrite   unix  - - n -  - trivial-rewrite
		bounce    unix  - - n -  0 bounce
		defer     unix  - - n -  0 bounce
		trace     unix  - - n -  0 bounce
		verify    unix  - - n -  1 verify
		flush     unix  n - n 1000? 0 flush
		proxymap  unix  - - n -  - proxymap
		smtp      unix  - - n -  - smtp
		relay     unix  - - n -  - smtp
		showq     unix  n - n -  - showq
		error     unix  - - n -  - error
		retry     unix  - - n -  - error
		discard   unix  - - n -  - discard
		anvil     unix  - - n -  1 anvil
		scache    unix  - - n -  1 scache
		postlog   unix-dgram n - n - 1 postlogd
	EOF
	local shim=(MPTCPSHIM_PORTS="$P" MPTCPSHIM_CONNECT="$BM")
	local import="LD_PRELOAD MPTCPSHIM_PORTS MPTCPSHIM_CONFIG MPTCPSHIM_CONNECT"
	SRV_STOP+=("ip netns exec $SRV_NS postfix -c $SRV_DIR/etc stop")

	# `postfix start` keeps only import_environment: without the
	# library's variables there, master runs without the library.
	postfix_conf "" "$BT"
	srv_run postfix "${shim[@]}" -- postfix -c "$SRV_DIR/etc" start
	srv_wait_listen "$P"
	assert_tcp_only "$P"
	srv_run postfix -- postfix -c "$SRV_DIR/etc" stop
	for _ in $(seq 1 50); do [ "$(tcp_listeners "$P")" -eq 0 ] && break; sleep 0.1; done

	postfix_conf "$import" "$BT"
	srv_run postfix "${shim[@]}" -- postfix -c "$SRV_DIR/etc" start
	srv_wait_listen "$P"
	[ "$(mptcp_listener_addrs "$P")" = "127.0.0.1:$P [::1]:$P" ]
	row listener "yes: 127.0.0.1:$P, [::1]:$P, with the library's variables in import_environment (without them: TCP, tested)"

	backend bt smtp "$BT"
	backend bm smtp "$BM"
	for addr in 127.0.0.1 ::1; do
		run peer smtp --mail sender@server.test "rcpt@example.test" "$addr" "$P"
		[ "$status" -eq 0 ]
		line_is 0 "greeting=220 mx.server.test ESMTP Postfix"
		line_is 1 "ehlo=250 mx.server.test"
		line_is 2 "mail=refused=0"
		line_is 3 "mptcp=1"
	done
	row mptcp "yes: SMTP EHLO and a message (Python's smtplib), IPv4 and IPv6"
	run peer --tcp smtp --mail sender@server.test "rcpt@example.test" 127.0.0.1 "$P"
	[ "$status" -eq 0 ]
	line_is 2 "mail=refused=0"
	line_is 3 "mptcp=0"
	row tcp "yes: the same SMTP session"

	assert_tcp_only "$U"
	run peer smtp 127.0.0.1 "$U"
	[ "$status" -eq 0 ]
	line_is 2 "mptcp=0"
	row unlisted "stays TCP (an MPTCP client falls back and is served)"

	# The three messages are relayed to the relayhost by the smtp client.
	wait_count "$SRV_DIR/bt.out" "^message lines=" 3
	[ "$(grep '^accepted' "$SRV_DIR/bt.out" | sort -u)" = "accepted proto=6" ]

	# postfix reload, now relaying to the port named in MPTCPSHIM_CONNECT
	local before
	before=$(mptcp_listener_inodes "$P")
	postfix_conf "$import" "$BM"
	srv_run postfix "${shim[@]}" -- postfix -c "$SRV_DIR/etc" reload
	wait_line "$SRV_DIR/maillog" "reload -- version"
	[ "$(mptcp_listener_inodes "$P")" = "$before" ]
	run peer smtp --mail sender@server.test "rcpt@example.test" 127.0.0.1 "$P"
	[ "$status" -eq 0 ]
	line_is 3 "mptcp=1"
	row reload "postfix reload: same MPTCP listeners, served over MPTCP"
	wait_count "$SRV_DIR/bm.out" "^message lines=" 1
	[ "$(grep '^accepted' "$SRV_DIR/bm.out" | sort -u)" = "accepted proto=262" ]
	row outbound "relayhost (the smtp client): TCP; MPTCP to the port named in MPTCPSHIM_CONNECT"

	no_fallback "$SRV_DIR/postfix.out"
	row notes "\`postfix start\` (and Debian's unit) clears the environment to import_environment: add LD_PRELOAD and the MPTCPSHIM_ variables you set to it in main.cf, or master runs without the library (tested). The master opens the inet listeners; smtpd inherits them."
}

# ---- redis-server ----
# strace, Redis 7.0.15 (Debian 12):
#   socket(AF_INET, SOCK_STREAM, IPPROTO_TCP); setsockopt(SO_REUSEADDR, [1])
#   [AF_INET6: setsockopt(IPV6_V6ONLY, [1])]; bind(); listen(511)
# Accepted: setsockopt(TCP_NODELAY, [1]); setsockopt(SO_KEEPALIVE, [1]);
#   TCP_KEEPIDLE [300], TCP_KEEPINTVL [100], TCP_KEEPCNT [3] (tcp-keepalive 300)
# Replication (REPLICAOF): socket(); setsockopt(SO_REUSEADDR, [1]); connect().
# No reload; CONFIG SET port closes the listeners and binds new ones.
@test "redis-server: listeners, PING/SET/GET, CONFIG SET port, replication outbound" {
	row server "redis-server"
	row version "$(pkg_version redis-server)"
	row prebind "SO_REUSEADDR IPV6_V6ONLY"
	row afterbind "-"
	row accepted "TCP_NODELAY SO_KEEPALIVE TCP_KEEPIDLE TCP_KEEPINTVL TCP_KEEPCNT"
	row outopts "SO_REUSEADDR"
	mkdir "$SRV_DIR/data"
	chown redis "$SRV_DIR/data"
	cat >"$SRV_DIR/redis.conf" <<-EOF
		port $P
		bind 127.0.0.1 ::1
		daemonize no
		save ""
		appendonly no
		dir $SRV_DIR/data
		logfile ""
	EOF
	# as Debian runs it: user redis
	srv_start redis MPTCPSHIM_PORTS="$P,$P2" MPTCPSHIM_CONNECT="$BM" -- \
		setpriv --reuid=redis --regid=redis --init-groups redis-server "$SRV_DIR/redis.conf"
	srv_wait_listen "$P"

	[ "$(mptcp_listener_addrs "$P")" = "127.0.0.1:$P [::1]:$P" ]
	row listener "yes: 127.0.0.1:$P, [::1]:$P"
	for addr in 127.0.0.1 ::1; do
		run peer redis "$addr" "$P"
		[ "$status" -eq 0 ]
		line_is 0 "ping=+PONG"
		line_is 2 "get=value-42"
		line_is 3 "mptcp=1"
	done
	row mptcp "yes: PING, SET, GET (RESP), IPv4 and IPv6"
	run peer --tcp redis 127.0.0.1 "$P"
	[ "$status" -eq 0 ]
	line_is 2 "get=value-42"
	line_is 3 "mptcp=0"
	row tcp "yes: the same commands"

	# CONFIG SET port: new listeners, converted only on a listed port.
	[ "$(ns redis-cli -h 127.0.0.1 -p "$P" CONFIG SET port "$U")" = OK ]
	srv_wait_listen "$U"
	assert_tcp_only "$U"
	run peer redis 127.0.0.1 "$U"
	[ "$status" -eq 0 ]
	line_is 3 "mptcp=0"
	row unlisted "stays TCP (CONFIG SET port to an unlisted port; an MPTCP client falls back and is served)"
	[ "$(ns redis-cli -h 127.0.0.1 -p "$U" CONFIG SET port "$P2")" = OK ]
	srv_wait_listen "$P2"
	[ "$(mptcp_listener_addrs "$P2")" = "127.0.0.1:$P2 [::1]:$P2" ]
	run peer redis 127.0.0.1 "$P2"
	[ "$status" -eq 0 ]
	line_is 3 "mptcp=1"
	row reload "no reload; CONFIG SET port to a listed port: new MPTCP listeners, served over MPTCP"

	# Replication: the replica connects to its master.
	backend bt close "$BT"
	backend bm close "$BM"
	[ "$(ns redis-cli -h 127.0.0.1 -p "$P2" REPLICAOF 127.0.0.1 "$BT")" = OK ]
	wait_line "$SRV_DIR/bt.out" "^accepted"
	[ "$(ns redis-cli -h 127.0.0.1 -p "$P2" REPLICAOF 127.0.0.1 "$BM")" = OK ]
	wait_line "$SRV_DIR/bm.out" "^accepted"
	[ "$(ns redis-cli -h 127.0.0.1 -p "$P2" REPLICAOF NO ONE)" = OK ]
	[ "$(grep '^accepted' "$SRV_DIR/bt.out" | sort -u)" = "accepted proto=6" ]
	[ "$(grep '^accepted' "$SRV_DIR/bm.out" | sort -u)" = "accepted proto=262" ]
	row outbound "replication (REPLICAOF): TCP; MPTCP to the port named in MPTCPSHIM_CONNECT"

	no_fallback "$SRV_DIR/redis.out"
	row notes "Runs as user redis. TCP_KEEPIDLE/INTVL/CNT on accepted sockets: MPTCP has them since 6.10 upstream; Debian 12's 6.1.192 has the backport."
}

# ---- memcached ----
# strace, memcached 1.6.18 (Debian 12), -l 127.0.0.1:P,[::1]:P:
#   socket(AF_INET, SOCK_STREAM, IPPROTO_TCP); fcntl(F_SETFL, O_NONBLOCK)
#   setsockopt(SO_REUSEADDR, [1]); setsockopt(SO_KEEPALIVE, [1])
#   setsockopt(SO_LINGER, {0, 0}); setsockopt(TCP_NODELAY, [1])
#   [AF_INET6: setsockopt(IPV6_V6ONLY, [1])]; bind(); listen(1024)
# Accepted: no option (inherited). No reload, no outbound connection.
@test "memcached: listeners, set/get" {
	row server "memcached"
	row version "$(pkg_version memcached)"
	row prebind "SO_REUSEADDR SO_KEEPALIVE SO_LINGER TCP_NODELAY IPV6_V6ONLY"
	row afterbind "-"
	row accepted "-"
	row outopts "-"
	srv_start memcached MPTCPSHIM_PORTS="$P" -- \
		memcached -u memcache -U 0 -l "127.0.0.1:$P,[::1]:$P,127.0.0.1:$U"
	srv_wait_listen "$P"

	[ "$(mptcp_listener_addrs "$P")" = "127.0.0.1:$P [::1]:$P" ]
	row listener "yes: 127.0.0.1:$P, [::1]:$P"
	for addr in 127.0.0.1 ::1; do
		run peer memcached "$addr" "$P"
		[ "$status" -eq 0 ]
		line_is 0 "set=STORED"
		line_is 1 "get=value-42"
		line_is 2 "mptcp=1"
	done
	row mptcp "yes: set, get (text protocol), IPv4 and IPv6"
	run peer --tcp memcached 127.0.0.1 "$P"
	[ "$status" -eq 0 ]
	line_is 1 "get=value-42"
	line_is 2 "mptcp=0"
	row tcp "yes: the same commands"

	assert_tcp_only "$U"
	run peer memcached 127.0.0.1 "$U"
	[ "$status" -eq 0 ]
	line_is 2 "mptcp=0"
	row unlisted "stays TCP (an MPTCP client falls back and is served)"
	row reload "none (memcached has no reload)"
	row outbound "none (memcached makes no connection)"

	no_fallback "$SRV_DIR/memcached.out"
	row notes "Runs as user memcache (-u). UDP off (-U 0, the default since 1.5.6)."
}

# ---- postgresql ----
# strace, PostgreSQL 15 (Debian 12), listen_addresses '127.0.0.1,::1':
#   socket(AF_INET, SOCK_STREAM, IPPROTO_IP); setsockopt(SO_REUSEADDR, [1])
#   [AF_INET6: setsockopt(IPV6_V6ONLY, [1])]; bind(); listen()
# Accepted (in the forked backend): setsockopt(TCP_NODELAY, [1]),
#   setsockopt(SO_KEEPALIVE, [1]). libpq in a backend (dblink):
#   socket(); setsockopt(TCP_NODELAY, [1]); setsockopt(SO_KEEPALIVE, [1]); connect().
# SIGHUP (pg_ctl reload, Debian's ExecReload): configuration files read
# again; listen_addresses and port need a restart, the sockets stay.
@test "postgresql: listeners, a SQL query, reload, dblink outbound" {
	local bin=/usr/lib/postgresql/15/bin
	row server "postgresql"
	row version "$(pkg_version postgresql-15)"
	row prebind "SO_REUSEADDR IPV6_V6ONLY"
	row afterbind "-"
	row accepted "TCP_NODELAY SO_KEEPALIVE"
	row outopts "TCP_NODELAY SO_KEEPALIVE"
	mkdir "$SRV_DIR/pg" "$SRV_DIR/sock"
	chown postgres "$SRV_DIR/pg" "$SRV_DIR/sock"
	# PostgreSQL refuses to run as root: user postgres, as Debian runs it.
	as_pg() {
		setpriv --reuid=postgres --regid=postgres --init-groups "$@"
	}
	as_pg "$bin/initdb" -D "$SRV_DIR/pg/data" -A trust -U postgres --no-sync \
		-E UTF8 --locale=C >"$SRV_DIR/initdb.out"
	pg_start() { # PORT LIST
		srv_start postgres MPTCPSHIM_PORTS="$2" MPTCPSHIM_CONNECT="$BM" -- \
			setpriv --reuid=postgres --regid=postgres --init-groups \
			"$bin/postgres" -D "$SRV_DIR/pg/data" -p "$1" -k "$SRV_DIR/sock" \
			-c listen_addresses='127.0.0.1,::1' -c fsync=off
		srv_wait_listen "$1"
	}
	pg_stop() {
		kill -INT "$(head -n 1 "$SRV_DIR/pg/data/postmaster.pid")"
		for _ in $(seq 1 100); do
			[ -e "$SRV_DIR/pg/data/postmaster.pid" ] || return 0
			sleep 0.1
		done
		return 1
	}
	SRV_STOP+=("kill -INT \$(head -n 1 $SRV_DIR/pg/data/postmaster.pid)")

	# One port per server: first on an unlisted port...
	pg_start "$U" "$P"
	assert_tcp_only "$U"
	run peer pg 127.0.0.1 "$U" postgres postgres "SELECT 42"
	[ "$status" -eq 0 ]
	line_is 1 "row=42"
	line_is 3 "mptcp=0"
	row unlisted "stays TCP (an MPTCP client falls back and is served)"
	pg_stop

	# ... then on the listed one.
	pg_start "$P" "$P"
	[ "$(mptcp_listener_addrs "$P")" = "127.0.0.1:$P [::1]:$P" ]
	row listener "yes: 127.0.0.1:$P, [::1]:$P"
	for addr in 127.0.0.1 ::1; do
		run peer pg "$addr" "$P" postgres postgres "SELECT 42"
		[ "$status" -eq 0 ]
		line_is 0 "auth=ok"
		line_is 1 "row=42"
		line_is 2 "done=SELECT 1"
		line_is 3 "mptcp=1"
	done
	row mptcp "yes: startup (protocol 3) and SELECT 42, IPv4 and IPv6"
	run peer --tcp pg 127.0.0.1 "$P" postgres postgres "SELECT 42"
	[ "$status" -eq 0 ]
	line_is 1 "row=42"
	line_is 3 "mptcp=0"
	row tcp "yes: the same query"

	local before
	before=$(mptcp_listener_inodes "$P")
	kill -HUP "$(head -n 1 "$SRV_DIR/pg/data/postmaster.pid")"
	wait_line "$SRV_DIR/postgres.out" "received SIGHUP, reloading configuration files"
	[ "$(mptcp_listener_inodes "$P")" = "$before" ]
	run peer pg 127.0.0.1 "$P" postgres postgres "SELECT 43"
	[ "$status" -eq 0 ]
	line_is 1 "row=43"
	line_is 3 "mptcp=1"
	row reload "SIGHUP (pg_ctl reload, systemctl reload): same MPTCP listeners, served over MPTCP"

	# dblink: the backend process connects with libpq (the backends here
	# hang up at once: dblink_connect fails, after the connection).
	backend bt close "$BT"
	backend bm close "$BM"
	run peer pg 127.0.0.1 "$P" postgres postgres "CREATE EXTENSION dblink"
	[ "$status" -eq 0 ]
	run peer pg 127.0.0.1 "$P" postgres postgres \
		"SELECT dblink_connect('host=127.0.0.1 port=$BT connect_timeout=5')"
	wait_line "$SRV_DIR/bt.out" "^accepted"
	run peer pg 127.0.0.1 "$P" postgres postgres \
		"SELECT dblink_connect('host=127.0.0.1 port=$BM connect_timeout=5')"
	wait_line "$SRV_DIR/bm.out" "^accepted"
	[ "$(grep '^accepted' "$SRV_DIR/bt.out" | sort -u)" = "accepted proto=6" ]
	[ "$(grep '^accepted' "$SRV_DIR/bm.out" | sort -u)" = "accepted proto=262" ]
	row outbound "dblink (libpq in a backend): TCP; MPTCP to the port named in MPTCPSHIM_CONNECT"

	no_fallback "$SRV_DIR/postgres.out"
	row notes "Runs as user postgres. Each connection is served by a forked backend with the accepted socket."
}

# ---- python3 -m http.server ----
# strace, Python 3.11.2 (Debian 12), --bind 127.0.0.1:
#   socket(AF_INET, SOCK_STREAM|SOCK_CLOEXEC, IPPROTO_IP)
#   setsockopt(SOL_IPV6, IPV6_V6ONLY, [0]) = -1 ENOPROTOOPT (DualStackServer
#     tries it on every socket and ignores the error)
#   setsockopt(SO_REUSEADDR, [1]); bind(); listen(5)
# Accepted: no option. No reload, no outbound connection.
@test "python3 -m http.server: listeners, GET" {
	row server "python3 -m http.server"
	row version "$(pkg_version python3.11)"
	row prebind "IPV6_V6ONLY SO_REUSEADDR"
	row afterbind "-"
	row accepted "-"
	row outopts "-"
	mkdir "$SRV_DIR/www"
	echo "hello from python" >"$SRV_DIR/www/index.html"
	local a
	for a in "127.0.0.1 $P" "::1 $P" "127.0.0.1 $U"; do
		set -- $a
		srv_start "python-$2" MPTCPSHIM_PORTS="$P" -- \
			"$SRV_PY" -m http.server --bind "$1" --directory "$SRV_DIR/www" "$2"
	done
	srv_wait_listen "$P"
	srv_wait_listen "$U"
	for _ in $(seq 1 50); do [ "$(mptcp_listeners "$P")" -eq 2 ] && break; sleep 0.1; done

	[ "$(mptcp_listener_addrs "$P")" = "127.0.0.1:$P [::1]:$P" ]
	row listener "yes: 127.0.0.1:$P, [::1]:$P (one process each)"
	for addr in 127.0.0.1 ::1; do
		run peer http "$addr" "$P"
		[ "$status" -eq 0 ]
		line_is 0 "mptcp=1"
		line_is 2 "body=hello from python"
	done
	row mptcp "yes: HTTP GET, IPv4 and IPv6"
	run peer --tcp http 127.0.0.1 "$P"
	[ "$status" -eq 0 ]
	line_is 0 "mptcp=0"
	line_is 2 "body=hello from python"
	row tcp "yes: HTTP GET"

	assert_tcp_only "$U"
	run peer http 127.0.0.1 "$U"
	[ "$status" -eq 0 ]
	line_is 0 "mptcp=0"
	row unlisted "stays TCP (an MPTCP client falls back and is served)"
	row reload "none"
	row outbound "none (http.server makes no connection)"

	no_fallback "$SRV_DIR"/python-*.out
	row notes "Debian's /usr/bin/python3. The IPV6_V6ONLY that http.server tries on an IPv4 socket fails the same way with and without the library."
}

# ---- Node.js ----
# strace, node (libuv), http.createServer().listen(PORT, ADDR):
#   socket(AF_INET, SOCK_STREAM|SOCK_CLOEXEC|SOCK_NONBLOCK, IPPROTO_IP)
#   setsockopt(SO_REUSEADDR, [1]); [AF_INET6: setsockopt(IPV6_V6ONLY, ...)]; bind(); listen(511)
# Accepted: setsockopt(TCP_NODELAY, [1]) (http's noDelay default).
# http.get: socket(); connect(); then setsockopt(TCP_NODELAY, [1]),
#   setsockopt(SO_KEEPALIVE, [1]), TCP_KEEPIDLE [1], TCP_KEEPINTVL [1], TCP_KEEPCNT [10].
@test "nodejs: http listeners, GET, http.get outbound" {
	row server "Node.js (http module)"
	row version "$(pkg_version nodejs) (node $(node --version))"
	row prebind "SO_REUSEADDR IPV6_V6ONLY"
	row afterbind "-"
	row accepted "TCP_NODELAY"
	row outopts "TCP_NODELAY SO_KEEPALIVE TCP_KEEPIDLE TCP_KEEPINTVL TCP_KEEPCNT"
	cat >"$SRV_DIR/server.js" <<-EOF
		const http = require('http');
		function handler(req, res) {
		  const m = req.url.match(/^\/b(t|m)\//);
		  if (!m) { res.end('hello from node\n'); return; }
		  const port = m[1] === 't' ? $BT : $BM;
		  http.get({host: '127.0.0.1', port: port, path: '/'}, (b) => {
		    let body = '';
		    b.on('data', (c) => { body += c; });
		    b.on('end', () => res.end(body));
		  }).on('error', (e) => { res.statusCode = 502; res.end(e.message + '\n'); });
		}
		for (const [addr, port] of [['127.0.0.1', $P], ['::1', $P], ['127.0.0.1', $U]])
		  http.createServer(handler).listen(port, addr);
	EOF
	srv_start node MPTCPSHIM_PORTS="$P" MPTCPSHIM_CONNECT="$BM" -- node "$SRV_DIR/server.js"
	srv_wait_listen "$P"
	srv_wait_listen "$U"
	for _ in $(seq 1 50); do [ "$(mptcp_listeners "$P")" -eq 2 ] && break; sleep 0.1; done

	[ "$(mptcp_listener_addrs "$P")" = "127.0.0.1:$P [::1]:$P" ]
	row listener "yes: 127.0.0.1:$P, [::1]:$P"
	for addr in 127.0.0.1 ::1; do
		run peer http "$addr" "$P"
		[ "$status" -eq 0 ]
		line_is 0 "mptcp=1"
		line_is 2 "body=hello from node"
	done
	row mptcp "yes: HTTP GET, IPv4 and IPv6"
	run peer --tcp http 127.0.0.1 "$P"
	[ "$status" -eq 0 ]
	line_is 0 "mptcp=0"
	line_is 2 "body=hello from node"
	row tcp "yes: HTTP GET"

	assert_tcp_only "$U"
	run peer http 127.0.0.1 "$U"
	[ "$status" -eq 0 ]
	line_is 0 "mptcp=0"
	row unlisted "stays TCP (an MPTCP client falls back and is served)"
	row reload "none (Node.js has no reload)"

	backend bt http "$BT"
	backend bm http "$BM"
	run peer http 127.0.0.1 "$P" /bt/
	[ "$status" -eq 0 ]
	line_is 2 "body=backend proto=6"
	run peer http 127.0.0.1 "$P" /bm/
	[ "$status" -eq 0 ]
	line_is 2 "body=backend proto=262"
	row outbound "http.get: TCP; MPTCP to the port named in MPTCPSHIM_CONNECT"

	no_fallback "$SRV_DIR/node.out"
	row notes "-"
}

# ---- bind9 (named) ----
# strace, BIND 9.18.49 (Debian 12), named -n 2: per address one TCP
# listener per worker thread (a reuseport group). The main thread:
#   socket(AF_INET, SOCK_STREAM, IPPROTO_IP); setsockopt(SO_REUSEADDR, [1])
#   setsockopt(SO_REUSEPORT, [1]) [AF_INET6: setsockopt(IPV6_V6ONLY, [1]) first]
# then a worker thread (libuv uv_tcp_open + uv_tcp_bind):
#   setsockopt(TCP_MAXSEG, [1220]) [AF_INET6: setsockopt(IPV6_MTU, [1280])]
#   setsockopt(SO_REUSEADDR, [1]); [setsockopt(IPV6_V6ONLY, [1])]; bind(); listen(10)
# Accepted: no option. Outbound TCP (forwarders with tcp-only, zone
# transfers): socket(); setsockopt(TCP_MAXSEG, [1220]);
#   setsockopt(TCP_USER_TIMEOUT, [120000]); setsockopt(SO_REUSEADDR, [1]);
#   bind(0.0.0.0:0); connect().
# rndc reload (Debian's ExecReload): named reads its configuration again
# and keeps the listeners of unchanged addresses.
named_conf() {
	cat >"$SRV_DIR/named.conf" <<-EOF
		options {
		  directory "$SRV_DIR/named";
		  pid-file "$SRV_DIR/named/named.pid";
		  listen-on port $P { 127.0.0.1; };
		  listen-on-v6 port $P { ::1; };
		  recursion yes;
		  allow-recursion { any; };
		  dnssec-validation no;
		};
		key "rndc-key" { algorithm hmac-sha256; secret "$RNDC_SECRET"; };
		controls { inet 127.0.0.1 port $U allow { 127.0.0.1; } keys { "rndc-key"; }; };
		server 127.0.0.1 { tcp-only yes; };
		zone "server.test" { type primary; file "$SRV_DIR/server.test.zone"; };
		zone "bt.test" { type forward; forward only; forwarders { 127.0.0.1 port $BT; }; };
		zone "bm.test" { type forward; forward only; forwarders { 127.0.0.1 port $BM; }; };
	EOF
	cat >"$SRV_DIR/rndc.conf" <<-EOF
		key "rndc-key" { algorithm hmac-sha256; secret "$RNDC_SECRET"; };
		options { default-key "rndc-key"; default-server 127.0.0.1; default-port $U; };
	EOF
	cat >"$SRV_DIR/server.test.zone" <<-EOF
		\$TTL 300
		@   IN SOA ns.server.test. admin.server.test. 1 3600 600 86400 300
		@   IN NS  ns.server.test.
		ns  IN A   192.0.2.53
		www IN A   192.0.2.80
	EOF
	mkdir -p "$SRV_DIR/named"
	chown bind "$SRV_DIR/named"
}
# A key for this test's rndc only (any 32 bytes in base64).
RNDC_SECRET=c2VydmVycy5iYXRzIHRlc3Qga2V5LCBub3QgYSBzZWNyZXQ=

@test "bind9 (named): DNS over TCP, rndc reload, forwarding outbound (default settings)" {
	row server "bind9 (named), default settings"
	row version "$(pkg_version bind9)"
	row prebind "SO_REUSEADDR SO_REUSEPORT TCP_MAXSEG IPV6_V6ONLY IPV6_MTU"
	row afterbind "-"
	row accepted "-"
	row outopts "TCP_MAXSEG TCP_USER_TIMEOUT SO_REUSEADDR"
	named_conf
	srv_start named MPTCPSHIM_PORTS="$P" MPTCPSHIM_CONNECT="$BM" -- \
		named -g -n 2 -u bind -c "$SRV_DIR/named.conf"
	srv_wait_listen "$P"
	wait_line "$SRV_DIR/named.out" "running$"

	# IPv4: both members of the reuseport group are MPTCP. IPv6: named
	# sets IPV6_MTU before bind(), which MPTCP refuses: TCP, one warning.
	[ "$(mptcp_listener_addrs "$P")" = "127.0.0.1:$P 127.0.0.1:$P" ]
	[ "$(ns ss -Hltn "sport = :$P" | grep -c "\[::1\]:$P")" -eq 2 ]
	[ "$(grep -c "warn: \[::1\]:$P: staying TCP: the MPTCP socket refused" "$SRV_DIR/named.out")" -eq 1 ]
	row listener "IPv4 yes: 127.0.0.1:$P (both sockets of the reuseport group); IPv6 no: [::1]:$P stays TCP, because MPTCP refuses IPV6_MTU (one warning)"
	run peer dns 127.0.0.1 "$P" www.server.test
	[ "$status" -eq 0 ]
	line_is 0 "rcode=NOERROR"
	line_is 1 "answer=192.0.2.80"
	line_is 2 "mptcp=1"
	run peer dns ::1 "$P" www.server.test
	[ "$status" -eq 0 ]
	line_is 1 "answer=192.0.2.80"
	line_is 2 "mptcp=0"
	row mptcp "IPv4 yes: an A query over TCP; IPv6: falls back to TCP, answered"
	run peer --tcp dns 127.0.0.1 "$P" www.server.test
	[ "$status" -eq 0 ]
	line_is 1 "answer=192.0.2.80"
	line_is 2 "mptcp=0"
	row tcp "yes: the same query"

	# The control channel (rndc) on the unlisted port.
	assert_tcp_only "$U"
	local before
	before=$(mptcp_listener_inodes "$P")
	ns timeout 20 rndc -c "$SRV_DIR/rndc.conf" reload >"$SRV_DIR/rndc.out" 2>&1
	wait_line "$SRV_DIR/named.out" "reloading configuration succeeded"
	row unlisted "stays TCP (the rndc control channel, which rndc reload used)"
	[ "$(mptcp_listener_inodes "$P")" = "$before" ]
	run peer dns 127.0.0.1 "$P" www.server.test
	[ "$status" -eq 0 ]
	line_is 2 "mptcp=1"
	row reload "rndc reload (systemctl reload): same MPTCP listeners, served over MPTCP"

	# Forwarding over TCP (tcp-only): the backends hang up, named answers
	# SERVFAIL after having connected.
	backend bt close "$BT"
	backend bm close "$BM"
	run peer dns 127.0.0.1 "$P" a.bt.test
	wait_line "$SRV_DIR/bt.out" "^accepted"
	run peer dns 127.0.0.1 "$P" a.bm.test
	wait_line "$SRV_DIR/bm.out" "^accepted"
	[ "$(grep '^accepted' "$SRV_DIR/bt.out" | sort -u)" = "accepted proto=6" ]
	[ "$(grep '^accepted' "$SRV_DIR/bm.out" | sort -u)" = "accepted proto=6" ]
	local notes="named sets TCP_MAXSEG on its TCP listeners before bind(): on 6.1 and 6.12 MPTCP refuses it and every listener stays TCP (one warning each) unless MPTCPSHIM_TOLERATE lists TCP_MAXSEG. Its outbound TCP sockets carry TCP_USER_TIMEOUT, which MPTCP refuses on every kernel: they stay TCP even where MPTCPSHIM_CONNECT names the port."
	row outbound "forwarders over TCP: TCP, also to the port named in MPTCPSHIM_CONNECT (see notes)"
	row notes "$notes LIBRARY PROBLEM (reported): named binds each outbound socket to 0.0.0.0:0 before connect(), which takes it out of MPTCPSHIM_CONNECT without a word; the library should say why the named destination stays TCP."
	grep -q "127.0.0.1:$BM.*TCP" "$SRV_DIR/named.out"
	row notes "$notes"
}

@test "bind9 (named): MPTCPSHIM_TOLERATE=TCP_MAXSEG,IPV6_MTU makes every listener MPTCP" {
	row server "bind9 (named), MPTCPSHIM_TOLERATE=TCP_MAXSEG,IPV6_MTU"
	row version "$(pkg_version bind9)"
	row prebind "SO_REUSEADDR SO_REUSEPORT TCP_MAXSEG IPV6_V6ONLY IPV6_MTU"
	row afterbind "-"
	row accepted "-"
	row outopts "TCP_MAXSEG TCP_USER_TIMEOUT SO_REUSEADDR"
	row unlisted "as with the default settings"
	row reload "as with the default settings"
	row outbound "as with the default settings"
	row notes "The options named asks for are then not in force on its MPTCP listeners (IPV6_MTU on every kernel, TCP_MAXSEG on 6.1 and 6.12), and the library says so once each. LIBRARY PROBLEM (reported): MPTCPSHIM_TOLERATE does not know the name IPV6_MTU ('unknown socket option'), so the library converts nothing."
	named_conf
	srv_start named MPTCPSHIM_PORTS="$P" MPTCPSHIM_TOLERATE=TCP_MAXSEG,IPV6_MTU -- \
		named -g -n 2 -u bind -c "$SRV_DIR/named.conf"
	srv_wait_listen "$P"
	wait_line "$SRV_DIR/named.out" "running$"
	[ "$(mptcp_listener_addrs "$P")" = "127.0.0.1:$P 127.0.0.1:$P [::1]:$P [::1]:$P" ]
	row listener "yes: 127.0.0.1:$P, [::1]:$P (both sockets of each reuseport group)"
	for addr in 127.0.0.1 ::1; do
		run peer dns "$addr" "$P" www.server.test
		[ "$status" -eq 0 ]
		line_is 1 "answer=192.0.2.80"
		line_is 2 "mptcp=1"
	done
	row mptcp "yes: an A query over TCP, IPv4 and IPv6"
	run peer --tcp dns ::1 "$P" www.server.test
	[ "$status" -eq 0 ]
	line_is 2 "mptcp=0"
	row tcp "yes: the same query"
	absent 'staying TCP\|error' "$SRV_DIR/named.out"
	row notes "The options named asks for are then not in force on its MPTCP listeners (IPV6_MTU on every kernel, TCP_MAXSEG on 6.1 and 6.12), and the library says so once each."
}

# ---- mariadb-server ----
# strace, MariaDB 10.11 (Debian 12), bind-address 127.0.0.1,::1:
#   socket(AF_INET, SOCK_STREAM, IPPROTO_IP); setsockopt(SO_REUSEADDR, [1])
#   setsockopt(SOL_IP, IP_FREEBIND, [1]); [AF_INET6: setsockopt(IPV6_V6ONLY, [1])]
#   bind(); listen(80)
# Accepted: setsockopt(SOL_IP, IP_TOS, [8]); setsockopt(TCP_NODELAY, [1]);
#   setsockopt(SO_KEEPALIVE, [1]). Replication (the IO thread): socket();
#   connect(); then the same three options.
# SIGHUP: flushes logs and tables, reloads the grant tables; the sockets stay.
@test "mariadb-server: listeners, login and a query, SIGHUP, replication outbound" {
	row server "mariadb-server"
	row version "$(pkg_version mariadb-server)"
	row prebind "SO_REUSEADDR IP_FREEBIND IPV6_V6ONLY"
	row afterbind "-"
	row accepted "IP_TOS TCP_NODELAY SO_KEEPALIVE"
	row outopts "IP_TOS TCP_NODELAY SO_KEEPALIVE"
	mkdir "$SRV_DIR/db"
	chown mysql "$SRV_DIR/db"
	timeout 60 mariadb-install-db --no-defaults --user=mysql --datadir="$SRV_DIR/db/data" \
		--skip-test-db --auth-root-authentication-method=normal >"$SRV_DIR/install.out" 2>&1
	printf "%s\n" "CREATE USER 'app'@'%' IDENTIFIED BY 'secret';" \
		"GRANT ALL ON *.* TO 'app'@'%';" >"$SRV_DIR/init.sql"
	# as root, switching to user mysql itself (--user), like Debian's unit
	srv_start mariadb MPTCPSHIM_PORTS="$P" MPTCPSHIM_CONNECT="$BM" -- \
		mariadbd --no-defaults --user=mysql --datadir="$SRV_DIR/db/data" \
		--socket="$SRV_DIR/db/sock" --pid-file="$SRV_DIR/db/pid" \
		--port="$P" --extra-port="$U" --bind-address=127.0.0.1,::1 \
		--init-file="$SRV_DIR/init.sql" --innodb-buffer-pool-size=16M --skip-log-bin
	srv_wait_listen "$P" 30
	wait_line "$SRV_DIR/mariadb.out" "ready for connections"

	[ "$(mptcp_listener_addrs "$P")" = "127.0.0.1:$P [::1]:$P" ]
	row listener "yes: 127.0.0.1:$P, [::1]:$P"
	for addr in 127.0.0.1 ::1; do
		run peer mysql "$addr" "$P" app secret "SELECT 42"
		[ "$status" -eq 0 ]
		line_is 1 "auth=ok"
		line_is 2 "row=42"
		line_is 3 "mptcp=1"
	done
	run peer mysql 127.0.0.1 "$P" app wrong "SELECT 42"
	[ "$status" -eq 1 ]
	[[ "$output" == *"Access denied"* ]]
	row mptcp "yes: login (mysql_native_password) and SELECT 42, IPv4 and IPv6"
	run peer --tcp mysql 127.0.0.1 "$P" app secret "SELECT 42"
	[ "$status" -eq 0 ]
	line_is 2 "row=42"
	line_is 3 "mptcp=0"
	row tcp "yes: the same session"

	assert_tcp_only "$U"
	run peer mysql 127.0.0.1 "$U" app secret "SELECT 42"
	[ "$status" -eq 0 ]
	line_is 3 "mptcp=0"
	row unlisted "stays TCP (extra_port; an MPTCP client falls back and is served)"

	local before
	before=$(mptcp_listener_inodes "$P")
	kill -HUP "$(cat "$SRV_DIR/db/pid")"
	sleep 0.5 # SIGHUP is handled by a signal thread; it logs nothing
	[ "$(mptcp_listener_inodes "$P")" = "$before" ]
	run peer mysql 127.0.0.1 "$P" app secret "SELECT 43"
	[ "$status" -eq 0 ]
	line_is 3 "mptcp=1"
	row reload "SIGHUP (flush and reload grants): same MPTCP listeners, served over MPTCP"

	# Replication: the IO thread connects to the master (the backends
	# hang up; the thread retries every second).
	backend bt close "$BT"
	backend bm close "$BM"
	local port
	for port in "$BT" "$BM"; do
		run peer mysql 127.0.0.1 "$P" app secret \
			"CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT=$port, MASTER_USER='r', MASTER_CONNECT_RETRY=1"
		[ "$status" -eq 0 ]
		run peer mysql 127.0.0.1 "$P" app secret "START SLAVE"
		[ "$status" -eq 0 ]
		wait_line "$SRV_DIR/$([ "$port" = "$BT" ] && echo bt || echo bm).out" "^accepted"
		run peer mysql 127.0.0.1 "$P" app secret "STOP SLAVE"
		[ "$status" -eq 0 ]
	done
	[ "$(grep '^accepted' "$SRV_DIR/bt.out" | sort -u)" = "accepted proto=6" ]
	[ "$(grep '^accepted' "$SRV_DIR/bm.out" | sort -u)" = "accepted proto=262" ]
	row outbound "replication (the IO thread): TCP; MPTCP to the port named in MPTCPSHIM_CONNECT"

	no_fallback "$SRV_DIR/mariadb.out"
	row notes "mariadbd started as root switches to user mysql itself. It sets IP_TOS (level SOL_IP) on IPv6 connections too: an IPv6 MPTCP socket accepts it (measured on 6.18)."
}
