#!/usr/bin/env bash
# Runs the project's tests on Debian's stock kernels, each booted in a VM.
#
#   scripts/vm-test.sh [--full | --suites LIST] [--jobs N] [--out DIR] [--timeout S] [KERNEL...]
#   scripts/vm-test.sh --optprobe [--out DIR] [KERNEL...]
#
# KERNEL is 6.1 (Debian 12, bookworm), 6.12 (Debian 13, trixie) or a
# Debian suite name; default: 6.1 6.12. For each one it
#  - downloads the suite's linux-image-amd64 dependency with
#    `apt-get download`, through a private apt configuration kept in the
#    cache directory (the system's apt configuration is never changed;
#    only the archive URIs of its sources are reused);
#  - boots it under qemu (TCG: these machines have no usable KVM) with the
#    host's root file system read-only over 9p, from a small initramfs
#    (static busybox, the modules the tests need), with tmpfs where the
#    tests write and an overlay on the source and build trees;
#  - runs the chosen suites of the host's build tree inside and prints
#    one TAP stream per kernel (and one line per suite), then a summary.
#
# --jobs N boots up to N kernels at once (one vCPU each; default 1: the
# machine may be shared). CI runs the default suites with --jobs 2.
#
# Suites: `meson` (meson test: unit and integration) and the names of
# tests/bats/*.bats (shim, faults, nginx, ...). Default: meson nginx shim
# faults doctor-kernel doctor-paths paths, the last two their core only
# (see core_filter below): what .ci/run runs, through scripts/test.sh.
# --full: meson and every bats suite except package (it installs a
# package system-wide, which a read-only root cannot do), bench and
# lab: they measure speed, and under
# emulation they time the emulator (bench --quick needs 171 s against
# its 150 s bound; the lab's two paths gave 0.56x of one instead of its
# 1.6x, the CPU being the bottleneck, not the links). Name them with
# --suites to run them anyway. --optprobe: runs tests/tools/optprobe on each
# kernel and prints its table (scripts/kernels-doc.sh makes doc/kernels.md
# from that).
#
# The build tree is $MPTCPSHIM_BUILD (default: build/, set up and built if
# missing). Downloads and unpacked kernels are cached in
# $MPTCPSHIM_VM_CACHE (default /var/cache/mptcpshim/vm). Everything else
# (initramfs, results share, qemu) lives in a temporary directory removed
# on exit, also on failure or Ctrl-C; qemu is ended by its pid.
#
# Exit status: 0 every test passed on every kernel; 1 a test failed or a
# kernel could not be had or booted (said on stderr); 2 usage.
# (One block, read whole before it runs: editing the file meanwhile is safe.)
{
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD

cache=${MPTCPSHIM_VM_CACHE:-/var/cache/mptcpshim/vm}
build=${MPTCPSHIM_BUILD:-$top/build}
suites="meson nginx shim faults doctor-kernel doctor-paths paths"
# The default run (CI) runs only these tests of the network-path suites
# (a bats -f pattern), those where the kernels differ: the whole of
# doctor-paths takes 305-309 s per kernel under TCG at a load of 20
# (measured 2026-12-08), which would more than double the VM step. In:
# the server's nft rules (nf_tables' exthdr and reset on each kernel),
# iptables-nft (nft_compat) and legacy iptables (the kernel's table ABI
# that doctor reads) for IPv4, blackhole detection (6.12 only; skipped on
# 6.1, saying why), MP_JOIN SYNs dropped and the fallback window (counters
# that differ between 6.1 and 6.12). Out: the clean path (doctor-kernel
# has the clean verdict), the IPv6 twins of the iptables tests and strict
# rp_filter, which run on the host's kernel in .ci/run. paths (the
# whole: 151-163 s per kernel): in, the probe's fallback on the SYN and
# after it, the announced address used and the MP_JOIN SYNs dropped (the
# counters and MPTCP_TCPINFO differ by kernel); out, the clean path (the
# two-subflow test proves MPTCP too), strict rp_filter and the argument
# errors (no kernel in them). --full or --suites NAME runs a suite whole.
core_filter() { # SUITE
	case "$1" in
	paths) echo "^paths: (option stripped on the SYN|option stripped after the SYN|a second server address|the announced address with MP_JOIN)" ;;
	doctor-paths) echo "^doctor-paths: (the server.s nft rules|iptables-nft|legacy iptables|the kernel.s blackhole|a firewall dropping MP_JOIN|the option stripped after the SYN)" ;;
	esac
}
default_suites=1
out=
timeout_s=
jobs=1
optprobe=0
kernels=()

