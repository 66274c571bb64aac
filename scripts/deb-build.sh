#!/usr/bin/env bash
# Builds the Debian package for the release this machine runs, from a
# copy of the tree: a Debian 12 build is 0.1.0-1~deb12u1, a Debian 13 one
# 0.1.0-1~deb13u1 (debian/changelog's version, then ~debNu1 with N from
# /etc/os-release), so the two order below the plain version and 12's
# below 13's. Each must be built on its own release (Debian 13's glibc
# headers make the package depend on libc6 >= 2.38, which 12 lacks).
#
#   scripts/deb-build.sh DIR
#
# DIR is a copy of the tree (tests/bats/deb.bash makes it): its
# debian/changelog gets one entry on top for this release (the committed
# changelog stays as it is), then dpkg-buildpackage -us -uc -b runs in it;
# the .deb files and the .changes land in DIR's parent.
set -euo pipefail

if [ "$#" -ne 1 ] || [ ! -f "$1/debian/changelog" ]; then
	echo "usage: scripts/deb-build.sh DIR (a copy of the tree)" >&2
	exit 2
fi
cd "$1"
# shellcheck disable=SC1091 # the machine's own
id=$(. /etc/os-release && echo "${VERSION_ID:-}") codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
case "$id" in
[0-9] | [0-9][0-9]) ;;
*)
	echo "deb-build: /etc/os-release names no Debian stable release (VERSION_ID '$id')" >&2
	exit 1
	;;
esac
base=$(dpkg-parsechangelog -S Version)
version=$base~deb${id}u1
# The entry repeats the top one's maintainer, its date one second later
# (lintian wants a newer one): two builds of the same tree give the same
# package.
date=$(date -u -R -d "@$(($(date -d "$(dpkg-parsechangelog -S Date)" +%s) + 1))")
{
	printf '%s (%s) %s; urgency=medium\n\n' "$(dpkg-parsechangelog -S Source)" "$version" "$codename"
	printf '  * Built for Debian %s (%s).\n\n' "$id" "$codename"
	printf ' -- %s  %s\n\n' "$(dpkg-parsechangelog -S Maintainer)" "$date"
	cat debian/changelog
} >debian/changelog.new
mv debian/changelog.new debian/changelog
dpkg-buildpackage -us -uc -b
