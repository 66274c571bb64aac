#!/usr/bin/env bash
# The README's test command: installs what the tests need, builds with
# warnings as errors, and runs every test - unit and integration tests
# (cmocka, through meson), the same again under ASan+UBSan and under TSan,
# the bats suites, the same build and suites in a Debian 13 userland and
# systemd.bats on a booted Debian 13, the pristine-machine checks
# (install-deps.sh on a new Debian 12 and 13 gives everything these use),
# a 60 s run of the parser's fuzzer, and the formatting check. Exits
# non-zero if anything failed.
set -euo pipefail
# No assumption on inherited fds (a CI runner's, a terminal's): every fd
# above 2 is closed, but bash's own (255, the script it reads).
for fd in "/proc/$$/fd/"*; do
	fd=${fd##*/}
	[ "$fd" -gt 2 ] && [ "$fd" -ne 255 ] && eval "exec $fd>&-"
done
cd "$(dirname "$0")/.."
top=$PWD

scripts/install-deps.sh

passed=0 failed=0 skipped=0
count_meson() { # build dir
	local log="$1/meson-logs/testlog.json" s
	[ -f "$log" ] || return 0
	while read -r s; do
		case "$s" in
		OK | EXPECTEDFAIL) passed=$((passed + 1)) ;; # meson's should_fail: true
		SKIP) skipped=$((skipped + 1)) ;;
		*) failed=$((failed + 1)) ;;
		esac
	done < <(python3 -c 'import json,sys
for l in open(sys.argv[1]):
    print(json.loads(l)["result"])' "$log")
}
# The differential tester's seeds and counts (tests/difftest), which
# meson keeps in its log for passing tests.
difftest_seeds() { # build dir
	grep -h '^difftest: .*\(sequences\|seeds from\|replayed\|left out\)' \
		"$1/meson-logs/testlog.txt" 2>/dev/null | awk '!seen[$0]++' || true
}
status=0

echo "== build (warnings are errors)"
rm -rf build-ci
meson setup build-ci -Dwerror=true >/dev/null
ninja -C build-ci
echo "== unit and integration tests"
meson test -C build-ci --print-errorlogs || status=1
count_meson build-ci
difftest_seeds build-ci

echo "== the same tests under ASan + UBSan"
rm -rf build-asan
CC=gcc meson setup build-asan -Dwerror=true -Db_sanitize=address,undefined \
	-Db_lundef=false >/dev/null
ninja -C build-asan
UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	meson test -C build-asan --print-errorlogs || status=1
count_meson build-asan
difftest_seeds build-asan

echo "== the same tests under TSan (threads, fork; test_concurrency)"
# gcc: its libtsan is a shared library the preloaded shim links to, so the
# shim works in any process. halt_on_error: a race report fails the test.
rm -rf build-tsan
CC=gcc meson setup build-tsan -Dwerror=true -Db_sanitize=thread \
	-Db_lundef=false >/dev/null
ninja -C build-tsan
TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
	meson test -C build-tsan --print-errorlogs || status=1
count_meson build-tsan

echo "== nginx 1.30.4 from the vendored source (scripts/nginx-build.sh; cached)"
# for nginx-multipath.bats, and the nginx suites a second time below
if MPTCPSHIM_NGINX_CURRENT=$(scripts/nginx-build.sh); then
	export MPTCPSHIM_NGINX_CURRENT
else
	failed=$((failed + 1))
	status=1
fi

# A stage's summary line "NAME: P passed, F failed, S skipped ..." into
# the counts (a stage without one counts as a failure).
add_summary() { # NAME FILE
	local line p f s
	line=$(grep -E "^$1: [0-9]+ passed, [0-9]+ failed, [0-9]+ skipped" "$2" | tail -n 1) ||
		line="$1: 0 passed, 1 failed, 0 skipped"
	read -r p f s <<<"$(sed -E 's/.*: ([0-9]+) passed, ([0-9]+) failed, ([0-9]+) skipped.*/\1 \2 \3/' <<<"$line")"
	passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
	[ "$f" -eq 0 ] || status=1
}

echo "== root file systems (scripts/rootfs.sh; cached in \$MPTCPSHIM_CACHE/rootfs)"
# Built here, before the bats suites, and not from inside bats (issue 21:
# mmdebstrap under bats' extra fds failed): systemd.bats boots the
# systemd trees, release-test.sh enters the build tree, pristine-check.sh
# starts from the pristine ones.
for tree in "bookworm systemd" "trixie systemd" "trixie build" "bookworm pristine" "trixie pristine"; do
	read -r release kind <<<"$tree"
	t=$(date +%s)
	if scripts/rootfs.sh --release "$release" --check "$kind" >/dev/null; then
		what=cached
	else
		what=built
	fi
	if scripts/rootfs.sh --release "$release" "$kind" >/dev/null; then
		echo "   $release $kind: $what, $(($(date +%s) - t)) s"
	else
		echo "   $release $kind: FAILED after $(($(date +%s) - t)) s"
		failed=$((failed + 1))
		status=1
	fi
done

