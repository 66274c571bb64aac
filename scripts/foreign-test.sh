#!/usr/bin/env bash
# Runs the meson suite and tests/bats/nginx.bats on other architectures
# (Debian 13 arm64 and armhf), in a root file system of that architecture
# under qemu-user, against that architecture's own Debian nginx.
#
#   scripts/foreign-test.sh [--tree-only] [--suites LIST] [ARCH...]
#
# ARCH: arm64, armhf (default: both). For each one it
#  - registers the qemu-user interpreter with binfmt_misc (mounted if it is
#    not: there is no systemd here to do it), from qemu-user-static;
#  - builds, once, a trixie tree of that architecture with mmdebstrap
#    (gcc, meson, cmocka, bats, nginx with its stream and mail modules,
#    iproute2, python3) and keeps it in $MPTCPSHIM_CACHE/foreign
#    (default /var/cache/mptcpshim/foreign);
#  - copies the project's files into an overlay of that tree (the cached
#    tree stays as built), builds the project there with the
#    architecture's own gcc and glibc headers (emulated: one build,
#    warnings as errors, no sanitizers), and runs the suites in a chroot,
#    in a mount namespace of its own that ends with the run.
# Building inside the tree rather than cross-compiling on the host: the
# library is built by the compiler, headers and glibc (2.41, 64-bit
# time_t on armhf) that a Debian 13 user of that architecture has, the
# tests link against the tree's cmocka, and nothing of the host's
# (Debian 12) toolchain is involved.
#
# --tree-only builds (or finds) the trees and stops. --suites: `meson`
# and/or `nginx` (default: both). The meson suite runs without its
# difftest suite: time-bounded random runs, which under emulation would
# try far fewer sequences in the same minutes (the host runs them).
#
# Prints one line per stage and per architecture:
#   foreign-test ARCH STAGE: N passed, N failed, N skipped (T s)
#   foreign-test ARCH: N passed, N failed, N skipped (T s)
# and the total last: foreign-test: N passed, N failed, N skipped.
# Exit status: 0 all passed; 1 a test failed or a tree could not be had;
# 2 usage. Run as root.
# (One block, read whole before it runs: editing the file meanwhile is safe.)
{
set -euo pipefail
cd "$(dirname "$0")/.."

cache=${MPTCPSHIM_CACHE:-/var/cache/mptcpshim}/foreign
suite=trixie
suites="meson nginx"
tree_only=0
arches=()

fail() { # STATUS MESSAGE...: 1 a failure, 2 usage
	local st=$1
	shift
	echo "foreign-test: $*" >&2
	exit "$st"
}
die() { fail 1 "$@"; }
usage() { fail 2 "usage: scripts/foreign-test.sh [--tree-only] [--suites LIST] [ARCH...]"; }

while [ "$#" -gt 0 ]; do
	case "$1" in
	--tree-only) tree_only=1 ;;
	--suites)
		[ "$#" -ge 2 ] || usage
		suites=${2//,/ } && shift
		;;
	-*) usage ;; # -h, --help too
	*) arches+=("$1") ;;
	esac
	shift
done
[ "${#arches[@]}" -gt 0 ] || arches=(arm64 armhf)
for a in "${arches[@]}"; do
	case "$a" in arm64 | armhf) ;; *) fail 2 "unknown architecture '$a' (arm64 or armhf)" ;; esac
done
for s in $suites; do
	case "$s" in meson | nginx) ;; *) fail 2 "unknown suite '$s' (meson or nginx)" ;; esac
done
[ "$(id -u)" -eq 0 ] || die "needs root (mmdebstrap, chroot, mounts)"

for tool in mmdebstrap arch-test qemu-arm-static qemu-aarch64-static; do
	command -v "$tool" >/dev/null && continue
	scripts/install-deps.sh >&2 || die "scripts/install-deps.sh failed"
	break
done

# What the tree has: a compiler and the project's build and test
# dependencies, nginx as Debian ships it, what nginx.bats drives.
include=gcc,libc6-dev,meson,ninja-build,pkgconf,libcmocka-dev,libmnl-dev,binutils,mount,bats,nginx,libnginx-mod-stream,libnginx-mod-mail,iproute2,procps,psmisc,python3,curl
# The recipe: what makes two builds differ ("r1": the way it is made).
recipe_of() { echo "r1 $suite $1 minbase $include"; }

qemu_name() { # Debian architecture -> qemu's name
	case "$1" in
	arm64) echo aarch64 ;;
	armhf) echo arm ;;
	esac
}

