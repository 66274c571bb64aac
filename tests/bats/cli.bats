#!/usr/bin/env bats
# The mptcpshim command: run, enable/disable, status, doctor, check.
# Ports 48000-48999. Sockets are checked through the kernel (SO_PROTOCOL,
# TCP_IS_MPTCP, sock_diag through `mptcpshim status`), never through logs.

# The single quotes below are meant: the child expands the variables.
# shellcheck disable=SC2016
load common
bats_require_minimum_version 1.5.0

CLI=$BUILD/cli/mptcpshim

setup() {
	[ -x "$CLI" ] || {
		echo "# $CLI missing: build first" >&3
		return 1
	}
	TMP=$(mktemp -d)
	PORT=$(pick_port 48000 48999)
	PIDS=()
	export MPTCPSHIM_LIBRARY=$SHIM
	unset MPTCPSHIM_PORTS MPTCPSHIM_LOG MPTCPSHIM_STRICT MPTCPSHIM_CONNECT \
		MPTCPSHIM_TOLERATE
	export MPTCPSHIM_CONFIG=/dev/null
}

teardown() {
	local p
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
	rm -rf "$TMP"
}

# A second free port, different from $PORT.
other_port() {
	local p
	p=$(pick_port 48000 48999)
	[ "$p" != "$PORT" ] || p=$((PORT == 48999 ? 48000 : PORT + 1))
	echo "$p"
}

# Waits (5 s at most) until file $1 has a line matching $2.
wait_line() {
	local _
	for _ in $(seq 1 50); do
		grep -q -- "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	echo "no '$2' in $1 after 5 s:" >&2
	cat "$1" >&2
	return 1
}

# ---- all commands ----

@test "--help works for the command and every subcommand" {
	run "$CLI" --help
	[ "$status" -eq 0 ]
	[[ "$output" == *"Usage: mptcpshim COMMAND"* ]]
	for sub in run enable disable status doctor check; do
		run "$CLI" "$sub" --help
		[ "$status" -eq 0 ]
		[[ "$output" == "Usage: mptcpshim $sub"* ]]
		[[ "$output" == *"Exit status"* ]]
	done
}

@test "no command, or an unknown one: a message and exit status 2" {
	run "$CLI"
	[ "$status" -eq 2 ]
	run "$CLI" frobnicate
	[ "$status" -eq 2 ]
	[[ "$output" == *"unknown command 'frobnicate'"* ]]
}

# ---- run ----

@test "run: a listed port becomes MPTCP, another one stays TCP" {
	need_mptcp
	other=$(other_port)
	run "$CLI" run --ports "$PORT" --log off -- "$PROBE" listen 127.0.0.1 "$PORT"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" =~ ^fd=[0-9]+\ proto=262$ ]]
	run "$CLI" run --ports "$PORT" -- "$PROBE" listen 127.0.0.1 "$other"
	[ "$status" -eq 0 ]
	[[ "$output" =~ ^fd=[0-9]+\ proto=6$ ]]
}

@test "run: the options become the library's variables" {
	run "$CLI" run --ports 443,8000-8099 --log debug --strict --config /dev/null -- \
		env
	[ "$status" -eq 0 ]
	[[ "$output" == *"MPTCPSHIM_PORTS=443,8000-8099"* ]]
	[[ "$output" == *"MPTCPSHIM_LOG=debug"* ]]
	[[ "$output" == *"MPTCPSHIM_STRICT=1"* ]]
	[[ "$output" == *"MPTCPSHIM_CONFIG=/dev/null"* ]]
	[[ "$output" == *"LD_PRELOAD=$SHIM"* ]]
}

@test "run: --connect and --tolerate become the library's variables too" {
	run "$CLI" run --connect 443,[2001:db8::1]:8443 --tolerate TCP_QUICKACK -- env
	[ "$status" -eq 0 ]
	[[ "$output" == *"MPTCPSHIM_CONNECT=443,[2001:db8::1]:8443"* ]]
	[[ "$output" == *"MPTCPSHIM_TOLERATE=TCP_QUICKACK"* ]]
	run "$CLI" run --tolerate TCP_NOPE -- true
	[ "$status" -eq 2 ]
	[[ "$output" == *"--tolerate: unknown socket option \"TCP_NOPE\""* ]]
	run "$CLI" run --connect 0 -- true
	[ "$status" -eq 2 ]
	[[ "$output" == *"--connect: invalid entry \"0\""* ]]
}

@test "run: options as getopt_long reads them; the command's own stay its own" {
	run "$CLI" run --ports=443 --log=warn sh -c 'echo "$MPTCPSHIM_PORTS $MPTCPSHIM_LOG $*"' sh --log x
	[ "$status" -eq 0 ]
	[ "$output" = "443 warn --log x" ]
	run "$CLI" run --strict=1 -- true
	[ "$status" -eq 2 ]
	[[ "$output" == *"option --strict takes no value"* ]]
	run "$CLI" run --co 443 -- true
	[ "$status" -eq 2 ]
	[[ "$output" == *"option '--co' is ambiguous"* ]]
	run "$CLI" run -x -- true
	[ "$status" -eq 2 ]
	[[ "$output" == *"unknown option '-x'"* ]]
}

@test "run and enable --help name every setting of the table" {
	for sub in run enable; do
		run "$CLI" "$sub" --help
		[ "$status" -eq 0 ]
		for v in PORTS CONNECT TOLERATE LOG STRICT CONFIG; do
			[[ "$output" == *"(MPTCPSHIM_$v"* ]] || {
				echo "$sub --help lacks MPTCPSHIM_$v"
				return 1
			}
		done
	done
}

@test "run: an existing LD_PRELOAD is kept, the library appended once" {
	run env LD_PRELOAD=libm.so.6 "$CLI" run -- sh -c 'echo "$LD_PRELOAD"'
	[ "$status" -eq 0 ]
	[ "$output" = "libm.so.6:$SHIM" ]
	run env LD_PRELOAD="$SHIM" "$CLI" run -- sh -c 'echo "$LD_PRELOAD"'
	[ "$output" = "$SHIM" ]
	run env LD_PRELOAD="libm.so.6 $SHIM" "$CLI" run -- sh -c 'echo "$LD_PRELOAD"'
	[ "$output" = "libm.so.6 $SHIM" ]
	# nested runs do not add it twice
	run "$CLI" run -- "$CLI" run -- sh -c 'echo "$LD_PRELOAD"'
	[ "$output" = "$SHIM" ]
}

@test "run: invalid options are refused by the library's parser, exit 2" {
	run "$CLI" run --ports 70000 -- true
	[ "$status" -eq 2 ]
	[[ "$output" == *"--ports: invalid entry \"70000\": a port is a number from 1 to 65535"* ]]
	run "$CLI" run --log loud -- true
	[ "$status" -eq 2 ]
	[[ "$output" == *"--log: invalid log level \"loud\""* ]]
	run "$CLI" run --ports
	[ "$status" -eq 2 ]
	[[ "$output" == *"option --ports needs a value"* ]]
	run "$CLI" run --bogus -- true
	[ "$status" -eq 2 ]
	[[ "$output" == *"unknown option '--bogus'"* ]]
	run "$CLI" run --ports 443
	[ "$status" -eq 2 ]
	[[ "$output" == *"no command to run"* ]]
}

