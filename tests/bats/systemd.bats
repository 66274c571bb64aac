#!/usr/bin/env bats
# The administrator's path under a real systemd: a Debian 12 container, or
# with MPTCPSHIM_RELEASE=trixie a Debian 13 one (systemd 252 or 257;
# scripts/rootfs.sh --release R systemd, booted by systemd-nspawn with
# systemd as PID 1, private network, volatile overlay) gets the project's
# .deb built on that release (here, or MPTCPSHIM_DEB from
# scripts/release-test.sh) with `apt-get install ./mptcpshim_*.deb`, then
# `mptcpshim enable nginx`, `systemctl restart`, reload, `status --unit`, `disable`, `systemctl
# revert`, other units' LD_PRELOAD, EnvironmentFile=, a later drop-in, a
# template instance, and `status --unit` on unified and hybrid cgroups.
#
# Every effect is read from the kernel inside the container: `ss -M` for
# the listeners and the server's side of a connection, and the client's
# own getsockopt(SOL_MPTCP, MPTCP_INFO) (it fails on a TCP or fallen-back
# connection; TCP_IS_MPTCP does not exist on 6.1 kernels).
#
# The tests run in order on one container (a test that fails leaves it
# reset for the next one); the hybrid case boots a second one beside it.
# Nothing is left on the host: the containers, their processes and the
# temporary files are removed in teardown_file, also after a failure, and
# the cached tree stays as it was built (the containers write to a tmpfs).

load common
load nspawn
load deb

MA=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || gcc -print-multiarch)
LIB=/usr/lib/$MA/libmptcpshim.so
# A library any unit may already preload (zlib, in every Debian): kept
# beside ours, and visible in the process's maps.
OTHER=/usr/lib/$MA/libz.so.1
DROPIN=/etc/systemd/system/nginx.service.d/mptcpshim.conf

setup_file() {
	need_root
	need_mptcp
	ct_rootfs systemd
	# Another release's container gets the .deb built on that release.
	if [ "$CT_RELEASE" != "$(. /etc/os-release && echo "$VERSION_CODENAME")" ] &&
		[ -z "${MPTCPSHIM_DEB:-}" ]; then
		echo "MPTCPSHIM_RELEASE=$CT_RELEASE needs MPTCPSHIM_DEB, the .deb built there (scripts/release-test.sh --deb-out DIR $CT_RELEASE)" >&2
		return 1
	fi
	deb_build
	cp "$DEB" "$CT_SHARE/"
	write_client "$CT_SHARE/mptcp-client.py"
	write_units "$CT_SHARE/units"
	ct_boot main unified
	no_start_limit
}

# The tests restart nginx more often than systemd's default start limit
# allows (5 starts in 10 s; then "start of the service was attempted too
# often"): a fast machine hit it. No limit in the test container.
no_start_limit() {
	ct_sh 'mkdir -p /etc/systemd/system.conf.d &&
		printf "[Manager]\nDefaultStartLimitIntervalSec=0\n" >/etc/systemd/system.conf.d/50-mptcpshim-tests.conf &&
		systemctl daemon-reexec'
}

teardown_file() {
	ct_cleanup
}

setup() {
	CT=main
	# A test that failed half-way may have left drop-ins and units.
	if [ -e "$CT_STATE/dirty" ]; then
		reset_container
		rm -f "$CT_STATE/dirty"
	fi
	: >"$CT_STATE/dirty"
}

teardown() {
	if [ -n "${BATS_TEST_COMPLETED:-}" ]; then
		rm -f "$CT_STATE/dirty"
	else
		diag
	fi
}

diag() {
	echo "--- container $CT: units, drop-ins, nginx's journal"
	ct systemctl --failed --no-legend || true
	ct_sh 'ls -R /etc/systemd/system/*.d 2>/dev/null; tail -n 20 /var/log/nginx/error.log 2>/dev/null' || true
	ct_journal nginx | tail -n 20 || true
	ct ss -Hlntp || true
	return 0
}

# Back to the state right after the package was installed.
reset_container() {
	ct_sh 'systemctl stop "pyweb*" 2>/dev/null
		rm -rf /etc/systemd/system/nginx.service.d /etc/systemd/system/pyweb*
		rm -f /etc/default/pyweb-env
		systemctl daemon-reload
		systemctl restart nginx' || true
}

