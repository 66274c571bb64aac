#!/usr/bin/env bash
# The differential tester by hand (issue 21): the stored cases, then
# SECONDS (default 120) of generated sequences from a seed (default: a
# random one, printed), with the library of BUILD (default ./build).
# Findings (shrunk .seq and a C reproducer each) go to a directory it
# prints. Run as root: each run is in its own network namespace.
#   tests/difftest/difftest.sh [BUILD [SECONDS [SEED]]] [-- difftest options]
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build} secs=${2:-120} seed=${3:-random}
shift $(($# < 3 ? $# : 3))
[ "${1:-}" = -- ] && shift
bin=$build/tests/difftest/difftest
if [ ! -x "$bin" ]; then
	echo "difftest.sh: no $bin (ninja -C $build first)" >&2
	exit 2
fi
status=0
"$bin" --lib "$build/libmptcpshim.so" --replay tests/difftest/cases "$@" || status=1
"$bin" --lib "$build/libmptcpshim.so" --seed "$seed" --time "$secs" "$@" || status=1
exit "$status"
