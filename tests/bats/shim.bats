#!/usr/bin/env bats
# The library seen as a process sees it: configuration, messages, strict
# mode, real fallback, fork+execve. Ports 44000-44999. (The exported
# symbols: the meson test `exports`, tests/abi/exports.sh.)
# Every check of a socket reads SO_PROTOCOL (shimprobe prints it) or the
# client's TCP_IS_MPTCP; log lines are checked in addition, never instead.

load common

setup() {
	probe_setup 44000 44999
}

teardown() {
	probe_teardown
}

@test "the library has a soname and an unversioned name for LD_PRELOAD" {
	run readelf -d "$SHIM"
	[[ "$output" == *"Library soname: [libmptcpshim.so.0]"* ]]
	[ -e "$BUILD/libmptcpshim.so.0" ]
}

@test "a listed port becomes MPTCP, with one info line naming it" {
	need_mptcp
	MPTCPSHIM_PORTS=$PORT run shim_run "$PROBE" listen 127.0.0.1 "$PORT"
	[ "$status" -eq 0 ]
	[[ "$output" == *"proto=262"* ]]
	[ "$(grep -c "info: 127.0.0.1:$PORT: socket converted to MPTCP" <<<"$output")" -eq 1 ]
}

@test "an unlisted port stays TCP and says nothing at the default level" {
	other=$(pick_port 44000 44999)
	[ "$other" != "$PORT" ] || other=$((PORT + 1))
	MPTCPSHIM_PORTS=$other run shim_run "$PROBE" listen 127.0.0.1 "$PORT"
	[ "$status" -eq 0 ]
	[[ "$output" =~ ^fd=[0-9]+\ proto=6$ ]]
}

@test "a port listed only for another address: stays TCP, one info line names that address" {
	# nginx's "listen 80" binds 0.0.0.0; the administrator listed
	# 127.0.0.1:80. Two binds of the same address (a reuseport group):
	# one line, not one per socket.
	MPTCPSHIM_PORTS=127.0.0.1:$PORT run shim_run "$PROBE" listen --count 2 --opt reuseport=1 0.0.0.0 "$PORT"
	[ "$status" -eq 0 ]
	[ "$(grep -c '^fd=[0-9]* proto=6$' <<<"$output")" -eq 2 ]
	[ "$(grep -c "info: 0.0.0.0:$PORT: stays TCP: its port is listed only for the address 127.0.0.1 " <<<"$output")" -eq 1 ]
	# at log=warn it is quiet; the socket is the same
	MPTCPSHIM_PORTS=127.0.0.1:$PORT MPTCPSHIM_LOG=warn run shim_run "$PROBE" listen 0.0.0.0 "$PORT"
	[ "$status" -eq 0 ]
	[[ "$output" =~ ^fd=[0-9]+\ proto=6$ ]]
}

@test "no allowlist anywhere converts every TCP listener (documented default)" {
	need_mptcp
	run shim_run env -u MPTCPSHIM_PORTS "$PROBE" listen 127.0.0.1 "$PORT"
	[[ "$output" == *"proto=262"* ]]
}

@test "ports=none converts nothing" {
	MPTCPSHIM_PORTS=none run shim_run "$PROBE" listen 127.0.0.1 "$PORT"
	[[ "$output" =~ ^fd=[0-9]+\ proto=6$ ]]
}

@test "UDP on a listed port stays UDP" {
	MPTCPSHIM_PORTS=$PORT run shim_run "$PROBE" udp 127.0.0.1 "$PORT"
	[ "$status" -eq 0 ]
	[[ "$output" =~ ^fd=[0-9]+\ proto=17$ ]]
}

@test "an invalid list is one clear error naming the value, and converts nothing" {
	MPTCPSHIM_PORTS="$PORT,http" run shim_run "$PROBE" listen 127.0.0.1 "$PORT"
	[ "$status" -eq 0 ]
	[[ "$output" == *"proto=6"* ]]
	[ "$(grep -c 'error: MPTCPSHIM_PORTS: invalid entry "http"' <<<"$output")" -eq 1 ]
	[[ "$output" == *"converting nothing"* ]]
}

@test "an invalid log level is named too" {
	MPTCPSHIM_PORTS=$PORT MPTCPSHIM_LOG=loud run shim_run "$PROBE" listen 127.0.0.1 "$PORT"
	[[ "$output" == *'MPTCPSHIM_LOG: invalid log level "loud"'* ]]
	[[ "$output" == *"proto=6"* ]]
}

