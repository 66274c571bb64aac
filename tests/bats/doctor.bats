#!/usr/bin/env bats
# mptcpshim doctor: a server's checklist. Endpoints, limits and routing are
# set up in network namespaces (msdr-$$-N, documentation addresses only,
# removed by teardown); every "fix:" command a test meets is run, and must
# work. Ports 49500-49999.

# The single quotes below are meant: the child expands the variables.
# shellcheck disable=SC2016
load common
load doctor
bats_require_minimum_version 1.5.0

CLI=$BUILD/cli/mptcpshim
PEER=$TOP/tests/tools/clipeer.py

setup() {
	[ -x "$CLI" ] || {
		echo "# $CLI missing: build first" >&3
		return 1
	}
	probe_setup 49500 49999
	NETNS=()
	doctor_env
}

teardown() {
	local n
	# an nginx a test started (its pid file), also when the test failed
	[ ! -s "$TMP/nginx.pid" ] || kill "$(cat "$TMP/nginx.pid")" 2>/dev/null || true
	probe_teardown
	for n in "${NETNS[@]}"; do ip netns del "$n" 2>/dev/null || true; done
}

# A namespace with lo up; its name in $ns.
new_ns() {
	ns=msdr-$$-$1
	ip netns add "$ns"
	NETNS+=("$ns")
	ip -n "$ns" link set lo up
}

# doctor inside namespace $ns (no nginx: --nginx names a missing file
# would be an error, so a program that is not nginx is not given).
ns_doctor() {
	doctor_run ip netns exec "$ns" "$CLI" doctor "$@"
}

