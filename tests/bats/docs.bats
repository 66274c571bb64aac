#!/usr/bin/env bats
# The documentation against the code. The README's settings table is the
# settings table of lib/config.c (cli/mkman.c --readme rewrites it
# identically); every mptcpshim command and option, script, file and link
# the README names exists; the man pages render without a single troff
# warning, mptcpshim(1) has a section per subcommand and
# libmptcpshim(7) describes every function the library exports. And the
# README's first command, scripts/demo.sh, run as root from a clean copy
# of the tree in a network namespace of its own, shows MPTCP from the
# kernel and leaves nothing running.

load common
load deb

CLI=$BUILD/cli/mptcpshim
MKMAN=$BUILD/cli/mkman
README=$TOP/README.md
PAGES=("$BUILD/cli/mptcpshim.1" "$BUILD/cli/mptcpshim.conf.5" "$BUILD/cli/libmptcpshim.7")

setup() {
	TMP=$(mktemp -d)
}

teardown() {
	rm -rf "$TMP"
}

# The README's mptcpshim commands, one per line: "SUB --opt --opt ...",
# from its code blocks and its `inline code`.
readme_commands() {
	python3 - "$README" <<-'EOF'
		import re, sys
		text = open(sys.argv[1]).read()
		spans = re.findall(r"`([^`\n]+)`", text)
		spans += [l for l in text.splitlines() if l.startswith("    ")]
		for s in spans:
		    for m in re.finditer(r"(?:^|[\s(])mptcpshim ([a-z-]+)([^&;|]*)", s):
		        opts = re.findall(r"(?<![\w-])(--[a-z][a-z-]*)", m.group(2))
		        print(" ".join([m.group(1)] + opts))
	EOF
}

@test "README: its settings table is the one in lib/config.c (mkman --readme changes nothing)" {
	cp "$README" "$TMP/README.md"
	run "$MKMAN" --readme "$TMP/README.md"
	echo "$output"
	[ "$status" -eq 0 ]
	run diff -u "$README" "$TMP/README.md"
	echo "$output"
	[ "$status" -eq 0 ] || {
		echo "# stale: run build/cli/mkman --readme README.md" >&3
		return 1
	}
	# Every variable `run` offers an option for is a row of the table.
	run "$CLI" run --help
	vars=$(grep -o '(MPTCPSHIM_[A-Z]*' <<<"$output" | tr -d '(' | sort -u)
	[ "$(wc -l <<<"$vars")" -ge 6 ]
	for v in $vars; do
		grep -q "^| \`$v\` |" "$README"
	done
}

@test "README: every mptcpshim command it shows exists and takes the options it shows" {
	run readme_commands
	[ "$status" -eq 0 ]
	cmds=$output
	echo "$cmds"
	# the three commands of "Enable it on nginx" are among them
	grep -qx "enable --ports" <<<"$cmds"
	grep -qx "status --unit" <<<"$cmds"
	while read -r sub opts; do
		run "$CLI" "$sub" --help
		[ "$status" -eq 0 ] || {
			echo "mptcpshim $sub --help: exit $status" >&2
			return 1
		}
		for o in $opts; do
			grep -qe "$o" <<<"$output" || {
				echo "mptcpshim $sub has no option $o" >&2
				return 1
			}
		done
	done <<<"$cmds"
}

@test "README: every file, script and link it names exists" {
	run python3 - "$README" "$TOP" <<-'EOF'
		import os, re, sys
		text, top = open(sys.argv[1]).read(), sys.argv[2]
		paths = set(re.findall(r"\]\(([^)#]+)\)", text))
		paths = {p for p in paths if not re.match(r"[a-z]+:", p)}
		paths |= set(re.findall(
		    r"(?<![\w/.-])((?:scripts|tests|doc|debian|lib|cli|\.ci)/[\w./-]*\w)", text))
		paths |= set(re.findall(r"\b(BENCHMARKS\.md|LICENSE)\b", text))
		missing = sorted(p for p in paths if not os.path.exists(os.path.join(top, p)))
		print("checked: " + " ".join(sorted(paths)))
		for p in missing:
		    print("missing: " + p)
		sys.exit(1 if missing or not paths else 0)
	EOF
	echo "$output"
	[ "$status" -eq 0 ]
}

@test "README: the quick start comes first, demo.sh then test.sh; about 250 lines at most" {
	# the first heading after the title is the quick start
	[[ "$(grep -m1 '^## ' "$README")" == "## Quick start"* ]]
	# its first two commands (indented code) are the demo and the tests
	run grep -m2 '^    [^ ]' "$README"
	[ "${lines[0]}" = "    scripts/demo.sh" ]
	[ "${lines[1]}" = "    scripts/test.sh" ]
	[ "$(wc -l <"$README")" -le 250 ] # Debian 12 and 13, uninstall, fallbacks
}

