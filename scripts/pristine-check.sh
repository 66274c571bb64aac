#!/usr/bin/env bash
# Does scripts/install-deps.sh alone make a new Debian 12 or 13 machine
# able to run the README's two commands?
#
#   scripts/pristine-check.sh [bookworm|trixie]    (default: bookworm)
#
# A green CI on a machine where the tools were already there proves
# nothing (mptcpize, Debian's own package and only recommended by mptcpd,
# was missed that way).
#
# In a minbase Debian of that release (scripts/rootfs.sh --release R
# pristine), before anything else is installed, runs
# scripts/install-deps.sh (with the network: apt downloads what the
# host's and the project's apt caches lack), runs it again
# (it must then have nothing to do), then checks that every program
# scripts/demo.sh and scripts/test.sh use is there - and every other
# script of the project, each a command of its own (the list is read from
# the sources by scripts/pristine-commands.py, plus the few it cannot see),
# nginx's modules, the libraries meson looks for, the sanitizers and the
# fuzzer runtime, and that the tree builds with warnings as errors.
# Prints what is missing with the host's package that has it; exit 0 if
# nothing is, 1 if something is, 2 if the archive cannot be reached.
# Needs root; leaves nothing behind (the root file system is a temporary
# copy, removed on exit).
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD
release=${1:-bookworm}
case "$release" in
bookworm) label="Debian 12" ;;
trixie) label="Debian 13" ;;
*)
	echo "pristine-check: unknown release '$release' (bookworm or trixie)" >&2
	exit 2
	;;
esac

[ "$(id -u)" -eq 0 ] || {
	echo "pristine-check: needs root (systemd-nspawn)" >&2
	exit 1
}
for c in systemd-nspawn shfmt python3 zstd; do
	command -v "$c" >/dev/null || {
		echo "pristine-check: $c missing: run scripts/install-deps.sh" >&2
		exit 1
	}
done

# What the scanner cannot see: programs named through a variable with a
# default (nginx as $NGINX, the fuzzer's compiler as ${FUZZ_CC:-clang}).
extra_cmds=(nginx clang gcc)
extra_paths=(/usr/lib/nginx/modules/ngx_stream_module.so /usr/lib/nginx/modules/ngx_mail_module.so)

start=$(date +%s)
log=$(mktemp)
tar=$(scripts/rootfs.sh --release "$release" pristine 2>"$log") || {
	cat "$log" >&2
	if grep -Eq "Temporary failure resolving|Could not resolve|Failed to fetch|Unable to connect|Network is unreachable" "$log"; then
		echo "pristine-check: the Debian archive is not reachable: cannot check" >&2
		rm -f "$log"
		exit 2
	fi
	rm -f "$log"
	exit 1
}
rm -f "$log"

