#!/usr/bin/env bats
# Installation (issue 8): `meson install` with DESTDIR puts exactly the
# expected files under the prefix; the Debian package is built with
# dpkg-buildpackage (from a copy of the tree, in a temporary directory),
# checked with lintian, installed with dpkg, used by Debian's nginx through
# the installed library - with `mptcpshim run` and with the Environment=
# values of the drop-in that `mptcpshim enable` writes - and purged, after
# which nothing of it is left.
#
# The tests from "dpkg -i" on change the machine: they install the package
# mptcpshim and purge it (also one that was installed before they ran, and
# at the end of the file if a test failed half-way). Run them as root on a
# throwaway machine (CI). nginx listens on 127.0.0.1, ports 49500-49999.
#
# shellcheck disable=SC2034 # PORT_LO, PORT_HI: read by nginx.bash

load common
load nginx
load deb

PORT_LO=49500
PORT_HI=49999
PKG=mptcpshim
MA=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || gcc -print-multiarch)
LIBDIR=/usr/lib/$MA
# Exists while this file has the package installed.
INSTALLED_MARK=$BATS_FILE_TMPDIR/installed
CLEAN_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

is_installed() {
	[ "$(dpkg-query -W -f='${db:Status-Abbrev}' "$PKG" 2>/dev/null)" = "ii " ]
}

# dpkg --purge, if dpkg knows the package at all (installed or conffiles).
purge_pkg() {
	if dpkg-query -W "$PKG" >/dev/null 2>&1; then
		dpkg --purge "$PKG" >/dev/null
	fi
}

teardown_file() {
	if [ -e "$INSTALLED_MARK" ] && [ "$(id -u)" -eq 0 ]; then
		purge_pkg || true
	fi
}

setup() {
	T=$(mktemp -d "${BATS_TMPDIR:-/tmp}/mptcpshim-pkg.XXXXXX")
	NGX_DIR=
}

teardown() {
	if [ -n "${NGX_DIR:-}" ]; then
		[ -n "${BATS_TEST_COMPLETED:-}" ] || ngx_diag
		ngx_teardown
	fi
	rm -rf "$T"
}

need_tools() {
	local t missing=()
	for t in "$@"; do command -v "$t" >/dev/null || missing+=("$t"); done
	[ "${#missing[@]}" -eq 0 ] && return 0
	echo "missing: ${missing[*]} (scripts/install-deps.sh installs them)" >&2
	return 1
}

# The package the dpkg-buildpackage test built (deb.bash: built once per
# run, shared with systemd.bats).
need_deb() {
	deb_build
}

need_installed() {
	is_installed && [ -e "$INSTALLED_MARK" ] || {
		echo "$PKG is not installed by this file: the dpkg -i test failed" >&2
		return 1
	}
}

# Sorted list of the files (not directories) under $1, relative to it.
files_under() {
	(cd "$1" && find . ! -type d | sed 's|^\./|/|' | LC_ALL=C sort)
}

# The settings lines of `mptcpshim check` (without config and library).
settings_of() {
	grep -E '^(ports|connect|tolerate|log|strict) = ' <<<"$1"
}

# Starts nginx (already configured with ngx_conf) by running "$@" followed
# by nginx's own arguments, with an environment that holds only PATH and
# what the caller passes in "$@" (for example env VAR=VALUE ...).
start_nginx_with() {
	rm -f "$NGX_DIR/nginx.pid"
	env -i PATH="$CLEAN_PATH" "$@" \
		"$NGINX" -p "$NGX_DIR" -c "$NGX_DIR/nginx.conf" \
		2>>"$NGX_DIR/stderr" </dev/null 3>&-
	wait_file "$NGX_DIR/nginx.pid"
	echo "nginx $(ngx_master)" >>"$NGX_DIR/pids"
}

# nginx with an http server on 127.0.0.1:$1 and on 127.0.0.1:$2.
nginx_conf_two_ports() {
	ngx_setup
	ngx_conf <<-EOF
		http {
		$(http_common)
		server {
		    listen 127.0.0.1:$1;
		    listen 127.0.0.1:$2;
		    location / { return 200 "served\n"; }
		}
		}
	EOF
}