@test "run: an invalid configuration file stops it before the command runs" {
	printf 'ports = 443\nlog = chatty\n' >"$TMP/bad.conf"
	run "$CLI" run --config "$TMP/bad.conf" -- sh -c 'echo RAN'
	[ "$status" -eq 2 ]
	[[ "$output" == *"$TMP/bad.conf:2: invalid log level \"chatty\""* ]]
	[[ "$output" != *RAN* ]]
	run "$CLI" run --config "$TMP/missing.conf" -- true
	[ "$status" -eq 2 ]
	MPTCPSHIM_PORTS=0 run "$CLI" run -- true
	[ "$status" -eq 2 ]
	[[ "$output" == *"MPTCPSHIM_PORTS: invalid entry \"0\""* ]]
}

@test "run: a missing command gives 127, the command's status passes through" {
	run -127 "$CLI" run -- /nonexistent/cmd
	[ "$status" -eq 127 ]
	[[ "$output" == *"/nonexistent/cmd: No such file or directory"* ]]
	run "$CLI" run -- sh -c 'exit 7'
	[ "$status" -eq 7 ]
}

@test "run: a relative --config becomes absolute for the program" {
	printf 'ports = %s\n' "$PORT" >"$TMP/rel.conf"
	cd "$TMP"
	run "$CLI" run --config rel.conf -- sh -c 'echo "$MPTCPSHIM_CONFIG"'
	[ "$output" = "$TMP/rel.conf" ]
}

# Builds tests/tools/reachfix.c as $TMP/NAME with cc and the flags given.
fixture() { # NAME CFLAGS...
	local name=$1
	shift
	cc -O1 -o "$TMP/$name" "$TOP/tests/tools/reachfix.c" "$@"
}

@test "run: a statically linked program is named; the kernel shows it stays TCP" {
	need_mptcp
	fixture dynamic
	fixture static -static
	run "$CLI" run --ports "$PORT" --log off -- "$TMP/dynamic" listen "$PORT"
	[ "$status" -eq 0 ]
	[ "$output" = "proto=262" ]
	run "$CLI" run --ports "$PORT" --log off -- "$TMP/static" listen "$PORT"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"proto=6"* ]]
	[[ "${lines[0]}" == "mptcpshim run: warning: $TMP/static is statically linked: no loader runs for it, so LD_PRELOAD does not apply and its sockets stay TCP" ]]
	# found on PATH, as execvp finds it
	PATH=$TMP:$PATH run "$CLI" run -- static
	[ "$status" -eq 0 ]
	[[ "$output" == *"$TMP/static is statically linked"* ]]
}

@test "run: a Go program is named, with the GODEBUG setting its version needs" {
	fixture go122 -DGO_VERSION='"go1.22.5"'
	run "$CLI" run -- "$TMP/go122"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == "mptcpshim run: warning: $TMP/go122 is a Go program (go1.22.5): Go makes its socket calls without libc, so LD_PRELOAD cannot convert them" ]]
	[[ "${lines[1]}" == *"set GODEBUG=multipathtcp=1"* ]]
	GODEBUG=multipathtcp=1 run "$CLI" run -- "$TMP/go122"
	[[ "${lines[1]}" == *"its listeners use MPTCP already (GODEBUG=multipathtcp=1)"* ]]
	# Go 1.24: listeners are MPTCP by default, unless the module's go.mod
	# is older (its DefaultGODEBUG then says multipathtcp=0); found also
	# without section headers, in the data segment
	fixture go124 -DGO_IN_DATA -DGO_VERSION='"go1.24.1"'
	run "$CLI" run -- "$TMP/go124"
	[[ "$output" == *"is a Go program (go1.24.1)"* ]]
	[[ "${lines[1]}" == *"its listeners use MPTCP already: Go 1.24 and later do by default"* ]]
	fixture go124old -DGO_VERSION='"go1.24.1"' \
		-DGO_MODINFO='"path\texample.com/server\nbuild\tDefaultGODEBUG=multipathtcp=0,panicnil=1\n"'
	run "$CLI" run -- "$TMP/go124old"
	[[ "${lines[1]}" == *"its listeners stay TCP: multipathtcp=0 (its go.mod is older than Go 1.24); set GODEBUG=multipathtcp=2"* ]]
	GODEBUG=multipathtcp=0 run "$CLI" run -- "$TMP/go124"
	[[ "${lines[1]}" == *"multipathtcp=0 (from GODEBUG)"* ]]
	# before Go 1.18 the version is behind pointers (a non-PIE program)
	fixture go116 -no-pie -DGO_POINTERS -DGO_VERSION='"go1.16.3"'
	run "$CLI" run -- "$TMP/go116"
	[[ "${lines[0]}" == *"$TMP/go116 is a Go program (go1.16.3)"* ]]
	[[ "${lines[1]}" == *"rebuild it with Go 1.24 or later"* ]]
	# a script names its interpreter
	printf '#!/usr/bin/env go122\n' >"$TMP/script"
	chmod +x "$TMP/script"
	PATH=$TMP:$PATH run "$CLI" run -- "$TMP/script"
	[[ "$output" == *"$TMP/go122 is a Go program"* ]]
}

@test "run: setuid and file capabilities are named; the kernel shows the library absent" {
	need_root
	need_mptcp
	# Everything nobody needs, in a directory nobody can traverse.
	chmod 755 "$TMP"
	cp "$CLI" "$SHIM" "$TMP/"
	fixture plain
	cp "$TMP/plain" "$TMP/caps"
	python3 -c 'import os, struct, sys
# VFS_CAP_REVISION_2 | effective, permitted = CAP_NET_BIND_SERVICE
os.setxattr(sys.argv[1], "security.capability",
	struct.pack("<5I", 0x02000001, 1 << 10, 0, 0, 0))' "$TMP/caps"
	cp "$TMP/plain" "$TMP/suid"
	chown daemon "$TMP/suid"
	chmod u+s "$TMP/suid"
	as_nobody() {
		setpriv --reuid=65534 --regid=65534 --clear-groups \
			env MPTCPSHIM_LIBRARY="$TMP/libmptcpshim.so" \
			"$TMP/mptcpshim" run --ports "$PORT" --log off -- "$@"
	}
	run as_nobody "$TMP/plain" listen "$PORT"
	[ "$output" = "proto=262" ]
	run as_nobody "$TMP/caps" listen "$PORT"
	echo "$output"
	[[ "$output" == *"proto=6"* ]]
	[[ "$output" == *"warning: $TMP/caps is a program with file capabilities (getcap shows them): for this user the loader runs it in secure-execution mode and ignores LD_PRELOAD"* ]]
	[[ "$output" == *"setcap -r $TMP/caps"* ]]
	run as_nobody "$TMP/suid" listen "$PORT"
	echo "$output"
	[[ "$output" == *"proto=6"* ]]
	[[ "$output" == *"warning: $TMP/suid is setuid (owner uid $(id -u daemon))"* ]]
	# root gains nothing from file capabilities: no secure execution
	run "$CLI" run --ports "$PORT" --log off -- "$TMP/caps" listen "$PORT"
	[ "$output" = "proto=262" ]
}

# ---- check ----