die() {
	echo "vm-test: $*" >&2
	exit 1
}
usage() {
	sed -n '4,5p' "$0" | sed 's/^# *//' >&2
	exit 2
}

while [ "$#" -gt 0 ]; do
	case "$1" in
	--full)
		default_suites=0
		suites="meson"
		for f in tests/bats/*.bats; do
			f=${f##*/}
			case "$f" in package.bats | bench.bats | lab.bats) ;; *) suites+=" ${f%.bats}" ;; esac
		done
		;;
	--suites)
		[ "$#" -ge 2 ] || usage
		default_suites=0
		suites=${2//,/ }
		shift
		;;
	--optprobe) optprobe=1 ;;
	--jobs)
		[ "$#" -ge 2 ] && [ "$2" -ge 1 ] 2>/dev/null || usage
		jobs=$2
		shift
		;;
	--out)
		[ "$#" -ge 2 ] || usage
		out=$2
		shift
		;;
	--timeout)
		[ "$#" -ge 2 ] || usage
		timeout_s=$2
		shift
		;;
	-h | --help) usage ;;
	-*) usage ;;
	*) kernels+=("$1") ;;
	esac
	shift
done
[ "${#kernels[@]}" -gt 0 ] || kernels=(6.1 6.12)
[ "$optprobe" = 1 ] && suites=optprobe
for s in $suites; do
	case "$s" in
	meson | optprobe) ;;
	*) [ -f "tests/bats/$s.bats" ] || die "unknown suite \"$s\" (meson or a tests/bats/NAME.bats)" ;;
	esac
done
# A bound for each boot: a full run is 4-7 min per kernel under TCG.
if [ -z "$timeout_s" ]; then
	case " $suites " in
	*" meson "* | *" lab "* | *" cli "*) timeout_s=2400 ;;
	*) timeout_s=900 ;;
	esac
fi

[ "$(id -u)" -eq 0 ] || die "needs root (the tests in the VM run as root; the cache is in $cache)"
busybox=/bin/busybox
# What the VMs need; installed through scripts/install-deps.sh --vm when
# missing (a static busybox: the package busybox-static).
have_tools() {
	local c
	for c in qemu-system-x86_64 apt-get dpkg-deb xz zstd cpio; do
		command -v "$c" >/dev/null || {
			missing_tool=$c
			return 1
		}
	done
	missing_tool="$busybox (static)"
	[ -x "$busybox" ] && ! ldd "$busybox" >/dev/null 2>&1
}
if ! have_tools; then
	echo "vm-test: $missing_tool missing: scripts/install-deps.sh --vm" >&2
	scripts/install-deps.sh --vm >&2 || die "scripts/install-deps.sh --vm failed"
	have_tools || die "$missing_tool still missing after scripts/install-deps.sh --vm"
fi

if [ ! -e "$build/libmptcpshim.so" ]; then
	[ -n "${MPTCPSHIM_BUILD:-}" ] && die "$build has no libmptcpshim.so: build it first"
	[ -d "$build" ] || meson setup "$build" >/dev/null
fi
[ -n "${MPTCPSHIM_BUILD:-}" ] || ninja -C "$build" >/dev/null
build=$(cd "$build" && pwd)

tmp=$(mktemp -d /tmp/mptcpshim-vm.XXXXXX)
runners=()
# Ends the qemu processes this run started (by their recorded pids) and
# the runners of parallel boots, then removes the temporary directory.
cleanup() {
	local f p
	for p in "${runners[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
	for f in "$tmp"/qemu-*.pid; do
		[ -s "$f" ] || continue
		p=$(cat "$f")
		case "$(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null)" in
		qemu-system-x86_64*"$tmp"*)
			kill -TERM "$p" 2>/dev/null || true
			sleep 0.5
			kill -KILL "$p" 2>/dev/null || true
			;;
		esac
	done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mkdir -p "$cache"
exec 9>"$cache/.lock"
flock -w 3600 9 || die "another vm-test.sh holds $cache/.lock (waited an hour)"

# ---- kernels: which suite, private apt, download, unpack ----

suite_of() {
	case "$1" in
	6.1 | 12 | bookworm) echo bookworm ;;
	6.12 | 13 | trixie) echo trixie ;;
	[a-z]*) echo "$1" ;;
	*) return 1 ;;
	esac
}

