#!/usr/bin/env bash
# capture_gc_heap - perf names the code of a runtime whose whole heap is RWX (code objects among pairs, flonums, strings, vectors; a copying collector moves them all), and the dump stays in proportion to the code.
#
# RUNS (3) runs of tests/jit/gc_heap (dozens of RWX mappings of 12 KiB to
# 2 MiB; here JIT_SECONDS=0.8 and 16 MB allocated between collections, to
# keep the test short: every function moved at each of ~8 collections).  Besides the capture checks (>= 95 % named,
# every function's life at each address named by a piece holding it, the
# dumps valid), per run: at most MAX_LOADS LOADs (30,388 before the data
# was told from code), median LOAD at least 32 bytes (11 before: pieces
# of pointers and flonums), dump under MAX_DUMP_KB, and the shim said once
# that the creator writes far more data than code.  Over all runs: each
# function carries one name wherever the collector moved it, in every run.
# Prints LOADs, dump size, median piece, perf inject time and run time.
set -euo pipefail
# shellcheck source=../lib/capture.sh source-path=SCRIPTDIR
. "$(dirname "$0")/../lib/capture.sh"
prog=$(jp_prog gc_heap)
max_loads=${MAX_LOADS:-1500}
max_dump_kb=${MAX_DUMP_KB:-1024}
fail=0
start=$SECONDS
shares=""
jp_setup
export JITPERF_VERBOSE=2 JIT_SECONDS=${JIT_SECONDS:-0.8} GC_HEAP_ALLOC_MB=${GC_HEAP_ALLOC_MB:-16}
for i in $(seq 1 "${RUNS:-3}"); do
	run=gc_heap.$i
	dir=$JP_TMP/$run
	t0=$(date +%s%N)
	jp_record "$run" shim "$prog"
	t1=$(date +%s%N)
	jp_inject "$run"
	t2=$(date +%s%N)
	jp_samples "$run"
	jp_share "$run"
	shares+=" $JP_SHARE%"
	jp_check_run "$run" || fail=1
	dump=$(find "$dir/dumps" -name 'jit-*.dump' -type f | sed -n '1,1p')
	"$JP_DUMP_TOOL" "$dump" >"$dir/dump.txt" 2>/dev/null
	read -r loads median < <(awk '$2 == "LOAD" { z[++n] = $5 } END {
		if (!n) { print 0, 0; exit }
		# median by insertion into a sorted array (a few thousand at most)
		for (i = 2; i <= n; i++) { v = z[i]; for (j = i - 1; j >= 1 && z[j] > v; j--) z[j + 1] = z[j]; z[j + 1] = v }
		print n, z[int((n + 1) / 2)] }' "$dir/dump.txt")
	kb=$(($(stat -c %s "$dump") / 1024))
	jp_say "$run: $loads LOADs, median $median bytes, dump $kb KB, perf record $(((t1 - t0) / 1000000)) ms, perf inject $(((t2 - t1) / 1000000)) ms; $(grep '^GCHEAP' "$dir/stdout")"
	if [ "$loads" -gt "$max_loads" ]; then
		jp_say "FAIL: $run: $loads LOADs > $max_loads (heap data described as code)"
		fail=1
	fi
	if [ "$median" -lt 32 ]; then
		jp_say "FAIL: $run: median LOAD $median bytes: pieces are not functions"
		fail=1
	fi
	if [ "$kb" -gt "$max_dump_kb" ]; then
		jp_say "FAIL: $run: dump $kb KB > $max_dump_kb KB"
		fail=1
	fi
	n=$(grep -c 'writes far more data than code' "$dir/stderr" || true)
	if [ "$n" -ne 1 ]; then
		jp_say "FAIL: $run: the shim said $n times that the heap writes far more data than code (want once)"
		fail=1
	fi
	# label procN_gcM -> the name of its most sampled piece
	awk -F'\t' '$1 == "PIECE" && $4 == "named" {
		if ($3 > best[$2]) { best[$2] = $3; sym[$2] = $6 } }
		END { for (l in sym) { f = l; sub(/_gc[0-9]+$/, "", f); print f "\t" sym[l] } }' \
		"$dir/hot.tsv" >>"$JP_TMP/names.tsv"
done
# One name per function: after every move, in every run.
while IFS=$'\t' read -r fn names; do
	if [ "$names" -ne 1 ]; then
		jp_say "FAIL: $fn has $names names over its moves and runs: $(awk -F'\t' -v f="$fn" '$1 == f { print $2 }' "$JP_TMP/names.tsv" | sort | uniq -c | tr '\n' ' ')"
		fail=1
	fi
done < <(sort -u "$JP_TMP/names.tsv" | awk -F'\t' '{ c[$1]++ } END { for (f in c) print f "\t" c[f] }')
jp_say "gc_heap: functions named the same after every move and in every run: $(cut -f1 "$JP_TMP/names.tsv" | sort -u | wc -l) checked"
jp_say "gc_heap: ${RUNS:-3} runs, named:$shares; $((SECONDS - start))s"
jp_finish gc_heap "$fail"