@test "check: settings with their sources (file, environment, default)" {
	printf '# demo\nports = 443, 8000-8099\nstrict = yes\n' >"$TMP/a.conf"
	MPTCPSHIM_LOG=debug run "$CLI" check "$TMP/a.conf"
	[ "$status" -eq 0 ]
	[[ "$output" == *"config = $TMP/a.conf (read; given on the command line)"* ]]
	[[ "$output" == *"ports = 443,8000-8099 (file)"* ]]
	[[ "$output" == *"log = debug (environment: MPTCPSHIM_LOG)"* ]]
	[[ "$output" == *"strict = 1 (file)"* ]]
	[[ "$output" == *"library = $SHIM (environment: MPTCPSHIM_LIBRARY)"* ]]
	MPTCPSHIM_PORTS=9000 run "$CLI" check --no-env "$TMP/a.conf"
	[[ "$output" == *"ports = 443,8000-8099 (file)"* ]]
	[[ "$output" == *"log = info (default)"* ]]
}

@test "check: without FILE, MPTCPSHIM_CONFIG or the defaults" {
	run "$CLI" check
	[ "$status" -eq 0 ]
	[[ "$output" == *"config = none (/dev/null; environment: MPTCPSHIM_CONFIG)"* ]]
	[[ "$output" == *"ports = all (default)"* ]]
	[[ "$output" == *"strict = 0 (default)"* ]]
	printf 'ports = none\n' >"$TMP/b.conf"
	MPTCPSHIM_CONFIG=$TMP/b.conf MPTCPSHIM_STRICT=1 run "$CLI" check
	[[ "$output" == *"ports = none (file)"* ]]
	[[ "$output" == *"strict = 1 (environment: MPTCPSHIM_STRICT)"* ]]
}

@test "check: connect and tolerate are shown with their sources" {
	printf 'connect = 443\n' >"$TMP/d.conf"
	MPTCPSHIM_TOLERATE=none run "$CLI" check "$TMP/d.conf"
	[ "$status" -eq 0 ]
	[[ "$output" == *"connect = 443 (file)"* ]]
	[[ "$output" == *"tolerate = none (environment: MPTCPSHIM_TOLERATE)"* ]]
	run "$CLI" check /dev/null
	[[ "$output" == *"connect = none (default)"* ]]
	[[ "$output" =~ "tolerate = "[A-Z_,]+" (default)" ]]
}

@test "check: an invalid configuration gives exit 1 and the parser's one line" {
	printf 'ports = 443\nport = 80\n' >"$TMP/c.conf"
	run "$CLI" check "$TMP/c.conf"
	[ "$status" -eq 1 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == "mptcpshim check: $TMP/c.conf:2: unknown key \"port\" (known: "* ]]
	run "$CLI" check "$TMP/none.conf"
	[ "$status" -eq 1 ]
	[[ "$output" == *"cannot open configuration file $TMP/none.conf"* ]]
	MPTCPSHIM_STRICT=maybe run "$CLI" check /dev/null
	[ "$status" -eq 1 ]
	[[ "$output" == *"MPTCPSHIM_STRICT: invalid value \"maybe\""* ]]
}

@test "check: bad arguments give exit 2" {
	run "$CLI" check a.conf b.conf
	[ "$status" -eq 2 ]
	[[ "$output" == *"one FILE at most"* ]]
	run "$CLI" check --frob
	[ "$status" -eq 2 ]
}

# ---- enable / disable ----

# A root file system with merged /usr, as Debian 12 and 13 have: /lib is
# a link to usr/lib. The units are in usr/lib/systemd/system, the one
# directory systemd 257's `systemd-analyze verify --root` reads (252 read
# an unmerged lib/systemd/system too); $ROOT/lib/... reaches them.
make_root() {
	ROOT=$TMP/root
	mkdir -p "$ROOT/usr/lib/systemd/system" "$ROOT/usr/bin"
	ln -s usr/lib "$ROOT/lib"
	printf '#!/bin/sh\nexit 0\n' >"$ROOT/usr/bin/demo"
	chmod 755 "$ROOT/usr/bin/demo"
	cat >"$ROOT/lib/systemd/system/demo.service" <<-'EOF'
	[Unit]
	Description=demo server
	DefaultDependencies=no

	[Service]
	Environment="LD_PRELOAD=/usr/lib/libfirst.so" LANG=C
	ExecStart=/usr/bin/demo
	EOF
	DROPIN=$ROOT/etc/systemd/system/demo.service.d/mptcpshim.conf
	# the library the drop-in names, where the service will look
	mkdir -p "$ROOT$(dirname "$SHIM")" && cp "$SHIM" "$ROOT$SHIM"
}

@test "enable: a drop-in that keeps the unit's LD_PRELOAD; vendor unit untouched" {
	make_root
	sum=$(sha256sum "$ROOT/lib/systemd/system/demo.service")
	run "$CLI" enable demo --root "$ROOT" --ports 443,8443 --log warn --strict
	[ "$status" -eq 0 ]
	[[ "$output" == *"wrote $DROPIN"* ]]
	[[ "$output" == *"systemctl restart demo.service"* ]]
	grep -qx "Environment=\"LD_PRELOAD=/usr/lib/libfirst.so:$SHIM\"" "$DROPIN"
	grep -qx 'Environment="MPTCPSHIM_PORTS=443,8443"' "$DROPIN"
	grep -qx 'Environment="MPTCPSHIM_LOG=warn"' "$DROPIN"
	grep -qx 'Environment="MPTCPSHIM_STRICT=1"' "$DROPIN"
	[ "$(sha256sum "$ROOT/lib/systemd/system/demo.service")" = "$sum" ]
	[ "$(find "$ROOT" -type f | wc -l)" -eq 4 ] # unit, program, library, drop-in
}

@test "enable: --connect and --tolerate go into the drop-in, checked first" {
	make_root
	run "$CLI" enable --connect 443 demo --tolerate none --root "$ROOT"
	[ "$status" -eq 0 ]
	grep -qx 'Environment="MPTCPSHIM_CONNECT=443"' "$DROPIN"
	grep -qx 'Environment="MPTCPSHIM_TOLERATE=none"' "$DROPIN"
	run "$CLI" enable demo --tolerate TCP_NOPE --root "$ROOT"
	[ "$status" -eq 2 ]
	[[ "$output" == *"--tolerate: unknown socket option"* ]]
	grep -qx 'Environment="MPTCPSHIM_TOLERATE=none"' "$DROPIN"
}

@test "enable: idempotent; a new option set rewrites only the drop-in" {
	make_root
	"$CLI" enable demo.service --root "$ROOT" --ports 443
	cp "$DROPIN" "$TMP/first"
	run "$CLI" enable demo.service --root "$ROOT" --ports 443
	[ "$status" -eq 0 ]
	[[ "$output" == *"already enabled"* ]]
	cmp "$DROPIN" "$TMP/first"
	run "$CLI" enable demo.service --root "$ROOT" --ports 8443
	[ "$status" -eq 0 ]
	grep -qx 'Environment="MPTCPSHIM_PORTS=8443"' "$DROPIN"
	# never twice, even next to the library it wrote before
	[ "$(grep -o libmptcpshim "$DROPIN" | wc -l)" -eq 1 ]
}

