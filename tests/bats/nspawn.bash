# shellcheck shell=bash
# A Debian 12 (or, with MPTCPSHIM_RELEASE=trixie, 13) machine with systemd
# as PID 1, for the bats suites: the root file system cached by
# scripts/rootfs.sh --release $MPTCPSHIM_RELEASE (default bookworm), booted with systemd-nspawn
# (--private-network, --volatile=overlay: the container writes only to a
# tmpfs, the unpacked tree stays as built), commands run inside with
# nsenter. Load after common. Needs root.
#
#   ct_rootfs KIND          the cached tree (scripts/rootfs.sh --dir KIND,
#                           of $CT_RELEASE;
#                           built if missing); skips only when it cannot be
#                           built on this machine
#   ct_boot NAME [unified|hybrid] [NSPAWN-ARGS...]
#                           boots it as container NAME, waits until systemd
#                           says running (or degraded); sets CT=NAME
#   ct CMD...               runs CMD in container $CT (clean environment)
#   ct_sh 'SCRIPT'          the same through bash -c
#   ct_poweroff NAME        powers it off and waits; kills it after 10 s
#   ct_cleanup              every container of this file, then the tree
#
# The cached tree is booted as it is, by any number of containers at once:
# --volatile=overlay mounts it read-only under a tmpfs. Each container's
# state is in $CT_STATE/NAME/ (the nspawn pid, the container's PID 1,
# nspawn's output): ct_cleanup finds everything there, also after a
# failed test. Share files with the container through
# $CT_STATE/share, mounted read-only at /mnt/mptcpshim inside.

CT_RELEASE=${MPTCPSHIM_RELEASE:-bookworm}
CT_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
CT_STATE=${BATS_FILE_TMPDIR:-/tmp}/ct
CT_SHARE=$CT_STATE/share

ct_rootfs() { # KIND
	local kind=$1 log
	command -v systemd-nspawn >/dev/null && command -v nsenter >/dev/null || {
		echo "systemd-nspawn or nsenter missing: run scripts/install-deps.sh" >&2
		return 1
	}
	mkdir -p "$CT_SHARE"
	log=$CT_STATE/rootfs.log
	if ! CT_ROOT=$("$TOP/scripts/rootfs.sh" --dir --release "$CT_RELEASE" "$kind" 2>"$log"); then
		# Only an archive that cannot be reached is a reason to skip:
		# anything else is a failure to look at.
		if grep -Eq "Temporary failure resolving|Could not resolve|Failed to fetch|Unable to connect|Network is unreachable" "$log"; then
			skip "the Debian archive is not reachable, so the root file system cannot be built here; build it with: scripts/rootfs.sh --release $CT_RELEASE $kind"
		fi
		cat "$log" >&2
		return 1
	fi
	# for the tests (bats runs them in other processes than setup_file)
	export CT_ROOT
}

# The container's PID 1: the child of the nspawn process that is PID 1 in
# its own PID namespace (nspawn has short-lived helper children too).
_ct_pid1() { # NAME
	local np c ns
	np=$(cat "$CT_STATE/$1/nspawn.pid" 2>/dev/null) || return 1
	for c in $(ps -o pid= --ppid "$np" 2>/dev/null); do
		ns=$(awk '$1 == "NSpid:" { print $NF, NF }' "/proc/$c/status" 2>/dev/null)
		if [ "$ns" = "1 3" ]; then
			echo "$c"
			return 0
		fi
	done
	return 1
}

