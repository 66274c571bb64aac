#!/usr/bin/env bash
# The README's first command: installs what it needs, builds the library,
# starts Debian's nginx under the shim on loopback with one listed and one
# unlisted port, connects to both with an MPTCP client and shows, from the
# kernel, which listener and which connection use MPTCP.
# Run as root on Debian 12. Leaves nothing running.
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD

if [ "$(id -u)" -ne 0 ]; then
	echo "demo: run as root (it installs packages and starts nginx)" >&2
	exit 1
fi
if [ "$(sysctl -n net.mptcp.enabled 2>/dev/null)" != 1 ]; then
	echo "demo: this kernel has MPTCP disabled or missing (net.mptcp.enabled); nothing to show" >&2
	exit 1
fi
scripts/install-deps.sh

echo "== building"
[ -d build ] || meson setup build >/dev/null
ninja -C build >/dev/null
shim=$top/build/libmptcpshim.so
probe=$top/build/tests/shimprobe

free_port() { # a loopback TCP port nobody uses, from $1 up
	local p=$1
	while [ -n "$(ss -Hant "sport = :$p")" ]; do p=$((p + 1)); done
	echo "$p"
}
listed=$(free_port 8443)
unlisted=$(free_port $((listed + 1)))

dir=$(mktemp -d)
cleanup() {
	if [ -s "$dir/nginx.pid" ]; then
		kill -QUIT "$(cat "$dir/nginx.pid")" 2>/dev/null || true
		sleep 0.3
	fi
	rm -rf "$dir"
}
trap cleanup EXIT INT TERM

mkdir -p "$dir/logs"
cat >"$dir/nginx.conf" <<EOF
pid $dir/nginx.pid;
error_log $dir/logs/error.log;
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

echo "== starting nginx with MPTCPSHIM_PORTS=$listed"
echo "   LD_PRELOAD=$shim MPTCPSHIM_PORTS=$listed nginx -p $dir -c $dir/nginx.conf"
env LD_PRELOAD="$shim" MPTCPSHIM_CONFIG=/dev/null MPTCPSHIM_PORTS="$listed" \
	nginx -p "$dir" -c "$dir/nginx.conf"
for _ in $(seq 50); do
	[ -n "$(ss -Hltn "sport = :$unlisted")" ] && [ -n "$(ss -Hltn "sport = :$listed")" ] && break
	sleep 0.1
done

echo
echo "== the kernel's MPTCP listeners (ss -Mln): only port $listed"
ss -Mln "( sport = :$listed or sport = :$unlisted )"
echo
for port in "$listed" "$unlisted"; do
	echo "== an MPTCP client to 127.0.0.1:$port (TCP_IS_MPTCP read from the client socket)"
	"$probe" connect --mptcp --send $'GET / HTTP/1.0\r\n\r\n' --read 127.0.0.1 "$port" |
		sed -e 's/^proto=262 is_mptcp=1$/  is_mptcp=1: this connection uses MPTCP/' \
			-e 's/^proto=262 is_mptcp=0$/  is_mptcp=0: the server is plain TCP, the connection fell back to TCP/' \
			-e 's/^reply=/  nginx answered: /'
done
echo
echo "== an MPTCP connection held open, as the server's kernel lists it (ss -Mn)"
python3 - "$listed" <<'EOF'
import socket, subprocess, sys
port = int(sys.argv[1])
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_MPTCP)
s.settimeout(5)
s.connect(("127.0.0.1", port))
s.sendall(b"GET / HTTP/1.1\r\nHost: demo\r\n\r\n")
s.recv(4096)
print(subprocess.run(["ss", "-Mn", "state", "established",
                      f"( sport = :{port} or dport = :{port} )"],
                     capture_output=True, text=True).stdout, end="")
s.close()
EOF
echo
echo "== what the shim logged"
grep mptcpshim "$dir/logs/error.log" || echo "(conversions are logged on nginx's stderr at startup, shown above)"
