#!/usr/bin/env bash
# Builds the libFuzzer target of the configuration code
# (tests/fuzz/fuzz_config.c, with ASan and UBSan) and runs it.
#
#   scripts/fuzz.sh [SECONDS] [LIBFUZZER OPTIONS...]
#
# SECONDS defaults to 60 (what scripts/test.sh runs); 0 runs until a crash
# or Ctrl-C. The seeds in tests/fuzz/corpus/ are read, never written: new
# inputs go to build-fuzz/corpus/, crashes to build-fuzz/artifacts/.
# Exits non-zero if the build fails or the target crashes.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-60}
[ "$#" -gt 0 ] && shift
case "$seconds" in
'' | *[!0-9]*)
	echo "usage: scripts/fuzz.sh [SECONDS] [LIBFUZZER OPTIONS...]" >&2
	exit 2
	;;
esac

cc=${FUZZ_CC:-clang}
out=build-fuzz
mkdir -p "$out/corpus" "$out/artifacts"

# The pure code of core_lib: config.c, and whatever else of it exists (it
# needs optnames.c for the option names of `tolerate`).
sources=()
for f in lib/config.c lib/optnames.c; do
	[ -e "$f" ] && sources+=("$f")
done

"$cc" -g -O1 -fno-omit-frame-pointer -std=gnu11 -D_GNU_SOURCE \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
	-Wall -Wextra -Wshadow -Wmissing-prototypes -Wstrict-prototypes \
	-Wformat=2 -Werror -Ilib -DMS_SYSCONFDIR=\"/etc\" \
	-o "$out/fuzz_config" tests/fuzz/fuzz_config.c "${sources[@]}"

echo "fuzz: running $out/fuzz_config for ${seconds}s (seeds: tests/fuzz/corpus)"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
# -print_final_stats: the last lines say how many inputs were tried.
"$out/fuzz_config" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
	-max_len=4096 -print_final_stats=1 -artifact_prefix="$out/artifacts/" \
	"$@" "$out/corpus" tests/fuzz/corpus