@test "strict mode: a configuration error ends the program at load with status 1" {
	MPTCPSHIM_PORTS=99999 MPTCPSHIM_STRICT=1 run shim_run "$PROBE" listen 127.0.0.1 "$PORT"
	[ "$status" -eq 1 ]
	[[ "$output" == *'invalid entry "99999"'*"stopping (strict mode)"* ]]
	[[ "$output" != *"fd="* ]]
}

@test "configuration file: keys ports, log, strict; comments" {
	need_mptcp
	cat >"$TMP/shim.conf" <<-EOF
		# listeners to convert
		ports = $PORT   # the test port
		log = debug
		strict = 0
	EOF
	run env LD_PRELOAD="$SHIM" MPTCPSHIM_CONFIG="$TMP/shim.conf" "$PROBE" listen 127.0.0.1 "$PORT"
	[ "$status" -eq 0 ]
	[[ "$output" == *"proto=262"* ]]
	[[ "$output" == *"debug: loaded; ports=$PORT connect=none tolerate=TCP_NODELAY,"*" strict=0"* ]]
}

@test "a variable overrides the file's key" {
	echo "ports = $PORT" >"$TMP/shim.conf"
	run env LD_PRELOAD="$SHIM" MPTCPSHIM_CONFIG="$TMP/shim.conf" MPTCPSHIM_PORTS=none \
		"$PROBE" listen 127.0.0.1 "$PORT"
	[[ "$output" =~ ^fd=[0-9]+\ proto=6$ ]]
}

@test "a broken file: error with file and line, converts nothing; strict in the file stops" {
	printf 'ports = %s\nlisten = yes\n' "$PORT" >"$TMP/shim.conf"
	run env LD_PRELOAD="$SHIM" MPTCPSHIM_CONFIG="$TMP/shim.conf" "$PROBE" listen 127.0.0.1 "$PORT"
	[ "$status" -eq 0 ]
	[[ "$output" == *"$TMP/shim.conf:2: unknown key \"listen\""* ]]
	[[ "$output" == *"proto=6"* ]]
	printf 'strict = 1\nports = 44000-\n' >"$TMP/shim.conf"
	run env LD_PRELOAD="$SHIM" MPTCPSHIM_CONFIG="$TMP/shim.conf" "$PROBE" listen 127.0.0.1 "$PORT"
	[ "$status" -eq 1 ]
	[[ "$output" == *"shim.conf:2: invalid entry \"44000-\""*"stopping (strict mode)"* ]]
}

@test "MPTCPSHIM_CONFIG naming a missing file is an error" {
	MPTCPSHIM_PORTS=$PORT run env LD_PRELOAD="$SHIM" MPTCPSHIM_CONFIG="$TMP/nope.conf" \
		"$PROBE" listen 127.0.0.1 "$PORT"
	[[ "$output" == *"cannot open configuration file $TMP/nope.conf: No such file or directory; converting nothing"* ]]
	[[ "$output" == *"proto=6"* ]]
}

@test "an option the MPTCP socket refuses: stays TCP, warns once per address naming it" {
	need_mptcp
	MPTCPSHIM_PORTS=$PORT run shim_run "$PROBE" listen --count 3 --opt reuseport=1 \
		--opt user_timeout=5000 127.0.0.1 "$PORT"
	[ "$status" -eq 0 ]
	[ "$(grep -c 'proto=6' <<<"$output")" -eq 3 ]
	[ "$(grep -c "warn: 127.0.0.1:$PORT: staying TCP: the MPTCP socket refused TCP_USER_TIMEOUT" <<<"$output")" -eq 1 ]
}

@test "strict mode: an option the MPTCP socket refuses makes bind() fail with its errno" {
	need_mptcp
	MPTCPSHIM_PORTS=$PORT MPTCPSHIM_STRICT=1 run shim_run "$PROBE" listen \
		--opt user_timeout=5000 127.0.0.1 "$PORT"
	[ "$status" -eq 1 ]
	[[ "$output" == *"bind: Protocol not available (ENOPROTOOPT)"* ]]
	[[ "$output" == *"error: 127.0.0.1:$PORT: bind() fails (strict mode)"* ]]
}

# A network namespace of the test's own where MPTCP is disabled.
in_netns_without_mptcp() {
	unshare -n bash -c 'ip link set lo up && sysctl -qw net.mptcp.enabled=0 && "$@"' _ "$@"
}