# The MPTCP client run inside the container. It prints, one per line:
#   mptcp_info=ok | mptcp_info=<errno name>   (its own MPTCP_INFO)
#   status=<HTTP status>
#   server_mptcp=<MPTCP sockets in ss -M established on the server's
#                 port, counted once connected, before the request>
write_client() {
	cat >"$1" <<-'EOF'
		import errno, socket, subprocess, sys, time
		SOL_MPTCP, MPTCP_INFO = 284, 1
		host, port = sys.argv[1], int(sys.argv[2])
		fam = socket.AF_INET6 if ":" in host else socket.AF_INET
		s = socket.socket(fam, socket.SOCK_STREAM, socket.IPPROTO_MPTCP)
		s.settimeout(5)
		s.connect((host, port))
		try:
		    info = s.getsockopt(SOL_MPTCP, MPTCP_INFO, 256)
		    flags = int.from_bytes(info[8:12], sys.byteorder)
		    mine = "fallback" if flags & 1 else "ok"
		except OSError as e:
		    mine = errno.errorcode.get(e.errno, str(e.errno))
		# The server's side of this connection, before the server can
		# answer and close it: an MPTCP socket on its port (waiting for it
		# at most 1 s when this side is MPTCP).
		for _ in range(20 if mine == "ok" else 1):
		    ss = subprocess.run(["ss", "-HMn", "state", "established",
		                         "sport = :%d" % port], capture_output=True, text=True)
		    n = len(ss.stdout.splitlines())
		    if n:
		        break
		    time.sleep(0.05)
		s.sendall(b"GET / HTTP/1.1\r\nHost: test\r\n\r\n")
		head = s.recv(65536).split(b"\r\n", 1)[0].decode()
		print("mptcp_info=" + mine)
		print("status=" + (head.split()[1] if head.startswith("HTTP/") else "none"))
		print("server_mptcp=%d" % n)
		s.close()
	EOF
}

# Units of the tests besides nginx, copied into the container when used:
# a small web server (python3's http.server: plain socket() + bind()), as
# a unit that sets LD_PRELOAD itself, as a template, and as a unit with
# an EnvironmentFile=.
write_units() {
	mkdir -p "$1"
	cat >"$1/pyweb.service" <<-EOF
		[Service]
		Environment=LD_PRELOAD=$OTHER
		ExecStart=/usr/bin/python3 -m http.server 8080 --bind 127.0.0.1 --directory /mnt/mptcpshim
	EOF
	cat >"$1/pyweb@.service" <<-EOF
		[Service]
		ExecStart=/usr/bin/python3 -m http.server %i --bind 127.0.0.1 --directory /mnt/mptcpshim
	EOF
	cat >"$1/pyweb-env.service" <<-EOF
		[Service]
		EnvironmentFile=/etc/default/pyweb-env
		ExecStart=/usr/bin/python3 -m http.server 8090 --bind 127.0.0.1 --directory /mnt/mptcpshim
	EOF
	# an "editor" for systemctl edit: writes an override setting LD_PRELOAD
	# systemd 257 passes the cursor's line first (+4 FILE) and keeps only
	# what is written between the markers of the file it gives; 252 gives
	# the file alone.
	cat >"$1/edit-override" <<-EOF
		#!/bin/sh
		for f; do :; done
		if grep -q '^### Anything between here' "\$f"; then
			sed -i '/^### Anything between here/a [Service]\nEnvironment=LD_PRELOAD=$OTHER' "\$f"
		else
			printf '[Service]\nEnvironment=LD_PRELOAD=%s\n' "$OTHER" >"\$f"
		fi
	EOF
	chmod 755 "$1/edit-override"
	cat >"$1/pyweb-quiet.service" <<-EOF
		[Service]
		EnvironmentFile=-/etc/default/pyweb-quiet
		ExecStart=/usr/bin/python3 -m http.server 8091 --bind 127.0.0.1 --directory /mnt/mptcpshim
	EOF
}

install_unit() { # NAME...
	local u
	for u in "$@"; do
		ct cp "/mnt/mptcpshim/units/$u" /etc/systemd/system/
	done
	ct systemctl daemon-reload
}

client() { # ADDR PORT
	ct python3 /mnt/mptcpshim/mptcp-client.py "$@"
}

