#!/usr/bin/env bash
# unwind_engines - whole call stacks through real engines' JIT code with perf --call-graph dwarf: HotSpot (C2 code keeps no frame pointer) and node (V8 keeps them), with the unwinding data built from the code (JITPERF_UNWIND=auto) against the empty table.
#
# Each engine's workload (tests/engines/, node's at 0.3 scale) is recorded
# once per mode with perf record -k 1 -e cpu-clock --call-graph dwarf and
# injected; jitperf's report (python3 -m jitperf.report --json) counts the
# samples whose leaf is JIT code and how many of them reach a thread root.
#   node:    >= JP_MIN_NODE (99) % in both modes (V8 keeps frame pointers:
#            the data built from its code must not make things worse);
#   hotspot: of the samples with a frame in a piece that carries jitperf's
#            CFI, >= JP_MIN_CFI (90) % must unwind past the last such frame
#            to a known caller (when there are at least 50 such samples):
#            the data, where written, works.
#            The share over all JIT-leaf samples is printed for both modes,
#            not judged: it moves 35-55 % from run to run with what HotSpot
#            compiles, and most hot methods get no data at all because
#            there is no room for it (perf maps it after the code, and
#            HotSpot puts the next method's header right after a method:
#            README, Limits).
# Every dump must pass jitperf-dump --check (which checks jitperf's CFI).
# About 60-90 s on a busy 2-core machine.
set -euo pipefail
# shellcheck source=../lib/capture.sh source-path=SCRIPTDIR
. "$(dirname "$0")/../lib/capture.sh"
# shellcheck source=../engines/engines.bash source-path=SCRIPTDIR
. "$JP_ROOT/tests/engines/engines.bash"

JP_MIN_NODE=${JP_MIN_NODE:-99}
JP_MIN_CFI=${JP_MIN_CFI:-90}
fail=0

ue_pct() {
	awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b ? 100 * a / b : 0 }'
}

# Samples with a frame in a piece whose LOAD carried jitperf CFI, and how
# many of them perf unwound past the last such frame to a known caller (not
# [unknown], not the end of the chain): "N PAST".  That is what the data
# itself decides; where the chain ends further up (a JIT caller without
# data, the 8 KB of stack perf copies) is not its doing.
ue_cfi_past() { # DIR
	local dir=$1 d
	for d in "$dir"/dumps/jit-*.dump; do "$JP_DUMP_TOOL" "$d"; done |
		awk '$2 == "UNWINDING_INFO" { c = ($0 ~ /jitperf CFI/) } $2 == "LOAD" { print $6, c }' >"$dir/cfi.txt"
	jp_perf script --no-inline -i "$dir/perf.jit.data" -F ip,sym,dso 2>/dev/null |
		awk -v cfi="$dir/cfi.txt" 'BEGIN { while ((getline l < cfi) > 0) { split(l, f, " "); has[f[1]] = f[2] }; RS = ""; FS = "\n" }
		{
			last = 0
			for (i = 1; i <= NF; i++)
				if (match($i, /jitted-[0-9]+-[0-9]+\.so/)) {
					s = substr($i, RSTART, RLENGTH); sub(/\.so$/, "", s); sub(/.*-/, "", s)
					if (has[s] == 1) last = i
				}
			if (!last) next
			n++
			if (last < NF && $(last + 1) !~ /\[unknown\]/) ok++
		}
		END { print n + 0, ok + 0 }'
}

