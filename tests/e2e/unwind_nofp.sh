#!/usr/bin/env bash
# unwind_nofp - perf --call-graph dwarf unwinds through JIT code that keeps no frame pointer, with the unwinding data the shim builds from the code (JITPERF_UNWIND=auto) against the empty table (JITPERF_UNWIND=empty).
#
# tests/jit/nofp runs main -> run_jit -> jit_a -> jit_b -> burn (C), the JIT
# functions built like HotSpot's compiled methods: rbp saved and then used
# as a counter, push rbx / sub rsp frames, several exits, a tail jump into
# C.  Each mode is recorded with perf record -k 1 -e cpu-clock --call-graph
# dwarf and injected; jitperf's own report (python3 -m jitperf.report
# --json, what jitperf-run's summary counts) then gives the samples whose
# call chain passes through JIT code and how many of them reach a thread
# root (_start, __libc_start_main, start_thread, clone).
#   auto:  >= JP_MIN_REACH (95) % must reach a root; the dump must be valid
#          for jitperf-dump --check and carry jitperf CFI before both LOADs;
#   empty: the baseline, printed; it must be lower than auto (frame pointers
#          cannot unwind this code: rbp holds a counter).
# Then jitperf-run's summary, as a user sees it: with --call-graph fp it
# says under 5% of the JIT samples have a complete stack (a sample before
# rbp is reused keeps the caller's chain) and advises --call-graph dwarf;
# with --call-graph dwarf it says >= JP_MIN_REACH %.
# About 25 s.
set -euo pipefail
# shellcheck source=../lib/capture.sh source-path=SCRIPTDIR
. "$(dirname "$0")/../lib/capture.sh"

export JIT_SECONDS=${JIT_SECONDS:-1.0}
JP_MIN_REACH=${JP_MIN_REACH:-95}
fail=0

nf_mode() { # MODE -> NF_THROUGH NF_COMPLETE
	local mode=$1 dir=$JP_TMP/nofp_$1 rc=0 json dump
	mkdir -p "$dir"
	mkdir -m 700 "$dir/dumps"
	jp_perf record -k 1 -e cpu-clock --call-graph dwarf -o "$dir/perf.data" -- \
		env LD_PRELOAD="$JP_SHIM" JITPERF_DIR="$dir/dumps" JITPERF_UNWIND="$mode" \
		"$(jp_prog nofp)" >"$dir/stdout" 2>"$dir/stderr" || rc=$?
	if [ "$rc" -ne 0 ]; then
		sed 's/^/  stderr: /' "$dir/stderr" | tail -n 20
		jp_fail "$mode: nofp exited with status $rc under perf record"
	fi
	jp_inject "nofp_$mode"
	dump=$(find "$dir/dumps" -name 'jit-*.dump' -type f | sed -n '1,1p')
	[ -n "$dump" ] || jp_fail "$mode: no dump"
	"$JP_DUMP_TOOL" --check "$dump" | sed 's/^/  /'
	"$JP_DUMP_TOOL" --check "$dump" >/dev/null || jp_fail "$mode: jitperf-dump --check rejects the dump"
	"$JP_DUMP_TOOL" "$dump" >"$dir/dump.txt"
	NF_CFI=$(grep -c 'jitperf CFI' "$dir/dump.txt" || true)
	json=$(PYTHONPATH=$JP_ROOT/scripts${PYTHONPATH:+:$PYTHONPATH} python3 -m jitperf.report \
		--buildid-dir "$JP_TMP/buildid" --json "$dir/perf.jit.data" 2>"$dir/script.log") ||
		jp_fail "$mode: the report failed: $(tail -n 3 "$dir/script.log")"
	read -r NF_THROUGH NF_COMPLETE NF_JIT < <(python3 -c '
import json, sys
t = json.loads(sys.argv[1])
print(t["through_jit"], t["through_jit_complete"], t["jit"])' "$json")
	jp_say "$mode: $NF_CFI LOADs with jitperf CFI; $NF_THROUGH samples through JIT code," \
		"$NF_COMPLETE reach a thread root ($(nf_pct "$NF_COMPLETE" "$NF_THROUGH")%); $NF_JIT with a JIT leaf"
	if [ "$NF_THROUGH" -lt 200 ]; then
		jp_say "FAIL: $mode: only $NF_THROUGH samples through JIT code"
		fail=1
	fi
}

nf_pct() {
	awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b ? 100 * a / b : 0 }'
}