# The MPTCP listeners on port $1, as "ADDRESS:PORT" lines.
mptcp_listening() {
	ct ss -HMln "sport = :$1" | awk '{ print $4 }' | sort
}
tcp_listening() {
	ct ss -Hltn "sport = :$1" | awk '{ print $4 }' | sort
}

# wait_listen of common.bash, in the container.
ct_wait_listen() {
	ct bash -c "$(declare -f wait_listen); wait_listen $1"
}

env_of() { # UNIT
	ct systemctl show -p Environment --value "$1"
}

main_pid() { # UNIT
	ct systemctl show -p MainPID --value "$1"
}

# Does process $1 (a pid inside the container) map library file $2?
maps_lib() {
	ct grep -q " $(ct readlink -f "$2")\$" "/proc/$1/maps"
}

# An MPTCP client to $1 port $2 is served (200) over MPTCP: its own
# MPTCP_INFO, and the server's side in ss -M.
served_over_mptcp() {
	run client "$1" "$2"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = mptcp_info=ok ]
	[ "${lines[1]}" = status=200 ]
	[ "${lines[2]}" = server_mptcp=1 ]
}

# Asserts from the kernel that nginx's default site (80 and [::]:80) is
# MPTCP and serves an MPTCP client over MPTCP.
nginx_is_mptcp() {
	ct_wait_listen 80
	run mptcp_listening 80
	[ "$output" = "$(printf '0.0.0.0:80\n[::]:80')" ]
	served_over_mptcp 127.0.0.1 80
	served_over_mptcp ::1 80
}

nginx_is_tcp() {
	ct_wait_listen 80
	run mptcp_listening 80
	[ -z "$output" ]
	run tcp_listening 80
	[ "$output" = "$(printf '0.0.0.0:80\n[::]:80')" ]
	run client 127.0.0.1 80
	[ "$status" -eq 0 ]
	[ "${lines[0]}" != mptcp_info=ok ]
	[ "${lines[1]}" = status=200 ]
	[ "${lines[2]}" = server_mptcp=0 ]
}

# mptcpshim status --unit nginx lists exactly its two listeners, MPTCP.
status_lists_nginx() {
	run ct mptcpshim status --unit nginx
	echo "$output"
	[ "$status" -eq 0 ]
	run grep -E '^ +[^ ]+:[0-9]+ +(MPTCP|TCP) ' <<<"$output"
	[ "${#lines[@]}" -eq 2 ]
	[[ "${lines[0]}${lines[1]}" =~ 0\.0\.0\.0:80\ +MPTCP ]]
	[[ "${lines[0]}${lines[1]}" =~ \[::\]:80\ +MPTCP ]]
}

@test "apt-get install ./mptcpshim_*.deb in a booted Debian 12 or 13: command and library there, nginx untouched" {
	run ct_sh 'cd /mnt/mptcpshim && apt-get install -y --no-install-recommends ./mptcpshim_*.deb'
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(ct dpkg-query -W -f='${db:Status-Abbrev}' mptcpshim)" = "ii " ]
	# the package of the container's own release: 0.1.0-1~debNu1
	[[ "$(ct dpkg-query -W -f='${Version}' mptcpshim)" == *"~deb$(ct_sh '. /etc/os-release && echo "$VERSION_ID"')u1" ]]
	[ "$(ct readlink -f "$LIB")" = "$(ct readlink -f "/usr/lib/$MA/libmptcpshim.so.0")" ]
	ct test -x /usr/bin/mptcpshim
	ct mptcpshim check >/dev/null
	# Installing changes nothing: nginx is the package's, plain TCP.
	[ "$(ct systemctl is-active nginx)" = active ]
	ct test ! -e /etc/systemd/system/nginx.service.d
	nginx_is_tcp
}