# Checks, from the kernel, that the running nginx uses the installed
# library: $1 (listed port) is an MPTCP listener and serves an MPTCP
# client over MPTCP, $2 (unlisted) is only TCP; the master has the
# installed library mapped, and the library logged no error or warning.
check_nginx_mptcp() {
	local p=$1 u=$2 master
	wait_listen "$p"
	wait_listen "$u"
	[ "$(mptcp_listeners "$p")" -eq 1 ]
	[ "$(mptcp_listeners "$u")" -eq 0 ]
	[ "$(tcp_listeners "$u")" -eq 1 ]
	run ss -HMln "sport = :$p"
	[[ "$output" == *"127.0.0.1:$p"* ]]

	run peer http 127.0.0.1 "$p"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "is_mptcp=1" ]
	[ "${lines[1]}" = "status=200" ]
	[ "${lines[2]}" = "body=served" ]

	master=$(ngx_master)
	grep -q " $LIBDIR/libmptcpshim.so.0.1.0$" "/proc/$master/maps"
	grep -q "127.0.0.1:$p: socket converted to MPTCP" "$NGX_DIR/stderr"
	run grep -E 'mptcpshim\[[0-9]+\]: (error|warn)' "$NGX_DIR/stderr"
	[ "$status" -eq 1 ]
}