@test "MPTCP disabled (net.mptcp.enabled=0): real fallback, served over TCP, one warning per address" {
	need_root
	need_mptcp
	cat >"$TMP/run.sh" <<-EOF
		set -e
		export LD_PRELOAD="$SHIM" MPTCPSHIM_CONFIG=/dev/null MPTCPSHIM_PORTS=$PORT
		# two sockets on one address (a reuseport group): one warning
		"$PROBE" listen --count 2 --opt reuseport=1 127.0.0.1 $PORT
		timeout 20 "$PROBE" listen --serve 1 ::1 $PORT &
		for i in \$(seq 50); do ss -Hltn "sport = :$PORT" | grep -q . && break; sleep 0.1; done
		env -u LD_PRELOAD "$PROBE" connect --tcp --read ::1 $PORT
		wait
	EOF
	run in_netns_without_mptcp bash "$TMP/run.sh"
	[ "$status" -eq 0 ]
	[ "$(grep -c 'fd=.* proto=6' <<<"$output")" -eq 3 ]
	# served (an MPTCP client cannot exist in this namespace either)
	[[ "$output" == *"reply=proto=6"* ]]
	[ "$(grep -c "warn: 127.0.0.1:$PORT: staying TCP: the kernel refused an MPTCP socket: Protocol not available (ENOPROTOOPT); is net.mptcp.enabled 0?" <<<"$output")" -eq 1 ]
	[ "$(grep -c "warn: \[::1\]:$PORT: staying TCP" <<<"$output")" -eq 1 ]
}

@test "strict mode with MPTCP disabled: bind() fails with ENOPROTOOPT" {
	need_root
	need_mptcp
	run in_netns_without_mptcp env LD_PRELOAD="$SHIM" MPTCPSHIM_CONFIG=/dev/null \
		MPTCPSHIM_PORTS="$PORT" MPTCPSHIM_STRICT=1 "$PROBE" listen 127.0.0.1 "$PORT"
	[ "$status" -eq 1 ]
	[[ "$output" == *"bind: Protocol not available (ENOPROTOOPT)"* ]]
}

@test "log=off silences the fallback warning (the fallback still happens)" {
	need_mptcp
	MPTCPSHIM_PORTS=$PORT MPTCPSHIM_LOG=off run shim_run "$PROBE" listen \
		--opt user_timeout=5000 127.0.0.1 "$PORT"
	[[ "$output" =~ ^fd=[0-9]+\ proto=6$ ]]
}

@test "a listener that survives fork + execve is still MPTCP and serves MPTCP" {
	need_mptcp
	MPTCPSHIM_PORTS=$PORT shim_run "$PROBE" listen --exec --serve 1 127.0.0.1 "$PORT" \
		>"$TMP/out" 2>&1 &
	PIDS+=($!)
	wait_listen "$PORT"
	run "$PROBE" connect --mptcp --read 127.0.0.1 "$PORT"
	[ "$status" -eq 0 ]
	[[ "$output" == *"proto=262 is_mptcp=1"* ]]
	[[ "$output" == *"reply=proto=262"* ]]
	wait "${PIDS[0]}"
	grep -Eq '^inherited fd=[0-9]+ proto=262 said=6$' "$TMP/out"
}

@test "execve() with converted listeners and an environment without the library: it goes along" {
	need_mptcp
	# --clearenv: the program execs itself with an empty environment, as
	# nginx does without its env lines; the listener stays open.
	MPTCPSHIM_PORTS=$PORT shim_run "$PROBE" listen --clearenv --exec --serve 1 127.0.0.1 "$PORT" \
		>"$TMP/out" 2>"$TMP/err" &
	PIDS+=($!)
	wait_listen "$PORT"
	run "$PROBE" connect --mptcp --read 127.0.0.1 "$PORT"
	[ "$status" -eq 0 ]
	[[ "$output" == *"reply=proto=262"* ]]
	wait "${PIDS[0]}"
	cat "$TMP/out" "$TMP/err"
	# the new program has the library (it answers 6 for the socket) and
	# knows the socket as converted (MPTCPSHIM_INHERITED)
	grep -Eq '^inherited fd=[0-9]+ proto=262 said=6$' "$TMP/out"
	grep -q "info: execve(/proc/self/exe): 1 converted socket(s) stay open in the new program; passing on what its environment lacks: LD_PRELOAD, MPTCPSHIM_PORTS" "$TMP/err"
}

@test "execve() of a program without converted sockets: its environment is left alone" {
	run env LD_PRELOAD="$SHIM" MPTCPSHIM_CONFIG=/dev/null MPTCPSHIM_PORTS=$PORT \
		env -i /usr/bin/env
	[ "$status" -eq 0 ]
	[ -z "$output" ]
}