@test "enable nginx --ports 80, restart: MPTCP listeners, an MPTCP client served over MPTCP, status --unit, the library's lines in the journal" {
	run ct mptcpshim enable nginx --ports 80
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"wrote $DROPIN"* ]]
	[[ "$output" == *"to apply it: systemctl restart nginx.service"* ]]
	run grep -ci warn <<<"$output"
	[ "$output" = 0 ]
	# systemd has read it (enable ran daemon-reload).
	run env_of nginx
	[[ " $output " == *" LD_PRELOAD=$LIB "* ]]
	[[ " $output " == *" MPTCPSHIM_PORTS=80 "* ]]
	[ "$(ct systemctl show -p NeedDaemonReload --value nginx)" = no ]

	ct systemctl restart nginx
	nginx_is_mptcp
	maps_lib "$(main_pid nginx)" "$LIB"

	# status --unit on cgroup v2 only (Debian 12's default layout)
	[ "$(ct stat -f -c %T /sys/fs/cgroup)" = cgroup2fs ]
	status_lists_nginx

	# What the library said while nginx started: in the journal (its
	# stderr), once per listener, for ExecStartPre (nginx -t) and ExecStart.
	run ct_journal nginx
	[[ "$output" =~ mptcpshim\[[0-9]+\]:\ info:\ 0\.0\.0\.0:80:\ socket\ converted\ to\ MPTCP ]]
	[[ "$output" =~ mptcpshim\[[0-9]+\]:\ info:\ \[::\]:80:\ socket\ converted\ to\ MPTCP ]]
	run grep -E 'mptcpshim\[[0-9]+\]: (error|warn)' <<<"$output"
	[ "$status" -eq 1 ]
}

@test "systemctl reload nginx: the same MPTCP sockets keep serving" {
	ct mptcpshim enable nginx --ports 80 >/dev/null
	ct systemctl restart nginx
	ct_wait_listen 80
	inodes=$(ct ss -HMlne "sport = :80" | grep -o 'ino:[0-9]*' | sort)
	master=$(main_pid nginx)
	[ "$(grep -c . <<<"$inodes")" -eq 2 ]

	ct systemctl reload nginx
	[ "$(main_pid nginx)" = "$master" ]
	[ "$(ct ss -HMlne "sport = :80" | grep -o 'ino:[0-9]*' | sort)" = "$inodes" ]
	nginx_is_mptcp
	# the reload's "nginx -s reload" ran under the library without a word
	run ct_journal nginx
	run grep -E 'mptcpshim\[[0-9]+\]: (error|warn)' <<<"$output"
	[ "$status" -eq 1 ]
}

@test "disable, restart: the drop-in is gone and nginx is plain TCP again" {
	ct mptcpshim enable nginx --ports 80 >/dev/null
	ct systemctl restart nginx
	nginx_is_mptcp

	run ct mptcpshim disable nginx
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"removed $DROPIN"* ]]
	ct test ! -e /etc/systemd/system/nginx.service.d
	run env_of nginx
	[[ "$output" != *LD_PRELOAD* ]]
	[[ "$output" != *MPTCPSHIM* ]]
	[ "$(ct systemctl show -p NeedDaemonReload --value nginx)" = no ]

	ct systemctl restart nginx
	nginx_is_tcp
	run maps_lib "$(main_pid nginx)" "$LIB"
	[ "$status" -ne 0 ]
	# Again: nothing to do, no error.
	run ct mptcpshim disable nginx
	[ "$status" -eq 0 ]
	[[ "$output" == *"nothing to do"* ]]
}

# enable UNIT --ports PORT, where the unit already preloads $OTHER: it
# says it kept it, and systemd's LD_PRELOAD is $OTHER then the library.
enable_keeps_other() {
	run ct mptcpshim enable "$1" --ports "$2"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"kept the unit's LD_PRELOAD ($OTHER)"* ]]
	run env_of "$1"
	[[ " $output " == *" LD_PRELOAD=$OTHER:$LIB "* ]]
}

@test "an LD_PRELOAD set by another drop-in of nginx is kept, the library appended" {
	ct_sh "mkdir -p /etc/systemd/system/nginx.service.d &&
		printf '[Service]\nEnvironment=LD_PRELOAD=$OTHER\n' >/etc/systemd/system/nginx.service.d/10-admin.conf &&
		systemctl daemon-reload && systemctl restart nginx"
	enable_keeps_other nginx 80

	ct systemctl restart nginx
	nginx_is_mptcp
	maps_lib "$(main_pid nginx)" "$OTHER"
	maps_lib "$(main_pid nginx)" "$LIB"

	# disable takes only its own drop-in away
	ct mptcpshim disable nginx >/dev/null
	ct test -f /etc/systemd/system/nginx.service.d/10-admin.conf
	[ "$(env_of nginx)" = "LD_PRELOAD=$OTHER" ]
	ct rm -r /etc/systemd/system/nginx.service.d
	ct systemctl daemon-reload
	ct systemctl restart nginx
}

