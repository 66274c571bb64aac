# What the doctor suites share (doctor.bats, doctor-kernel.bats,
# doctor-paths.bats). Source with `load doctor` after `load common`.

# The environment doctor runs in: the build's library, no configuration
# file, none of the library's variables. Call from setup.
doctor_env() {
	export MPTCPSHIM_LIBRARY=$SHIM
	unset MPTCPSHIM_PORTS MPTCPSHIM_LOG MPTCPSHIM_STRICT MPTCPSHIM_CONNECT \
		MPTCPSHIM_TOLERATE
	export MPTCPSHIM_CONFIG=/dev/null
}

# The fix commands in $output: the "fix:" lines of the text output, or the
# "fix" fields of --json output.
doctor_fixes() {
	if [[ "$output" == "{"* ]]; then
		python3 -c 'import json, sys
for f in json.loads(sys.argv[1])["findings"]:
    if "fix" in f:
        print(f["fix"])' "$output"
	else
		sed -n 's/^ *fix: //p' <<<"$output"
	fi
}

# Every fix doctor printed is one shell command: sh -n accepts it (no
# trailing prose, no unbalanced quote). Fails naming the first that is not.
fixes_parse() {
	local line
	while IFS= read -r line; do
		sh -n -c "$line" 2>/dev/null || {
			echo "not one shell command: fix: $line"
			return 1
		}
	done < <(doctor_fixes)
}

# Runs a doctor command line with bats' run (stderr apart, in $stderr),
# prints its output, and checks its fixes with fixes_parse.
doctor_run() {
	run --separate-stderr "$@"
	printf '%s\n' "$output"
	[ -z "$stderr" ] || printf 'stderr: %s\n' "$stderr"
	fixes_parse
}