ct_boot() { # NAME [unified|hybrid] [NSPAWN-ARGS...]
	local name=$1 layout=${2:-unified} dir machine pid1 st _
	shift $(($# < 2 ? $# : 2))
	dir=$CT_STATE/$name
	mkdir -p "$dir"
	echo "$layout" >"$dir/layout"
	# The machine's name on the host must not collide with another run's
	# (nspawn keeps a directory per name in /run).
	machine=mptcpshim-$name-$(printf '%s' "$CT_STATE" | md5sum | cut -c1-8)
	echo "$machine" >"$dir/machine"
	# unified: cgroup v2 only (what Debian 12 boots with); hybrid: the
	# container copies the host's layout (on these machines v1
	# controllers with v2 beside them; =0 would be v1 only).
	(
		if [ "$layout" = unified ]; then
			export SYSTEMD_NSPAWN_UNIFIED_HIERARCHY=1
		else
			unset SYSTEMD_NSPAWN_UNIFIED_HIERARCHY
		fi
		# --keep-unit where systemd is not PID 1 (no scope to make);
		# where it is, nspawn makes its own scope.
		keep_unit=--keep-unit
		[ -d /run/systemd/system ] && keep_unit=--register=no
		exec setsid systemd-nspawn -q -D "$CT_ROOT" -b --machine="$machine" \
			--register=no "$keep_unit" --private-network --volatile=overlay \
			--bind-ro="$CT_SHARE:/mnt/mptcpshim" "$@" \
			</dev/null >"$dir/console.log" 2>&1 3>&-
	) &
	echo "$!" >"$dir/nspawn.pid"
	for _ in $(seq 1 100); do
		pid1=$(_ct_pid1 "$name") && [ -n "$pid1" ] && break
		sleep 0.05
	done
	if [ -z "${pid1:-}" ]; then
		echo "container $name did not start:" >&2
		cat "$dir/console.log" >&2
		return 1
	fi
	echo "$pid1" >"$dir/pid1"
	CT=$name
	# is-system-running --wait needs the bus, which is not there at once.
	for _ in $(seq 1 150); do
		st=$(ct systemctl is-system-running 2>/dev/null) || true
		case "$st" in running | degraded) break ;; esac
		sleep 0.1
	done
	case "$st" in
	running) ;;
	degraded)
		echo "# container $name booted degraded:" >&3
		ct systemctl --failed --no-legend | sed 's/^/#   /' >&3
		;;
	*)
		echo "container $name not up after 15 s (is-system-running: $st)" >&2
		tail -n 30 "$dir/console.log" >&2
		return 1
		;;
	esac
}

ct() {
	local pid1
	pid1=$(cat "$CT_STATE/$CT/pid1") || return 1
	nsenter -t "$pid1" -a env -i PATH="$CT_PATH" HOME=/root LANG=C.UTF-8 \
		SYSTEMD_PAGER=cat SYSTEMD_COLORS=0 TERM=dumb "$@" 3>&-
}

ct_sh() {
	ct bash -c "$1"
}

_ct_alive() { # PID (a zombie is gone)
	local st
	st=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
	[[ "$st" != Z* ]]
}

ct_poweroff() { # NAME
	local name=$1 dir np pid1 _
	dir=$CT_STATE/$name
	np=$(cat "$dir/nspawn.pid" 2>/dev/null) || return 0
	pid1=$(cat "$dir/pid1" 2>/dev/null) || pid1=
	if _ct_alive "$np"; then
		if [ -n "$pid1" ] && _ct_alive "$pid1"; then
			nsenter -t "$pid1" -a env -i PATH="$CT_PATH" \
				systemctl poweroff -ff >/dev/null 2>&1 </dev/null 3>&- || true
		fi
		for _ in $(seq 1 100); do
			_ct_alive "$np" || break
			sleep 0.1
		done
		if _ct_alive "$np"; then
			echo "# container $name still up after 10 s: killed" >&3
			# SIGKILL to the container's PID 1 ends its whole PID
			# namespace; nspawn then exits.
			[ -n "$pid1" ] && kill -KILL "$pid1" 2>/dev/null
			sleep 0.5
			kill -KILL "$np" 2>/dev/null || true
		fi
	fi
	wait "$np" 2>/dev/null || true
	rm -f "$dir/nspawn.pid"
	# nspawn's own directory on the host (not removed when /run is no
	# tmpfs); empty once the container is gone.
	rmdir "/run/systemd/nspawn/propagate/$(cat "$dir/machine")" 2>/dev/null || true
}

ct_cleanup() {
	local d
	[ -d "$CT_STATE" ] || return 0
	for d in "$CT_STATE"/*/; do
		[ -e "$d/nspawn.pid" ] && ct_poweroff "$(basename "$d")"
	done
	rm -rf "$CT_STATE"
}

# Copies the container's journal of unit $1 (all boots of it) to stdout.
ct_journal() {
	ct journalctl -q --no-pager -o cat -u "$1"
}
