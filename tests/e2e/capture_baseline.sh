#!/usr/bin/env bash
# capture_baseline - without the shim nothing is named and every kind of JIT memory counts as unnamed: the harness measures something.
set -euo pipefail
# shellcheck source=../lib/capture.sh source-path=SCRIPTDIR
. "$(dirname "$0")/../lib/capture.sh"
jp_setup
fail=0
check() { # run min-jit-samples
	local total=$((JP_NAMED + JP_UNNAMED))
	if [ "$JP_NAMED" -ne 0 ]; then
		jp_say "FAIL: $1: $JP_NAMED samples named without the shim"
		fail=1
	fi
	if [ "$total" -lt "$2" ]; then
		jp_say "FAIL: $1: only $total JIT samples seen (expected >= $2)"
		fail=1
	fi
	jp_hot_unnamed "$1" || fail=1
}
jp_baseline rwx_late "$(jp_prog rwx_late)"
check rwx_late 2000
for prog in memfd_dual unlinked_dual heap_rwx; do
	JIT_SECONDS=0.3 jp_baseline "$prog" "$(jp_prog "$prog")"
	check "$prog" 400
done
[ "$fail" -eq 0 ] || exit 1
jp_say "PASS baseline"