# The archive URIs the system's own apt uses (main archive, security).
archive_uri() {
	local u
	u=$(apt-get indextargets --format '$(REPO_URI) $(RELEASE)' 2>/dev/null |
		awk '$2 !~ /-security$/ && $1 ~ /debian\/$/ {print $1; exit}')
	echo "${u:-http://deb.debian.org/debian/}"
}
security_uri() {
	local u
	u=$(apt-get indextargets --format '$(REPO_URI) $(RELEASE)' 2>/dev/null |
		awk '$2 ~ /-security$/ {print $1; exit}')
	echo "${u:-http://deb.debian.org/debian-security/}"
}

# apt-get/apt-cache options of the private configuration of suite $1.
apt_opts() {
	local d=$cache/apt/$1
	echo "-o Dir::Etc::SourceList=$d/sources.list -o Dir::Etc::SourceParts=/dev/null" \
		"-o Dir::State::Lists=$d/lists -o Dir::Cache=$d/cache" \
		"-o Dir::State::status=/dev/null -o APT::Sandbox::User=root" \
		"-o Debug::NoLocking=1"
}

# Makes the private configuration and updates its lists (at most once a
# day). Returns 1 if the archive cannot be reached.
apt_prepare() {
	local s=$1 d=$cache/apt/$1 key=/usr/share/keyrings/debian-archive-keyring.gpg
	mkdir -p "$d/lists/partial" "$d/cache/archives/partial"
	cat >"$d/sources.list" <<-EOF
		deb [signed-by=$key] $(archive_uri) $s main
		deb [signed-by=$key] $(security_uri) $s-security main
	EOF
	if [ -n "$(find "$d/lists" -maxdepth 1 -name '*_Packages' -mmin -1440 2>/dev/null)" ]; then
		return 0
	fi
	# shellcheck disable=SC2046 # word splitting of the options is meant
	timeout 300 apt-get $(apt_opts "$s") -qq update >"$d/update.log" 2>&1
}

# Downloads and unpacks the kernel of suite $1 into $cache/kernels/DEB/
# (vmlinux, the modules the VM needs, decompressed, in load order).
# Prints that directory. Uses what is cached when the archive is away.
kernel_dir() {
	local s=$1 pkg deb k
	if apt_prepare "$s"; then
		# shellcheck disable=SC2046
		pkg=$(apt-cache $(apt_opts "$s") depends linux-image-amd64 2>/dev/null |
			awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
		[ -n "$pkg" ] || {
			echo "vm-test: $s: no linux-image-amd64 in $(archive_uri) $s" >&2
			return 1
		}
		deb=$(find "$cache/debs" -maxdepth 1 -name "${pkg}_*.deb" 2>/dev/null | sort -V | tail -n 1)
		# shellcheck disable=SC2046
		if [ -z "$deb" ] || ! apt-get $(apt_opts "$s") -qq --print-uris download "$pkg" 2>/dev/null |
			grep -qF "${deb##*/}"; then
			mkdir -p "$cache/debs"
			# shellcheck disable=SC2046
			(cd "$cache/debs" && timeout 600 apt-get $(apt_opts "$s") -qq download "$pkg") >&2 || {
				echo "vm-test: $s: cannot download $pkg" >&2
				return 1
			}
			deb=$(find "$cache/debs" -maxdepth 1 -name "${pkg}_*.deb" | sort -V | tail -n 1)
		fi
	else
		echo "vm-test: $s: apt-get update failed ($(tail -n 1 "$cache/apt/$s/update.log")); looking for a cached kernel" >&2
		deb=$(find "$cache/debs" -maxdepth 1 -name 'linux-image-*.deb' 2>/dev/null |
			while read -r f; do
				[ "$(cat "$cache/kernels/$(basename "$f" .deb)/suite" 2>/dev/null)" = "$s" ] && echo "$f"
			done | sort -V | tail -n 1)
		[ -n "$deb" ] || return 1
	fi
	k=$cache/kernels/$(basename "$deb" .deb)
	if [ ! -s "$k/vmlinux" ] || ! cmp -s "$k/wanted" <(wanted_modules); then
		unpack_kernel "$deb" "$k" "$s" >&2 || return 1
	fi
	echo "$k"
}

# Modules the VM loads (with their dependencies), in this order. Missing
# ones (built in, or not in this kernel: fscache on 6.12) are skipped.
wanted_modules() {
	printf '%s\n' virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev \
		virtio_pci virtio_rng netfs fscache 9pnet 9pnet_virtio 9p overlay \
		inet_diag tcp_diag udp_diag unix_diag mptcp_diag veth dummy \
		sch_tbf sch_htb sch_ingress cls_u32 act_mirred ifb
	# The path suites' firewalls (doctor-paths, paths). The guest has no
	# modprobe (the host's root has no kmod), so the kernel's
	# request_module() for a table, expression or match fails and nft
	# says "Operation not supported" or "No such file or directory": what
	# the rules use is loaded here. nf_tables holds the inet/ip/ip6
	# families, the filter chains and the exthdr expression (tcp option);
	# reject is its own module per family; iptables-nft needs nft_compat
	# for -m tcp --tcp-option and TCPOPTSTRIP; the legacy tables are
	# ip_tables/ip6_tables with their filter and mangle tables.
	# crc32c_generic first: nf_tables depends on libcrc32c, whose init
	# asks the crypto API for "crc32c" - a softdep (pre: crc32c) that only
	# modprobe follows, not a depends=. Without it libcrc32c's insmod
	# fails (ENOENT), nf_tables cannot load, and every nft command gets
	# EOPNOTSUPP from nfnetlink ("Operation not supported").
	printf '%s\n' crc32c_generic nfnetlink nf_tables nft_reject nft_reject_inet nft_reject_ipv4 \
		nft_reject_ipv6 nft_compat x_tables xt_tcpudp xt_TCPOPTSTRIP \
		ip_tables iptable_filter iptable_mangle ip6_tables ip6table_filter \
		ip6table_mangle
}

modinfo_depends() { # FILE
	case "$1" in
	*.xz) xz -dc "$1" ;;
	*.zst) zstd -qdc "$1" ;;
	*) cat "$1" ;;
	esac | tr '\0' '\n' | sed -n 's/^depends=//p' | tr ',' ' '
}

