#!/usr/bin/env bash
# names_gdbjit - code a JIT registers through GDB's JIT interface is named by the published name (gdbjit_hot), not jit:....
#
# tests/jit/gdbjit_prog registers an in-memory ELF naming gdbjit_hot and
# gdbjit_cold (as LLVM's RuntimeDyld does), then runs gdbjit_hot.  After
# perf inject, the hot function's samples must sit on a piece named exactly
# gdbjit_hot (>= 90% of the samples in its range and run window), and the
# dump must hold LOADs named gdbjit_hot and gdbjit_cold with their code.
set -euo pipefail
# shellcheck source=../lib/capture.sh source-path=SCRIPTDIR
. "$(dirname "$0")/../lib/capture.sh"

export JIT_SECONDS=${JIT_SECONDS:-1.0}
fail=0
jp_setup
jp_run_all gdbjit shim "$(jp_prog gdbjit_prog)"
dir=$JP_TMP/gdbjit
jp_say "gdbjit: named $JP_SHARE% ($JP_NAMED/$((JP_NAMED + JP_UNNAMED)) JIT samples)"
jp_hot_check gdbjit || fail=1
jp_dump_check gdbjit || fail=1

# Samples of the hot function (its range and window, from hot.tsv) by name.
hot_n=$(awk -F'\t' '$1 == "HOT" && $2 == "gdbjit_hot" { print $6 }' "$dir/hot.tsv")
named_n=$(awk -F'\t' '$1 == "PIECE" && $2 == "gdbjit_hot" && $4 == "named" && $6 == "gdbjit_hot" { n += $3 }
	END { print n + 0 }' "$dir/hot.tsv")
jp_say "gdbjit: samples of the hot function by name:"
awk -F'\t' '$1 == "PIECE" && $2 == "gdbjit_hot" { printf "  %6d  %s  (%s)\n", $3, $6, $5 }' "$dir/hot.tsv"
if [ -z "$hot_n" ] || [ "$hot_n" -lt "$JP_MIN_HOT" ]; then
	jp_say "FAIL: too few samples of gdbjit_hot (${hot_n:-0})"
	fail=1
elif [ $((named_n * 100)) -lt $((hot_n * 90)) ]; then
	jp_say "FAIL: only $named_n of $hot_n samples of gdbjit_hot carry the published name gdbjit_hot"
	fail=1
else
	jp_say "gdbjit: $named_n/$hot_n samples of the hot function are named gdbjit_hot"
fi

# The published names are LOADs with the code bytes (perf annotate works).
dump=$(find "$dir/dumps" -name 'jit-*.dump' -type f | sed -n '1,1p')
for want in gdbjit_hot gdbjit_cold; do
	size=$("$JP_DUMP_TOOL" "$dump" | awk -v n="$want" '$2 == "LOAD" && $7 == n { print $5; exit }')
	if [ -z "$size" ] || [ "$size" -eq 0 ]; then
		jp_say "FAIL: no LOAD named $want with code in ${dump##*/}"
		fail=1
	else
		jp_say "gdbjit: LOAD $want, $size bytes of code"
	fi
done
if [ "$fail" -ne 0 ]; then
	exit 1
fi
jp_say "PASS names_gdbjit"