@test "enable: LD_PRELOAD from another drop-in, and a unit without one" {
	make_root
	mkdir -p "$ROOT/etc/systemd/system/demo.service.d"
	printf '[Service]\nEnvironment=LD_PRELOAD=/opt/a.so:/opt/b.so\n' \
		>"$ROOT/etc/systemd/system/demo.service.d/10-site.conf"
	run "$CLI" enable demo --root "$ROOT"
	[ "$status" -eq 0 ]
	grep -qx "Environment=\"LD_PRELOAD=/opt/a.so:/opt/b.so:$SHIM\"" "$DROPIN"
	cat >"$ROOT/lib/systemd/system/plain.service" <<-'EOF'
	[Service]
	ExecStart=/usr/bin/demo
	EOF
	run "$CLI" enable plain --root "$ROOT"
	[ "$status" -eq 0 ]
	grep -qx "Environment=\"LD_PRELOAD=$SHIM\"" \
		"$ROOT/etc/systemd/system/plain.service.d/mptcpshim.conf"
}

@test "enable: the generated unit passes systemd-analyze verify" {
	command -v systemd-analyze >/dev/null ||
		skip "systemd-analyze is not installed (apt-get install systemd)"
	make_root
	"$CLI" enable demo --root "$ROOT" --ports 443 --config /dev/null
	run systemd-analyze verify --root="$ROOT" demo.service
	[ "$status" -eq 0 ]
	# and systemd reads the variables the way they were meant
	run env SYSTEMD_LOG_LEVEL=debug systemd-analyze verify --root="$ROOT" demo.service
	[[ "$output" == *"Environment: LD_PRELOAD=/usr/lib/libfirst.so:$SHIM"* ]]
	[[ "$output" == *"Environment: MPTCPSHIM_PORTS=443"* ]]
}

@test "disable: removes exactly what enable wrote, idempotent" {
	make_root
	"$CLI" enable demo --root "$ROOT"
	run "$CLI" disable demo --root "$ROOT"
	[ "$status" -eq 0 ]
	[[ "$output" == *"removed $DROPIN"* ]]
	[ ! -e "$ROOT/etc/systemd/system/demo.service.d" ]
	[ -f "$ROOT/lib/systemd/system/demo.service" ]
	run "$CLI" disable demo --root "$ROOT"
	[ "$status" -eq 0 ]
	[[ "$output" == *"nothing to do"* ]]
	# another drop-in in the directory stays, and so does the directory
	mkdir -p "$ROOT/etc/systemd/system/demo.service.d"
	printf '[Service]\nNice=5\n' >"$ROOT/etc/systemd/system/demo.service.d/nice.conf"
	"$CLI" enable demo --root "$ROOT"
	"$CLI" disable demo --root "$ROOT"
	[ ! -e "$DROPIN" ]
	[ -f "$ROOT/etc/systemd/system/demo.service.d/nice.conf" ]
}

@test "enable/disable: a mptcpshim.conf not written by enable is left alone" {
	make_root
	mkdir -p "$(dirname "$DROPIN")"
	printf '[Service]\nNice=5\n' >"$DROPIN"
	run "$CLI" enable demo --root "$ROOT"
	[ "$status" -eq 1 ]
	[[ "$output" == *"not written by mptcpshim"* ]]
	run "$CLI" disable demo --root "$ROOT"
	[ "$status" -eq 1 ]
	grep -q Nice=5 "$DROPIN"
}

@test "enable/disable: bad arguments give exit 2, a missing unit 1" {
	make_root
	run "$CLI" enable
	[ "$status" -eq 2 ]
	[[ "$output" == *"which unit?"* ]]
	run "$CLI" enable ../etc/passwd --root "$ROOT"
	[ "$status" -eq 2 ]
	[[ "$output" == *"is not the name of a service unit"* ]]
	run "$CLI" enable demo.socket --root "$ROOT"
	[ "$status" -eq 2 ]
	run "$CLI" enable demo --root "$ROOT" --ports 1-2-3
	[ "$status" -eq 2 ]
	[[ "$output" == *"--ports: invalid entry"* ]]
	run "$CLI" enable demo --root relative/dir
	[ "$status" -eq 2 ]
	run "$CLI" enable demo --root "$ROOT" --config rel.conf
	[ "$status" -eq 2 ]
	run "$CLI" disable demo other --root "$ROOT"
	[ "$status" -eq 2 ]
	run "$CLI" disable demo --ports 443 --root "$ROOT"
	[ "$status" -eq 2 ]
	run "$CLI" enable nosuch --root "$ROOT"
	[ "$status" -eq 1 ]
	[[ "$output" == *"unit nosuch.service not found under $ROOT"* ]]
	[ ! -e "$ROOT/etc" ]
}

@test "enable: a control character in a value is refused, the value named" {
	make_root
	for opt in --ports --log --config --connect; do
		case $opt in
		--ports | --connect) v=$'443\n80' ;;
		--log) v=$'warn\n' ;;
		--config) v=$'/etc/x\n.conf' ;;
		esac
		run "$CLI" enable demo --root "$ROOT" "$opt" "$v"
		echo "$output"
		[ "$status" -eq 2 ]
		[ "${#lines[@]}" -eq 2 ] # the message and "Try ... --help"
		[[ "${lines[0]}" == "mptcpshim enable: $opt: \""*'\n'*"\" holds a control character; refused"* ]]
	done
	run "$CLI" enable demo --root "$ROOT" --ports $'443\t'
	[ "$status" -eq 2 ]
	[[ "$output" == *'"443\t" holds a control character'* ]]
	[ ! -e "$ROOT/etc" ]
}

@test "enable --root: a symlinked UNIT.d is never followed, by enable or disable" {
	make_root
	mkdir -p "$TMP/outside" "$ROOT/etc/systemd/system"
	ln -s "$TMP/outside" "$ROOT/etc/systemd/system/demo.service.d"
	run "$CLI" enable demo --root "$ROOT"
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "$output" == *"$ROOT/etc/systemd/system/demo.service.d is a symbolic link: not followed, nothing written"* ]]
	[ -z "$(ls -A "$TMP/outside")" ]
	# a drop-in of ours out there is not removed through the link either
	printf "# Written by 'mptcpshim enable'.\n" >"$TMP/outside/mptcpshim.conf"
	run "$CLI" disable demo --root "$ROOT"
	[ "$status" -eq 1 ]
	[[ "$output" == *"demo.service.d is a symbolic link: not followed, nothing removed"* ]]
	[ -f "$TMP/outside/mptcpshim.conf" ]
	# nor a link higher up
	rm "$ROOT/etc/systemd/system/demo.service.d"
	mv "$ROOT/etc/systemd/system" "$TMP/outside/system"
	ln -s "$TMP/outside/system" "$ROOT/etc/systemd/system"
	run "$CLI" enable demo --root "$ROOT"
	[ "$status" -eq 1 ]
	[[ "$output" == *"$ROOT/etc/systemd/system is a symbolic link"* ]]
	[ -z "$(ls -A "$TMP/outside/system")" ]
}

