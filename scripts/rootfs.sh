#!/usr/bin/env bash
# Builds, once, a Debian 12 or 13 root file system with mmdebstrap and
# caches it outside the tree as a zstd tar; prints the tar's path on stdout.
#
#   scripts/rootfs.sh [--check | --dir] [--release bookworm|trixie] KIND
#
# --release: Debian 12 (bookworm, the default) or Debian 13 (trixie).
# KIND:
#   systemd   minbase + systemd as init, dbus, Debian's nginx with its
#             stream and mail modules, iproute2, curl, python3, procps:
#             what tests/bats/systemd.bats boots with systemd-nspawn.
#   pristine  minbase and nothing else: a machine on which nothing was
#             installed yet (scripts/pristine-check.sh).
#   build     minbase + what builds the project (-Werror, the meson suite,
#             the .deb and lintian) and runs nginx.bats, shim.bats and
#             cli.bats against the release's own nginx: the userland of
#             scripts/release-test.sh, entered with chroot.
#
# --check prints the path and exits 0 if the cache is there, 1 if not
# (builds nothing). --dir also unpacks the tar, once, next to it and
# prints that directory instead: boot it only read-only or with
# systemd-nspawn --volatile (tests/bats/nspawn.bash), so that it stays as
# built. The cache is $MPTCPSHIM_CACHE/rootfs (default
# /var/cache/mptcpshim/rootfs), one tar (and directory) per KIND and
# recipe; a build of a changed recipe removes the older ones of that KIND. The packages come
# from the Debian archive the system's own apt sources name; .deb files
# already in /var/cache/apt/archives are used instead of downloading them.
# Run as root (mmdebstrap's root mode). Concurrent calls wait for each
# other (flock); an interrupted build leaves only its lock file.
set -euo pipefail

usage() {
	echo "usage: scripts/rootfs.sh [--check | --dir] [--release bookworm|trixie] systemd|pristine|build" >&2
	exit 2
}

check=0 dir=0 suite=bookworm
while [ "$#" -gt 1 ]; do
	case "$1" in
	--check) check=1 ;;
	--dir) dir=1 ;;
	--release) suite=${2:-} && shift ;;
	*) usage ;;
	esac
	shift
done
[ "$#" -eq 1 ] || usage
kind=$1

case "$suite" in
bookworm) name=debian12 ;;
trixie) name=debian13 ;;
*)
	echo "rootfs: unknown release '$suite' (bookworm or trixie)" >&2
	exit 2
	;;
esac
case "$kind" in
systemd)
	include=systemd,systemd-sysv,dbus,nginx,libnginx-mod-stream,libnginx-mod-mail,iproute2,curl,python3,procps
	;;
pristine)
	include=
	;;
build)
	include=build-essential,meson,ninja-build,pkgconf,libmnl-dev,libcmocka-dev,bats,nginx,libnginx-mod-stream,libnginx-mod-mail,iproute2,procps,psmisc,python3,curl,mount,systemd,debhelper,fakeroot,lintian,jq
	;;
*) usage ;;
esac