@test "LD_PRELOAD with libc first: one error line, nothing converted, the program runs" {
	need_mptcp
	run env LD_PRELOAD="libc.so.6 $SHIM" MPTCPSHIM_CONFIG=/dev/null MPTCPSHIM_PORTS=$PORT \
		"$PROBE" listen 127.0.0.1 "$PORT"
	[ "$status" -eq 0 ]
	[[ "$output" == *"proto=6"* ]]
	[ "$(grep -c '^mptcpshim\[' <<<"$output")" -eq 1 ]
	[[ "$output" == *"error: libmptcpshim is loaded after libc (LD_PRELOAD order?): the program's socket() and bind() do not reach it; converting nothing."* ]]
}

@test "socket() and bind() from another library's constructor, before ours ran" {
	need_mptcp
	# Constructors run in reverse load order: listing the shim first makes
	# libearly's constructor run before the shim's.
	run env LD_PRELOAD="$SHIM:$BUILD/tests/libearly.so" MPTCPSHIM_CONFIG=/dev/null \
		MPTCPSHIM_PORTS="$PORT" MPTCPSHIM_LOG=debug EARLY_PORT="$PORT" /bin/true
	[ "$status" -eq 0 ]
	[[ "$output" == *"early proto=262"* ]]
	[[ "$output" == *"before the library's constructor"* ]]
}

@test "settings are read at load: a program that clears its environment keeps them" {
	# nginx replaces its workers' environment. Had the library read
	# MPTCPSHIM_PORTS lazily, it would find no list after clearenv() and
	# use the default (all): proto=262. Read at load, "none" holds.
	MPTCPSHIM_PORTS=none run shim_run "$PROBE" listen --clearenv 127.0.0.1 "$PORT"
	[ "$status" -eq 0 ]
	[[ "$output" =~ ^fd=[0-9]+\ proto=6$ ]]
}

@test "as root, a configuration file others could write, or owned by someone else, is refused" {
	need_root
	echo "ports = none" >"$TMP/shim.conf"
	chmod 0666 "$TMP/shim.conf"
	run env LD_PRELOAD="$SHIM" MPTCPSHIM_CONFIG="$TMP/shim.conf" "$PROBE" listen 127.0.0.1 "$PORT"
	[[ "$output" == *"configuration file $TMP/shim.conf is writable by group or others (mode 666); refusing it (chmod go-w $TMP/shim.conf); converting nothing"* ]]
	[[ "$output" =~ fd=[0-9]+\ proto=6 ]]
	chmod 0644 "$TMP/shim.conf"
	chown nobody "$TMP/shim.conf"
	run env LD_PRELOAD="$SHIM" MPTCPSHIM_CONFIG="$TMP/shim.conf" "$PROBE" listen 127.0.0.1 "$PORT"
	[[ "$output" == *"is owned by uid $(id -u nobody), not by root or this process's user; refusing it"* ]]
	chown root "$TMP/shim.conf"
	run env LD_PRELOAD="$SHIM" MPTCPSHIM_CONFIG="$TMP/shim.conf" "$PROBE" listen 127.0.0.1 "$PORT"
	[ "$status" -eq 0 ]
	[[ "$output" =~ ^fd=[0-9]+\ proto=6$ ]]
}

@test "a setuid program (secure-execution mode) ignores the MPTCPSHIM_ variables" {
	need_root
	need_mptcp
	command -v cc >/dev/null || skip "no C compiler to build the setuid probe"
	# The loader ignores LD_PRELOAD paths in secure mode, so the probe is
	# linked against the library (absolute RUNPATH) and made setuid root.
	mkdir -p "$TMP/suid" && cp "$SHIM" "$TMP/suid/libmptcpshim.so.0"
	ln -s libmptcpshim.so.0 "$TMP/suid/libmptcpshim.so"
	cc -D_GNU_SOURCE -o "$TMP/suid/probe" "$TOP/tests/tools/shimprobe.c" -L"$TMP/suid" -lmptcpshim \
		-Wl,-rpath,"$TMP/suid"
	chmod 755 "$TMP" "$TMP/suid"
	chmod 4755 "$TMP/suid/probe"
	# As nobody without setuid, the variable is read: none, so TCP.
	cp "$TMP/suid/probe" "$TMP/suid/plain" && chmod 755 "$TMP/suid/plain"
	run setpriv --reuid=nobody --regid=nogroup --clear-groups env MPTCPSHIM_PORTS=none \
		MPTCPSHIM_CONFIG=/dev/null "$TMP/suid/plain" listen 127.0.0.1 "$PORT"
	[[ "$output" =~ ^fd=[0-9]+\ proto=6$ ]]
	# Setuid: the variables are not read, the system file does not exist
	# in the build's sysconfdir, so the default (all) applies.
	[ ! -e "$(strings "$SHIM" | grep -m1 '/mptcpshim.conf$')" ] || skip "a system mptcpshim.conf exists on this machine"
	run setpriv --reuid=nobody --regid=nogroup --clear-groups env MPTCPSHIM_PORTS=none \
		MPTCPSHIM_CONFIG=/dev/null MPTCPSHIM_LOG=off "$TMP/suid/probe" listen 127.0.0.1 "$PORT"
	[ "$status" -eq 0 ]
	[[ "$output" == *"proto=262"* ]]
	# MPTCPSHIM_LOG=off was ignored too: the default level (info) speaks
	[[ "$output" == *"info: 127.0.0.1:$PORT: socket converted to MPTCP"* ]]
}