echo "== bats suites"
export MPTCPSHIM_BUILD="$top/build-ci"
# The Debian package is built once, for package.bats and systemd.bats.
MPTCPSHIM_DEB_DIR=$(mktemp -d)
export MPTCPSHIM_DEB_DIR
tap=$(mktemp)
trap 'rm -rf "$tap" "$MPTCPSHIM_DEB_DIR"' EXIT
rm -f "$MPTCPSHIM_BUILD/servers-results.tsv" # servers.bats writes it anew
bats --tap tests/bats | tee "$tap" || status=1
if [ -n "${MPTCPSHIM_NGINX_CURRENT:-}" ]; then
	echo "== nginx.bats and nginx-connect.bats again, with nginx 1.30.4 (Debian's 1.22 above)"
	NGINX=$MPTCPSHIM_NGINX_CURRENT bats --tap tests/bats/nginx.bats tests/bats/nginx-connect.bats |
		tee -a "$tap" || status=1
fi
count() { grep -c "$1" "$tap" || true; } # grep -c exits 1 on no match
passed=$((passed + $(count '^ok ') - $(count '^ok .*# skip')))
skipped=$((skipped + $(count '^ok .*# skip')))
failed=$((failed + $(count '^not ok')))

echo "== Debian 13 (trixie) userland: -Werror build, meson suite, nginx/shim/cli/package suites against its nginx 1.26.3 (scripts/release-test.sh)"
stage=$(mktemp)
scripts/release-test.sh --deb-out "$MPTCPSHIM_DEB_DIR/trixie" trixie | tee "$stage" || status=1
add_summary "release-test: trixie" "$stage"

echo "== systemd.bats on a booted Debian 13 (systemd 257), with the .deb built on Debian 13"
t=$(date +%s)
trixie_deb=$(find "$MPTCPSHIM_DEB_DIR/trixie" -name 'mptcpshim_*.deb' 2>/dev/null | head -n1)
if [ -n "$trixie_deb" ]; then
	MPTCPSHIM_RELEASE=trixie MPTCPSHIM_DEB=$trixie_deb bats --tap tests/bats/systemd.bats |
		tee "$stage" || status=1
	s=$(grep -c '^ok .*# skip' "$stage" || true)
	p=$(($(grep -c '^ok ' "$stage" || true) - s))
	f=$(grep -c '^not ok' "$stage" || true)
	# a file that stopped before its plan's end
	[ "$(grep -c '^\(not \)\?ok ' "$stage" || true)" = "$(sed -n 's/^1\.\.//p' "$stage")" ] ||
		f=$((f + 1))
else
	echo "no .deb was built on Debian 13 (above)"
	p=0 f=1 s=0
fi
echo "systemd-trixie: $p passed, $f failed, $s skipped in $(($(date +%s) - t)) s" | tee "$stage"
add_summary systemd-trixie "$stage"
rm -f "$stage"

echo "== doc/servers.md is the table this run's servers.bats gives (tests/tools/servers-table.py --check)"
if python3 tests/tools/servers-table.py --check doc/servers.md "$MPTCPSHIM_BUILD/servers-results.tsv"; then
	passed=$((passed + 1))
else
	failed=$((failed + 1))
	status=1
fi

echo "== a pristine Debian 12 and 13: scripts/install-deps.sh gives everything (scripts/pristine-check.sh bookworm, trixie; side by side)"
# Each is mostly one dpkg installing about 600 packages, and apt's
# downloads: two side by side use the 2 cores better than one after the
# other. Each one's output is printed when both are done.
pristine=$(mktemp -d)
for release in bookworm trixie; do
	(
		rc=0
		scripts/pristine-check.sh "$release" >"$pristine/$release.log" 2>&1 || rc=$?
		echo "$rc" >"$pristine/$release.rc"
	) &
done
wait
for release in bookworm trixie; do
	cat "$pristine/$release.log"
	rc=$(cat "$pristine/$release.rc" 2>/dev/null || echo 1)
	case "$rc" in
	0) passed=$((passed + 1)) ;;
	2) skipped=$((skipped + 1)) ;; # the Debian archive is not reachable
	*)
		failed=$((failed + 1))
		status=1
		;;
	esac
done
rm -rf "$pristine"

echo "== meson, nginx, shim, faults and doctor-kernel suites on Debian 12's 6.1 and 13's 6.12 (VMs, scripts/vm-test.sh)"
# The two kernels boot side by side (one vCPU each); the rest of the
# suites on those kernels: scripts/vm-test.sh --full (README, Tests).
MPTCPSHIM_BUILD="$top/build-ci" scripts/vm-test.sh --jobs 2 | tee "$tap" || status=1
vm=$(grep -E '^vm-test: [0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$' "$tap" || echo 'vm-test: 0 passed, 1 failed, 0 skipped')
read -r vp vf vs <<<"$(tr -cs '0-9' ' ' <<<"$vm")"
passed=$((passed + vp)) failed=$((failed + vf)) skipped=$((skipped + vs))

echo "== fuzzing the configuration parser (60 s, scripts/fuzz.sh)"
if scripts/fuzz.sh 60; then
	passed=$((passed + 1))
else
	failed=$((failed + 1))
	status=1
fi

echo "== formatting (.clang-format, clang-format 19: the same version on Debian 12 and 13)"
if clang-format-19 --dry-run -Werror lib/*.[ch] cli/*.[ch] tests/*/*.c; then
	passed=$((passed + 1))
else
	failed=$((failed + 1))
	status=1
fi

echo "summary: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ] || status=1
exit "$status"
