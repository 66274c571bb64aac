# shellcheck shell=bash
# Helpers of nginx.bats: Debian's nginx run as root from a temporary
# directory, with libmptcpshim preloaded. Load after common.
#
# NGINX selects the binary: Debian's /usr/sbin/nginx (1.22, stream and
# mail as dynamic modules) by default, or another build such as the 1.30.4
# of scripts/nginx-build.sh (modules built in). NGX_VERSION is its version.
#
# Everything a test starts is recorded in $NGX_DIR and ended by
# ngx_teardown, by pid, also when the test fails; the directory is removed
# too (set NGX_KEEP=1 to keep it after a failure, for debugging).

NGINX=${NGINX:-/usr/sbin/nginx}
# Not in nginx's environment: nginx reads a variable NGINX as the list of
# sockets it inherits (binary upgrade), and then does not daemonize.
export -n NGINX
NGX_MODULES=/usr/lib/nginx/modules
NGX_V=$("$NGINX" -V 2>&1 || true)
# shellcheck disable=SC2034 # NGX_VERSION: for the suites
NGX_VERSION=$(sed -n 's|^nginx version: nginx/||p' <<<"$NGX_V")
# The load_module lines a binary with dynamic stream and mail modules needs.
NGX_LOAD=
if [[ "$NGX_V" == *--with-stream=dynamic* ]]; then
	NGX_LOAD="load_module $NGX_MODULES/ngx_stream_module.so;"
fi
if [[ "$NGX_V" == *--with-mail=dynamic* ]]; then
	NGX_LOAD="$NGX_LOAD load_module $NGX_MODULES/ngx_mail_module.so;"
fi
PEER_PY=$TOP/tests/tools/ngxpeer.py
# The only ports this suite may use (other suites run on other ranges).
PORT_LO=45000
PORT_HI=47999

# Creates the test's directory; NGX_NS (a network namespace) is unset.
ngx_setup() {
	NGX_DIR=$(mktemp -d "${BATS_TMPDIR:-/tmp}/mptcpshim-nginx.XXXXXX")
	mkdir "$NGX_DIR/tmp"
	: >"$NGX_DIR/pids"
	NGX_NS=
	NGX_WORKERS=1
	NGX_MAIN_EXTRA=
}

# Runs a command in the test's network namespace, if it has one.
in_ns() {
	if [ -n "$NGX_NS" ]; then
		ip netns exec "$NGX_NS" "$@"
	else
		"$@"
	fi
}

# A private network namespace with only lo (up); $1 = net.mptcp.enabled.
ngx_netns() {
	NGX_NS=mptcpshim-ngx-$$-${BATS_TEST_NUMBER:-0}
	echo "$NGX_NS" >"$NGX_DIR/netns"
	ip netns add "$NGX_NS"
	ip -n "$NGX_NS" link set lo up
	ip netns exec "$NGX_NS" sysctl -qw net.mptcp.enabled="$1"
}

# A free port from this suite's range, not among the arguments.
port() {
	local p _
	for _ in $(seq 1 50); do
		p=$(pick_port "$PORT_LO" "$PORT_HI") || return 1
		case " $* " in *" $p "*) continue ;; esac
		echo "$p"
		return 0
	done
	return 1
}

peer() {
	python3 "$PEER_PY" "$@"
}

# wait_listen of common.bash, in the namespace.
ngx_wait_listen() {
	if [ -n "$NGX_NS" ]; then
		ip netns exec "$NGX_NS" bash -c "$(declare -f wait_listen); wait_listen $1"
	else
		wait_listen "$1"
	fi
}

# Number of MPTCP listening sockets on port $1 (ss -M lists only those).
mptcp_listeners() {
	in_ns ss -HMln "sport = :$1" | grep -c .
}
# Number of TCP listening rows on port $1. An MPTCP listener also has a
# TCP row (its first subflow's listener): compare with mptcp_listeners.
tcp_listeners() {
	in_ns ss -Hltn "sport = :$1" | grep -c .
}