@test "tolerate: a refused option on an MPTCP socket is reported as success, logged once per option" {
	need_mptcp
	# quickack before bind on a listed port: tolerated, so converted
	MPTCPSHIM_PORTS=$PORT MPTCPSHIM_TOLERATE=TCP_QUICKACK run shim_run "$PROBE" listen \
		--count 2 --opt reuseport=1 --opt quickack=1 127.0.0.1 "$PORT"
	[ "$status" -eq 0 ]
	[ "$(grep -c 'proto=262' <<<"$output")" -eq 2 ]
	[ "$(grep -c 'warn: TCP_QUICKACK is not supported on MPTCP sockets by this kernel (Protocol not available (ENOPROTOOPT)); reporting success as `tolerate` says (logged once)' <<<"$output")" -eq 1 ]
	# TCP_USER_TIMEOUT likewise, when named
	MPTCPSHIM_PORTS=$PORT MPTCPSHIM_TOLERATE=TCP_USER_TIMEOUT,TCP_QUICKACK run shim_run \
		"$PROBE" listen --opt user_timeout=5000 127.0.0.1 "$PORT"
	[[ "$output" == *"proto=262"* ]]
	[ "$(grep -c 'warn: TCP_USER_TIMEOUT is not supported on MPTCP sockets' <<<"$output")" -eq 1 ]
	# tolerate=none: the refusal stands and the listener stays TCP
	MPTCPSHIM_PORTS=$PORT MPTCPSHIM_TOLERATE=none run shim_run "$PROBE" listen \
		--opt quickack=1 127.0.0.1 "$PORT"
	[[ "$output" == *"proto=6"* ]]
	[[ "$output" == *"staying TCP: the MPTCP socket refused TCP_QUICKACK"* ]]
}

@test "tolerate is inert when the library converts nothing (ports=none, no connect list)" {
	need_mptcp
	# The program's own MPTCP socket, an option this kernel refuses on it:
	# with the library inert, the program sees the kernel's real answer.
	run env LD_PRELOAD="$SHIM" MPTCPSHIM_CONFIG=/dev/null MPTCPSHIM_PORTS=none \
		MPTCPSHIM_TOLERATE=TCP_QUICKACK python3 -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM, 262)
try:
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)
    print("succeeded")
except OSError as e:
    print("failed", e.errno)'
	[ "$output" = "failed 92" ] # ENOPROTOOPT
}

@test "more than 256 addresses to warn about: one line says so, then no flood" {
	need_mptcp
	# 300 listeners on 127.0.0.1-127.0.1.50, each with an option MPTCP
	# refuses: each stays TCP; 256 warnings, one notice, nothing more.
	run env LD_PRELOAD="$SHIM" MPTCPSHIM_CONFIG=/dev/null MPTCPSHIM_PORTS="$PORT" \
		MPTCPSHIM_TOLERATE=none python3 -c '
import socket, sys
port = int(sys.argv[1])
tcp = 0
for i in range(300):
    s = socket.socket()
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT, 1000)
    s.bind(("127.0.%d.%d" % (i // 250, 1 + i % 250), port))
    tcp += s.getsockopt(socket.SOL_SOCKET, socket.SO_PROTOCOL) == 6
    s.close()
print("tcp", tcp)' "$PORT"
	[ "$status" -eq 0 ]
	[[ "$output" == *"tcp 300"* ]]
	[ "$(grep -c 'staying TCP' <<<"$output")" -eq 256 ]
	[ "$(grep -c 'more than 256 addresses to report on' <<<"$output")" -eq 1 ]
}