@test "meson install: exactly the library (soname + unversioned), the command, man pages, bash completion, the example and the JSON schemas, inside DESTDIR and the prefix" {
	need_tools meson ninja objdump
	local prefix n=0 etc expected dirs
	for prefix in /usr/local /usr; do
		n=$((n + 1))
		meson setup "$T/build$n" "$TOP" --prefix="$prefix" >/dev/null
		ninja -C "$T/build$n" >/dev/null
		DESTDIR="$T/dest$n" meson install -C "$T/build$n" --quiet >/dev/null
		expected="$prefix/bin/mptcpshim
$prefix/lib/$MA/libmptcpshim.so
$prefix/lib/$MA/libmptcpshim.so.0
$prefix/lib/$MA/libmptcpshim.so.0.1.0
$prefix/share/bash-completion/completions/mptcpshim
$prefix/share/doc/mptcpshim/mptcpshim.conf.example
$prefix/share/doc/mptcpshim/probe.schema.json
$prefix/share/doc/mptcpshim/status.schema.json
$prefix/share/man/man1/mptcpshim.1
$prefix/share/man/man5/mptcpshim.conf.5
$prefix/share/man/man7/libmptcpshim.7"
		run files_under "$T/dest$n"
		echo "prefix $prefix installed:" && echo "$output"
		[ "$output" = "$expected" ]
		# Every directory is the prefix, inside it, or on the way to it.
		dirs=$(cd "$T/dest$n" && find . -mindepth 1 -type d | sed 's|^\./|/|')
		while read -r d; do
			case "$d" in "$prefix" | "$prefix"/* | /usr) ;; *) echo "outside: $d" && false ;; esac
		done <<<"$dirs"

		local lib=$T/dest$n$prefix/lib/$MA
		[ "$(readlink "$lib/libmptcpshim.so")" = libmptcpshim.so.0 ]
		[ "$(readlink "$lib/libmptcpshim.so.0")" = libmptcpshim.so.0.1.0 ]
		[ "$(objdump -p "$lib/libmptcpshim.so.0.1.0" | awk '$1 == "SONAME" { print $2 }')" = libmptcpshim.so.0 ]
		# The command looks for the installed, unversioned library and
		# the configuration under SYSCONFDIR (/etc for --prefix=/usr).
		etc=$prefix/etc
		[ "$prefix" = /usr ] && etc=/etc
		run env -u MPTCPSHIM_LIBRARY -u MPTCPSHIM_CONFIG \
			"$T/dest$n$prefix/bin/mptcpshim" check --no-env
		[[ "$output" == *"config = $etc/mptcpshim.conf "* ]]
		[[ "$output" == *"library = $prefix/lib/$MA/libmptcpshim.so "* ]]
	done
}

@test "example configuration: only comments, so it changes nothing; each commented key is valid once uncommented" {
	local ex=$TOP/doc/mptcpshim.conf.example cli=$BUILD/cli/mptcpshim
	[ -x "$cli" ]
	# no line but comments and blank ones
	run grep -Ev '^[[:space:]]*(#|$)' "$ex"
	[ "$status" -eq 1 ]
	run "$cli" check --no-env "$ex"
	[ "$status" -eq 0 ]
	as_file=$(settings_of "$output")
	run "$cli" check --no-env /dev/null
	[ "$(settings_of "$output")" = "$as_file" ]
	# Every key of the file is there, commented; uncommented, all are valid.
	sed -E 's/^#([a-z]+ = )/\1/' "$ex" >"$T/uncommented.conf"
	for key in ports connect tolerate log strict; do
		grep -Eq "^$key = " "$T/uncommented.conf"
	done
	run "$cli" check --no-env "$T/uncommented.conf"
	[ "$status" -eq 0 ]
	[[ "$output" == *"ports = 80,443 (file)"* ]]
}

@test "dpkg-buildpackage -us -uc -b builds the package from a copy of the tree; lintian reports no errors" {
	need_tools dpkg-buildpackage dh dpkg-deb lintian
	deb_build
	# the copy built from: the tree's files, no build directory
	[ -f "$DEB_SRC/debian/control" ]
	[ ! -e "$DEB_SRC/build" ] && [ ! -e "$DEB_SRC/.git" ]

	run dpkg-deb -c "$DEB"
	echo "$output"
	for f in ./usr/bin/mptcpshim ./etc/mptcpshim.conf \
		"./usr/lib/$MA/libmptcpshim.so.0.1.0" \
		"./usr/lib/$MA/libmptcpshim.so.0 -> libmptcpshim.so.0.1.0" \
		"./usr/lib/$MA/libmptcpshim.so -> libmptcpshim.so.0" \
		./usr/share/man/man1/mptcpshim.1.gz ./usr/share/man/man5/mptcpshim.conf.5.gz \
		./usr/share/man/man7/libmptcpshim.7.gz \
		./usr/share/doc/mptcpshim/README.Debian; do
		[[ "$output" == *" $f"* ]] || { echo "not in the package: $f" && false; }
	done
	dpkg-deb -e "$DEB" "$T/control"
	[ "$(cat "$T/control/conffiles")" = /etc/mptcpshim.conf ]
	grep -q 'nginx.service.d/mptcpshim.conf' "$DEB_SRC/debian/README.Debian"

	# lintian on the .changes (the package and its -dbgsym). It warns
	# that it runs as root; only E: lines count.
	run lintian --pedantic "$DEB_CHANGES"
	echo "lintian:" && echo "$output"
	[ "$(grep -c '^E:' <<<"$output")" -eq 0 ]
}

@test "the package's version names the release it was built on (0.1.0-1~deb12u1, ~deb13u1), in order" {
	need_tools dpkg-buildpackage dh dpkg-deb
	deb_build
	id=$(. /etc/os-release && echo "$VERSION_ID")
	base=$(dpkg-parsechangelog -l "$TOP/debian/changelog" -S Version)
	[ "$(dpkg-deb -f "$DEB" Version)" = "$base~deb${id}u1" ]
	# Debian 12's build sorts below 13's, both below the plain version
	dpkg --compare-versions "$base~deb12u1" lt "$base~deb13u1"
	dpkg --compare-versions "$base~deb13u1" lt "$base"
}

@test "dpkg -i: the library at its stable, unversioned path, the command, man pages, /etc/mptcpshim.conf that changes nothing" {
	need_root
	need_deb
	# a package left from earlier, ours or not: start from none
	purge_pkg
	run is_installed
	[ "$status" -ne 0 ]
	: >"$INSTALLED_MARK"
	dpkg -i "$DEB" >"$T/dpkg.log" 2>&1 || { cat "$T/dpkg.log" && false; }
	is_installed

	[ -f "$LIBDIR/libmptcpshim.so.0.1.0" ]
	[ "$(readlink -f "$LIBDIR/libmptcpshim.so")" = "$LIBDIR/libmptcpshim.so.0.1.0" ]
	[ "$(command -v mptcpshim)" = /usr/bin/mptcpshim ]
	# bash completion, where bash-completion looks (by the command's name)
	[ -f /usr/share/bash-completion/completions/mptcpshim ]
	run bash -c 'source /usr/share/bash-completion/completions/mptcpshim
		COMP_WORDS=(mptcpshim dis); COMP_CWORD=1; _mptcpshim; echo "${COMPREPLY[*]}"'
	[ "$output" = disable ]
	[ "$(dpkg-query -W -f='${Conffiles}' "$PKG" | awk 'NF { print $1 }')" = /etc/mptcpshim.conf ]
	[ "$(stat -c '%U %a' /etc/mptcpshim.conf)" = "root 644" ]
	# Man pages and docs, unless dpkg's path-exclude drops them here
	# (slim container images); the dpkg-buildpackage test saw them in the
	# package either way.
	if dpkg -L "$PKG" | grep -qx /usr/share/man/man1/mptcpshim.1.gz; then
		man -w mptcpshim >/dev/null
		man -w 5 mptcpshim.conf >/dev/null
	else
		echo "# dpkg excludes /usr/share/man on this machine" >&3
	fi
	if dpkg -L "$PKG" | grep -qx /usr/share/doc/mptcpshim/README.Debian; then
		[ -f /usr/share/doc/mptcpshim/README.Debian ]
	fi

	# The shipped file is read (root owns it, nobody else writes it), is
	# valid, and gives the very settings of no file at all.
	run env -i PATH="$CLEAN_PATH" mptcpshim check
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == "config = /etc/mptcpshim.conf (read; default)" ]]
	[[ "$output" == *"library = $LIBDIR/libmptcpshim.so (default)"* ]]
	as_shipped=$(settings_of "$output")
	run env -i PATH="$CLEAN_PATH" mptcpshim check /dev/null
	[ "$(settings_of "$output")" = "$as_shipped" ]
}

@test "installed package: Debian's nginx through mptcpshim run (--ports, /etc/mptcpshim.conf as shipped)" {
	need_root
	need_mptcp
	need_installed
	P=$(port)
	U=$(port "$P")
	nginx_conf_two_ports "$P" "$U"
	# No MPTCPSHIM_CONFIG: the library reads the shipped conffile too.
	start_nginx_with mptcpshim run --ports "$P" --
	check_nginx_mptcp "$P" "$U"
	# what it preloads: the unversioned, stable path
	run env -i PATH="$CLEAN_PATH" mptcpshim run --ports "$P" -- printenv LD_PRELOAD
	[ "$output" = "$LIBDIR/libmptcpshim.so" ]
}

@test "installed package: Debian's nginx with the Environment= values of the drop-in mptcpshim enable writes" {
	need_root
	need_mptcp
	need_installed
	local root dropin
	P=$(port)
	U=$(port "$P")
	nginx_conf_two_ports "$P" "$U"
	root=$NGX_DIR/root
	mkdir -p "$root/lib/systemd/system"
	if [ -f /lib/systemd/system/nginx.service ]; then
		cp /lib/systemd/system/nginx.service "$root/lib/systemd/system/"
	else
		printf '[Service]\nType=forking\nExecStart=/usr/sbin/nginx\n' \
			>"$root/lib/systemd/system/nginx.service"
	fi
	run env -u LD_PRELOAD mptcpshim enable nginx --root "$root" --ports "$P"
	echo "$output"
	[ "$status" -eq 0 ]
	dropin=$root/etc/systemd/system/nginx.service.d/mptcpshim.conf
	cat "$dropin"
	# systemd's quoting of Environment= values: "VAR=VALUE" words.
	mapfile -t vars < <(sed -n 's/^Environment=//p' "$dropin" | xargs -n1 printf '%s\n')
	printf 'from the drop-in: %s\n' "${vars[@]}"
	[[ " ${vars[*]} " == *" LD_PRELOAD=$LIBDIR/libmptcpshim.so "* ]]
	[[ " ${vars[*]} " == *" MPTCPSHIM_PORTS=$P "* ]]
	start_nginx_with "${vars[@]}"
	check_nginx_mptcp "$P" "$U"
}

@test "dpkg --purge: every file of the package is gone, the edited conffile too, and the loader cache forgets the library" {
	need_root
	need_installed
	local p left=()
	mapfile -t paths < <(dpkg -L "$PKG")
	[ "${#paths[@]}" -gt 10 ]
	# an administrator's edit: purge removes the conffile all the same
	echo 'log = warn' >>/etc/mptcpshim.conf
	ldconfig -p | grep -q libmptcpshim.so.0

	dpkg --purge "$PKG" >"$T/dpkg.log" 2>&1 || { cat "$T/dpkg.log" && false; }
	rm -f "$INSTALLED_MARK"

	run dpkg-query -W "$PKG"
	[ "$status" -ne 0 ]
	for p in "${paths[@]}"; do
		[ "$p" = /. ] && continue
		[ -e "$p" ] || [ -L "$p" ] || continue
		# what is left must be a directory another package owns (/usr/bin)
		if [ -d "$p" ] && [ ! -L "$p" ] && dpkg-query -S "$p" >/dev/null 2>&1; then
			continue
		fi
		left+=("$p")
	done
	[ "${#left[@]}" -eq 0 ] || { echo "left behind: ${left[*]}" && false; }
	run compgen -G '/etc/mptcpshim.conf*'
	[ -z "$output" ]
	run compgen -G "/var/lib/dpkg/info/$PKG.*"
	[ -z "$output" ]
	[ ! -e /usr/share/doc/mptcpshim ]
	[ ! -e "$LIBDIR/libmptcpshim.so" ]
	[ ! -L "$LIBDIR/libmptcpshim.so" ]
	[ "$(ldconfig -p | grep -c libmptcpshim)" -eq 0 ]
}