# Writes $NGX_DIR/nginx.conf: the main context this suite always uses,
# then stdin. $NGX_WORKERS, $NGX_MAIN_EXTRA (e.g. env lines) apply.
ngx_conf() {
	{
		cat <<-EOF
			user root;
			daemon on;
			master_process on;
			worker_processes $NGX_WORKERS;
			error_log $NGX_DIR/error.log info;
			pid $NGX_DIR/nginx.pid;
			$NGX_LOAD
			$NGX_MAIN_EXTRA
			events { worker_connections 256; }
		EOF
		cat
	} >"$NGX_DIR/nginx.conf"
}

# What every http block of this suite starts with.
http_common() {
	cat <<-EOF
		access_log off;
		client_body_temp_path $NGX_DIR/tmp/body;
		proxy_temp_path $NGX_DIR/tmp/proxy;
		fastcgi_temp_path $NGX_DIR/tmp/fastcgi;
		uwsgi_temp_path $NGX_DIR/tmp/uwsgi;
		scgi_temp_path $NGX_DIR/tmp/scgi;
	EOF
}

# Pid of the running master (nginx.pid).
ngx_master() {
	cat "$NGX_DIR/nginx.pid"
}

# Is process $1 still alive (a zombie counts as gone)?
alive() {
	local st
	st=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
	case "$st" in Z*) return 1 ;; esac
	return 0
}

# Waits (at most 10 s) until process $1 is gone.
wait_gone() {
	local _
	for _ in $(seq 1 100); do
		alive "$1" || return 0
		sleep 0.1
	done
	echo "process $1 still alive after 10 s" >&2
	return 1
}

# Waits (at most 10 s) until file $1 exists and is not empty.
wait_file() {
	local _
	for _ in $(seq 1 100); do
		[ -s "$1" ] && return 0
		sleep 0.1
	done
	echo "$1 missing after 10 s" >&2
	return 1
}

# Starts nginx with the shim preloaded and no shim configuration file;
# arguments are VAR=VALUE settings added to (or overriding) that
# environment. nginx's stderr goes to $NGX_DIR/stderr. Returns nginx's
# status; on success the master pid is recorded for the teardown.
ngx_start() {
	local rc=0
	# nginx -t leaves a pid file behind (with its own, finished pid).
	rm -f "$NGX_DIR/nginx.pid"
	# (bounded: an nginx that does not daemonize would hang the suite)
	in_ns timeout 30 env LD_PRELOAD="$SHIM" MPTCPSHIM_CONFIG=/dev/null "$@" \
		"$NGINX" -p "$NGX_DIR" -c "$NGX_DIR/nginx.conf" \
		2>>"$NGX_DIR/stderr" </dev/null 3>&- || rc=$?
	[ "$rc" -eq 0 ] || return "$rc"
	wait_file "$NGX_DIR/nginx.pid" || return 1
	echo "nginx $(ngx_master)" >>"$NGX_DIR/pids"
}

# Runs nginx with the same preload and arguments plus "$@" (e.g. -t or
# -s reload), output to $NGX_DIR/stderr too. Set NGX_ENV=(VAR=VALUE...)
# for extra environment.
ngx_cmd() {
	in_ns timeout 30 env LD_PRELOAD="$SHIM" MPTCPSHIM_CONFIG=/dev/null "${NGX_ENV[@]}" \
		"$NGINX" -p "$NGX_DIR" -c "$NGX_DIR/nginx.conf" "$@" \
		</dev/null 3>&- 2>&1 | tee -a "$NGX_DIR/stderr"
	return "${PIPESTATUS[0]}"
}

# Starts `ngxpeer.py "$@"` in the background, output to $NGX_DIR/NAME.out
# and .err (NAME = $1 of the call, then the rest are the peer's arguments).
# peer_wait NAME waits for it and returns its status.
peer_bg() {
	local name=$1
	shift
	# Not through in_ns: $! must be the python process itself (ip netns
	# exec execs its command).
	if [ -n "$NGX_NS" ]; then
		ip netns exec "$NGX_NS" python3 "$PEER_PY" "$@" \
			>"$NGX_DIR/$name.out" 2>"$NGX_DIR/$name.err" </dev/null 3>&- &
	else
		python3 "$PEER_PY" "$@" \
			>"$NGX_DIR/$name.out" 2>"$NGX_DIR/$name.err" </dev/null 3>&- &
	fi
	echo "peer $!" >>"$NGX_DIR/pids"
	echo "$!" >"$NGX_DIR/$name.pid"
}

peer_wait() {
	wait "$(cat "$NGX_DIR/$1.pid")"
}