# binfmt_misc: mounted here if it is not, the interpreter registered from
# the package's own description (/usr/lib/binfmt.d), with the F flag so
# that it works inside a chroot. Entries already there are left alone.
binfmt_register() {
	local q conf
	q=$(qemu_name "$1")
	[ -e /proc/sys/fs/binfmt_misc/register ] ||
		mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc ||
		die "cannot mount binfmt_misc on /proc/sys/fs/binfmt_misc"
	[ -e "/proc/sys/fs/binfmt_misc/qemu-$q" ] && return 0
	conf=/usr/lib/binfmt.d/qemu-$q.conf
	[ -r "$conf" ] || die "$conf missing (qemu-user-static)"
	case "$(cat "$conf")" in
	*:*F*) ;;
	*) die "$conf has no F flag: the interpreter would not be found in a chroot" ;;
	esac
	cat "$conf" >/proc/sys/fs/binfmt_misc/register 2>/dev/null ||
		[ -e "/proc/sys/fs/binfmt_misc/qemu-$q" ] ||
		die "cannot register qemu-$q with binfmt_misc"
}

# The archive the system's own apt sources name for Debian 12, with
# trixie instead (and trixie-security from the security archive).
mirrors() {
	apt-get indextargets --format '$(REPO_URI) $(RELEASE)' 'Identifier: Packages' 2>/dev/null |
		awk '$2 == "bookworm" { print "deb " $1 " trixie main" }
		     $2 == "bookworm-updates" { print "deb " $1 " trixie-updates main" }
		     $2 == "bookworm-security" { print "deb " $1 " trixie-security main" }' |
		sort -u
}

# Prints the cached tree of architecture $1, building it first if needed.
tree_of() {
	local arch=$1 key dir tmp start m=()
	key=$(recipe_of "$arch" | sha256sum | cut -c1-12)
	dir=$cache/debian13-$arch-$key
	if [ -d "$dir" ]; then
		echo "$dir"
		return 0
	fi
	mkdir -p "$cache"
	exec 8>"$cache/.lock-$arch"
	flock 8
	if [ ! -d "$dir" ]; then
		while read -r line; do m+=("$line"); done < <(mirrors)
		tmp=$cache/.build-$arch-$$
		rm -rf "$tmp"
		echo "foreign-test: building $dir (mmdebstrap, $suite, $arch, under qemu-user)" >&2
		start=$(date +%s)
		if ! nice mmdebstrap --variant=minbase --arch="$arch" --include="$include" \
			--dpkgopt='path-exclude=/usr/share/man/*' \
			--dpkgopt='path-exclude=/usr/share/doc/*' \
			--dpkgopt='path-include=/usr/share/doc/*/copyright' \
			--dpkgopt='path-exclude=/usr/share/locale/*' \
			--dpkgopt='path-exclude=/usr/share/info/*' \
			"$suite" "$tmp" "${m[@]}" >&2; then
			rm -rf "$tmp"
			flock -u 8
			die "mmdebstrap failed for $arch (above)"
		fi
		mv "$tmp" "$dir"
		# older recipes of this architecture are of no use any more
		find "$cache" -maxdepth 1 -name "debian13-$arch-*" ! -name "${dir##*/}" -exec rm -rf {} +
		echo "foreign-test: built $dir in $(($(date +%s) - start)) s, $(du -sm "$dir" | cut -f1) MB" >&2
	fi
	flock -u 8
	echo "$dir"
}