# Runs every "fix: ..." line of $output that starts with $1 inside $ns;
# each must succeed. Prints how many ran.
paste_fixes() {
	local line n=0
	while IFS= read -r line; do
		line=${line#*fix: }
		ip netns exec "$ns" sh -ec "$line" >&2
		n=$((n + 1))
	done < <(grep "^ *fix: $1" <<<"$output")
	echo "$n"
}

@test "doctor: --help, and bad arguments give exit 2" {
	doctor_run "$CLI" doctor --help
	[ "$status" -eq 0 ]
	[[ "$output" == "Usage: mptcpshim doctor"* ]]
	doctor_run "$CLI" doctor --frob
	[ "$status" -eq 2 ]
	[[ "$stderr" == *"unknown option '--frob'"* ]]
	doctor_run "$CLI" doctor extra
	[ "$status" -eq 2 ]
	[[ "$stderr" == *"unexpected argument 'extra'"* ]]
	doctor_run "$CLI" doctor --window 0
	[ "$status" -eq 2 ]
	[[ "$stderr" == *"--window: '0' is not a number of seconds from 1 to 3600"* ]]
	doctor_run "$CLI" doctor --program
	[ "$status" -eq 2 ]
}

@test "doctor: one signal command per address, exact address matching; each pasted command works" {
	need_root
	need_mptcp
	new_ns 1
	ip -n "$ns" link add d0 type veth peer name d1
	ip -n "$ns" link set d0 up
	ip -n "$ns" addr add 192.0.2.1/24 dev d0
	ip -n "$ns" addr add 192.0.2.10/24 dev d0
	ip -n "$ns" addr add 2001:db8::1/64 dev d0 nodad
	ip -n "$ns" mptcp endpoint add 192.0.2.10 dev d0 signal
	# an endpoint on an address the machine does not have
	ip -n "$ns" mptcp endpoint add 198.51.100.7 id 9 signal
	ns_doctor
	[ "$status" -eq 0 ]
	# 192.0.2.1 is suggested although 192.0.2.10 (a longer string
	# holding it) is an endpoint; once, as signal only
	[ "$(grep -c 'fix: ip mptcp endpoint add 192.0.2.1 ' <<<"$output")" -eq 1 ]
	[[ "$output" == *"fix: ip mptcp endpoint add 192.0.2.1 dev d0 signal"* ]]
	[[ "$output" == *"fix: ip mptcp endpoint add 2001:db8::1 dev d0 signal"* ]]
	[[ "$output" != *"endpoint add 192.0.2.10 "* ]]
	[[ "$output" != *"signal subflow"* ]]
	[[ "$output" != *" subflow"$'\n'* ]]
	[[ "$output" == *"fix: ip mptcp endpoint delete id 9"* ]]
	[ "$(paste_fixes "ip mptcp endpoint")" -eq 3 ]
	ns_doctor
	[[ "$output" == *"[ok]    every address of this server is a 'signal' endpoint (3 addresses)"* ]]
	[[ "$output" != *"fix: ip mptcp endpoint"* ]]
	[ "$(ip -n "$ns" mptcp endpoint show | wc -l)" -eq 3 ]
}

@test "doctor: limits without subflows, and the command that keeps add_addr_accepted" {
	need_root
	need_mptcp
	new_ns 2
	ip -n "$ns" mptcp limits set subflows 0 add_addr_accepted 3
	ns_doctor --json
	python3 -c 'import json, sys; json.loads(sys.argv[1])' "$output"
	ns_doctor
	[[ "$output" == *"[warn]  MPTCP limits: subflows 0"* ]]
	[[ "$output" == *"fix: ip mptcp limits set subflows 2 add_addr_accepted 3"* ]]
	[ "$(paste_fixes "ip mptcp limits")" -eq 1 ]
	ns_doctor
	[[ "$output" == *"[ok]    MPTCP limits: subflows 2, add_addr_accepted 3"* ]]
}

@test "doctor: net.mptcp.enabled = 0, or unreadable, is an error with exit 1" {
	need_root
	need_mptcp
	new_ns 3
	ip netns exec "$ns" sysctl -qw net.mptcp.enabled=0
	ns_doctor
	[ "$status" -eq 1 ]
	[[ "$output" == *"[error] net.mptcp.enabled = 0"* ]]
	[[ "$output" == *"fix: sysctl -w net.mptcp.enabled=1"* ]]
	[ "$(paste_fixes "sysctl")" -eq 1 ]
	ns_doctor
	[[ "$output" == *"[ok]    net.mptcp.enabled = 1"* ]]
	# the file cannot be read: said so, not an uninitialised buffer
	doctor_run ip netns exec "$ns" unshare --mount sh -c \
		'mount -t tmpfs tmpfs /proc/sys/net/mptcp && exec "$1" doctor' _ "$CLI"
	[ "$status" -eq 1 ]
	[[ "$output" == *"[error] cannot read net.mptcp.enabled: No such file or directory"* ]]
}

@test "doctor: several addresses need one routing table each; rp_filter; pasted fixes work" {
	need_root
	need_mptcp
	new_ns 4
	srv=$ns
	new_ns 5
	peer=$ns
	ip -n "$srv" link add d0 type veth peer name d1 netns "$peer"
	ip -n "$srv" link add e0 type veth peer name e1 netns "$peer"
	ip -n "$peer" link set d1 up
	ip -n "$peer" link set e1 up
	ip -n "$peer" addr add 192.0.2.1/24 dev d1
	ip -n "$peer" addr add 198.51.100.1/24 dev e1
	ip -n "$srv" link set d0 up
	ip -n "$srv" link set e0 up
	ip -n "$srv" addr add 192.0.2.10/24 dev d0
	ip -n "$srv" addr add 198.51.100.10/24 dev e0
	ip -n "$srv" route add default via 192.0.2.1 dev d0
	# a gateway on e0 that doctor can name (a route, no traffic)
	ip -n "$srv" route add 203.0.113.128/25 via 198.51.100.1 dev e0
	ip netns exec "$srv" sysctl -qw net.ipv4.conf.e0.rp_filter=1
	ns=$srv
	ns_doctor
	[[ "$output" == *"[warn]  traffic from 198.51.100.10 leaves by d0, not by e0"* ]]
	[[ "$output" == *"fix: ip route add default via 198.51.100.1 dev e0 table 100 && ip rule add from 198.51.100.10 table 100"* ]]
	[[ "$output" != *"traffic from 192.0.2.10 leaves"* ]]
	[[ "$output" == *"[warn]  strict reverse-path filtering on e0"* ]]
	[[ "$output" == *"fix: sysctl -w net.ipv4.conf.e0.rp_filter=2"* ]]
	# the kernel agrees before, and not after, the pasted fix
	[[ "$(ip -n "$srv" route get 203.0.113.1 from 198.51.100.10)" == *"dev d0"* ]]
	[ "$(paste_fixes "ip route")" -eq 1 ]
	[[ "$(ip -n "$srv" route get 203.0.113.1 from 198.51.100.10)" == *"dev e0"* ]]
	ns_doctor
	[[ "$output" == *"[ok]    traffic from each address leaves by its own interface (2 checked)"* ]]
	[[ "$output" == *"[info]  strict reverse-path filtering on e0 (rp_filter = 1): fine"* ]]
	# without a gateway on the interface nothing pasteable exists: said so,
	# with the pattern, and no fix line
	ip -n "$srv" rule del from 198.51.100.10 table 100
	ip -n "$srv" route del 203.0.113.128/25
	ns_doctor
	[[ "$output" == *"[warn]  traffic from 198.51.100.10 to clients beyond 198.51.100.0/24 leaves by d0, not by e0, and no gateway on e0 is known"* ]]
	[[ "$output" == *"with the gateway of e0: ip route add default via GATEWAY dev e0 table 101 && ip rule add from 198.51.100.10 table 101"* ]]
	[ "$(paste_fixes "ip route")" -eq 0 ]
}

@test "doctor: the MPTcpExt counters, per namespace" {
	need_root
	need_mptcp
	new_ns 6
	ns_doctor
	[[ "$output" == *"[info]  no MPTCP connection counted yet in this network namespace"* ]]
	# an MPTCP client of a TCP server, then of an MPTCP server
	cat >"$TMP/c.sh" <<-EOF
	python3 "$PEER" server 127.0.0.1 $PORT >"$TMP/s1" 2>&1 & s1=\$!
	python3 -c 'import socket,sys,time
	s = socket.socket(socket.AF_INET, socket.SOCK_STREAM, 262)
	s.bind(("127.0.0.1", $((PORT + 1)))); s.listen(4); print("listening", flush=True)
	c, _ = s.accept(); c.sendall(b"x"); time.sleep(5)' >"$TMP/s2" 2>&1 & s2=\$!
	sleep 0.5
	python3 "$PEER" client --mptcp 127.0.0.1 $PORT >"$TMP/c1" & c1=\$!
	python3 "$PEER" client --mptcp 127.0.0.1 $((PORT + 1)) >"$TMP/c2" & c2=\$!
	for i in \$(seq 50); do grep -q is_mptcp "$TMP/c1" && grep -q is_mptcp "$TMP/c2" && break; sleep 0.1; done
	kill \$s1 \$s2 \$c1 \$c2
	EOF
	timeout 20 ip netns exec "$ns" bash "$TMP/c.sh"
	grep is_mptcp=0 "$TMP/c1"
	grep is_mptcp=1 "$TMP/c2"
	# read before its own loopback test; the first run's test counts
	# (one SYN each way) besides the two clients and the MPTCP server
	ns_doctor
	[[ "$output" == *"[ok]    MPTcpExt: 2 MPTCP SYNs received, no fallback of an accepted connection"* ]]
	[[ "$output" == *"[info]  1 outbound MPTCP connection met a server without MPTCP (MPTcpExtMPCapableFallbackSYNACK; 3 MPTCP SYNs sent)"* ]]
	[ "$(ip netns exec "$ns" nstat -az MPTcpExtMPCapableFallbackSYNACK | awk '/MPTcpExt/ {print $2}')" -ge 1 ]
}

@test "doctor: endpoints and limits that a reboot loses; --print-unit restores them, and removes only its own" {
	need_root
	need_mptcp
	new_ns 7
	ip -n "$ns" link add d0 type veth peer name d1
	ip -n "$ns" link set d0 up
	ip -n "$ns" addr add 192.0.2.10/24 dev d0
	ip -n "$ns" addr add 198.51.100.10/24 dev d0
	ip -n "$ns" mptcp limits set subflows 3 add_addr_accepted 1
	ip -n "$ns" mptcp endpoint add 192.0.2.10 dev d0 signal
	ip -n "$ns" mptcp endpoint add 198.51.100.10 dev d0 id 7 signal subflow backup
	ns_doctor
	[[ "$output" == *"[warn]  the MPTCP endpoints and limits set now are lost at the next reboot"* ]]
	# under systemd (sd_booted: /run/systemd/system, here in a mount
	# namespace of its own), the one command that installs it
	doctor_run ip netns exec "$ns" unshare --mount sh -c \
		'mount -t tmpfs tmpfs /run && mkdir -p /run/systemd/system && exec "$1" doctor' _ "$CLI"
	[[ "$output" == *"fix: mptcpshim doctor --print-unit > /etc/systemd/system/mptcp-endpoints.service && systemctl daemon-reload && systemctl enable mptcp-endpoints.service"* ]]
	ns_doctor --print-unit
	[ "$status" -eq 0 ]
	printf '%s\n' "$output" >"$TMP/mptcp-endpoints.service"
	[[ "$output" == *"[Install]"* ]]
	grep -q '^ExecStart=.* mptcp limits set subflows 3 add_addr_accepted 1$' "$TMP/mptcp-endpoints.service"
	# it says where it goes and how to enable it; it flushes nothing
	[[ "$stderr" == *"write this unit to /etc/systemd/system/mptcp-endpoints.service, then run:"*"systemctl daemon-reload && systemctl enable --now mptcp-endpoints.service"* ]]
	! grep -q flush "$TMP/mptcp-endpoints.service"
	[ "$(grep -c '^ExecStop=-.* mptcp endpoint delete id [0-9]*$' "$TMP/mptcp-endpoints.service")" -eq 2 ]
	# the unit's commands, run in a second namespace with the same
	# addresses, give the same endpoints and limits
	before=$(ip -n "$ns" mptcp endpoint show; ip -n "$ns" mptcp limits show)
	new_ns 8
	ip -n "$ns" link add d0 type veth peer name d1
	ip -n "$ns" link set d0 up
	ip -n "$ns" addr add 192.0.2.10/24 dev d0
	ip -n "$ns" addr add 198.51.100.10/24 dev d0
	ip -n "$ns" addr add 203.0.113.10/24 dev d0
	sed -n 's/^ExecStart=-\{0,1\}//p' "$TMP/mptcp-endpoints.service" | while IFS= read -r cmd; do
		ip netns exec "$ns" sh -ec "$cmd"
	done
	after=$(ip -n "$ns" mptcp endpoint show; ip -n "$ns" mptcp limits show)
	echo "before: $before"
	echo "after: $after"
	[ "$before" = "$after" ]
	# an endpoint someone else added (NetworkManager, mptcpd) survives a
	# start and a stop of the unit; the unit's own are gone after stop
	ip -n "$ns" mptcp endpoint add 203.0.113.10 dev d0 id 20 subflow
	sed -n 's/^ExecStart=-\{0,1\}//p' "$TMP/mptcp-endpoints.service" | while IFS= read -r cmd; do
		ip netns exec "$ns" sh -c "$cmd" || true # '-': an existing one is no failure
	done
	[[ "$(ip -n "$ns" mptcp endpoint show)" == *"203.0.113.10 id 20 subflow dev d0"* ]]
	sed -n 's/^ExecStop=-//p' "$TMP/mptcp-endpoints.service" | while IFS= read -r cmd; do
		ip netns exec "$ns" sh -ec "$cmd"
	done
	[ "$(ip -n "$ns" mptcp endpoint show)" = "203.0.113.10 id 20 subflow dev d0 " ] ||
		[ "$(ip -n "$ns" mptcp endpoint show)" = "203.0.113.10 id 20 subflow dev d0" ]
	if command -v systemd-analyze >/dev/null; then
		cp "$TMP/mptcp-endpoints.service" "$TMP/x.service"
		run systemd-analyze verify "$TMP/x.service"
		echo "$output"
		[ "$status" -eq 0 ]
	fi
}

@test "doctor: NetworkManager or mptcpd managing endpoints is said, by doctor and by --print-unit" {
	need_root
	need_mptcp
	new_ns 9
	ip -n "$ns" link add d0 type veth peer name d1
	ip -n "$ns" link set d0 up
	ip -n "$ns" addr add 192.0.2.10/24 dev d0
	ip -n "$ns" mptcp endpoint add 192.0.2.10 dev d0 signal
	# a process of that name, in a PID namespace of its own: the host's
	# own daemons (or their absence) do not count
	for d in NetworkManager mptcpd; do
		cp "$(command -v sleep)" "$TMP/$d"
		doctor_run ip netns exec "$ns" unshare --pid --fork --mount-proc sh -c \
			'"$1" 20 & sleep 0.3; "$2" doctor; "$2" doctor --print-unit >"$3"; kill $!' \
			_ "$TMP/$d" "$CLI" "$TMP/unit"
		[[ "$output" == *"[info]  $d runs here"* ]]
		[[ "$stderr" == *"$d runs here and manages MPTCP endpoints: the unit adds only the 1 endpoint above and deletes only those ids"* ]]
		grep -q "^# $d runs here and manages MPTCP endpoints too" "$TMP/unit"
		! grep -q flush "$TMP/unit"
	done
	[[ "$output" == *"mptcpd runs here: it manages MPTCP endpoints"* ]]
	doctor_run ip netns exec "$ns" unshare --pid --fork --mount-proc "$CLI" doctor
	[[ "$output" != *"runs here"* ]]
}

@test "doctor: set-user-ID, file capabilities, Go and static programs are out of LD_PRELOAD's reach" {
	mkdir "$TMP/p"
	cp /bin/true "$TMP/p/suid"
	chmod 4755 "$TMP/p/suid"
	cp /bin/true "$TMP/p/caps"
	cp /bin/true "$TMP/p/plain"
	# a Go program is told by its build info section (as the Go tools do)
	printf '\377 Go buildinf:\010\002%*s' 16 '' >"$TMP/bi"
	printf '\010go1.22.5' >>"$TMP/bi"
	objcopy --add-section .go.buildinfo="$TMP/bi" /bin/true "$TMP/p/gobin"
	doctor_run "$CLI" doctor --program "$TMP/p/plain" --program "$TMP/p/suid" \
		--program "$TMP/p/gobin" --program /bin/busybox
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "$output" == *"[ok]    $TMP/p/plain: LD_PRELOAD reaches it"* ]]
	[[ "$output" == *"[error] $TMP/p/suid is set-user-ID: the loader ignores LD_PRELOAD for it"* ]]
	[[ "$output" == *"fix: chmod u-s $TMP/p/suid"* ]]
	[[ "$output" == *"[warn]  $TMP/p/gobin is a Go program built with go1.22.5"* ]]
	[[ "$output" == *"GODEBUG=multipathtcp=1"* ]]
	if [ -x /bin/busybox ] && ! ldd /bin/busybox >/dev/null 2>&1; then
		[[ "$output" == *"[warn]  /bin/busybox is statically linked"* ]]
	fi
	chmod u-s "$TMP/p/suid"
	doctor_run "$CLI" doctor --program "$TMP/p/suid"
	[[ "$output" == *"[ok]    $TMP/p/suid: LD_PRELOAD reaches it"* ]]
	if command -v setcap >/dev/null && [ "$(id -u)" -eq 0 ]; then
		setcap cap_net_bind_service+ep "$TMP/p/caps"
		doctor_run "$CLI" doctor --program "$TMP/p/caps"
		echo "$output"
		[ "$status" -eq 1 ]
		[[ "$output" == *"[error] $TMP/p/caps has file capabilities"* ]]
		[[ "$output" == *"fix: setcap -r $TMP/p/caps"* ]]
		setcap -r "$TMP/p/caps"
		doctor_run "$CLI" doctor --program "$TMP/p/caps"
		[[ "$output" == *"[ok]    $TMP/p/caps: LD_PRELOAD reaches it"* ]]
	fi
}