@test "an LD_PRELOAD set in the unit file itself is kept, the library appended" {
	install_unit pyweb.service
	ct systemctl start pyweb
	enable_keeps_other pyweb 8080

	ct systemctl restart pyweb
	ct_wait_listen 8080
	[ "$(mptcp_listening 8080)" = 127.0.0.1:8080 ]
	served_over_mptcp 127.0.0.1 8080
	maps_lib "$(main_pid pyweb)" "$OTHER"
	maps_lib "$(main_pid pyweb)" "$LIB"

	ct mptcpshim disable pyweb >/dev/null
	ct systemctl stop pyweb
}

@test "a template instance: enable pyweb@8081 converts that instance only" {
	install_unit pyweb@.service
	ct systemctl start pyweb@8081 pyweb@8082
	run ct mptcpshim enable pyweb@8081 --ports 8081,8082
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"wrote /etc/systemd/system/pyweb@8081.service.d/mptcpshim.conf"* ]]
	[[ " $(env_of pyweb@8081) " == *" LD_PRELOAD=$LIB "* ]]
	[[ "$(env_of pyweb@8082)" != *LD_PRELOAD* ]]

	ct systemctl restart pyweb@8081 pyweb@8082
	ct_wait_listen 8081
	ct_wait_listen 8082
	[ "$(mptcp_listening 8081)" = 127.0.0.1:8081 ]
	[ -z "$(mptcp_listening 8082)" ]
	served_over_mptcp 127.0.0.1 8081

	run ct mptcpshim status --unit pyweb@8081
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" =~ 127\.0\.0\.1:8081\ +MPTCP ]]

	run ct mptcpshim disable pyweb@8081
	[ "$status" -eq 0 ]
	ct test ! -e /etc/systemd/system/pyweb@8081.service.d
	ct systemctl stop pyweb@8081 pyweb@8082
}

@test "EnvironmentFile= that sets LD_PRELOAD: enable says, in one line naming the file, that it overrides the drop-in" {
	ct_sh "printf 'LD_PRELOAD=$OTHER\nPYTHONUNBUFFERED=1\n' >/etc/default/pyweb-env"
	install_unit pyweb-env.service pyweb-quiet.service
	run ct mptcpshim enable pyweb-env --ports 8090
	echo "$output"
	[ "$status" -eq 0 ]
	# One line, naming the file and the variable.
	run grep -E 'warn.*/etc/default/pyweb-env|/etc/default/pyweb-env.*warn' <<<"$output"
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *LD_PRELOAD* ]]
	# ... and it says the truth: systemd lets the file win, nothing is MPTCP.
	ct systemctl start pyweb-env
	ct_wait_listen 8090
	[ -z "$(mptcp_listening 8090)" ]
	ct mptcpshim disable pyweb-env >/dev/null

	# An EnvironmentFile= (optional, missing here) that does not set
	# LD_PRELOAD is nothing to warn about.
	run ct mptcpshim enable pyweb-quiet --ports 8091
	echo "$output"
	[ "$status" -eq 0 ]
	run grep -Ei 'warn|EnvironmentFile' <<<"$output"
	[ "$status" -eq 1 ]
	ct systemctl start pyweb-quiet
	ct_wait_listen 8091
	[ "$(mptcp_listening 8091)" = 127.0.0.1:8091 ]
	ct mptcpshim disable pyweb-quiet >/dev/null
	ct systemctl stop pyweb-env pyweb-quiet
}

@test "a systemctl edit override that sets LD_PRELOAD (read after ours): enable says so in one line naming it" {
	# systemctl edit wants a terminal and an editor: script(1) gives it
	# one, the "editor" writes the override.
	ct env SYSTEMD_EDITOR=/mnt/mptcpshim/units/edit-override \
		script -qec 'systemctl edit nginx' /dev/null
	ct grep -qx "Environment=LD_PRELOAD=$OTHER" /etc/systemd/system/nginx.service.d/override.conf

	run ct mptcpshim enable nginx --ports 80
	echo "$output"
	[ "$status" -eq 0 ]
	run grep -E 'warn.*/etc/systemd/system/nginx.service.d/override.conf' <<<"$output"
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *LD_PRELOAD* ]]
	# The warning is the truth: systemd's LD_PRELOAD is the override's.
	[ "$(env_of nginx | grep -o 'LD_PRELOAD=[^ ]*')" = "LD_PRELOAD=$OTHER" ]
	ct mptcpshim disable nginx >/dev/null
	ct systemctl revert nginx >/dev/null 2>&1
}

