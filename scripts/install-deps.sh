#!/usr/bin/env bash
# Installs, with apt-get, what building and testing need on a Debian 12
# (bookworm) or Debian 13 (trixie) machine; with --demo, only what scripts/demo.sh needs; with --vm, only
# what scripts/vm-test.sh needs besides a build. Run as root.
# Installs only what is missing; never starts the system's services (nginx,
# and the servers tests/bats/servers.bats runs). Names that carry a
# version (the fuzzer's runtime, libclang-rt-N-dev) are the ones of the
# release's own clang, asked from dpkg or apt, never written here.
set -euo pipefail

packages=(
	meson ninja-build pkgconf gcc clang-format-19 binutils git libmnl-dev
	libcmocka-dev bats shfmt
	nginx libnginx-mod-stream libnginx-mod-mail
	iproute2 procps psmisc python3 python3-jsonschema curl nftables iptables
	bc gnuplot-nox jq
	wrk mptcpd mptcpize strace
	debhelper dpkg-dev fakeroot build-essential lintian man-db
	clang libclang-rt-@CLANG@-dev libtsan2
	mmdebstrap systemd-container zstd qemu-user-static arch-test
	busybox-static cpio qemu-system-x86 xz-utils
	libpcre2-dev libssl-dev zlib1g-dev
	apache2 bind9 dovecot-imapd haproxy lighttpd mariadb-server memcached nodejs
	openssh-client openssh-server postfix postgresql postgresql-client redis-server
	redis-tools
)
# The demo: build the library and the command, run Debian's nginx, an
# MPTCP client in Python, ss.
if [ "${1:-}" = --demo ]; then
	shift
	packages=(
		gcc libc6-dev libmnl-dev meson ninja-build pkgconf
		nginx
		iproute2 python3
	)
fi
# scripts/vm-test.sh: qemu, a static busybox for the initramfs, and the
# tools that unpack Debian's kernel packages.
if [ "${1:-}" = --vm ]; then
	shift
	packages=(qemu-system-x86 busybox-static cpio xz-utils zstd dpkg)
fi
[ "$#" -gt 0 ] && packages+=("$@")

# systemd-nspawn runs on the libsystemd-shared of its own version: take the
# version of the installed systemd, or apt would upgrade systemd itself.
systemd_version=$(dpkg-query -W -f='${db:Status-Abbrev}${Version}' systemd 2>/dev/null |
	sed -n 's/^ii *//p' || true)

# The major version of the release's clang (14 on Debian 12, 19 on 13):
# the installed one, else apt's candidate (read from clang's dependency
# on clang-N). Without package lists (a new root file system), apt-get
# update first.
updated=0
clang_major() {
	local v
	v=$(dpkg-query -W -f='${db:Status-Abbrev} ${Depends}' clang 2>/dev/null |
		sed -n 's/^ii  *.*\bclang-\([0-9][0-9]*\)\b.*/\1/p')
	[ -n "$v" ] || v=$(apt-cache show --no-all-versions clang 2>/dev/null |
		sed -n 's/^Depends:.*\bclang-\([0-9][0-9]*\)\b.*/\1/p' | head -n1)
	echo "$v"
}
CLANG=
case " ${packages[*]} " in
*@CLANG@*)
	CLANG=$(clang_major)
	if [ -z "$CLANG" ] && [ "$(id -u)" -eq 0 ]; then
		apt-get update -qq
		updated=1
		CLANG=$(clang_major)
	fi
	[ -n "$CLANG" ] || {
		echo "install-deps: apt knows no package clang (apt-get update?)" >&2
		exit 1
	}
	for i in "${!packages[@]}"; do
		packages[i]=${packages[i]//@CLANG@/$CLANG}
	done
	;;
esac

missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' && continue
	if [ "$p" = systemd-container ] && [ -n "$systemd_version" ]; then
		p=$p=$systemd_version
	fi
	missing+=("$p")
done
[ "${#missing[@]}" -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: these packages are missing and installing them needs root: ${missing[*]}" >&2
	exit 1
fi
echo "install-deps: installing ${missing[*]}"
# Keep package scripts from starting nginx on port 80, or any other server
# (policy-rc.d, exit 101 = "action forbidden"), and remove the guard
# whatever happens.
guard=/usr/sbin/policy-rc.d
made_guard=0
if [ ! -e "$guard" ]; then
	printf '#!/bin/sh\nexit 101\n' >"$guard"
	chmod 755 "$guard"
	made_guard=1
fi
cleanup() { [ "$made_guard" = 1 ] && rm -f "$guard"; return 0; }
trap cleanup EXIT
export DEBIAN_FRONTEND=noninteractive
# postfix asks which configuration to write: none (the tests write their own).
case " ${missing[*]} " in
*" postfix "*)
	echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
	;;
esac
[ "$updated" = 1 ] || apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