@test "doctor: an nginx with native multipath gets the listen lines to write, one per address" {
	mkdir -p "$TMP/ng"
	# nginx -T's output as nginx 1.30 prints it: each file whole
	cat >"$TMP/ng/dump" <<-'EOF'
	# configuration file /etc/nginx/nginx.conf:
	events {}
	http {
	    include /etc/nginx/sites/*.conf;
	}
	stream {
	    server { listen 5353 udp; proxy_pass 192.0.2.53:53; }
	    server {
	        listen 8443 reuseport;
	        proxy_pass 192.0.2.2:443;
	    }
	}

	# configuration file /etc/nginx/sites/a.conf:
	server {
	    listen 80;   # the plain one
	    listen [::]:80 default_server;
	}
	server {
	    listen 80 reuseport;
	    listen 443 ssl;
	    listen unix:/run/x.sock;
	}
	server { listen 8080 multipath; }
	EOF
	cat >"$TMP/ng/nginx" <<-EOF
	#!/bin/sh
	case "\$1" in
	-v) echo "nginx version: nginx/1.30.4" >&2 ;;
	-T) echo "nginx: the configuration file /etc/nginx/nginx.conf syntax is ok" >&2
	    cat "$TMP/ng/dump" ;;
	esac
	EOF
	chmod +x "$TMP/ng/nginx"
	doctor_run "$CLI" doctor --nginx "$TMP/ng/nginx"
	echo "$output"
	[[ "$output" == *"[info]  nginx 1.30.4 has native 'listen ... multipath'"* ]]
	[[ "$output" == *"/etc/nginx/sites/a.conf:6: listen 80 reuseport;  ->  listen 80 reuseport multipath;"* ]]
	[[ "$output" == *"/etc/nginx/sites/a.conf:3: listen [::]:80 default_server;  ->  listen [::]:80 default_server multipath;"* ]]
	[[ "$output" == *"/etc/nginx/sites/a.conf:7: listen 443 ssl;  ->  listen 443 ssl multipath;"* ]]
	[[ "$output" == *"/etc/nginx/nginx.conf:8: listen 8443 reuseport;  ->  listen 8443 reuseport multipath;"* ]]
	[ "$(grep -c '  ->  ' <<<"$output")" -eq 4 ]
	[[ "$output" != *"listen 80;  ->"* ]]
	[[ "$output" != *"5353"*"->"* ]]
	# an older version: no native parameter, the library is the way
	sed -i 's|1.30.4|1.22.1|' "$TMP/ng/nginx"
	doctor_run "$CLI" doctor --nginx "$TMP/ng/nginx"
	[[ "$output" == *"[ok]    nginx 1.22.1 has no native 'listen ... multipath'"* ]]
	[[ "$output" != *"  ->  "* ]]
	# the boundary: the parameter arrived in 1.29.7
	sed -i 's|1.22.1|1.29.6|' "$TMP/ng/nginx"
	doctor_run "$CLI" doctor --nginx "$TMP/ng/nginx"
	[[ "$output" == *"[ok]    nginx 1.29.6 has no native 'listen ... multipath'"* ]]
	[[ "$output" != *"  ->  "* ]]
	sed -i 's|1.29.6|1.29.7|' "$TMP/ng/nginx"
	doctor_run "$CLI" doctor --nginx "$TMP/ng/nginx"
	[[ "$output" == *"[info]  nginx 1.29.7 has native 'listen ... multipath'"* ]]
	[ "$(grep -c '  ->  ' <<<"$output")" -eq 4 ]
}

@test "doctor: nftables rules on TCP option 30 (drop, reset) are named one by one; a ruleset without one is only a reminder" {
	need_root
	command -v nft >/dev/null || skip "no nft (scripts/install-deps.sh installs nftables)"
	new_ns fw
	# no table at all
	ns_doctor
	[[ "$output" == *"[ok]    no nftables table here"* ]]
	# a table that does not touch option 30: the MP_JOIN reminder
	ip netns exec "$ns" nft add table inet t
	ip netns exec "$ns" nft add chain inet t c '{ type filter hook input priority 0; }'
	ip netns exec "$ns" nft add rule inet t c tcp dport 22 accept
	ns_doctor
	[[ "$output" == *"[info]  nftables has 1 table; no rule drops, rejects or strips TCP option 30."*"MP_JOIN SYNs"* ]]
	[[ "$output" == *"table inet t"* ]]
	[ "$(grep -c '^\[warn\].*TCP option 30' <<<"$output")" -eq 0 ]
	# a rule that drops MPTCP SYNs and one that strips the option
	ip netns exec "$ns" nft add rule inet t c tcp option mptcp exists drop
	ip netns exec "$ns" nft add rule inet t c reset tcp option mptcp
	ns_doctor
	# errors (exit 1), each named, with the command that deletes it
	[ "$status" -eq 1 ]
	[[ "$output" == *"[error] nftables rule inet t chain c handle "*" drops packets that carry TCP option 30 (MPTCP)"* ]]
	[[ "$output" == *"[error] nftables rule inet t chain c handle "*" strips TCP option 30 (MPTCP)"* ]]
	[ "$(grep -c '^ *fix: nft delete rule inet t c handle [0-9]*$' <<<"$output")" -eq 2 ]
	# the named handles are the rules that touch it, not the port 22 one
	for h in $(sed -n 's/^ *fix: nft delete rule inet t c handle //p' <<<"$output"); do
		ip netns exec "$ns" nft -a list chain inet t c | grep -q "mptcp.*# handle $h\$"
	done
	# a rule that only lets option 30 pass is information
	ip netns exec "$ns" nft add rule inet t c tcp option mptcp exists accept
	ns_doctor
	[[ "$output" == *"matches option 30 and lets it pass"* ]]
	[ "$(paste_fixes "nft delete rule")" -eq 2 ]
	ns_doctor
	[ "$status" -eq 0 ]
	[[ "$output" != *"[error]"* ]]
	# the L4 balancer reminder is always there, as information
	[[ "$output" == *"[info]  behind an L4 load balancer (IPVS, a cloud NLB), the balancer must pass TCP option 30"* ]]
	# legacy iptables: loaded tables without a rule on option 30 get
	# the reminder (the TCPOPTSTRIP target alone, listed by every kernel
	# that has it, says nothing); doctor-paths.bats has the rules
	[[ "$output" != *"legacy iptables"* ]]
	if command -v iptables-legacy >/dev/null; then
		ip netns exec "$ns" iptables-legacy -A INPUT -p tcp --dport 22 -j ACCEPT
		ns_doctor
		[[ "$output" == *"[info]  legacy iptables tables are loaded; no rule drops, rejects or strips TCP option 30. They must also accept SYNs to every announced address"* ]]
		[[ "$output" == *"check: iptables-legacy-save"* ]]
		[[ "$output" != *"ip6tables-legacy-save"* ]]
	fi
}

@test "doctor: a missing library and an invalid configuration are errors (exit 1)" {
	printf 'ports = x\n' >"$TMP/bad.conf"
	MPTCPSHIM_LIBRARY=$TMP/nolib.so MPTCPSHIM_CONFIG=$TMP/bad.conf doctor_run "$CLI" doctor
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "$output" == *"[error] library $TMP/nolib.so: No such file or directory"* ]]
	[[ "$output" == *"[error] configuration: $TMP/bad.conf:1: invalid entry \"x\""* ]]
	[[ "$output" == *"fix: mptcpshim check $TMP/bad.conf"* ]]
	[[ "$output" == *"result: 2 errors"* ]]
	# no package named that no archive has; where it is looked for
	[[ "$output" != *"apt-get"* ]]
	[[ "$output" == *"MPTCPSHIM_LIBRARY names it ($TMP/nolib.so)"* ]]
}

# nginx 1.30.4 into $NGINX130: as scripts/nginx-build.sh (issue 14) builds
# and caches it, or $MPTCPSHIM_NGINX_CURRENT. Not in a subshell: it may skip.
find_nginx130() {
	NGINX130=${MPTCPSHIM_NGINX_CURRENT:-}
	if [ -z "$NGINX130" ] && [ -x "$TOP/scripts/nginx-build.sh" ]; then
		NGINX130=$("$TOP/scripts/nginx-build.sh" --check 2>/dev/null) ||
			NGINX130=
	fi
	if [ -z "$NGINX130" ] || [ ! -x "$NGINX130" ]; then
		skip "no nginx 1.30 build (scripts/nginx-build.sh builds it, or set MPTCPSHIM_NGINX_CURRENT)"
	fi
}

@test "doctor: the listen lines it writes for nginx 1.30 pass nginx -t and give MPTCP listeners" {
	need_root
	need_mptcp
	find_nginx130
	p2=$(pick_port 49500 49999)
	mkdir -p "$TMP/sites"
	cat >"$TMP/nginx.conf" <<-EOF
	pid $TMP/nginx.pid;
	error_log $TMP/error.log;
	events {}
	http {
	    access_log off;
	    include $TMP/sites/*.conf;
	}
	stream {
	    server { listen 127.0.0.1:$p2 udp; proxy_pass 192.0.2.53:53; }
	    server {
	        listen 127.0.0.1:$p2 reuseport;
	        proxy_pass 192.0.2.2:443;
	    }
	}
	EOF
	cat >"$TMP/sites/a.conf" <<-EOF
	server {
	    listen 127.0.0.1:$PORT;
	    listen [::1]:$PORT default_server;
	}
	server {
	    server_name b;
	    listen 127.0.0.1:$PORT reuseport;
	}
	EOF
	printf '#!/bin/sh\nexec %s -c %s "$@"\n' "$NGINX130" "$TMP/nginx.conf" >"$TMP/nginx"
	chmod +x "$TMP/nginx"
	doctor_run "$CLI" doctor --nginx "$TMP/nginx"
	echo "$output"
	[[ "$output" == *"nginx 1.30.4 has native 'listen ... multipath'"* ]]
	[ "$(grep -c '  ->  ' <<<"$output")" -eq 3 ]
	# write them as told: on that line, multipath before the ';'
	while IFS= read -r l; do
		f=${l%%:*}
		f=${f##* }
		ln=${l#*:}
		ln=${ln%%:*}
		sed -i "${ln}s/;[[:space:]]*\$/ multipath;/" "$f"
	done < <(grep '  ->  ' <<<"$output")
	cat "$TMP/sites/a.conf"
	run "$TMP/nginx" -t
	echo "$output"
	[ "$status" -eq 0 ]
	"$TMP/nginx"
	wait_listen "$PORT"
	# every TCP address listens with MPTCP: two on $PORT, one on $p2
	# (the first of a reuseport group, see status.bats, may be missing
	# from ss -Ml: count the subflow listeners)
	[ "$(ss -Hltni "sport = :$PORT" | grep -c tcp-ulp-mptcp)" -eq 2 ]
	[ "$(ss -Hltni "sport = :$p2" | grep -c tcp-ulp-mptcp)" -eq 1 ]
	"$TMP/nginx" -s stop
	# where multipath goes on both listens of one address, nginx refuses
	sed -i "s/listen 127.0.0.1:$PORT;/listen 127.0.0.1:$PORT multipath;/" "$TMP/sites/a.conf"
	run "$TMP/nginx" -t
	[ "$status" -ne 0 ]
	[[ "$output" == *"duplicate listen options for 127.0.0.1:$PORT"* ]]
}
