#!/usr/bin/env bash
# The README's first command. On Debian 12, as root: installs only what
# the demo needs (scripts/install-deps.sh --demo), builds the library and
# the mptcpshim command (nothing else), starts Debian's nginx with
# `mptcpshim run` on loopback with one listed and one unlisted port, and
# shows from the kernel which listener and which connection use MPTCP:
# ss -M, an MPTCP client's own socket (MPTCP_INFO), `mptcpshim status`.
# Uses no test tool. Leaves nothing running: nginx is stopped and its
# temporary directory removed on exit, also on failure and Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD

if [ "$(id -u)" -ne 0 ]; then
	echo "demo: run as root (it installs packages and starts nginx)" >&2
	exit 1
fi
if [ "$(cat /proc/sys/net/mptcp/enabled 2>/dev/null)" != 1 ]; then
	echo "demo: this kernel has MPTCP disabled or missing (net.mptcp.enabled); nothing to show" >&2
	exit 1
fi
scripts/install-deps.sh --demo

echo "== building the library and the command (build/)"
[ -f build/build.ninja ] || meson setup build >/dev/null
meson compile -C build mptcpshim:shared_library cli/mptcpshim:executable >/dev/null
# The library of this build, even if another one is installed.
export MPTCPSHIM_LIBRARY=$top/build/libmptcpshim.so
mptcpshim=$top/build/cli/mptcpshim

free_port() { # a TCP port nobody uses, from $1 up
	local p=$1
	while [ -n "$(ss -Hant "sport = :$p")" ]; do p=$((p + 1)); done
	echo "$p"
}
listed=$(free_port 8443)
unlisted=$(free_port $((listed + 1)))

dir=$(mktemp -d)
cleanup() {
	local pid _
	if [ -s "$dir/nginx.pid" ]; then
		pid=$(cat "$dir/nginx.pid")
		kill -QUIT "$pid" 2>/dev/null || true
		for _ in $(seq 50); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$pid" 2>/dev/null || true
	fi
	rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

cat >"$dir/nginx.conf" <<EOF
pid $dir/nginx.pid;
error_log $dir/error.log;
worker_processes 1;
events { worker_connections 64; }
http {
    access_log off;
    client_body_temp_path $dir; proxy_temp_path $dir;
    fastcgi_temp_path $dir; uwsgi_temp_path $dir; scgi_temp_path $dir;
    server {
        listen 127.0.0.1:$listed;
        location / { return 200 "hello from the listed port $listed\n"; }
    }
    server {
        listen 127.0.0.1:$unlisted;
        location / { return 200 "hello from the unlisted port $unlisted\n"; }
    }
}
EOF

echo "== starting Debian's nginx with the library, port $listed listed"
echo "   mptcpshim run --ports $listed -- nginx -p $dir -c $dir/nginx.conf"
"$mptcpshim" run --ports "$listed" --config /dev/null -- \
	nginx -p "$dir" -c "$dir/nginx.conf"
for _ in $(seq 50); do
	[ -n "$(ss -Hltn "sport = :$listed")" ] && [ -n "$(ss -Hltn "sport = :$unlisted")" ] && break
	sleep 0.1
done
if [ ! -s "$dir/nginx.pid" ] || [ -z "$(ss -Hltn "sport = :$unlisted")" ]; then
	echo "demo: nginx did not start; its error log:" >&2
	cat "$dir/error.log" >&2 || true
	exit 1
fi

echo
echo "== the kernel's MPTCP listeners (ss -Mln): only port $listed"
ss -Mln "( sport = :$listed or sport = :$unlisted )"

# An MPTCP client (IPPROTO_MPTCP) to each port. Its own socket says what
# the kernel made of the connection: MPTCP_INFO succeeds, without the
# fallback flag, only on a connection that is MPTCP end to end. While the
# connection to the listed port is open, the server's side is shown by
# ss -M and by mptcpshim status.
echo
python3 - "$listed" "$unlisted" "$mptcpshim" "$(cat "$dir/nginx.pid")" <<'EOF'
import errno, socket, struct, subprocess, sys

listed, unlisted, mptcpshim, master = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
SOL_MPTCP, MPTCP_INFO, FALLBACK = 284, 1, 1


def mptcp_in_kernel(s):
    try:
        info = s.getsockopt(SOL_MPTCP, MPTCP_INFO, 64)
    except OSError as e:
        if e.errno in (errno.ENOPROTOOPT, errno.EOPNOTSUPP):
            return False  # plain TCP, or fell back to it
        raise
    return not struct.unpack_from("=I", info, 8)[0] & FALLBACK


def request(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_MPTCP)
    s.settimeout(5)
    s.connect(("127.0.0.1", port))
    s.sendall(b"GET / HTTP/1.1\r\nHost: demo\r\n\r\n")
    reply = s.recv(4096).decode(errors="replace")
    print("== an MPTCP client to 127.0.0.1:%d" % port)
    print("   nginx answered: " + reply.rsplit("\r\n", 1)[-1].strip())
    if mptcp_in_kernel(s):
        print("   the client's kernel (MPTCP_INFO): this connection uses MPTCP")
    else:
        print("   the client's kernel (MPTCP_INFO): plain TCP - the listener is TCP, so MPTCP fell back")
    return s


held = request(listed)
request(unlisted).close()
sel = "( sport = :%d or sport = :%d )" % (listed, unlisted)
print("\n== the server's MPTCP connections (ss -Mn state established)")
print(subprocess.run(["ss", "-Mn", "state", "established", sel],
                     capture_output=True, text=True).stdout, end="")
print("\n== mptcpshim status %s: nginx's sockets as the kernel reports them" % master)
sys.stdout.flush()
subprocess.run([mptcpshim, "status", master])
held.close()
EOF