cache=${MPTCPSHIM_CACHE:-/var/cache/mptcpshim}/rootfs
# The recipe: what makes two builds differ. Change "r1" when the way the
# tree is made changes (hooks below), so that old caches are rebuilt.
recipe="r1 $suite minbase $include"
key=$(printf '%s' "$recipe" | sha256sum | cut -c1-12)
tar_path=$cache/$name-$kind-$key.tar.zst
dir_path=$cache/$name-$kind-$key.d
# What an interrupted build or unpack leaves: removed on exit.
tmp_tar=
tmp_dir=
cleanup() { rm -rf "$tmp_tar" "$tmp_dir"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

# Prints the result: the tar, or with --dir the directory, unpacked once
# (under the lock, into a temporary name, then renamed).
result() {
	if [ "$dir" = 1 ] && [ ! -d "$dir_path" ]; then
		mkdir -p "$cache"
		exec 9>"$cache/.lock"
		flock 9
		if [ ! -d "$dir_path" ]; then
			tmp_dir=$cache/.unpack-$kind-$$
			rm -rf "$tmp_dir"
			mkdir "$tmp_dir"
			tar --zstd -xpf "$tar_path" -C "$tmp_dir" --xattrs --xattrs-include='*' || {
				echo "rootfs: cannot unpack $tar_path" >&2
				exit 1
			}
			mv "$tmp_dir" "$dir_path"
			tmp_dir=
		fi
	fi
	if [ "$dir" = 1 ]; then echo "$dir_path"; else echo "$tar_path"; fi
	exit 0
}

if [ "$check" = 1 ]; then
	echo "$tar_path"
	[ -s "$tar_path" ]
	exit
fi
[ -s "$tar_path" ] && result

if [ "$(id -u)" -ne 0 ]; then
	echo "rootfs: building $tar_path needs root (mmdebstrap)" >&2
	exit 1
fi
for tool in mmdebstrap zstd flock; do
	command -v "$tool" >/dev/null || {
		echo "rootfs: $tool missing: run scripts/install-deps.sh" >&2
		exit 1
	}
done

mkdir -p "$cache"
exec 9>"$cache/.lock"
flock 9
# Another call may have built it while this one waited.
if [ -s "$tar_path" ]; then
	flock -u 9
	result
fi

# The archives of the system's own apt sources for this suite (and its
# -updates and -security), so the root file system gets what this
# machine's apt would install; for another release, the same archives
# with the host's release name replaced (Debian's archive has them all);
# mmdebstrap's default otherwise.
host_suite=$(. /etc/os-release 2>/dev/null && echo "${VERSION_CODENAME:-}")
mirrors=()
while read -r uri release; do
	[ -n "$uri" ] && mirrors+=("deb $uri $release main")
done < <(apt-get indextargets --format '$(REPO_URI) $(RELEASE)' 'Identifier: Packages' 2>/dev/null |
	awk -v s="$suite" -v h="${host_suite:-$suite}" '
		$2 == h || $2 == h "-updates" || $2 == h "-security" { sub("^" h, s, $2); print }' | sort -u)

tmp_tar=$cache/.build-$kind-$$.tar.zst

echo "rootfs: building $tar_path (mmdebstrap, $suite, minbase${include:+ + $include})" >&2
start=$(date +%s)
# The .deb files this build downloads are kept (hard links) in $debs, so
# that a later build of this release, also into an empty $MPTCPSHIM_CACHE,
# downloads nothing again: $MPTCPSHIM_APT_CACHE (.ci/run sets it) or
# $MPTCPSHIM_CACHE/apt, one directory per release.
debs=${MPTCPSHIM_APT_CACHE:-${MPTCPSHIM_CACHE:-/var/cache/mptcpshim}/apt}/$suite
mkdir -p "$debs"
export MPTCPSHIM_ROOTFS_DEBS=$debs
hooks=(
	# The host's downloaded packages and those of earlier builds, as
	# hard links (no copy; removed from the tree by mmdebstrap's
	# cleanup, the cached files stay). apt uses a file only if it is
	# the version it wants (the name says it, the index's hash checks it).
	--setup-hook='mkdir -p "$1/var/cache/apt/archives" &&
		find /var/cache/apt/archives "$MPTCPSHIM_ROOTFS_DEBS" -maxdepth 1 -name "*.deb" \
			-exec ln -f -t "$1/var/cache/apt/archives/" {} + 2>/dev/null || true'
	# What was downloaded (one link): into $debs, before the cleanup.
	--skip=essential/unlink
	--customize-hook='find "$1/var/cache/apt/archives" -maxdepth 1 -name "*.deb" -links 1 \
		-exec cp -l -n -t "$MPTCPSHIM_ROOTFS_DEBS/" {} + 2>/dev/null ||
		find "$1/var/cache/apt/archives" -maxdepth 1 -name "*.deb" -links 1 \
		-exec cp -n -t "$MPTCPSHIM_ROOTFS_DEBS/" {} +'
)
if [ "$kind" = systemd ]; then
	hooks+=(
		# A container: no getty, no waiting for a network that does not
		# come (the tests run with --private-network).
		--customize-hook='chroot "$1" systemctl mask console-getty.service getty@.service systemd-networkd-wait-online.service >/dev/null 2>&1 || true'
		--customize-hook='echo mptcpshim-test >"$1/etc/hostname"'
	)
fi
# mmdebstrap with no fd above 2 but the lock's (9): under a caller that
# holds several (bats holds 3-7), its status pipe got fd 10, which the
# dash of its hooks cannot name ("Bad fd number"; issue 21).
for fd in "/proc/$$/fd/"*; do
	fd=${fd##*/}
	[ "$fd" -gt 2 ] && [ "$fd" -ne 9 ] && [ "$fd" -ne 255 ] && eval "exec $fd>&-"
done
mmdebstrap --variant=minbase ${include:+--include="$include"} \
	--format=tar "${hooks[@]}" \
	"$suite" "$tmp_tar" "${mirrors[@]}" >&2 9>&- || {
	echo "rootfs: mmdebstrap failed (above); build it again with: scripts/rootfs.sh --release $suite $kind" >&2
	exit 1
}
mv "$tmp_tar" "$tar_path"
# Older recipes of the same kind are of no use any more.
find "$cache" -maxdepth 1 -name "$name-$kind-*" ! -name "${tar_path##*/}" \
	! -name "${dir_path##*/}" -exec rm -rf {} +
echo "rootfs: built $tar_path in $(($(date +%s) - start)) s, $(du -m "$tar_path" | cut -f1) MB" >&2
flock -u 9
result
