#!/usr/bin/env bash
# host_bug_symlink_dir - regression (fixed): JITPERF_DIR naming a symlink to a directory of one's own is refused ("Not a directory") instead of used.
#
# lib/jitdump.c jp_open_private_dir opens the directory with
# O_DIRECTORY|O_NOFOLLOW and means to accept a symlink the user named when
# that fails with ELOOP; but for a symlink the kernel answers ENOTDIR when
# O_DIRECTORY is given, so the fallback never runs and jitperf turns itself
# off with a misleading message.  Fix: on ENOTDIR (or ELOOP), lstat the path
# and follow it only when it is a symlink (then check the target's owner as
# now).
set -euo pipefail
# shellcheck source=../lib/host.sh source-path=SCRIPTDIR
. "$(dirname "$0")/../lib/host.sh"
hs_setup
stress=$(hs_bin stress)
mkdir -m 700 "$HS_TMP/real"
ln -s "$HS_TMP/real" "$HS_TMP/link"
env LD_PRELOAD="$HS_SHIM" JITPERF_DIR="$HS_TMP/link" "$stress" 1 50 >"$HS_TMP/out" 2>"$HS_TMP/err"
sed 's/^/  /' "$HS_TMP/err"
find "$HS_TMP/real" -name 'jit-*.dump' | grep -q . ||
	hs_fail "no dump in the directory JITPERF_DIR links to (known bug, see the header of $(basename "$0"))"
hs_check_dumps "$HS_TMP/real" || hs_fail "invalid dump"
hs_say "PASS symlink_dir"