@test "enable --root: prepared names in UNIT.d (mptcpshim.conf.tmp, the drop-in) are not followed" {
	make_root
	mkdir -p "$ROOT/etc/systemd/system/demo.service.d"
	echo precious >"$TMP/victim"
	ln -s "$TMP/victim" "$ROOT/etc/systemd/system/demo.service.d/mptcpshim.conf.tmp"
	run "$CLI" enable demo --root "$ROOT" --ports 443
	[ "$status" -eq 0 ]
	[ "$(cat "$TMP/victim")" = precious ]
	[ -L "$ROOT/etc/systemd/system/demo.service.d/mptcpshim.conf.tmp" ]
	grep -q MPTCPSHIM_PORTS=443 "$DROPIN"
	[ ! -L "$DROPIN" ]
	# no temporary file left behind
	[ "$(ls -A "$ROOT/etc/systemd/system/demo.service.d" | wc -l)" -eq 2 ]
	# the drop-in itself as a link: left alone, the target untouched
	rm "$DROPIN"
	ln -s "$TMP/victim" "$DROPIN"
	run "$CLI" enable demo --root "$ROOT" --ports 443
	[ "$status" -eq 1 ]
	[[ "$output" == *"was not written by mptcpshim (a symbolic link); leaving it alone"* ]]
	run "$CLI" disable demo --root "$ROOT"
	[ "$status" -eq 1 ]
	[ -L "$DROPIN" ]
	[ "$(cat "$TMP/victim")" = precious ]
}

@test "enable --root: a unit's symlinks resolve inside ROOT, never outside" {
	make_root
	mkdir -p "$ROOT/etc/systemd/system" "$TMP/evil"
	printf '[Service]\nEnvironment=LD_PRELOAD=/evil.so\n' >"$TMP/evil/real.service"
	printf 'ports = 8443\n' >"$TMP/evil/outside.conf"
	# an absolute link, as in an image: /lib/... means ROOT/lib/...
	mv "$ROOT/lib/systemd/system/demo.service" "$ROOT/lib/systemd/system/real.service"
	ln -s /lib/systemd/system/real.service "$ROOT/etc/systemd/system/demo.service"
	run "$CLI" enable demo --root "$ROOT"
	[ "$status" -eq 0 ]
	grep -qx "Environment=\"LD_PRELOAD=/usr/lib/libfirst.so:$SHIM\"" "$DROPIN"
	# a relative link climbing out of ROOT stops at ROOT
	ln -sf "../../../../../../../../../../../..$TMP/evil/real.service" \
		"$ROOT/etc/systemd/system/demo.service"
	run "$CLI" enable demo --root "$ROOT"
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "$output" == *"unit demo.service not found under $ROOT"* ]]
	run grep -c evil "$DROPIN"
	[ "$output" = 0 ]
	# --config is read inside ROOT too: a link to a file outside is not
	ln -s "$TMP/evil/outside.conf" "$ROOT/etc/site.conf"
	ln -sf /lib/systemd/system/real.service "$ROOT/etc/systemd/system/demo.service"
	run "$CLI" enable demo --root "$ROOT" --config /etc/site.conf
	echo "$output"
	[ "$status" -eq 2 ]
	[[ "$output" == *"--config: cannot open $ROOT/etc/site.conf: No such file or directory"* ]]
	cp "$TMP/evil/outside.conf" "$ROOT/etc/good.conf"
	run "$CLI" enable demo --root "$ROOT" --config /etc/good.conf
	[ "$status" -eq 0 ]
	grep -qx 'Environment="MPTCPSHIM_CONFIG=/etc/good.conf"' "$DROPIN"
}

@test "enable: the unit's specifiers are kept, the library's '%' is not one" {
	make_root
	sed -i 's|LD_PRELOAD=/usr/lib/libfirst.so|LD_PRELOAD=%E/libfirst.so|' \
		"$ROOT/lib/systemd/system/demo.service"
	mkdir -p "$TMP/50%lib"
	cp "$SHIM" "$TMP/50%lib/libmptcpshim.so"
	MPTCPSHIM_LIBRARY="$TMP/50%lib/libmptcpshim.so" run "$CLI" enable demo --root "$ROOT"
	echo "$output"
	[ "$status" -eq 0 ]
	grep -qx "Environment=\"LD_PRELOAD=%E/libfirst.so:$TMP/50%%lib/libmptcpshim.so\"" "$DROPIN"
	command -v systemd-analyze >/dev/null || return 0
	# systemd reads it as meant: %E expanded, %% a percent sign
	run env SYSTEMD_LOG_LEVEL=debug systemd-analyze verify --root="$ROOT" demo.service
	[[ "$output" == *"Environment: LD_PRELOAD=/etc/libfirst.so:$TMP/50%lib/libmptcpshim.so"* ]]
}

@test "enable --dry-run prints the drop-in and writes nothing" {
	make_root
	run --separate-stderr "$CLI" enable demo --root "$ROOT" --ports 443 --dry-run
	[ "$status" -eq 0 ]
	[ ! -e "$ROOT/etc" ]
	[[ "$output" == *"[Service]"* ]]
	[[ "$output" == *'Environment="MPTCPSHIM_PORTS=443"'* ]]
	# shellcheck disable=SC2154 # set by run --separate-stderr
	[[ "$stderr" == *"would write $DROPIN (dry run: nothing written)"* ]]
	# exactly what enable then writes
	printf '%s\n' "$output" >"$TMP/dry"
	"$CLI" enable demo --root "$ROOT" --ports 443 >/dev/null
	cmp "$TMP/dry" "$DROPIN"
}

@test "enable/disable without systemd and without --root: refused, nothing written" {
	need_root
	# Whatever this host runs: systemd hidden, /etc/systemd/system a
	# scratch tmpfs, in a mount namespace of the test's own.
	run unshare -m sh -c '
		mount -t tmpfs tmpfs /run || exit 9
		mkdir -p /etc/systemd/system && mount -t tmpfs tmpfs /etc/systemd/system || exit 9
		"$0" enable demo --ports 443; echo "rc=$?"
		"$0" disable demo; echo "rc=$?"
		ls -A /etc/systemd/system' "$CLI"
	echo "$output"
	[[ "${lines[0]}" == "mptcpshim enable: systemd is not running here (no /run/systemd/system), so no drop-in would be read; to prepare the unit files of an image or a container tree, give --root DIR (--root / for this file system)" ]]
	[ "${lines[1]}" = "rc=1" ]
	[[ "${lines[2]}" == "mptcpshim disable: systemd is not running here"* ]]
	[ "${lines[3]}" = "rc=1" ]
	[ "${#lines[@]}" -eq 4 ] # nothing in /etc/systemd/system
}

@test "enable: an EnvironmentFile= or a later drop-in that undoes it is named" {
	make_root
	mkdir -p "$ROOT/etc/default" "$ROOT/etc/systemd/system/demo.service.d"
	cat >>"$ROOT/lib/systemd/system/demo.service" <<-'EOF'
	EnvironmentFile=-/etc/default/demo
	EnvironmentFile=-/etc/default/missing
	EOF
	printf '# site\nLD_PRELOAD=/opt/x.so\nMPTCPSHIM_PORTS=80\n' >"$ROOT/etc/default/demo"
	# read before ours: kept; after ours (systemctl edit's name): warned
	printf '[Service]\nEnvironment=LD_PRELOAD=/opt/early.so\n' \
		>"$ROOT/etc/systemd/system/demo.service.d/10-early.conf"
	printf '[Service]\nEnvironment="LD_PRELOAD=/opt/late.so"\n' \
		>"$ROOT/etc/systemd/system/demo.service.d/override.conf"
	printf '[Service]\nUnsetEnvironment=MPTCPSHIM_PORTS\n' \
		>"$ROOT/etc/systemd/system/demo.service.d/zz-unset.conf"
	run "$CLI" enable demo --root "$ROOT" --ports 443
	echo "$output"
	[ "$status" -eq 0 ]
	grep -qx "Environment=\"LD_PRELOAD=/opt/early.so:$SHIM\"" "$DROPIN"
	[[ "$output" == *"kept the unit's LD_PRELOAD (/opt/early.so)"* ]]
	[[ "$output" == *"warning: $ROOT/etc/default/demo (EnvironmentFile=) sets LD_PRELOAD, which wins over every Environment= line: the library will not be loaded"* ]]
	[[ "$output" == *"warning: $ROOT/etc/default/demo (EnvironmentFile=) sets MPTCPSHIM_PORTS"* ]]
	[[ "$output" == *"warning: $ROOT/etc/systemd/system/demo.service.d/override.conf sets LD_PRELOAD and is read after mptcpshim.conf, so it replaces the drop-in's value: the library will not be loaded; add $SHIM to it there"* ]]
	[[ "$output" == *"warning: $ROOT/etc/systemd/system/demo.service.d/zz-unset.conf unsets MPTCPSHIM_PORTS (UnsetEnvironment=)"* ]]
	[[ "$output" != *missing* ]]
	# nothing to warn about: no warning
	rm "$ROOT/etc/default/demo" "$ROOT/etc/systemd/system/demo.service.d/override.conf" \
		"$ROOT/etc/systemd/system/demo.service.d/zz-unset.conf"
	run "$CLI" enable demo --root "$ROOT" --ports 443
	[ "$status" -eq 0 ]
	[[ "$output" != *warning* ]]
}

