#!/usr/bin/env bash
# host_output_files - a symlink or file already at the dump's path is never followed or overwritten; a directory owned by another user is never used; what jitperf creates is private.
#
# The dump's name holds the pid, so each case starts a shell that plants
# the trap for its own pid and then execs the program (same pid) with the
# shim: a symlink jit-<pid>.dump pointing at a file that must stay intact
# (also a dangling one, which O_CREAT would follow), a regular file there, a
# perf-<pid>.map symlink in the perf map directory, a dump directory owned
# by another user.
set -euo pipefail
# shellcheck source=../lib/host.sh source-path=SCRIPTDIR
. "$(dirname "$0")/../lib/host.sh"
hs_setup
stress=$(hs_bin stress)
"$stress" 1 200 >"$HS_TMP/ref" 2>&1
fail=0

# run DIR PLANT: plant with $$ = the program's pid, then exec it preloaded.
run() {
	local dir=$1 plant=$2
	bash -c "$plant"'; exec env LD_PRELOAD="$0" JITPERF_DIR="$1" JITPERF_PERFMAP=1 JITPERF_PERFMAP_DIR="$1" "$2" 1 200' \
		"$HS_SHIM" "$dir" "$stress" >"$dir.out" 2>"$dir.err" || { hs_say "$dir: exit status $?"; fail=1; }
	cmp -s "$HS_TMP/ref" "$dir.out" || { hs_say "$dir: the program's output changed"; fail=1; }
}

echo precious >"$HS_TMP/victim"
# 1. Symlink at the dump's path (and at the perf map's).
mkdir -m 700 "$HS_TMP/d1"
run "$HS_TMP/d1" "ln -s '$HS_TMP/victim' '$HS_TMP/d1/jit-'\$\$.dump; ln -s '$HS_TMP/victim' '$HS_TMP/d1/perf-'\$\$.map"
# 2. Dangling symlink: O_CREAT without O_NOFOLLOW|O_EXCL would create its target.
mkdir -m 700 "$HS_TMP/d2"
run "$HS_TMP/d2" "ln -s '$HS_TMP/created-through-link' '$HS_TMP/d2/jit-'\$\$.dump"
# 3. A regular file with the same name.
mkdir -m 700 "$HS_TMP/d3"
run "$HS_TMP/d3" "echo 'not yours' > '$HS_TMP/d3/jit-'\$\$.dump"
if [ "$(cat "$HS_TMP/victim")" != precious ]; then
	hs_say "FAIL the file a planted symlink points to was changed"
	fail=1
fi
if [ -e "$HS_TMP/created-through-link" ]; then
	hs_say "FAIL a dangling symlink was followed to create a file"
	fail=1
fi
for f in "$HS_TMP"/d3/jit-*.dump; do
	if [ "$(cat "$f")" != "not yours" ]; then
		hs_say "FAIL an existing file at the dump's path was overwritten"
		fail=1
	fi
done
for d in d1 d2 d3; do
	# The dump went to a fresh subdirectory instead, or nowhere.
	while IFS= read -r f; do
		[ -L "$f" ] && continue
		[ "$(stat -c %a "$f")" = 600 ] || { hs_say "FAIL $f has mode $(stat -c %a "$f"), not 600"; fail=1; }
		"$HS_DUMP" --check "$f" >/dev/null 2>&1 || { hs_say "FAIL $f is not a valid dump"; fail=1; }
	done < <(find "$HS_TMP/$d" -mindepth 2 -name 'jit-*.dump')
	while IFS= read -r s; do
		[ "$(stat -c %a "$s")" = 700 ] || { hs_say "FAIL $s has mode $(stat -c %a "$s"), not 700"; fail=1; }
	done < <(find "$HS_TMP/$d" -mindepth 1 -type d)
	hs_say "$d: $(find "$HS_TMP/$d" -mindepth 2 -name 'jit-*.dump' | wc -l) dump(s) written elsewhere; jitperf said: $(grep -c '^jitperf: ' "$HS_TMP/$d.err" || true) line(s)"
done
if [ "$(cat "$HS_TMP/victim")" = precious ]; then
	hs_say "symlinks at the dump's and the perf map's path: not followed"
fi

# 4. A directory owned by another user (a world-writable directory of ours:
# host_bug_open_dir.sh).
mkdir -m 755 "$HS_TMP/theirs"
chown 65534:65534 "$HS_TMP/theirs"
env LD_PRELOAD="$HS_SHIM" JITPERF_DIR="$HS_TMP/theirs" "$stress" 1 200 >"$HS_TMP/theirs.out" 2>"$HS_TMP/theirs.err" ||
	{ hs_say "theirs: exit status $?"; fail=1; }
cmp -s "$HS_TMP/ref" "$HS_TMP/theirs.out" || { hs_say "theirs: the program's output changed"; fail=1; }
if find "$HS_TMP/theirs" -mindepth 1 | grep -q .; then
	hs_say "FAIL jitperf wrote into a directory owned by another user: $(find "$HS_TMP/theirs" -mindepth 1 | sed -n '1,3p')"
	fail=1
else
	hs_say "theirs: not used; jitperf said: $(grep -m 1 '^jitperf: ' "$HS_TMP/theirs.err" | cut -c1-150)"
fi
# A fresh directory is created private.
env LD_PRELOAD="$HS_SHIM" JITPERF_DIR="$HS_TMP/new/deeper" "$stress" 1 50 >/dev/null 2>&1
for d in "$HS_TMP/new" "$HS_TMP/new/deeper"; do
	[ "$(stat -c %a "$d")" = 700 ] || { hs_say "FAIL $d created with mode $(stat -c %a "$d")"; fail=1; }
done
[ "$fail" -eq 0 ] || exit 1
hs_say "PASS host_output_files"