# The worker pids of master $1.
workers_of() {
	ps -o pid= --ppid "$1" | tr -d ' '
}

# Waits (at most 10 s) until master $1 has exactly $2 workers; prints
# their pids. (The pid file is written before the workers are forked.)
wait_workers() {
	local _ w
	for _ in $(seq 1 100); do
		w=$(workers_of "$1")
		if [ "$(grep -c . <<<"$w")" -eq "$2" ]; then
			echo "$w"
			return 0
		fi
		sleep 0.1
	done
	echo "master $1 does not have $2 workers after 10 s" >&2
	return 1
}

# Ends process $2 (recorded as kind $1) and, for nginx, its workers,
# after checking that the pid still is what we started.
ngx_end() {
	local kind=$1 pid=$2 cmd w victims=()
	alive "$pid" || return 0
	cmd=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || return 0
	case "$kind" in
	nginx) case "$cmd" in *"$NGX_DIR"*) ;; *) return 0 ;; esac ;;
	peer) case "$cmd" in *ngxpeer.py*) ;; *) return 0 ;; esac ;;
	esac
	victims=("$pid")
	if [ "$kind" = nginx ]; then
		for w in $(workers_of "$pid"); do victims+=("$w"); done
	fi
	kill -TERM "${victims[@]}" 2>/dev/null || true
	for w in "${victims[@]}"; do
		wait_gone "$w" 2>/dev/null || kill -KILL "$w" 2>/dev/null || true
	done
}

ngx_teardown() {
	local kind pid f
	[ -n "${NGX_DIR:-}" ] && [ -d "$NGX_DIR" ] || return 0
	# Masters named by pid files too (a binary upgrade makes new ones).
	for f in nginx.pid nginx.pid.oldbin; do
		[ -s "$NGX_DIR/$f" ] && echo "nginx $(cat "$NGX_DIR/$f")" >>"$NGX_DIR/pids"
	done
	while read -r kind pid; do
		ngx_end "$kind" "$pid"
	done <"$NGX_DIR/pids"
	if [ -s "$NGX_DIR/netns" ]; then
		ip netns del "$(cat "$NGX_DIR/netns")" 2>/dev/null || true
	fi
	if [ -n "${BATS_TEST_COMPLETED:-}" ] || [ -z "${NGX_KEEP:-}" ]; then
		rm -rf "$NGX_DIR"
	fi
}

# The usual teardown of an nginx suite: what helps after a failure, then
# everything the test started, gone.
ngx_test_teardown() {
	if [ -z "${BATS_TEST_COMPLETED:-}" ] && [ -n "${NGX_DIR:-}" ]; then
		ngx_diag
	fi
	ngx_teardown
}

# Starts a binary upgrade of master $1 (SIGUSR2) and waits (at most 10 s)
# until the new master has written its pid file and has $2 (default 1)
# workers; records it for the teardown and prints its pid.
ngx_usr2() {
	local old=$1 new _
	kill -USR2 "$old"
	wait_file "$NGX_DIR/nginx.pid.oldbin" || return 1
	for _ in $(seq 1 100); do
		[ -s "$NGX_DIR/nginx.pid" ] && [ "$(ngx_master)" != "$old" ] && break
		sleep 0.1
	done
	new=$(ngx_master)
	[ "$new" != "$old" ] || {
		echo "no new master 10 s after SIGUSR2 to $old" >&2
		return 1
	}
	echo "nginx $new" >>"$NGX_DIR/pids"
	wait_workers "$new" "${2:-1}" >/dev/null || return 1
	echo "$new"
}

# Prints what helps understand a failure (bats shows it only then).
ngx_diag() {
	local f
	for f in "$NGX_DIR"/stderr "$NGX_DIR"/error.log "$NGX_DIR"/*.out "$NGX_DIR"/*.err; do
		[ -s "$f" ] && { echo "--- ${f##*/}"; tail -n 30 "$f"; }
	done
	echo "--- ss -Mlnp / -ltnp (suite range)"
	in_ns ss -Hlnp "( sport >= :$PORT_LO and sport <= :$PORT_HI )" -M 2>/dev/null || true
	in_ns ss -Hltnp "( sport >= :$PORT_LO and sport <= :$PORT_HI )" 2>/dev/null || true
	return 0
}