@test "enable: a template (every instance) and one instance" {
	make_root
	mkdir -p "$ROOT/etc/default" "$ROOT/lib/systemd/system/web@.service.d"
	cat >"$ROOT/lib/systemd/system/web@.service" <<-'EOF'
	[Service]
	Environment=LD_PRELOAD=/opt/tmpl.so
	EnvironmentFile=-/etc/default/web-%i
	ExecStart=/usr/bin/demo %i
	EOF
	printf '[Service]\nEnvironment=LD_PRELOAD=/opt/tmpl-dropin.so\n' \
		>"$ROOT/lib/systemd/system/web@.service.d/10-x.conf"
	printf 'LD_PRELOAD=/opt/blue.so\n' >"$ROOT/etc/default/web-blue"
	run "$CLI" enable web@ --root "$ROOT" --ports 443
	echo "$output"
	[ "$status" -eq 0 ]
	grep -qx "Environment=\"LD_PRELOAD=/opt/tmpl-dropin.so:$SHIM\"" \
		"$ROOT/etc/systemd/system/web@.service.d/mptcpshim.conf"
	[[ "$output" == *"to apply it: restart each instance (systemctl restart web@<instance>.service)"* ]]
	run "$CLI" enable web@blue.service --root "$ROOT" --ports 8443
	echo "$output"
	[ "$status" -eq 0 ]
	grep -qx 'Environment="MPTCPSHIM_PORTS=8443"' \
		"$ROOT/etc/systemd/system/web@blue.service.d/mptcpshim.conf"
	# the instance's EnvironmentFile (%i expanded) is read
	[[ "$output" == *"$ROOT/etc/default/web-blue (EnvironmentFile=) sets LD_PRELOAD"* ]]
	[[ "$output" == *"to apply it: systemctl restart web@blue.service"* ]]
	run "$CLI" disable web@blue --root "$ROOT"
	[ "$status" -eq 0 ]
	[ ! -e "$ROOT/etc/systemd/system/web@blue.service.d" ]
	[ -f "$ROOT/etc/systemd/system/web@.service.d/mptcpshim.conf" ]
	command -v systemd-analyze >/dev/null || return 0
	run env SYSTEMD_LOG_LEVEL=debug systemd-analyze verify --root="$ROOT" web@green.service
	[[ "$output" == *"Environment: LD_PRELOAD=/opt/tmpl-dropin.so:$SHIM"* ]]
}

@test "enable: no note about nginx's env lines (binary upgrade keeps the library without them)" {
	make_root
	mkdir -p "$ROOT/usr/sbin"
	cp "$ROOT/usr/bin/demo" "$ROOT/usr/sbin/nginx"
	cat >"$ROOT/lib/systemd/system/nginx.service" <<-'EOF'
	[Service]
	ExecStartPre=/usr/sbin/nginx -t -q
	ExecStart=/usr/sbin/nginx -g 'daemon on; master_process on;'
	EOF
	run "$CLI" enable nginx --root "$ROOT" --ports 80,443 --log warn
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"wrote "* ]]
	# nginx.bats and nginx-multipath.bats show a binary upgrade on 1.22
	# and 1.30 keeps MPTCP listeners without them
	[[ "$output" != *"env LD_PRELOAD"* ]]
	[[ "$output" != *"note:"* ]]
}

@test "enable: a repeated option or one without its value is refused (exit 2), nothing written" {
	make_root
	run "$CLI" enable demo --root "$ROOT" --ports 443 --ports 80
	[ "$status" -eq 2 ]
	[[ "$output" == *"option --ports is given twice; give it once"* ]]
	run "$CLI" enable demo --ports --root "$ROOT"
	[ "$status" -eq 2 ]
	[[ "$output" == *"option --ports needs a value (it was followed by the option '--root')"* ]]
	run "$CLI" run --log info --log=debug -- true
	[ "$status" -eq 2 ]
	[[ "$output" == *"option --log is given twice"* ]]
	[ ! -e "$DROPIN" ]
}

@test "enable/disable: a --root that is not a directory is a bad argument (exit 2)" {
	run "$CLI" enable demo --root "$TMP/none"
	[ "$status" -eq 2 ]
	[[ "$output" == *"--root $TMP/none: No such file or directory"* ]]
	touch "$TMP/file"
	run "$CLI" disable demo --root "$TMP/file"
	[ "$status" -eq 2 ]
	[[ "$output" == *"--root $TMP/file: Not a directory"* ]]
}

@test "enable: the library must exist: an error on this system, a warning under --root" {
	make_root
	run env MPTCPSHIM_LIBRARY="$TMP/gone/libmptcpshim.so" "$CLI" enable demo --root / --dry-run
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "$output" == *"the library $TMP/gone/libmptcpshim.so is not there (dry run): nothing written"* ]]
	[[ "$output" == *"MPTCPSHIM_LIBRARY="* ]]
	run env MPTCPSHIM_LIBRARY="$TMP/gone/libmptcpshim.so" "$CLI" enable demo --root "$ROOT"
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == "demo.service: wrote $DROPIN" ]]
	[[ "$output" == *"demo.service: warning: the library $ROOT$TMP/gone/libmptcpshim.so is not there"* ]]
	run "$CLI" enable demo --root "$ROOT" --ports 1
	[ "$status" -eq 0 ]
	[[ "$output" != *"is not there"* ]]
}

@test "enable --dry-run without a running systemd reads the unit files under /" {
	[ ! -d /run/systemd/system ] || skip "systemd runs here: --dry-run asks it (systemd.bats)"
	unit=$(find /lib/systemd/system /usr/lib/systemd/system -maxdepth 1 -name '*.service' \
		! -name '*@*' -type f 2>/dev/null | head -n 1)
	[ -n "$unit" ] || skip "no service unit file on this machine"
	name=$(basename "$unit")
	run --separate-stderr "$CLI" enable "$name" --ports 443 --dry-run
	echo "$output $stderr"
	[ "$status" -eq 0 ]
	[[ "$output" == *'Environment="MPTCPSHIM_PORTS=443"'* ]]
	[[ "$stderr" == *"$name: would write /etc/systemd/system/$name.d/mptcpshim.conf (dry run: nothing written)"* ]]
	[ ! -e "/etc/systemd/system/$name.d/mptcpshim.conf" ]
	# without --dry-run it still refuses (nothing would read the drop-in)
	run "$CLI" enable "$name" --ports 443
	[ "$status" -eq 1 ]
	[[ "$output" == *"systemd is not running here"* ]]
}