jp_setup
nf_mode auto
auto_through=$NF_THROUGH auto_complete=$NF_COMPLETE
if [ "$NF_CFI" -lt 2 ]; then
	jp_say "FAIL: auto: $NF_CFI LOADs carry jitperf CFI, want both JIT functions'"
	fail=1
fi
if [ $((auto_complete * 100)) -lt $((auto_through * JP_MIN_REACH)) ]; then
	jp_say "FAIL: auto: only $auto_complete of $auto_through chains through JIT code reach a root"
	awk 'BEGIN { RS = ""; ORS = "\n\n" } /jitted-/ && !/(_start|start_thread|clone)/' \
		<(jp_perf script --no-inline -i "$JP_TMP/nofp_auto/perf.jit.data" -F ip,sym,dso 2>/dev/null) |
		sed -n "1,12p" | sed 's/^/  /'
	fail=1
fi
nf_mode empty
jp_say "chains through JIT code reaching a root: auto $(nf_pct "$auto_complete" "$auto_through")%," \
	"empty table (baseline) $(nf_pct "$NF_COMPLETE" "$NF_THROUGH")%"
if [ $((NF_COMPLETE * auto_through)) -ge $((auto_complete * NF_THROUGH)) ]; then
	jp_say "FAIL: the empty table does as well as the unwinding data: the test does not test it"
	fail=1
fi

# jitperf-run's summary line and advice
nf_summary() { # CALL_GRAPH -> the summary's complete-stack lines
	local out=$JP_TMP/run_$1
	JIT_SECONDS=0.5 "$JP_ROOT/scripts/jitperf-run" --lib "$JP_SHIM" --call-graph "$1" -o "$out" -- \
		"$(jp_prog nofp)" >"$out.log" 2>&1 || jp_fail "jitperf-run --call-graph $1 failed: $(tail -n 3 "$out.log")"
	grep -A1 'complete stack' "$out/summary.txt" || true
}
fp_lines=$(nf_summary fp)
jp_say "jitperf-run --call-graph fp: $(printf '%s' "$fp_lines" | tr -s ' ' | tr '\n' ' ')"
# Not exactly 0 %: a sample in jit_a's first instructions, before rbp is
# made a counter, or after its pop, still finds the caller's frame chain
# (1 of 143 JIT samples in one run).
fp_pct=$(sed -n 's/.*complete stack.*: \([0-9.]*\)%.*/\1/p' <<<"$fp_lines" | sed -n '1,1p')
if [ -z "$fp_pct" ] || awk -v p="$fp_pct" 'BEGIN { exit !(p >= 5) }' ||
	! grep -q 'try --call-graph dwarf' <<<"$fp_lines"; then
	jp_say "FAIL: the fp summary should count under 5% complete stacks and advise --call-graph dwarf"
	fail=1
fi
dw_lines=$(nf_summary dwarf)
jp_say "jitperf-run --call-graph dwarf: $(printf '%s' "$dw_lines" | tr -s ' ' | tr '\n' ' ')"
dw_pct=$(sed -n 's/.*complete stack.*: \([0-9.]*\)%.*/\1/p' <<<"$dw_lines" | sed -n '1,1p')
if [ -z "$dw_pct" ] || awk -v p="$dw_pct" -v m="$JP_MIN_REACH" 'BEGIN { exit !(p < m) }' ||
	grep -q 'try --call-graph dwarf' <<<"$dw_lines"; then
	jp_say "FAIL: the dwarf summary should count >= $JP_MIN_REACH% complete stacks, without the advice"
	fail=1
fi
if [ "$fail" -ne 0 ]; then
	exit 1
fi
jp_say "PASS unwind_nofp"