work=$(mktemp -d /var/tmp/mptcpshim-pristine.XXXXXX)
root=$work/root
ns_pid=
cleanup() {
	if [ -n "$ns_pid" ] && kill -0 "$ns_pid" 2>/dev/null; then
		kill -TERM "$ns_pid" 2>/dev/null || true
		wait "$ns_pid" 2>/dev/null || true
	fi
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mkdir "$root"
tar --zstd -xpf "$tar" -C "$root" --xattrs --xattrs-include='*'
# The host's downloads and those of earlier checks and root file systems
# of this release (rootfs.sh keeps them), and, for the host's own release,
# its package lists (caches, not installed software): apt then fetches
# only what they lack. apt takes a .deb only if it is the version it wants.
debs=${MPTCPSHIM_APT_CACHE:-${MPTCPSHIM_CACHE:-/var/cache/mptcpshim}/apt}/$release
mkdir -p "$debs" "$root/var/cache/apt/archives" "$root/var/lib/apt/lists"
find /var/cache/apt/archives "$debs" -maxdepth 1 -name '*.deb' \
	-exec ln -f -t "$root/var/cache/apt/archives/" {} + 2>/dev/null || true
if [ "$release" = "$(. /etc/os-release && echo "${VERSION_CODENAME:-}")" ]; then
	find /var/lib/apt/lists -maxdepth 1 -type f -name '*_dists_*' \
		-exec cp -t "$root/var/lib/apt/lists/" {} + 2>/dev/null || true
fi

# nspawn needs --keep-unit where systemd is not PID 1 (no scope to make);
# where it is, nspawn makes its own scope.
keep_unit=()
[ -d /run/systemd/system ] || keep_unit=(--keep-unit)
# Runs "${@:2}" in the pristine tree (no boot; the host's network), the
# project's tree read-only at /src, all output to the file $1 (without
# nspawn's complaint that /run is no tmpfs here).
in_root() {
	local out=$1 rc=0
	shift
	systemd-nspawn -q -D "$root" --machine="mptcpshim-pristine-$$" --register=no \
		"${keep_unit[@]}" --as-pid2 --resolv-conf=copy-host --bind-ro="$top:/src" \
		--setenv=PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
		--setenv=LANG=C.UTF-8 --setenv=DEBIAN_FRONTEND=noninteractive \
		"$@" </dev/null >"$out" 2>&1 &
	ns_pid=$!
	wait "$ns_pid" || rc=$?
	ns_pid=
	sed -i '/^Attempted to remove disk file system under /d' "$out"
	return "$rc"
}

status=0
echo "== pristine $label ($release): scripts/install-deps.sh"
t=$(date +%s)
if ! in_root "$work/install.log" /src/scripts/install-deps.sh; then
	tail -n 30 "$work/install.log"
	if grep -Eq "Temporary failure resolving|Could not resolve|Failed to fetch|Unable to connect" "$work/install.log"; then
		echo "pristine-check: the Debian archive is not reachable: cannot check" >&2
		exit 2
	fi
	echo "pristine-check: scripts/install-deps.sh failed on a pristine $label" >&2
	exit 1
fi
# .deb files with one link were downloaded; the others are the host's.
echo "   done in $(($(date +%s) - t)) s: $(($(grep -o "^install-deps: installing .*" "$work/install.log" | wc -w) - 2)) packages asked for," \
	"$(dpkg-query --admindir="$root/var/lib/dpkg" -W | grep -c .) installed in all," \
	"$(find "$root/var/cache/apt/archives" -maxdepth 1 -name '*.deb' -links 1 | wc -l) .debs downloaded" \
	"($(find "$root/var/cache/apt/archives" -maxdepth 1 -name '*.deb' -links 1 -printf '%s\n' | awk '{ s += $1 } END { printf "%.0f", s / 1048576 }') MB), the others from the host's cache"
# What apt downloaded (one link), for the next check of this release.
find "$root/var/cache/apt/archives" -maxdepth 1 -name '*.deb' -links 1 \
	-exec cp -l -n -t "$debs/" {} + 2>/dev/null || true

echo "== scripts/install-deps.sh again: nothing left to install"
in_root "$work/again.log" /src/scripts/install-deps.sh || status=1
if [ -s "$work/again.log" ]; then
	cat "$work/again.log"
	echo "pristine-check: the second run still had work to do" >&2
	status=1
fi

echo "== what the README's commands use"
{
	python3 scripts/pristine-commands.py "$top"
	for c in "${extra_cmds[@]}"; do printf 'cmd\t%s\t%s\n' "$c" "${0##*/}"; done
	for p in "${extra_paths[@]}"; do printf 'path\t%s\t%s\n' "$p" "${0##*/}"; done
} >"$work/needs"
cp "$work/needs" "$root/needs"
# shellcheck disable=SC2016 # expanded inside the root
in_root "$work/check.log" bash -c '
	while IFS=$(printf "\t") read -r kind name where; do
		case "$kind" in
		cmd) command -v "$name" >/dev/null ;;
		path) [ -e "$name" ] ;;
		pkgconfig) pkg-config --exists "$name" ;;
		esac || printf "%s\t%s\t%s\n" "$kind" "$name" "$where"
	done </needs >/missing' || {
	cat "$work/check.log"
	exit 1
}
echo "   $(grep -c . "$work/needs") programs, paths and libraries checked"
while IFS=$'\t' read -r kind name where; do
	status=1
	case "$kind" in
	cmd) hostfile=$(command -v "$name" || true) ;;
	path) hostfile=$name ;;
	pkgconfig) hostfile=$(pkg-config --path "$name" 2>/dev/null || true) ;;
	esac
	pkg=
	[ -n "$hostfile" ] && pkg=$(dpkg-query -S "$(readlink -f "$hostfile")" 2>/dev/null | head -n1 | cut -d: -f1 || true)
	echo "missing after install-deps.sh: $kind $name (used at $where)${pkg:+; on this machine it comes with the package $pkg}"
done <"$root/missing"

echo "== the toolchain test.sh uses: sanitizers, the fuzzer runtime, a -Werror build"
# shellcheck disable=SC2016 # expanded inside the root
if ! in_root "$work/build.log" bash -c '
	set -e
	cd /tmp
	printf "int main(void) { return 0; }\n" >t.c
	printf "#include <stddef.h>\n#include <stdint.h>\nint LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { (void)d; (void)n; return 0; }\n" >f.c
	gcc -fsanitize=address,undefined t.c -o t1
	gcc -fsanitize=thread t.c -o t2
	clang -fsanitize=fuzzer,address,undefined f.c -o t3
	meson setup -Dwerror=true /tmp/build /src >/tmp/meson.log 2>&1 || { tail -n 20 /tmp/meson.log; exit 1; }
	ninja -C /tmp/build >/tmp/ninja.log 2>&1 || { tail -n 20 /tmp/ninja.log; exit 1; }
'; then
	cat "$work/build.log"
	echo "pristine-check: the toolchain or the build fails on a pristine $label after install-deps.sh" >&2
	status=1
fi

echo "pristine-check: $label $([ "$status" -eq 0 ] && echo ok || echo FAILED) in $(($(date +%s) - start)) s"
exit "$status"