# The payload of a bzImage (xz or zstd for Debian), like the kernel's
# scripts/extract-vmlinux: an uncompressed ELF boots 1-3 s sooner.
extract_vmlinux() { # BZIMAGE OUT
	local off
	for magic in '\xfd7zXZ\x00:xz -dc' '\x28\xb5\x2f\xfd:zstd -qdc'; do
		for off in $(LC_ALL=C grep -aboP "${magic%%:*}" "$1" | cut -d: -f1); do
			tail -c +"$((off + 1))" "$1" | ${magic#*:} >"$2" 2>/dev/null || true
			[ "$(head -c 4 "$2" | od -An -c | tr -d ' ')" = '177ELF' ] && return 0
		done
	done
	return 1
}

unpack_kernel() { # DEB DIR SUITE
	local deb=$1 k=$2 x mods ver m f seen=" " order=()
	echo "vm-test: unpacking ${deb##*/}"
	x=$(mktemp -d "$tmp/unpack.XXXXXX")
	dpkg-deb -x "$deb" "$x"
	mods=$(find "$x" -maxdepth 4 -type d -path '*/lib/modules/*' | head -n 1)
	ver=${mods##*/}
	rm -rf "$k"
	mkdir -p "$k/modules"
	extract_vmlinux "$x"/boot/vmlinuz-* "$k/vmlinux" || {
		echo "vm-test: no kernel image found in ${deb##*/}" >&2
		return 1
	}
	declare -A path=()
	while read -r f; do
		m=${f##*/}
		m=${m%%.ko*}
		path[${m//-/_}]=$f
	done < <(find "$mods/kernel" -name '*.ko*')
	add() { # depth-first: dependencies before the module
		local n=${1//-/_} d
		case "$seen" in *" $n "*) return 0 ;; esac
		seen+="$n "
		[ -n "${path[$n]:-}" ] || return 0
		for d in $(modinfo_depends "${path[$n]}"); do add "$d"; done
		order+=("$n")
	}
	while read -r m; do add "$m"; done < <(wanted_modules)
	for m in "${order[@]}"; do
		case "${path[$m]}" in
		*.xz) xz -dc "${path[$m]}" ;;
		*.zst) zstd -qdc "${path[$m]}" ;;
		*) cat "${path[$m]}" ;;
		esac >"$k/modules/$m.ko"
	done
	printf '%s\n' "${order[@]}" >"$k/order"
	echo "$ver" >"$k/release"
	dpkg-deb -f "$deb" Version >"$k/version"
	echo "$3" >"$k/suite"
	wanted_modules >"$k/wanted"
	rm -rf "$x"
}

# ---- the VM ----

# The initramfs: static busybox, the modules, scripts/vm/init.
make_initramfs() { # KERNELDIR OUT
	# one directory per kernel: with --jobs two are made at once
	local r=$tmp/initramfs.${1##*/} m i=0
	rm -rf "$r"
	mkdir -p "$r"/{bin,dev,proc,sys,newroot,modules}
	cp "$busybox" "$r/bin/busybox"
	ln -s busybox "$r/bin/sh"
	cp scripts/vm/init "$r/init"
	chmod 755 "$r/init"
	while read -r m; do
		i=$((i + 1))
		cp "$1/modules/$m.ko" "$r/modules/$(printf %02d "$i")-$m.ko"
	done <"$1/order"
	(cd "$r" && find . | cpio -o -H newc --quiet | gzip -1) >"$2"
}

run_kernel() { # KERNEL SUITE KERNELDIR
	local want=$1 s=$2 k=$3 rel ver res log rc=0 start secs qemu_pid
	rel=$(cat "$k/release")
	ver=$(cat "$k/version")
	res=$tmp/out-$s
	rm -rf "$res"
	mkdir -p "$res"
	cat >"$res/job" <<-EOF
		TOP='$top'
		BUILD='$build'
		SUITES='$suites'
		KREL='$rel'
	EOF
	local n f shown=
	for n in $suites; do
		f=
		[ "$default_suites" = 1 ] && f=$(core_filter "$n")
		if [ -n "$f" ]; then
			echo "$f" >"$res/$n.filter"
			shown+=" $n(core)"
		else
			shown+=" $n"
		fi
	done
	make_initramfs "$k" "$tmp/initramfs-$s.gz"
	log=$tmp/console-$s.log
	echo "# kernel $want: Debian $s linux-image-$rel $ver (qemu TCG, 1 vCPU, 1 GiB), suites:$shown" >&2
	start=$(date +%s)
	qemu-system-x86_64 -accel tcg -M q35 -bios /usr/share/qemu/qboot.rom \
		-m 1024 -smp 1 -nographic -no-reboot -nic none \
		-device virtio-rng-pci \
		-kernel "$k/vmlinux" -initrd "$tmp/initramfs-$s.gz" \
		-append "console=ttyS0 panic=-1 quiet loglevel=4 mptcpshim.guest=$top/scripts/vm/guest.sh" \
		-virtfs "local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap" \
		-virtfs "local,path=$res,mount_tag=results,security_model=none,multidevs=remap" \
		</dev/null >"$log" 2>&1 &
	qemu_pid=$!
	echo "$qemu_pid" >"$tmp/qemu-$s.pid"
	# Bounded: the guest powers off when done; kill qemu past the limit.
	local waited=0
	while kill -0 "$qemu_pid" 2>/dev/null; do
		if [ "$waited" -ge "$timeout_s" ]; then
			echo "vm-test: kernel $want: still running after $timeout_s s; stopping qemu" >&2
			kill -TERM "$qemu_pid" 2>/dev/null || true
			sleep 1
			kill -KILL "$qemu_pid" 2>/dev/null || true
			rc=1
			break
		fi
		sleep 1
		waited=$((waited + 1))
	done
	wait "$qemu_pid" 2>/dev/null || true
	rm -f "$tmp/qemu-$s.pid"
	secs=$(($(date +%s) - start))
	[ -n "$out" ] && mkdir -p "$out" && cp "$log" "$out/console-$s.log"
	if [ ! -e "$res/done" ]; then
		echo "vm-test: kernel $want: the guest did not finish; last console lines:" >&2
		tail -n 30 "$log" | sed 's/^/    /' >&2
		rc=1
	fi
	report "$want" "$s" "$rel" "$res" "$secs" || rc=1
	return "$rc"
}

# One TAP stream per kernel from the guest's per-suite TAP files.
report() { # KERNEL SUITE RELEASE RESULTS SECONDS
	local want=$1 s=$2 rel=$3 res=$4 secs=$5 n=0 f line name p=0 fl=0 sk=0 tap
	tap=$tmp/tap-$s
	: >"$tap"
	if [ "$optprobe" = 1 ]; then
		if [ -s "$res/optprobe.out" ]; then
			echo "== kernel $rel"
			cat "$res/optprobe.out"
			[ -n "$out" ] && cp "$res/optprobe.out" "$out/optprobe-$rel.txt"
			cat "$res/uname" 2>/dev/null | sed 's/^/# uname: /'
			return 0
		fi
		return 1
	fi
	for name in $suites; do
		f=$res/$name.tap
		if [ ! -s "$f" ]; then
			n=$((n + 1))
			fl=$((fl + 1))
			echo "not ok $n $name: no result (the suite did not run to its end)" >>"$tap"
			continue
		fi
		while IFS= read -r line; do
			case "$line" in
			"ok "*"# skip"* | "ok "*"# SKIP"*)
				n=$((n + 1)) sk=$((sk + 1))
				echo "ok $n $name: $(sed -E 's/^ok [0-9]+ //' <<<"$line")" >>"$tap"
				;;
			"ok "*)
				n=$((n + 1)) p=$((p + 1))
				echo "ok $n $name: $(sed -E 's/^ok [0-9]+ //' <<<"$line")" >>"$tap"
				;;
			"not ok "*)
				n=$((n + 1)) fl=$((fl + 1))
				echo "not ok $n $name: $(sed -E 's/^not ok [0-9]+ //' <<<"$line")" >>"$tap"
				;;
			[0-9]*..[0-9]*) ;; # the suite's own plan
			"#"*) echo "$line" >>"$tap" ;;
			*) echo "# $line" >>"$tap" ;;
			esac
		done <"$f"
		echo "# suite $name: $(cat "$res/$name.secs" 2>/dev/null || echo '?') s" >>"$tap"
		if [ -s "$res/$name.rc" ] && [ "$(cat "$res/$name.rc")" != 0 ] &&
			! grep -q '^not ok' "$f"; then
			n=$((n + 1)) fl=$((fl + 1))
			echo "not ok $n $name: exited with status $(cat "$res/$name.rc")" >>"$tap"
		fi
	done
	echo "# kernel $want: Debian $s, $rel ($(cat "$res/uname" 2>/dev/null || echo '?'))"
	echo "1..$n"
	cat "$tap"
	echo "# kernel $rel: $p passed, $fl failed, $sk skipped ($secs s boot to power-off)"
	if [ -n "$out" ]; then
		mkdir -p "$out"
		{
			echo "1..$n"
			cat "$tap"
		} >"$out/$s.tap"
		cp -r "$res" "$out/results-$s"
	fi
	echo "$p $fl $sk" >"$tmp/totals-$s"
	[ "$fl" -eq 0 ]
}