@test "enable/disable --detailed-exit: 3 when something changed, 0 when nothing did" {
	make_root
	run "$CLI" enable demo --root "$ROOT" --ports 443 --detailed-exit --dry-run
	[ "$status" -eq 3 ]
	[ ! -e "$DROPIN" ]
	run "$CLI" enable demo --root "$ROOT" --ports 443 --detailed-exit
	[ "$status" -eq 3 ]
	[[ "${lines[0]}" == "demo.service: wrote $DROPIN" ]]
	run "$CLI" enable demo --root "$ROOT" --ports 443 --detailed-exit
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == "demo.service: already enabled ($DROPIN unchanged)" ]]
	run "$CLI" enable demo --root "$ROOT" --ports 443 --detailed-exit --dry-run
	[ "$status" -eq 0 ]
	run "$CLI" enable demo --root "$ROOT" --ports 443
	[ "$status" -eq 0 ]
	run "$CLI" disable demo --root "$ROOT" --detailed-exit
	[ "$status" -eq 3 ]
	[[ "${lines[0]}" == "demo.service: removed $DROPIN" ]]
	run "$CLI" disable demo --root "$ROOT" --detailed-exit
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == "demo.service: not enabled (no $DROPIN): nothing to do" ]]
}

@test "disable removes the drop-in README.Debian shows written by hand, and nothing more" {
	make_root
	mkdir -p "$(dirname "$DROPIN")"
	# the recipe of debian/README.Debian, as printed there
	sed -n '/^  \[Service\]$/,/^$/p' "$TOP/debian/README.Debian" | sed 's/^  //' >"$DROPIN"
	grep -q '^Environment=LD_PRELOAD=' "$DROPIN"
	run "$CLI" disable demo --root "$ROOT"
	echo "$output"
	[ "$status" -eq 0 ]
	[ ! -e "$DROPIN" ]
	# a line of another kind, or another preload: left alone
	mkdir -p "$(dirname "$DROPIN")"
	printf '[Service]\nEnvironment=LD_PRELOAD=%s\nExecStart=\n' "$SHIM" >"$DROPIN"
	run "$CLI" disable demo --root "$ROOT"
	[ "$status" -eq 1 ]
	[[ "$output" == *'was not written by mptcpshim and it has the line "ExecStart="'* ]]
	printf '[Service]\nEnvironment="LD_PRELOAD=/usr/lib/libother.so:%s"\n' "$SHIM" >"$DROPIN"
	run "$CLI" disable demo --root "$ROOT"
	[ "$status" -eq 1 ]
	[ -e "$DROPIN" ]
}

@test "enable: a service program the library cannot reach is named" {
	make_root
	cc -O1 -static -o "$ROOT/usr/bin/static" "$TOP/tests/tools/reachfix.c"
	cc -O1 -DGO_VERSION='"go1.22.5"' -o "$ROOT/usr/bin/gosrv" "$TOP/tests/tools/reachfix.c"
	cat >"$ROOT/lib/systemd/system/st.service" <<-'EOF'
	[Service]
	ExecStart=static --serve
	EOF
	cat >"$ROOT/lib/systemd/system/go.service" <<-'EOF'
	[Service]
	ExecStart=/usr/bin/gosrv
	Environment=GODEBUG=multipathtcp=1
	EOF
	run "$CLI" enable st --root "$ROOT"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"st.service: warning: /usr/bin/static is statically linked"* ]]
	run "$CLI" enable go --root "$ROOT"
	echo "$output"
	[[ "$output" == *"go.service: warning: /usr/bin/gosrv is a Go program (go1.22.5)"* ]]
	[[ "$output" == *"its listeners use MPTCP already (GODEBUG=multipathtcp=1)"* ]]
}

@test "enable: file capabilities matter for the unit's User=, not for root" {
	need_root
	make_root
	cc -O1 -o "$ROOT/usr/bin/capsrv" "$TOP/tests/tools/reachfix.c"
	python3 -c 'import os, struct, sys
os.setxattr(sys.argv[1], "security.capability",
	struct.pack("<5I", 0x02000001, 1 << 10, 0, 0, 0))' "$ROOT/usr/bin/capsrv"
	mkdir -p "$ROOT/etc"
	printf 'root:x:0:0::/root:/bin/sh\nweb:x:1234:1234::/:/bin/false\n' >"$ROOT/etc/passwd"
	printf '[Service]\nExecStart=/usr/bin/capsrv\nUser=web\n' \
		>"$ROOT/lib/systemd/system/cap.service"
	printf '[Service]\nExecStart=/usr/bin/capsrv\n' \
		>"$ROOT/lib/systemd/system/caproot.service"
	run "$CLI" enable cap --root "$ROOT"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"cap.service: warning: /usr/bin/capsrv is a program with file capabilities"* ]]
	[[ "$output" == *"AmbientCapabilities="* ]]
	run "$CLI" enable caproot --root "$ROOT"
	[ "$status" -eq 0 ]
	[[ "$output" != *warning* ]]
	# NoNewPrivileges=yes: the kernel ignores the file's capabilities
	printf '[Service]\nNoNewPrivileges=yes\n' >"$ROOT/etc/systemd/system/cap.service.d/nnp.conf"
	run "$CLI" enable cap --root "$ROOT"
	[[ "$output" != *warning* ]]
}

# A systemctl that answers `show` as systemd 252 does (the format read from
# a booted Debian 12; tests/bats/systemd.bats runs the real one) from the
# files in $FAKE, and logs the other calls.
fake_systemctl() {
	FAKE=$TMP/fake
	mkdir -p "$FAKE/bin" "$FAKE/units/demo.service.d"
	cat >"$FAKE/bin/systemctl" <<-'EOF'
	#!/bin/sh
	echo "$*" >>"$FAKE/calls"
	[ "$1" = show ] || exit 0
	case "$*" in *"-p Environment --value"*) cat "$FAKE/environment"; exit 0 ;; esac
	cat "$FAKE/show.$2" 2>/dev/null || printf 'Id=%s\nLoadState=not-found\nFragmentPath=\n' "$2"
	EOF
	chmod +x "$FAKE/bin/systemctl"
	export FAKE
}

