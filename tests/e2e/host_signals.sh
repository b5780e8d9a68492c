#!/usr/bin/env bash
# host_signals - hooks interrupted by signals whose handlers map, write and run code: no deadlock, right results, handlers only on the program's threads, masks kept.
#
# tests/host/sigmap: 4 workers cycle W^X and RWX code while an interval
# timer, a thread's pthread_kill and kill(getpid()) deliver signals whose
# handlers mmap/mprotect/munmap code themselves.  Watchdog 60 s per run
# (stacks printed on a hang).
set -euo pipefail
# shellcheck source=../lib/host.sh source-path=SCRIPTDIR
. "$(dirname "$0")/../lib/host.sh"
hs_setup
prog=$(hs_bin sigmap)
secs=${HOST_SIGNAL_SECONDS:-3}
hs_watch 60 "$HS_TMP/plain" "$HS_TMP/plain.err" "$prog" "$secs" 4
[ "$HS_RC" -eq 0 ] || hs_fail "sigmap fails without the shim: $(cat "$HS_TMP/plain")"
fail=0
for cfg in "JITPERF_TRACK=auto" "JITPERF_EPOCH_MS=1" "JITPERF_TRACK=hash JITPERF_EPOCH_MS=1"; do
	mkdir -m 700 "$HS_TMP/d"
	# shellcheck disable=SC2086
	hs_watch 60 "$HS_TMP/out" "$HS_TMP/err" env LD_PRELOAD="$HS_SHIM" JITPERF_DIR="$HS_TMP/d" $cfg "$prog" "$secs" 4
	if [ "$HS_RC" -ne 0 ] || ! cmp -s "$HS_TMP/plain" "$HS_TMP/out"; then
		hs_say "[$cfg]: FAIL status $HS_RC: $(cat "$HS_TMP/out")"
		sed 's/^/  /' "$HS_TMP/err" | sed -n '1,5p'
		fail=1
	else
		hs_say "[$cfg]: ok, $(grep -m 1 'handlers ran' "$HS_TMP/err")"
	fi
	hs_check_dumps "$HS_TMP/d" || fail=1
	rm -rf "$HS_TMP/d"
done
[ "$fail" -eq 0 ] || exit 1
hs_say "PASS host_signals"