ue_run() { # ENGINE MODE -> UE_JIT UE_COMPLETE
	local name=$1 mode=$2 dir=$JP_TMP/$1_$2 rc=0 json d
	mkdir -p "$dir"
	mkdir -m 700 "$dir/dumps"
	engine_cmd "$name" "$JP_TMP/prog_$name"
	if [ "$name" = node ]; then
		ENGINE_CMD=(node "$ENGINE_BENCH/node_cpu.js" 0.3)
	fi
	jp_perf record -k 1 -e cpu-clock --call-graph dwarf -o "$dir/perf.data" -- \
		env LD_PRELOAD="$JP_SHIM" JITPERF_DIR="$dir/dumps" JITPERF_UNWIND="$mode" "${ENGINE_CMD[@]}" \
		>"$dir/stdout" 2>"$dir/stderr" || rc=$?
	if [ "$rc" -ne 0 ]; then
		sed 's/^/  stderr: /' "$dir/stderr" | tail -n 20
		jp_fail "$name $mode: exited with status $rc under perf record"
	fi
	jp_inject "${name}_$mode"
	for d in "$dir"/dumps/jit-*.dump; do
		"$JP_DUMP_TOOL" --check "$d" >/dev/null || {
			"$JP_DUMP_TOOL" --check "$d" | sed 's/^/  /'
			jp_say "FAIL: $name $mode: jitperf-dump --check rejects $d"
			fail=1
		}
	done
	json=$(PYTHONPATH=$JP_ROOT/scripts${PYTHONPATH:+:$PYTHONPATH} python3 -m jitperf.report \
		--buildid-dir "$JP_TMP/buildid" --json "$dir/perf.jit.data" 2>"$dir/script.log") ||
		jp_fail "$name $mode: the report failed: $(tail -n 3 "$dir/script.log")"
	read -r UE_JIT UE_COMPLETE < <(python3 -c '
import json, sys
t = json.loads(sys.argv[1])
print(t["jit"], t["jit_complete"])' "$json")
	jp_say "$name $mode: $UE_JIT JIT-leaf samples, $UE_COMPLETE reach a thread root ($(ue_pct "$UE_COMPLETE" "$UE_JIT")%);" \
		"$(for d in "$dir"/dumps/jit-*.dump; do "$JP_DUMP_TOOL" "$d"; done | grep -c 'jitperf CFI' || true) LOADs with CFI"
	if [ "$UE_JIT" -lt 100 ]; then
		jp_say "FAIL: $name $mode: only $UE_JIT JIT-leaf samples"
		fail=1
	fi
}

jp_setup
for name in node hotspot; do
	if missing=$(engine_missing "$name"); then
		jp_say "$name skipped: $missing"
		continue
	fi
	engine_prepare "$name" "$JP_TMP/prog_$name" >"$JP_TMP/prepare.log" 2>&1 ||
		jp_fail "$name: cannot prepare its workload: $(tail -n 3 "$JP_TMP/prepare.log")"
	ue_run "$name" empty
	empty_jit=$UE_JIT empty_complete=$UE_COMPLETE
	ue_run "$name" auto
	jp_say "$name, dwarf: complete stacks of JIT-leaf samples: auto $(ue_pct "$UE_COMPLETE" "$UE_JIT")%," \
		"empty table $(ue_pct "$empty_complete" "$empty_jit")%"
	if [ "$name" = node ]; then
		for pair in "$UE_COMPLETE $UE_JIT auto" "$empty_complete $empty_jit empty"; do
			read -r c n m <<<"$pair"
			if [ $((c * 100)) -lt $((n * JP_MIN_NODE)) ]; then
				jp_say "FAIL: node $m: $(ue_pct "$c" "$n")% < $JP_MIN_NODE%"
				fail=1
			fi
		done
	else
		read -r cn cok < <(ue_cfi_past "$JP_TMP/${name}_auto")
		jp_say "hotspot auto: $cn samples with a frame in a piece with jitperf CFI, unwound past it to a known caller: $cok ($(ue_pct "$cok" "$cn")%)"
		if [ "$cn" -ge 50 ] && [ $((cok * 100)) -lt $((cn * JP_MIN_CFI)) ]; then
			jp_say "FAIL: hotspot auto: only $(ue_pct "$cok" "$cn")% of the chains unwind past the described pieces"
			fail=1
		fi
	fi
done
if [ "$fail" -ne 0 ]; then
	exit 1
fi
jp_say "PASS unwind_engines"