# cli.bats checks the pages' settings, paths and placeholders, and
# warnings but "cannot adjust line" at the terminal's width; here: no
# warning at all, at three widths.
@test "man pages: not one troff warning at 60, 80 and 120 columns" {
	for page in "${PAGES[@]}"; do
		[ -s "$page" ]
		for width in 60 80 120; do
			run env MANWIDTH=$width man --warnings -l "$page"
			[ "$status" -eq 0 ]
			# stderr is where troff warns: it must be empty
			run bash -c 'MANWIDTH=$1 man --warnings -l "$2" 2>&1 >/dev/null' _ "$width" "$page"
			[ -z "$output" ] || {
				echo "$page at $width columns: $output" >&2
				return 1
			}
		done
	done
}

@test "mptcpshim(1) has a section for every subcommand of mptcpshim --help" {
	run "$CLI" --help
	[ "$status" -eq 0 ]
	subs=$(sed -n '/^Commands:/,/^$/s/^  \([a-z]*\) .*/\1/p' <<<"$output")
	[ "$(wc -w <<<"$subs")" -ge 6 ]
	for s in $subs; do
		grep -qE "^\.SS (.*[ ,])?$s(,.*)?\$" "$BUILD/cli/mptcpshim.1" || {
			echo "mptcpshim(1) has no section for $s" >&2
			return 1
		}
	done
}

@test "libmptcpshim(7) describes every function the library exports" {
	run nm -D --defined-only "$SHIM"
	[ "$status" -eq 0 ]
	exported=$(awk '$2 ~ /^[TW]$/ {print $3}' <<<"$output")
	[ "$(wc -w <<<"$exported")" -ge 20 ]
	text=$(MANWIDTH=200 man -l "$BUILD/cli/libmptcpshim.7" 2>/dev/null |
		sed -n '/^INTERPOSED FUNCTIONS/,/^FALLBACK/p')
	for f in $exported; do
		grep -qE "(^|[^a-z_0-9])$f\(\)" <<<"$text" || {
			echo "libmptcpshim(7) does not describe $f()" >&2
			return 1
		}
	done
}

@test "demo.sh from a clean copy: MPTCP on the listed port only, proven by the kernel; builds two targets; leaves nothing running" {
	need_root
	need_mptcp
	copy_tree "$TMP/tree" # deb.bash: the tree's files, no build dirs
	# a network namespace of its own: its ports collide with nothing
	run timeout 600 unshare --net sh -c 'ip link set lo up && exec "$0"' \
		"$TMP/tree/scripts/demo.sh"
	echo "$output"
	[ "$status" -eq 0 ]

	[[ "$output" =~ mptcpshim\ run\ --ports\ ([0-9]+)\ --\ nginx\ -p\ ([^ ]+)\ -c ]]
	listed=${BASH_REMATCH[1]}
	dir=${BASH_REMATCH[2]}
	# ss -Mln: one MPTCP listener, on the listed port
	sed -n '/^== the kernel.s MPTCP listeners/,/^$/p' <<<"$output" >"$TMP/ss"
	[ "$(grep -c '^LISTEN' "$TMP/ss")" -eq 1 ]
	grep -q "127.0.0.1:$listed " "$TMP/ss"
	# the clients' own sockets: MPTCP to the listed port, TCP to the other
	[ "$(grep -c 'MPTCP_INFO): this connection uses MPTCP' <<<"$output")" -eq 1 ]
	[ "$(grep -c 'MPTCP_INFO): plain TCP' <<<"$output")" -eq 1 ]
	grep -q "nginx answered: hello from the listed port $listed" <<<"$output"
	# the server's side, as mptcpshim status reads it from the kernel
	grep -qE "^  127\.0\.0\.1:$listed +MPTCP +established: 1 MPTCP" <<<"$output"
	grep -qE "^  127\.0\.0\.1:[0-9]+ +TCP " <<<"$output"
	# only the library and the command were built: no test tool
	[ -e "$TMP/tree/build/libmptcpshim.so" ]
	[ -x "$TMP/tree/build/cli/mptcpshim" ]
	[ ! -e "$TMP/tree/build/tests/shimprobe" ]
	# nothing left: nginx gone, its directory removed
	[ ! -e "$dir" ]
	run pgrep -f "$dir"
	[ "$status" -eq 1 ]
}
