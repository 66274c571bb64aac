#!/usr/bin/env bash
# The library exports every name glibc has for the calls it interposes, on
# the architecture this runs on, and nothing else.
#
#   tests/abi/exports.sh LIBRARY MAPFILE PROBE...
#
# Two sources, both this machine's glibc:
#  - its headers: each PROBE is tests/abi/calls.c built under one ABI
#    setting (_FILE_OFFSET_BITS=64, _TIME_BITS=64, ...); its undefined
#    symbols are the names a program built that way calls (fcntl64,
#    __setsockopt64 on armhf). The first PROBE (no setting) gives the
#    plain names of the interposed calls.
#  - its symbol table: every public symbol of the libc.so.6 the library
#    loads with that is a plain name with leading underscores or a 64 or
#    _time64 suffix (__close, fcntl64, __fcntl_time64, __sendmsg64...).
#    GLIBC_PRIVATE ones are for glibc's own libraries, which no program
#    can link against: listed, not required.
# And the exports are the names lib/libmptcpshim.map lists, no others.
# Prints the table it derived; exits 1 naming what is missing or extra.
set -euo pipefail

[ "$#" -ge 3 ] || {
	echo "usage: exports.sh LIBRARY MAPFILE PROBE..." >&2
	exit 2
}
lib=$1 map=$2
shift 2
fail=0

exports=$(nm -D --defined-only "$lib" | awk 'NF >= 3 { sub(/@.*/, "", $3); print $3 }' | sort -u)
[ -n "$exports" ] || {
	echo "exports.sh: no exports read from $lib" >&2
	exit 1
}
is_exported() { grep -qxF "$1" <<<"$exports"; }

# The map's global names: lines "NAME;" before "local:".
listed=$(sed -n '/global:/,/local:/p' "$map" | sed -n 's/^[[:space:]]*\([A-Za-z_][A-Za-z0-9_]*\);[[:space:]]*$/\1/p' | sort -u)
for e in $exports; do
	grep -qxF "$e" <<<"$listed" || {
		echo "exported but not in $map: $e"
		fail=1
	}
done

# Headers: every name a program calls under any of the ABI settings.
plain=
n=0
for probe in "$@"; do
	names=$(nm -u "$probe" | awk '$1 == "U" { print $2 }' | sort -u)
	[ -n "$names" ] || {
		echo "exports.sh: no undefined symbols in $probe" >&2
		exit 1
	}
	[ "$n" -gt 0 ] || plain=$names
	for s in $names; do
		if is_exported "$s"; then
			grep -qxF "$s" <<<"$plain" || echo "headers, setting $n: $s (interposed)"
		else
			echo "headers, setting $n: $s is called but not exported"
			fail=1
		fi
	done
	n=$((n + 1))
done

# glibc's symbol table: the libc.so.6 the loader gives the library.
libc=$(ldd "$lib" | awk '$1 == "libc.so.6" { print $3 }')
[ -r "$libc" ] || {
	echo "exports.sh: no libc.so.6 in: ldd $lib" >&2
	exit 1
}
echo "libc: $libc"
while read -r sym; do
	name=${sym%%@*} version=${sym##*@}
	base=$name
	while [ "${base#_}" != "$base" ]; do base=${base#_}; done
	base=${base%_time64}
	base=${base%64}
	grep -qxF "$base" <<<"$plain" || continue
	[ "$name" != "$base" ] || [[ $sym == *@@* ]] || [ "$version" = GLIBC_PRIVATE ] ||
		{ echo "libc: $sym: an older version; reaches the library's unversioned $name, which calls the default one"; continue; }
	[ "$name" != "$base" ] || continue
	if [ "$version" = GLIBC_PRIVATE ]; then
		echo "libc: $sym: private to glibc's own libraries; no program can call it"
	elif is_exported "$name"; then
		echo "libc: $sym (interposed)"
	else
		echo "libc: $sym is not exported"
		fail=1
	fi
done <<<"$(nm -D --defined-only "$libc" | awk -v re="^_*($(tr '\n' '|' <<<"$plain" | sed 's/|$//'))(64|_time64)?@" \
	'NF >= 3 && $2 ~ /^[TWi]$/ && $3 ~ re { print $3 }' | sort -u)"

[ "$fail" -eq 0 ] && echo "exports.sh: $(wc -w <<<"$exports") exports, every name glibc has for them"
exit "$fail"
