#!/usr/bin/env bash
# host_bug_open_dir - regression (fixed): a dump directory of ours that anyone may write to (mode 0777, not sticky) is used.
#
# lib/jitdump.c dir_is_safe refuses directories owned by another user, but
# not one that other users can write to without the sticky bit: there any
# user may unlink jit-<pid>.dump after jitperf created it (O_EXCL|O_NOFOLLOW
# protects only the creation) and put their own file in its place, which
# perf inject --jit then reads and turns into ELF files.  Fix: refuse group-
# or world-writable directories that are not sticky (as ssh's StrictModes
# does), with a message saying so.
set -euo pipefail
# shellcheck source=../lib/host.sh source-path=SCRIPTDIR
. "$(dirname "$0")/../lib/host.sh"
hs_setup
stress=$(hs_bin stress)
mkdir -m 777 "$HS_TMP/open"
env LD_PRELOAD="$HS_SHIM" JITPERF_DIR="$HS_TMP/open" "$stress" 1 50 >"$HS_TMP/out" 2>"$HS_TMP/err"
sed 's/^/  /' "$HS_TMP/err"
if find "$HS_TMP/open" -mindepth 1 | grep -q .; then
	hs_fail "jitperf wrote into a world-writable, non-sticky directory: $(find "$HS_TMP/open" -mindepth 1 | sed -n '1,2p') (known bug, see the header of $(basename "$0"))"
fi
hs_say "PASS open_dir"
