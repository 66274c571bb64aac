#!/bin/bash
# Runs as PID 1 in the VMs of scripts/vm-test.sh, on the host's userland
# (read-only over 9p): makes the writable places the tests need, runs the
# suites named in /run/vm-results/job and writes their TAP output there,
# then powers the VM off. Not meant to be run on a host.
res=/run/vm-results
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root LANG=C.UTF-8 TERM=dumb
off() {
	sync
	/bin/busybox poweroff -f
}
trap off EXIT
[ "$$" -eq 1 ] || {
	echo "guest.sh: runs only as PID 1 of the VM" >&2
	exit 2
}
# shellcheck source=/dev/null
. "$res/job" || exit 1

mounts() {
	local d
	# The host's root as it is, before tmpfs covers /tmp and the others:
	# the overlays below take their lower layers from here, so a tree
	# under /tmp (a CI clone may be there) is seen too.
	mkdir -p /run/hostroot
	mount --bind / /run/hostroot
	mount -t tmpfs -o mode=1777 tmpfs /tmp
	for d in /var/tmp /var/log /root /var/lib/nginx /home /srv; do
		[ -d "$d" ] && mount -t tmpfs -o mode=755 tmpfs "$d"
	done
	chmod 1777 /var/tmp
	mkdir -p /var/log/nginx /run/netns /run/lock /dev/pts /dev/shm
	mount -t devpts -o gid=5,mode=620,ptmxmode=666 devpts /dev/pts
	mount -t tmpfs -o mode=1777 tmpfs /dev/shm
	ln -sf /proc/self/fd /dev/fd
	ln -sf /proc/self/fd/0 /dev/stdin
	ln -sf /proc/self/fd/1 /dev/stdout
	ln -sf /proc/self/fd/2 /dev/stderr
	# cgroups laid out as on these machines (hybrid: a name=systemd v1
	# hierarchy and cgroup2 under unified/): ss and the status tests use it
	mount -t tmpfs -o mode=755 tmpfs /sys/fs/cgroup
	mkdir /sys/fs/cgroup/systemd /sys/fs/cgroup/unified
	mount -t cgroup -o none,name=systemd cgroup /sys/fs/cgroup/systemd
	mount -t cgroup2 cgroup2 /sys/fs/cgroup/unified
	mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null || true
	# The source and build trees: the tests write into them (meson's
	# logs, bats' files), the host's stay untouched. /var/cache too: the
	# host's caches (nginx 1.30's build, the systemd root file system)
	# are read from it, and what the tests write there stays in the VM.
	local n=0 t
	for t in "$TOP" "$BUILD" /var/cache; do
		case "$t" in "$TOP"/*) [ "$t" != "$TOP" ] && [ "$n" -gt 0 ] && continue ;; esac
		n=$((n + 1))
		mkdir -p "/run/ovl/$n/up" "/run/ovl/$n/work"
		mkdir -p "$t" # under a tmpfs of ours, it is not there yet
		mount -t overlay overlay \
			-o "lowerdir=/run/hostroot$t,upperdir=/run/ovl/$n/up,workdir=/run/ovl/$n/work" "$t" ||
			echo "guest.sh: no overlay on $t" >&2
	done
	ip link set lo up
	hostname mptcpshim-vm
}
mounts >"$res/mounts.log" 2>&1

uname -rv >"$res/uname"
{
	echo "kernel: $(uname -r)"
	echo "net.mptcp.enabled: $(sysctl -n net.mptcp.enabled 2>&1)"
	echo "modules: $(cut -d' ' -f1 /proc/modules | tr '\n' ' ')"
} >"$res/env"
cd "$TOP" || exit 1
export MPTCPSHIM_BUILD=$BUILD

# meson's results as TAP (from its testlog.json).
meson_tap() {
	# TCG runs user code 10-15x slower than the host: a test's timeout,
	# set for a host, is multiplied (exports, 1.9 s on the host at a load
	# of 17, timed out at its 30 s in both VMs)
	# The differential tester (suite difftest) runs on the host's kernel
	# and Debian 13's userland: on 6.1 an MPTCP socket reads some options
	# back differently (IPV6_V6ONLY, SOL_IP ones) and refuses others
	# (TCP_FASTOPEN), which its comparison does not yet tell from the
	# library's own differences.
	meson test -C "$BUILD" --no-rebuild --print-errorlogs --timeout-multiplier 5 \
		--no-suite difftest >"$res/meson.log" 2>&1
	echo "$?" >"$res/meson.rc"
	python3 - "$BUILD/meson-logs/testlog.json" <<-'PY'
		import json, sys
		rows = [json.loads(l) for l in open(sys.argv[1])]
		print("1..%d" % len(rows))
		for i, r in enumerate(rows, 1):
		    name = r["name"]
		    if r["result"] == "OK":
		        print("ok %d %s" % (i, name))
		    elif r["result"] == "EXPECTEDFAIL":  # should_fail: true
		        print("ok %d %s (failed, as expected)" % (i, name))
		    elif r["result"] == "SKIP":
		        print("ok %d %s # skip" % (i, name))
		    else:
		        print("not ok %d %s (%s)" % (i, name, r["result"]))
	PY
}

for s in $SUITES; do
	echo "guest: suite $s on $(uname -r)" >/dev/console
	t0=$(date +%s)
	case "$s" in
	meson) meson_tap >"$res/meson.tap" 2>>"$res/meson.log" ;;
	optprobe)
		"$BUILD/tests/optprobe" >"$res/optprobe.out" 2>"$res/optprobe.err"
		echo "$?" >"$res/optprobe.rc"
		;;
	*)
		# a suite's core only, where vm-test.sh wrote a bats -f pattern
		if [ -s "$res/$s.filter" ]; then
			bats --tap -f "$(cat "$res/$s.filter")" "tests/bats/$s.bats"
		else
			bats --tap "tests/bats/$s.bats"
		fi >"$res/$s.tap" 2>"$res/$s.err"
		echo "$?" >"$res/$s.rc"
		;;
	esac
	echo "$(($(date +%s) - t0))" >"$res/$s.secs"
	echo "guest: suite $s: $(grep -c '^not ok' "$res/$s.tap") failed, $(cat "$res/$s.secs") s" >/dev/console
done
touch "$res/done"
