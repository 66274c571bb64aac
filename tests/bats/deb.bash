# shellcheck shell=bash
# shellcheck disable=SC2034 # DEB_SRC, DEB_LOG, DEB_CHANGES: for the suites
# The project's Debian package, built once per run for every suite that
# needs it (package.bats, systemd.bats). Load after common.
#
#   deb_build   builds it for this machine's release with
#               scripts/deb-build.sh (dpkg-buildpackage -us -uc -b, version
#               0.1.0-1~debNu1) from a copy of the tree, or reuses the build
#               of the same tree; sets DEB (the .deb), DEB_CHANGES (the
#               .changes), DEB_SRC (the copy) and DEB_LOG (the build's
#               output). With MPTCPSHIM_DEB set (a .deb built on another
#               release, scripts/release-test.sh), sets DEB to it and builds
#               nothing.
#
# The builds live in $MPTCPSHIM_DEB_DIR (scripts/test.sh makes one per run
# and removes it), else in the calling file's own temporary directory. A
# build is keyed by the content of the tree, so a changed tree is built
# again; concurrent callers wait for each other (flock).

DEB_PKG=mptcpshim

# Copies the tree under test to $1 as the working tree has it: tracked
# files and new ones git does not ignore (no build directories, no .git).
copy_tree() {
	local dest=$1
	mkdir -p "$dest"
	_tree_files | tar -C "$TOP" --null -T - -cf - | tar -C "$dest" -xf -
}

# NUL-separated list of the tree's files, relative to $TOP, sorted.
_tree_files() {
	local f
	if git -C "$TOP" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
		git -C "$TOP" ls-files -z --cached --others --exclude-standard |
			while IFS= read -r -d '' f; do
				# a tracked file deleted in the working tree
				if [ -e "$TOP/$f" ] || [ -L "$TOP/$f" ]; then printf '%s\0' "$f"; fi
			done | LC_ALL=C sort -z
	else
		(cd "$TOP" && find . \( -path ./.git -o -path './build*' -o -path './obj-*' \) -prune -o \
			! -type d -printf '%P\0' | LC_ALL=C sort -z)
	fi
}

# A digest of the tree's names and contents.
_tree_key() {
	(cd "$TOP" && _tree_files | xargs -0 -r sha256sum -- | sha256sum | cut -c1-16)
}

deb_build() {
	local root=${MPTCPSHIM_DEB_DIR:-$BATS_FILE_TMPDIR/deb} key dir version rc=0
	local t
	if [ -n "${MPTCPSHIM_DEB:-}" ]; then
		[ -f "$MPTCPSHIM_DEB" ] || {
			echo "MPTCPSHIM_DEB=$MPTCPSHIM_DEB: no such .deb" >&2
			return 1
		}
		DEB=$MPTCPSHIM_DEB
		return 0
	fi
	for t in dpkg-buildpackage dh dpkg-parsechangelog; do
		command -v "$t" >/dev/null || {
			echo "$t missing (scripts/install-deps.sh installs it)" >&2
			return 1
		}
	done
	mkdir -p "$root"
	key=$(_tree_key)
	dir=$root/$key
	# the upstream version: the name of the source tree
	version=$(dpkg-parsechangelog -l "$TOP/debian/changelog" -S Version)
	version=${version%%-*}
	(
		flock 9
		[ -e "$dir/done" ] && exit 0
		rm -rf "$dir"
		copy_tree "$dir/$DEB_PKG-$version"
		# The .deb files land in the parent of the tree: $dir.
		"$TOP/scripts/deb-build.sh" "$dir/$DEB_PKG-$version" \
			>"$dir/build.log" 2>&1 || {
			tail -n 40 "$dir/build.log" >&2
			exit 1
		}
		: >"$dir/done"
	) 9>"$root/.lock" || rc=$?
	[ "$rc" -eq 0 ] || return "$rc"
	DEB_SRC=$dir/$DEB_PKG-$version
	DEB_LOG=$dir/build.log
	DEB=$(find "$dir" -maxdepth 1 -name "${DEB_PKG}_*.deb" | head -n1)
	DEB_CHANGES=$(find "$dir" -maxdepth 1 -name "*.changes" | head -n1)
	[ -n "$DEB" ] && [ -n "$DEB_CHANGES" ] || {
		echo "dpkg-buildpackage made no ${DEB_PKG}_*.deb in $dir" >&2
		return 1
	}
}
