#!/usr/bin/env bash
# host_single_thread - setns into a mount namespace and unshare(CLONE_NEWUSER) need a single-threaded process: with the shim (whose capture thread runs from start-up for the scan, and after JIT activity anyway) they return what they return without it; unshare -U too.
set -euo pipefail
# shellcheck source=../lib/host.sh source-path=SCRIPTDIR
. "$(dirname "$0")/../lib/host.sh"
hs_setup
prog=$(hs_bin single_thread)
fail=0
"$prog" >"$HS_TMP/ref" 2>&1 || true
hs_say "without the shim: $(grep -E 'setns|unshare' "$HS_TMP/ref" | tr '\n' ';')"
for cfg in "JITPERF_SCAN=1" "JITPERF_SCAN=0" "JITPERF_TRACK=hash"; do
	mkdir -m 700 "$HS_TMP/d.$cfg"
	env LD_PRELOAD="$HS_SHIM" JITPERF_DIR="$HS_TMP/d.$cfg" "$cfg" "$prog" >"$HS_TMP/out" 2>&1 || true
	if ! cmp -s "$HS_TMP/ref" "$HS_TMP/out"; then
		hs_say "$cfg: FAIL output differs:"
		diff "$HS_TMP/ref" "$HS_TMP/out" | sed 's/^/  /' | sed -n '1,10p'
		fail=1
	elif ! hs_check_dumps "$HS_TMP/d.$cfg" >/dev/null; then
		hs_say "$cfg: FAIL invalid dump"
		fail=1
	else
		hs_say "$cfg: same results"
	fi
done
if command -v unshare >/dev/null 2>&1; then
	want=0
	unshare -U true 2>/dev/null || want=$?
	got=0
	env LD_PRELOAD="$HS_SHIM" JITPERF_DIR="$HS_TMP/d.JITPERF_SCAN=1" unshare -U true 2>/dev/null || got=$?
	if [ "$want" != "$got" ]; then
		hs_say "unshare -U true: FAIL status $got with the shim, $want without"
		fail=1
	else
		hs_say "unshare -U true: status $got either way"
	fi
fi
[ "$fail" -eq 0 ] || exit 1
hs_say "PASS single_thread"
