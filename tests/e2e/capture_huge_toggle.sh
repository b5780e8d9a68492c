#!/usr/bin/env bash
# capture_huge_toggle - perf names code a JIT writes into a 256 MiB area pre-filled with one trap byte (hlt, not int3) and toggled RW/RX a 128 MiB half at a time for each batch: the pieces are functions, not pages of fill.
#
# RUNS (3) runs of tests/jit/huge_toggle (HUGE_ROUNDS=150 here: 75 toggles
# of each half, to keep the test short; make bench runs 300).  Besides the
# capture checks, per run: every hot function's LOAD starts at it and is
# the function (the hlt fill after it is filler), never a page or a block
# of fill; and the dump holds under 4 MiB of LOAD bytes (reading every
# page of the fill made 280 MB of it).
set -euo pipefail
# shellcheck source=../lib/capture.sh source-path=SCRIPTDIR
. "$(dirname "$0")/../lib/capture.sh"
prog=$(jp_prog huge_toggle)
fail=0
jp_setup
HUGE_ROUNDS=150 jp_capture_runs huge_toggle "$prog" || fail=1
for i in $(seq 1 "${RUNS:-3}"); do
	dir=$JP_TMP/huge_toggle.$i
	dump=$(find "$dir/dumps" -name 'jit-*.dump' -type f | sed -n '1,1p')
	[ -n "$dump" ] || { jp_say "huge_toggle.$i: FAIL no dump"; fail=1; continue; }
	"$JP_DUMP_TOOL" "$dump" >"$dir/dump.txt" 2>/dev/null
	bytes=$(awk '$2 == "LOAD" { s += $5 } END { print s + 0 }' "$dir/dump.txt")
	if [ "$bytes" -ge $((4 << 20)) ]; then
		jp_say "huge_toggle.$i: FAIL $bytes bytes of LOADs (the fill was read as code)"
		fail=1
	else
		jp_say "huge_toggle.$i: ok $bytes bytes of LOADs"
	fi
	while read -r addr size; do
		# The last LOAD at the address: the piece as it was when it ran.
		got=$(awk -v a="$addr" '$2 == "LOAD" && $4 == a { z = $5 } END { print z }' "$dir/dump.txt")
		if [ -z "$got" ] || [ "$got" -gt "$size" ]; then
			jp_say "huge_toggle.$i: FAIL hot function at $addr ($size bytes): LOAD there is '${got:-none}' bytes"
			fail=1
		fi
	done < <(sed -n 's/^JITFUNC .*addr=\(0x[0-9a-f]*\) size=\([0-9]*\) hot=1.*/\1 \2/p' "$dir/stdout")
done
jp_finish huge_toggle "$fail"
