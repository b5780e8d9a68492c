#!/usr/bin/env bash
# unwind_hotspot_run - `jitperf-run --call-graph dwarf|fp -- java ...` gives whole call stacks through HotSpot's compiled code: it asks for -XX:+PreserveFramePointer, and >= 90% (fp) or 95% (dwarf) of the JIT-leaf samples reach a thread root, as the summary says; a user's -XX:-PreserveFramePointer is left alone.
#
# The HotSpot workload (tests/engines/JavaWork.java) runs under jitperf-run
# RUNS times (default 2) with --call-graph dwarf and with fp; each time:
#   - run.txt lists -XX:+PreserveFramePointer among the switches set;
#   - the summary's "complete stack" share is >= JP_MIN_STACKS (90) % of at
#     least 100 JIT-leaf samples with fp, JP_MIN_STACKS_DWARF (95) % with
#     dwarf: 99.0-99.8 % in 10 runs on 2026-12-07; 87.5-99.7 % before
#     frames linked by rbp were described by rbp (docs/how-it-works.md,
#     the table of HotSpot's stacks); fp 100 %;
#   - the summary's count agrees with jitperf's report over perf.data.
# Once more with JAVA_TOOL_OPTIONS=-XX:-PreserveFramePointer and fp: the
# switch is left alone (run.txt says so) and the share is printed, not
# judged (HotSpot's code without frames: a few %).
# About 60 s on a busy 2-core machine.
set -euo pipefail
# shellcheck source=../lib/capture.sh source-path=SCRIPTDIR
. "$(dirname "$0")/../lib/capture.sh"
# shellcheck source=../engines/engines.bash source-path=SCRIPTDIR
. "$JP_ROOT/tests/engines/engines.bash"

RUNS=${RUNS:-2}
JP_MIN_STACKS=${JP_MIN_STACKS:-90}
JP_MIN_STACKS_DWARF=${JP_MIN_STACKS_DWARF:-95}
fail=0

hr_bad() {
	jp_say "FAIL: $*"
	fail=1
}

hr_run() { # NAME CALL_GRAPH [VAR=VALUE...] -> HR_PCT HR_JIT HR_COMPLETE (from the summary)
	local name=$1 out=$JP_TMP/$1 json jit complete
	jp_run_stacks "$@"
	HR_PCT=$JP_STACK_PCT HR_JIT=$JP_STACK_JIT HR_COMPLETE=$JP_STACK_COMPLETE
	json=$(PYTHONPATH=$JP_ROOT/scripts${PYTHONPATH:+:$PYTHONPATH} python3 -m jitperf.report \
		--buildid-dir "$out/buildid" --json "$out/perf.data" 2>"$out.script.log") ||
		jp_fail "$name: the report failed: $(tail -n 3 "$out.script.log")"
	read -r jit complete < <(python3 -c '
import json, sys
t = json.loads(sys.argv[1])
print(t["jit"], t["jit_complete"])' "$json")
	if [ "$jit $complete" != "$HR_JIT $HR_COMPLETE" ]; then
		hr_bad "$name: the summary says $HR_COMPLETE of $HR_JIT, the report over perf.data $complete of $jit"
	fi
	jp_say "$name: $HR_JIT JIT-leaf samples, $HR_COMPLETE with a complete stack ($HR_PCT%)"
}

jp_setup
if missing=$(engine_missing hotspot); then
	jp_skip "$missing"
fi
engine_prepare hotspot "$JP_TMP/prog" >"$JP_TMP/prepare.log" 2>&1 ||
	jp_fail "cannot prepare the workload: $(tail -n 3 "$JP_TMP/prepare.log")"
engine_cmd hotspot "$JP_TMP/prog"

for i in $(seq 1 "$RUNS"); do
	for cg in dwarf fp; do
		hr_run "${cg}_$i" "$cg"
		grep -q '^runtime names: .*-XX:+PreserveFramePointer' "$JP_TMP/${cg}_$i/run.txt" ||
			hr_bad "${cg}_$i: run.txt lists no -XX:+PreserveFramePointer"
		if [ "$HR_JIT" -lt 100 ]; then
			hr_bad "${cg}_$i: only $HR_JIT JIT-leaf samples"
		else
			need=$JP_MIN_STACKS
			[ "$cg" = dwarf ] && need=$JP_MIN_STACKS_DWARF
			if awk -v p="$HR_PCT" -v m="$need" 'BEGIN { exit !(p < m) }'; then
				hr_bad "${cg}_$i: $HR_PCT% complete stacks < $need%"
			fi
		fi
	done
done

hr_run user_fp fp JAVA_TOOL_OPTIONS=-XX:-PreserveFramePointer
grep -q '^runtime names: HotSpot frames: set by you (JAVA_TOOL_OPTIONS): left alone' "$JP_TMP/user_fp/run.txt" ||
	hr_bad "user_fp: run.txt does not say the user's -XX:-PreserveFramePointer was left alone"
if grep -q '+PreserveFramePointer' "$JP_TMP/user_fp/run.txt"; then
	hr_bad "user_fp: -XX:+PreserveFramePointer set over the user's choice"
fi
jp_say "without frame pointers (the user's choice), fp: $HR_PCT% complete stacks (not judged)"
if [ "$fail" -ne 0 ]; then
	exit 1
fi
jp_say "PASS unwind_hotspot_run"
