#!/usr/bin/env bash
# The project on another Debian release's userland: builds it with
# warnings as errors and runs the meson suite, nginx.bats, shim.bats,
# cli.bats and package.bats (the .deb built there, lintian, dpkg -i) in
# that release's root file system (scripts/rootfs.sh --release R build),
# against the release's own nginx, gcc, glibc and systemd tools, on this
# machine's kernel. Debian 13 (trixie): nginx 1.26.3, gcc 14, glibc 2.41,
# systemd 257.
#
#   scripts/release-test.sh [--deb-out DIR] trixie|bookworm
#
# The cached tree is entered with chroot through an overlay in a private
# mount namespace: it stays as built, and every mount goes with the
# namespace. The tree under test is copied in (tracked files and new ones
# git does not ignore). --deb-out copies the .deb built there to DIR (for
# tests/bats/systemd.bats on a booted container of that release, through
# MPTCPSHIM_DEB). Prints "release-test: R: P passed, F failed, S skipped
# in T s" last; exit 0 if nothing failed. Needs root.
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD

usage() {
	echo "usage: scripts/release-test.sh [--deb-out DIR] trixie|bookworm" >&2
	exit 2
}
deb_out=
while [ "$#" -gt 1 ]; do
	case "$1" in
	--deb-out) deb_out=${2:-} && shift 2 ;;
	*) usage ;;
	esac
done
[ "$#" -eq 1 ] || usage
release=$1
case "$release" in bookworm | trixie) ;; *) usage ;; esac
[ "$(id -u)" -eq 0 ] || {
	echo "release-test: needs root (chroot, mounts)" >&2
	exit 1
}

start=$(date +%s)
tree=$(scripts/rootfs.sh --dir --release "$release" build)
work=$(mktemp -d /var/tmp/mptcpshim-release.XXXXXX)
chmod 755 "$work"
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT TERM
mkdir -p "$work/upper/src" "$work/ow" "$work/root"
# shellcheck source=tests/bats/deb.bash
TOP=$top . tests/bats/deb.bash
TOP=$top copy_tree "$work/upper/src"

# Run inside the tree: the build, the suites; results stay in the
# overlay's upper directory, read from here afterwards.
# shellcheck disable=SC2016 # expanded inside the tree
inside='
	cd /src
	meson setup /build -Dwerror=true >/build.log 2>&1 && ninja -C /build >>/build.log 2>&1 || {
		tail -n 40 /build.log
		echo "release-test: the build failed"
		exit 3
	}
	echo "== meson suite"
	meson test -C /build --print-errorlogs
	echo "== nginx.bats, shim.bats, cli.bats, package.bats (nginx $(nginx -v 2>&1 | sed "s|.*/||"))"
	MPTCPSHIM_BUILD=/build MPTCPSHIM_DEB_DIR=/debs bats --tap tests/bats/nginx.bats \
		tests/bats/shim.bats tests/bats/cli.bats tests/bats/package.bats >/tap
	cat /tap
	exit 0
'
echo "== $release ($tree): build with -Werror, meson suite, bats suites"
rc=0
# shellcheck disable=SC2016 # expanded by the inner bash
unshare --mount --propagation private -- bash -c '
	set -e
	tree=$1 work=$2 r=$2/root
	mount -t overlay overlay -o "lowerdir=$tree,upperdir=$work/upper,workdir=$work/ow" "$r"
	mount --rbind /proc "$r/proc"
	mount --rbind /sys "$r/sys"
	mount --rbind /dev "$r/dev"
	mount -t tmpfs tmpfs "$r/run"
	exec chroot "$r" env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
		HOME=/root LANG=C.UTF-8 TERM=dumb bash -c "$3"
' release-test "$tree" "$work" "$inside" </dev/null || rc=$?

passed=0 failed=0 skipped=0
if [ -f "$work/upper/build/meson-logs/testlog.json" ]; then
	# as scripts/test.sh counts: EXPECTEDFAIL (should_fail) is a pass
	read -r p f s < <(python3 -c 'import json,sys
r=[json.loads(l)["result"] for l in open(sys.argv[1])]
ok=r.count("OK")+r.count("EXPECTEDFAIL")
print(ok, len(r)-ok-r.count("SKIP"), r.count("SKIP"))' \
		"$work/upper/build/meson-logs/testlog.json")
	passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
else
	failed=$((failed + 1))
fi
if [ -f "$work/upper/tap" ]; then
	tap=$work/upper/tap
	count() { grep -c "$1" "$tap" || true; }
	passed=$((passed + $(count '^ok ') - $(count '^ok .*# skip')))
	skipped=$((skipped + $(count '^ok .*# skip')))
	failed=$((failed + $(count '^not ok')))
	# a suite that stopped before its plan's end
	plan=$(sed -n 's/^1\.\.\([0-9]*\)$/\1/p' "$tap")
	[ "$(grep -c '^\(not \)\?ok ' "$tap")" = "${plan:-x}" ] || failed=$((failed + 1))
else
	failed=$((failed + 1))
fi
[ "$rc" -eq 0 ] || failed=$((failed + 1))
if [ -n "$deb_out" ]; then
	deb=$(find "$work/upper/debs" -mindepth 2 -maxdepth 2 -name 'mptcpshim_*.deb' 2>/dev/null | head -n1)
	if [ -n "$deb" ]; then
		mkdir -p "$deb_out"
		cp "$deb" "$deb_out/"
		echo "release-test: $(basename "$deb") built on $release, copied to $deb_out"
	else
		echo "release-test: no .deb was built on $release" >&2
		failed=$((failed + 1))
	fi
fi
echo "release-test: $release: $passed passed, $failed failed, $skipped skipped in $(($(date +%s) - start)) s"
[ "$failed" -eq 0 ]