@test "enable/disable with a running systemd: its files, its warnings, daemon-reload" {
	need_root
	fake_systemctl
	fixture static -static
	printf '[Service]\nEnvironment=LD_PRELOAD=%%E/libfirst.so\n' >"$FAKE/units/demo.service"
	printf '[Service]\nEnvironment=LD_PRELOAD=/opt/late.so\n' \
		>"$FAKE/units/demo.service.d/override.conf"
	printf 'MPTCPSHIM_LOG=debug\n' >"$FAKE/envfile"
	cat >"$FAKE/show.demo.service" <<-EOF
	ExecStart={ path=$TMP/static ; argv[]=$TMP/static --serve ; ignore_errors=no ; start_time=[n/a] ; stop_time=[n/a] ; pid=0 ; code=(null) ; status=0/0 }
	EnvironmentFiles=$FAKE/envfile (ignore_errors=yes)
	EnvironmentFiles=$FAKE/none (ignore_errors=yes)
	User=
	Group=
	DynamicUser=no
	NoNewPrivileges=no
	Id=demo.service
	LoadState=loaded
	FragmentPath=$FAKE/units/demo.service
	DropInPaths=$FAKE/units/demo.service.d/override.conf
	EOF
	printf 'Id=gone.service\nLoadState=masked\nFragmentPath=/etc/systemd/system/gone.service\n' \
		>"$FAKE/show.gone.service"
	echo 'LD_PRELOAD=/opt/late.so' >"$FAKE/environment"
	run unshare -m sh -c '
		mount -t tmpfs tmpfs /run && mkdir -p /run/systemd/system || exit 9
		mkdir -p /etc/systemd/system && mount -t tmpfs tmpfs /etc/systemd/system || exit 9
		export PATH="$FAKE/bin:$PATH"
		"$0" enable demo --ports 443 --log warn; echo "rc=$?"
		cat /etc/systemd/system/demo.service.d/mptcpshim.conf
		"$0" enable gone; echo "rc=$?"
		"$0" enable nosuch; echo "rc=$?"
		"$0" disable demo; echo "rc=$?"
		ls -A /etc/systemd/system' "$CLI"
	echo "$output"
	[[ "${lines[0]}" == "demo.service: wrote /etc/systemd/system/demo.service.d/mptcpshim.conf" ]]
	[[ "$output" == *"warning: $FAKE/units/demo.service.d/override.conf sets LD_PRELOAD and is read after mptcpshim.conf"* ]]
	[[ "$output" == *"warning: $FAKE/envfile (EnvironmentFile=) sets MPTCPSHIM_LOG"* ]]
	[[ "$output" == *"warning: $TMP/static is statically linked"* ]]
	[[ "$output" == *"kept the unit's LD_PRELOAD (%E/libfirst.so)"* ]]
	[[ "$output" == *"Environment=\"LD_PRELOAD=%E/libfirst.so:$SHIM\""* ]]
	[[ "$output" == *"mptcpshim enable: unit gone.service is masked (systemctl unmask gone.service)"* ]]
	[[ "$output" == *"mptcpshim enable: unit nosuch.service not found (is it installed?)"* ]]
	[[ "$output" == *"demo.service: removed /etc/systemd/system/demo.service.d/mptcpshim.conf"* ]]
	[ "$(grep -c '^rc=0$' <<<"$output")" -eq 2 ]
	[ "$(grep -c '^rc=1$' <<<"$output")" -eq 2 ]
	[ "${lines[-1]}" = "rc=0" ] # and /etc/systemd/system is empty again
	[ "$(grep -c daemon-reload "$FAKE/calls")" -eq 2 ]
}

# ---- the man pages (built from doc/*.in and the settings table) ----

@test "man pages: every setting, the real paths, ENVIRONMENT and FILES, libmptcpshim(7)" {
	unset MPTCPSHIM_CONFIG
	conf=$("$CLI" check --no-env | sed -n 's/^config = \([^ ]*\) .*/\1/p')
	[[ "$conf" == /*/mptcpshim.conf ]]
	for page in mptcpshim.1 mptcpshim.conf.5 libmptcpshim.7; do
		f=$BUILD/cli/$page
		[ -s "$f" ] || {
			echo "$f was not built"
			return 1
		}
		# paths substituted, every section marker replaced
		run grep -E 'SYSCONFDIR|@[A-Z]+@|^\.\\" mkman' "$f"
		[ "$status" -eq 1 ]
		grep -qF "$conf" "$f"
		text=$(MANWIDTH=200 man -l "$f" 2>/dev/null)
		for v in PORTS CONNECT TOLERATE LOG STRICT CONFIG; do
			grep -q "MPTCPSHIM_$v" <<<"$text" || {
				echo "$page does not name MPTCPSHIM_$v"
				return 1
			}
		done
		# roff that man reads without complaint
		run sh -c "man --warnings -l '$f' 2>&1 >/dev/null | grep -v 'cannot adjust line'"
		[ -z "$output" ]
	done
	text=$(MANWIDTH=200 man -l "$BUILD/cli/mptcpshim.1" 2>/dev/null)
	env_section=$(sed -n '/^ENVIRONMENT/,/^FILES/p' <<<"$text")
	[[ "$env_section" == *MPTCPSHIM_CONNECT* ]]
	[[ "$env_section" == *MPTCPSHIM_TOLERATE* ]]
	[[ "$text" == *"FILES"*"$conf"* ]]
	[[ "$text" == *"--tolerate OPTIONS"* ]]
	[[ "$text" == *"--dry-run"* ]]
	text=$(MANWIDTH=200 man -l "$BUILD/cli/mptcpshim.conf.5" 2>/dev/null)
	[[ "$text" == *"The keys are ports, connect, tolerate, log and strict"* ]]
	[[ "$text" == *"TCP_NODELAY,TCP_CORK,TCP_KEEPIDLE"* ]]
}

# The completion's words for a command line (the last word is completed).
complete_words() {
	bash -c 'source "$1/cli/mptcpshim.bash-completion"; shift
		COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _mptcpshim
		printf "%s\n" "${COMPREPLY[@]}"' sh "$TOP" "$@"
}

@test "bash completion: every command of 'mptcpshim --help' and every option of each command's --help" {
	local cmds cmd opt opts
	cmds=$(complete_words "$CLI" "")
	[ -n "$cmds" ]
	for cmd in run enable disable status doctor check; do
		grep -qx "$cmd" <<<"$cmds"
	done
	for cmd in $cmds; do
		opts=$(complete_words "$CLI" "$cmd" --)
		# every long option the command's help names is offered
		for opt in $("$CLI" "$cmd" --help | grep -oE -- '--[a-z][a-z-]+' | sort -u); do
			grep -qx -- "$opt" <<<"$opts" || {
				echo "mptcpshim $cmd: $opt not completed" && false
			}
		done
	done
	[ "$(complete_words "$CLI" enable nginx --log w)" = warn ]
	[ "$(complete_words "$CLI" enable nginx --detailed)" = --detailed-exit ]
}

@test "the library and the command build without cmocka (only tests need it)" {
	need_root
	# cmocka hidden in a mount namespace of the test's own
	run unshare -m sh -c '
		for f in $(dpkg -L libcmocka-dev 2>/dev/null |
			grep -E "\.pc$|/cmake/cmocka$|/cmocka\.h$"); do
			if [ -d "$f" ]; then mount -t tmpfs tmpfs "$f"
			else mount --bind /dev/null "$f"; fi || exit 9
		done
		meson setup "$1" "$2" >"$1.log" 2>&1 || { cat "$1.log"; exit 1; }
		grep -i "cmocka" "$1.log"
		ninja -C "$1" cli/mptcpshim libmptcpshim.so.0.1.0 cli/mptcpshim.1 >/dev/null &&
			echo built' sh "$TMP/b" "$TOP"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"Run-time dependency cmocka found: NO"* ]]
	[[ "$output" == *"cmocka not found: the cmocka unit and integration tests are left out"* ]]
	[ "${lines[-1]}" = built ]
}

# status and doctor: tests/bats/status.bats and tests/bats/doctor.bats
