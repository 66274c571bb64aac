#!/usr/bin/env bash
# Builds nginx 1.30.4 (a current stable nginx, with native `listen ...
# multipath`) from the vendored source, once, and caches it outside the
# tree; prints the path of the nginx binary on stdout.
#
#   scripts/nginx-build.sh [--check]
#
# The source is nginx-1.30.4.tar.gz (the nginx repository at tag
# release-1.30.4: `auto/configure` at its top), looked for in
# $MPTCPSHIM_NGINX_SRC, else in shared/vendor/ beside the clone or one
# level further up, and checked against its SHA256SUMS. The build has
# http, stream and mail (static, no load_module needed) with ssl, and is
# cached in $MPTCPSHIM_CACHE/nginx (default /var/cache/mptcpshim/nginx),
# keyed by the source's digest and the configure options. --check prints
# the path and exits 0 if the build is cached, 1 if not. Concurrent calls
# wait for each other; an interrupted build leaves nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD

version=1.30.4
check=0
case "${1:-}" in
--check) check=1 ;;
"") ;;
*)
	echo "usage: scripts/nginx-build.sh [--check]" >&2
	exit 2
	;;
esac

src=${MPTCPSHIM_NGINX_SRC:-}
if [ -z "$src" ]; then
	# beside the clone, or the workplace's read-only share (a CI clone may
	# sit anywhere)
	for d in "$top/../shared/vendor" "$top/../../shared/vendor" /work/shared/vendor; do
		[ -f "$d/nginx-$version.tar.gz" ] && src=$d/nginx-$version.tar.gz && break
	done
fi
if [ -z "$src" ] || [ ! -f "$src" ]; then
	echo "nginx-build: nginx-$version.tar.gz not found (shared/vendor/ beside the clone, /work/shared/vendor, or set MPTCPSHIM_NGINX_SRC)" >&2
	exit 1
fi
sums=$(dirname "$src")/SHA256SUMS
digest=$(sha256sum "$src" | cut -d' ' -f1)
if [ -f "$sums" ] && ! grep -q "^$digest  nginx-$version.tar.gz\$" "$sums"; then
	echo "nginx-build: $src does not match $sums" >&2
	exit 1
fi

# Static modules: a test configuration needs no load_module lines (Debian's
# dynamic modules are built for its own 1.22 and cannot be loaded). The
# log written before the configuration's error_log is read goes to stderr
# (not to PREFIX/logs/error.log, which a test's -p DIR has not).
options=(--error-log-path=stderr --with-http_ssl_module --with-stream --with-stream_ssl_module
	--with-mail --with-mail_ssl_module --with-threads)
cache=${MPTCPSHIM_CACHE:-/var/cache/mptcpshim}/nginx
key=$(printf '%s %s' "$digest" "${options[*]}" | sha256sum | cut -c1-12)
dest=$cache/nginx-$version-$key
bin=$dest/sbin/nginx

if [ "$check" = 1 ]; then
	echo "$bin"
	[ -x "$bin" ]
	exit
fi
if [ -x "$bin" ]; then
	echo "$bin"
	exit 0
fi

for c in cc make flock; do
	command -v "$c" >/dev/null || {
		echo "nginx-build: $c missing: run scripts/install-deps.sh" >&2
		exit 1
	}
done
mkdir -p "$cache"
exec 9>"$cache/.lock"
flock 9
if [ -x "$bin" ]; then
	echo "$bin"
	exit 0
fi

work=$(mktemp -d "$cache/.build.XXXXXX")
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT TERM
start=$(date +%s)
echo "nginx-build: building nginx $version into $dest" >&2
tar -xzf "$src" -C "$work"
(
	cd "$work/nginx-$version"
	# The prefix is where the binary is cached; tests run it with -p DIR
	# and their own paths.
	auto/configure --prefix="$dest" "${options[@]}" >"$work/configure.log" 2>&1 || {
		tail -n 30 "$work/configure.log" >&2
		exit 1
	}
	make -j"$(nproc)" >"$work/make.log" 2>&1 || {
		tail -n 30 "$work/make.log" >&2
		exit 1
	}
	# Into a temporary prefix, then renamed: a cached build is whole.
	make install DESTDIR="$work/stage" >"$work/install.log" 2>&1 || {
		tail -n 30 "$work/install.log" >&2
		exit 1
	}
)
mv "$work/stage$dest" "$dest"
# Older builds (another source or other options) are of no use any more.
find "$cache" -maxdepth 1 -name 'nginx-*' ! -name "${dest##*/}" -exec rm -rf {} +
echo "nginx-build: built $("$bin" -v 2>&1 | sed 's/^nginx version: //') in $(($(date +%s) - start)) s" >&2
echo "$bin"