# What runs inside the tree, in a chroot: /src holds the project's files.
# Arguments: the suites. Writes /src/stage-STAGE.{status,time} and the
# suites' own results (meson's testlog.json, bats' TAP).
# shellcheck disable=SC2016 # expanded inside the chroot
inner='
set -u
cd /src
stage() { # NAME COMMAND...
	local t0=$(date +%s) rc=0
	"${@:2}" || rc=$?
	echo "$rc" >"/src/stage-$1.status"
	echo $(($(date +%s) - t0)) >"/src/stage-$1.time"
	return "$rc"
}
# Only what the suites need: the tests of the meson suite but difftest
# (below), and what nginx.bats runs; not the command, its man pages, the
# benchmarks (about half the compiling, at 10x the cost here).
targets() {
	meson introspect build --targets --tests | python3 -c "
import json, os, sys
d = json.load(sys.stdin)
b = os.path.realpath(sys.argv[1])
ids = {t[\"id\"]: t[\"filename\"] for t in d[\"targets\"]}
out = set()
for t in d[\"tests\"]:
    if any(s.endswith(\":difftest\") for s in t[\"suite\"]):
        continue
    for i in t[\"depends\"]:
        out.update(ids.get(i, []))
    out.update(a for a in t[\"cmd\"] if a.startswith(b + \"/\"))
print(\"\\n\".join(sorted(os.path.relpath(f, b) for f in out)))
" build
}
build() {
	meson setup build -Dwerror=true >/dev/null &&
		ninja -C build $(targets) tests/shimprobe tests/optprobe
}
stage build build || exit 0
for s in "$@"; do
	case "$s" in
	meson) stage meson meson test -C build --no-rebuild --print-errorlogs --no-suite difftest | tee /src/meson.out ;;
	nginx) MPTCPSHIM_BUILD=/src/build stage nginx bats --tap tests/bats/nginx.bats | tee /src/nginx.tap ;;
	esac
done
exit 0
'

# Runs the suites on architecture $1 in an overlay of its tree (in a
# mount and network namespace of their own: nothing stays mounted, and
# the tests' ports and network namespaces are private to the run).
run_arch() {
	local arch=$1 tree=$2 w rc=0
	w=$(mktemp -d "${TMPDIR:-/var/tmp}/foreign-$arch.XXXXXX")
	work_dirs+=("$w")
	mkdir "$w/upper" "$w/work" "$w/root"
	mkdir -p "$w/upper/src"
	# the project's files (tracked and new ones), no build directories
	git ls-files -co --exclude-standard -z | tar -c --null -T - -f - |
		tar -x -f - -C "$w/upper/src"
	unshare --mount --net --propagation private -- bash -euc '
		w=$1 tree=$2 inner=$3
		shift 3
		ip link set lo up
		mount -t overlay overlay -o "lowerdir=$tree,upperdir=$w/upper,workdir=$w/work" "$w/root"
		mount -t proc proc "$w/root/proc"
		mount -t sysfs sysfs "$w/root/sys"
		mount --rbind /dev "$w/root/dev"
		mount -t tmpfs tmpfs "$w/root/tmp"
		mount -t tmpfs tmpfs "$w/root/run"
		exec chroot "$w/root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin 			HOME=/root LANG=C.UTF-8 TERM=dumb /bin/bash -c "$inner" inner "$@"
	' run "$w" "$tree" "$inner" $suites || rc=$?
	[ "$rc" -eq 0 ] || echo "foreign-test: $arch: the run in the tree ended with status $rc" >&2
	RESULT_DIR=$w/upper/src
}

# Counts of one stage: sets p f s.
count_stage() { # DIR STAGE
	local dir=$1 st=$2
	p=0 f=0 s=0
	case "$st" in
	build)
		if [ "$(cat "$dir/stage-build.status" 2>/dev/null)" = 0 ]; then p=1; else f=1; fi
		;;
	meson)
		# meson's own summary: "Ok: N", "Expected Fail: N", "Fail: N"...
		read -r p f s < <(awk -F: '/^(Ok|Expected Fail):/ { p += $2 }
			/^(Fail|Unexpected Pass|Timeout):/ { f += $2 } /^Skipped:/ { s += $2 }
			END { print p + 0, f + 0, s + 0 }' "$dir/meson.out" 2>/dev/null)
		[ "$p$f$s" != 000 ] || f=1
		;;
	nginx)
		[ -f "$dir/nginx.tap" ] || { f=1 && return 0; }
		s=$(grep -c '^ok .*# skip' "$dir/nginx.tap" || true)
		p=$(($(grep -c '^ok ' "$dir/nginx.tap" || true) - s))
		f=$(grep -c '^not ok' "$dir/nginx.tap" || true)
		# a suite that stopped before its plan's end failed
		local plan
		plan=$(sed -n 's/^1\.\.\([0-9]*\)$/\1/p' "$dir/nginx.tap" | head -1)
		[ -n "$plan" ] && [ $((p + f + s)) -eq "$plan" ] || f=$((f + 1))
		;;
	esac
}

work_dirs=()
cleanup() { [ "${#work_dirs[@]}" -eq 0 ] || rm -rf "${work_dirs[@]}"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

total_p=0 total_f=0 total_s=0 status=0
for a in "${arches[@]}"; do
	binfmt_register "$a"
	t0=$(date +%s)
	if ! t=$(tree_of "$a"); then
		echo "foreign-test $a tree: 0 passed, 1 failed, 0 skipped ($(($(date +%s) - t0)) s)"
		total_f=$((total_f + 1)) status=1
		continue
	fi
	echo "foreign-test $a tree: 1 passed, 0 failed, 0 skipped ($(($(date +%s) - t0)) s)"
	[ "$tree_only" = 1 ] && continue
	run_arch "$a" "$t"
	ap=0 af=0 as=0
	for st in build $suites; do
		count_stage "$RESULT_DIR" "$st" # after a failed build: 1 failed
		echo "foreign-test $a $st: $p passed, $f failed, $s skipped ($(cat "$RESULT_DIR/stage-$st.time" 2>/dev/null || echo 0) s)"
		ap=$((ap + p)) af=$((af + f)) as=$((as + s))
	done
	echo "foreign-test $a: $ap passed, $af failed, $as skipped ($(($(date +%s) - t0)) s)"
	total_p=$((total_p + ap + 1)) total_f=$((total_f + af)) total_s=$((total_s + as))
	[ "$af" -eq 0 ] || status=1
	rm -rf "${RESULT_DIR%/upper/src}"
done
echo "foreign-test: $total_p passed, $total_f failed, $total_s skipped"
exit "$status"
}