@test "systemctl revert nginx, as README.Debian documents, removes the drop-in too: back to TCP" {
	grep -q 'systemctl revert nginx' "$TOP/debian/README.Debian"
	ct mptcpshim enable nginx --ports 80 >/dev/null
	# an administrator's own drop-in: revert takes it away as well
	ct_sh "printf '[Service]\nEnvironment=ADMIN=1\n' >/etc/systemd/system/nginx.service.d/10-admin.conf"
	ct systemctl daemon-reload
	ct systemctl restart nginx
	nginx_is_mptcp

	run ct systemctl revert nginx
	echo "$output"
	[ "$status" -eq 0 ]
	# systemd 252 quotes the path with ", 257 with '
	[[ "$output" == *"Removed \"$DROPIN\""* || "$output" == *"Removed '$DROPIN'"* ]]
	ct test ! -e /etc/systemd/system/nginx.service.d
	[[ "$(env_of nginx)" != *LD_PRELOAD* ]]
	ct systemctl restart nginx
	nginx_is_tcp
	run ct mptcpshim disable nginx
	[ "$status" -eq 0 ]
	[[ "$output" == *"nothing to do"* ]]
}

@test "apt-get remove names the drop-ins enable wrote; purge removes them (not the administrator's), nginx starts without a loader error" {
	ct mptcpshim enable nginx --ports 80 >/dev/null
	ct_sh "printf '[Service]\nEnvironment=ADMIN=1\n' >/etc/systemd/system/nginx.service.d/10-admin.conf"
	ct systemctl daemon-reload
	run ct apt-get remove -y mptcpshim
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"these drop-ins still preload the removed library"* ]]
	[[ "$output" == *"  $DROPIN"* ]]
	ct test -e "$DROPIN"
	run ct dpkg --purge mptcpshim
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"mptcpshim: removed $DROPIN"* ]]
	ct test ! -e "$DROPIN"
	ct test -e /etc/systemd/system/nginx.service.d/10-admin.conf
	# systemd was reloaded: the unit no longer names the deleted library
	[[ "$(env_of nginx)" != *LD_PRELOAD* ]]
	[[ "$(env_of nginx)" == *ADMIN=1* ]]
	ct systemctl restart nginx
	run ct_journal nginx
	[[ "$output" != *"cannot be preloaded"* ]]
	nginx_is_tcp
	# back to the package installed, for the tests after this one
	ct_sh 'rm -f /etc/systemd/system/nginx.service.d/10-admin.conf
		cd /mnt/mptcpshim && apt-get install -y --no-install-recommends ./mptcpshim_*.deb' >/dev/null
}

@test "status --unit: a unit that does not exist is 'not found', one that is stopped is not running" {
	run ct mptcpshim status --unit nosuch
	echo "$output"
	[ "$status" -eq 1 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *nosuch*"not found"* ]]

	install_unit pyweb.service
	run ct mptcpshim status --unit pyweb
	echo "$output"
	[ "$status" -eq 1 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *pyweb*"not running"* ]]
}

@test "hybrid cgroups (v1 + v2, as this host has): enable, restart, status --unit lists nginx's MPTCP listeners" {
	# The container copies the host's layout: a host booted with cgroup
	# v2 only (Debian 12's default) has no v1 hierarchy to give it.
	if [ "$(stat -f -c %T /sys/fs/cgroup)" = cgroup2fs ]; then
		skip "this host mounts cgroup v2 only (/sys/fs/cgroup is cgroup2fs): no v1 hierarchies for a hybrid container"
	fi
	ct_boot hybrid hybrid
	no_start_limit
	# it really is hybrid: v1 hierarchies, the v2 one under unified/
	[ "$(ct stat -f -c %T /sys/fs/cgroup)" = tmpfs ]
	[ "$(ct stat -f -c %T /sys/fs/cgroup/unified)" = cgroup2fs ]
	run ct_sh 'cd /mnt/mptcpshim && apt-get install -y --no-install-recommends ./mptcpshim_*.deb'
	[ "$status" -eq 0 ]
	ct mptcpshim enable nginx --ports 80 >/dev/null
	ct systemctl restart nginx
	nginx_is_mptcp

	status_lists_nginx
	ct_poweroff hybrid
}
