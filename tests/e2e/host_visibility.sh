#!/usr/bin/env bash
# host_visibility - jitperf's descriptors, mappings and thread stay out of the program's way: close-on-exec, not 0-2, absent from fork and exec children; errno and signal masks untouched.
#
# Runs tests/host/visibility without the shim (must pass) and with it in
# three configurations.  Every check must pass except "descriptors 0-2 left
# free", which host_bug_stdio_fds.sh covers while it fails.
set -euo pipefail
# shellcheck source=../lib/host.sh source-path=SCRIPTDIR
. "$(dirname "$0")/../lib/host.sh"
hs_setup
prog=$(hs_bin visibility)
"$prog" >"$HS_TMP/plain" 2>&1 || { cat "$HS_TMP/plain"; hs_fail "fails without the shim"; }
fail=0
for cfg in "JITPERF_TRACK=auto" "JITPERF_TRACK=hash" "JITPERF_PERFMAP=1 JITPERF_EPOCH_MS=1"; do
	mkdir -m 700 "$HS_TMP/d"
	# shellcheck disable=SC2086
	env LD_PRELOAD="$HS_SHIM" JITPERF_DIR="$HS_TMP/d" JITPERF_PERFMAP_DIR="$HS_TMP/d" $cfg "$prog" \
		>"$HS_TMP/out" 2>&1 || true
	hs_say "[$cfg]"
	grep -v '^visibility:' "$HS_TMP/out" | sed 's/^/  /'
	if grep '^FAIL' "$HS_TMP/out" | grep -qv 'descriptors 0-2'; then
		fail=1
	fi
	hs_check_dumps "$HS_TMP/d" || fail=1
	rm -rf "$HS_TMP/d"
done
[ "$fail" -eq 0 ] || exit 1
hs_say "PASS host_visibility"
