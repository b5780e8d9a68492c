#!/usr/bin/env bash
# describe_after - describing after the run (JITPERF_DESCRIBE=after, jitperf-run's default) writes what describing in the program writes.
#
# Each program runs once with JITPERF_DESCRIBE=both: the shim describes as it
# goes and also records what it read for after the run, in the same dump.
# jitperf-dump --describe of that record must list the same LOAD, MOVE and
# unwinding records, in the same order: times, addresses, sizes, code
# indexes, names (fingerprints of the code) and unwinding tables.  Checked on
# test JITs of every memory strategy (W^X, RWX written later, reservations,
# dual mappings, GC heaps, huge toggled regions, mremap, threads, fork, exec,
# GDB JIT names) and on the real engines installed, and the program prints
# what it prints without the shim.  BEAM is left to describe_after_erlang:
# it writes code through a second view while a pass reads it, and a pass that
# describes as it goes reads those pages later than one that only records
# them, so the two differ where the code was still being written.  Last,
# dumps recorded with JITPERF_DESCRIBE=after, described and injected name
# perf's samples: the hot functions of a JIT that writes through a second
# view, as BEAM does, and of a GC heap of code and data, which records so
# much that the shim goes back to describing it in the program: a dump of
# both kinds, each code index once.
# Costs about 30 s (2 busy cores), engines included.
set -euo pipefail
# shellcheck source=../lib/capture.sh source-path=SCRIPTDIR
. "$(dirname "$0")/../lib/capture.sh"
# shellcheck source=../engines/engines.bash source-path=SCRIPTDIR
. "$JP_ROOT/tests/engines/engines.bash"
jp_setup
export JIT_SECONDS=${JIT_SECONDS:-0.3}
bad=0

# The records perf turns into symbols, as jitperf-dump lists them, without
# the file offsets (a dump that also holds the record for after the run has
# its records elsewhere) and without that record itself.
records() { # DUMP
	"$JP_DUMP_TOOL" "$1" | awk 'NR > 2 && $2 != "CLOSE" && $2 !~ /^JP_/ { $1 = ""; print }'
}

# Run CMD with JITPERF_DESCRIBE=both; describe each of its dumps; compare.
both() { # NAME CMD...
	local name=$1 dir=$JP_TMP/$1 d n=0 loads=0 rc=0 prc=0
	shift
	mkdir -p "$dir/dumps"
	env -u LD_PRELOAD "$@" >"$dir/plain.out" 2>/dev/null || prc=$?
	env LD_PRELOAD="$JP_SHIM" JITPERF_DIR="$dir/dumps" JITPERF_DESCRIBE=both "$@" \
		>"$dir/out" 2>"$dir/err" || rc=$?
	if [ "$rc" -ne "$prc" ]; then
		jp_say "$name: FAIL exit status $rc with the shim, $prc without"
		bad=1
	fi
	# Test JITs print addresses, which change from run to run; the engines' output is their result.
	if ! grep -q '^JITFUNC' "$dir/out" && ! cmp -s "$dir/out" "$dir/plain.out"; then
		jp_say "$name: FAIL the output differs from the run without the shim"
		bad=1
	fi
	if grep -q '^jitperf: ' "$dir/err"; then
		grep '^jitperf: ' "$dir/err" | sed "s/^/$name: the shim said: /" | sed -n '1,5p'
	fi
	while read -r d; do
		if ! "$JP_DUMP_TOOL" --describe -o "$d.after" "$d" >"$d.log" 2>&1; then
			jp_say "$name: FAIL jitperf-dump --describe $d: $(cat "$d.log")"
			bad=1
			continue
		fi
		records "$d" >"$d.now"
		records "$d.after" >"$d.later"
		n=$((n + 1))
		loads=$((loads + $(grep -c ' LOAD ' "$d.now" || true)))
		if ! cmp -s "$d.now" "$d.later"; then
			jp_say "$name: FAIL $(basename "$d"): described after the run, $(wc -l <"$d.later") records; while it ran, $(wc -l <"$d.now"); first differences:"
			diff "$d.now" "$d.later" | sed -n '1,6p' | sed 's/^/  /'
			bad=1
		fi
	done < <(find "$dir/dumps" -name 'jit-*.dump' -type f)
	if [ "$loads" -eq 0 ]; then
		jp_say "$name: FAIL no LOAD in $n dump(s): nothing compared"
		bad=1
	else
		jp_say "$name: $n dump(s), $loads LOADs: the same records both ways"
	fi
}

for p in wx_toggle rwx_late reserve memfd_dual unlinked_dual rewrite unmap_reuse gc_heap heap_rwx huge_toggle \
	mremap_move mremap_multi threads fork_child exec_chain syscall_rwx gdbjit_prog page_cut header_jit; do
	both "$p" "$(jp_prog "$p")"
done

for e in hotspot mono gjs qemu node luajit pcre2; do
	if why=$(engine_missing "$e"); then
		jp_say "note: $e skipped: $why"
		continue
	fi
	if ! why=$(engine_prepare "$e" "$JP_TMP/prog-$e" 2>&1); then
		jp_say "$e: FAIL the workload did not build: $why"
		bad=1
		continue
	fi
	engine_cmd "$e" "$JP_TMP/prog-$e"
	both "$e" "${ENGINE_CMD[@]}"
done

# Under perf, as jitperf-run runs it: recorded, described, injected.
for p in memfd_dual gc_heap; do
	run=after_$p
	JIT_SECONDS=1 JITPERF_VERBOSE=2 JITPERF_DESCRIBE=after jp_record "$run" shim "$(jp_prog "$p")"
	while read -r d; do
		"$JP_DUMP_TOOL" --describe -o "$d" "$d" >"$d.log" 2>&1 || jp_fail "$run: describing $d failed: $(cat "$d.log")"
		jp_say "$run: $(cat "$d.log")"
		"$JP_DUMP_TOOL" --check "$d" >"$d.check" 2>&1 || jp_fail "$run: the described dump is not valid: $(head -n 3 "$d.check")"
		if grep -q 'not described yet' "$d.check"; then
			jp_fail "$run: the described dump still holds records to describe"
		fi
		dup=$("$JP_DUMP_TOOL" "$d" | awk '$2 == "LOAD" { if (seen[$6]++) n++ } END { print n + 0 }')
		[ "$dup" = 0 ] || { jp_say "$run: FAIL $dup LOADs reuse a code index"; bad=1; }
	done < <(find "$JP_TMP/$run/dumps" -name 'jit-*.dump' -type f)
	if [ "$p" = gc_heap ] && ! grep -q 'described in the program from now on' "$JP_TMP/$run/stderr"; then
		jp_say "$run: FAIL the heap was recorded whole: the shim never went back to describing it"
		bad=1
	fi
	jp_inject "$run"
	jp_samples "$run"
	jp_share "$run"
	jp_say "$run: named $JP_SHARE% of the JIT samples ($JP_NAMED named, $JP_UNNAMED not)"
	awk -v s="$JP_SHARE" -v m="$JP_MIN_SHARE" 'BEGIN { exit !(s + 0 >= m + 0) }' ||
		{ jp_say "$run: FAIL named share $JP_SHARE% < $JP_MIN_SHARE%"; bad=1; }
	jp_hot_check "$run" || bad=1
done

[ "$bad" = 0 ] || jp_fail "describing after the run differs from describing as the program runs"
jp_say "describe_after: all checks passed"