status=0
# Downloads first (one at a time, under the cache lock), then the boots.
todo=()
for kv in "${kernels[@]}"; do
	if ! s=$(suite_of "$kv"); then
		echo "vm-test: unknown kernel \"$kv\" (6.1, 6.12 or a Debian suite name)" >&2
		status=1
	elif ! k=$(kernel_dir "$s"); then
		echo "vm-test: kernel $kv (Debian $s) cannot be had: not downloadable and not cached; not tested" >&2
		echo "0 1 0" >"$tmp/totals-$s"
		status=1
	else
		todo+=("$kv $s $k")
	fi
done
running=0
for t in "${todo[@]}"; do
	read -r kv s k <<<"$t"
	if [ "$jobs" -le 1 ]; then
		run_kernel "$kv" "$s" "$k" || status=1
		continue
	fi
	if [ "$running" -ge "$jobs" ]; then
		wait -n || true
		running=$((running - 1))
	fi
	(run_kernel "$kv" "$s" "$k" >"$tmp/report-$s" 2>&1 || echo 1 >"$tmp/failed-$s") &
	runners+=("$!")
	running=$((running + 1))
done
if [ "$jobs" -gt 1 ]; then
	wait || true
	for t in "${todo[@]}"; do
		read -r kv s k <<<"$t"
		cat "$tmp/report-$s"
		[ -e "$tmp/failed-$s" ] && status=1
	done
fi
runners=()
if [ "$optprobe" = 0 ]; then
	p=0 f=0 sk=0
	for t in "$tmp"/totals-*; do
		[ -e "$t" ] || continue
		read -r a b c <"$t"
		p=$((p + a)) f=$((f + b)) sk=$((sk + c))
	done
	echo "vm-test: $p passed, $f failed, $sk skipped"
fi
exit "$status"
}
