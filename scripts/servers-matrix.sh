#!/usr/bin/env bash
# Runs the server matrix (tests/bats/servers.bats: Debian's servers under
# the library, one test each) and writes doc/servers.md from its results.
# Run as root on a machine with the servers installed
# (scripts/install-deps.sh). Exits with the suite's status; the table is
# written either way (a failed test is marked in it).
#
#   scripts/servers-matrix.sh [BUILD_DIR]     (default: build)
set -euo pipefail
cd "$(dirname "$0")/.."
build=$(realpath -m "${1:-build}")
if [ ! -e "$build/libmptcpshim.so" ]; then
	meson setup "$build" >/dev/null
fi
ninja -C "$build" >/dev/null
results=$build/servers-results.tsv
status=0
MPTCPSHIM_BUILD=$build SERVERS_RESULTS=$results bats tests/bats/servers.bats || status=$?
python3 tests/tools/servers-table.py "$results" >doc/servers.md
echo "servers-matrix: wrote doc/servers.md from $results"
exit "$status"
