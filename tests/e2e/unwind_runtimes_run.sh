#!/usr/bin/env bash
# unwind_runtimes_run - jitperf-run gives whole call stacks through Mono's, Erlang's and QEMU's JIT code: for Mono it sets MONO_DEBUG=disable_omit_fp (after a user's own options); Erlang's stacks end at the process's root; QEMU's blocks get unwinding data from its TCG prologue's frame; >= 90% of the JIT-leaf samples are complete, as the summary says; the programs' output is unchanged.
#
# Mono:
# Why the switch: Mono's JIT leaves rbp free in most methods and packs
# methods too tightly for the unwinding data perf maps after each, so
# without it 1-2 % of dwarf stacks were complete (README, Limits).
# The Mono workload (tests/engines/MonoWork.cs) runs under jitperf-run
# RUNS times (default 2) with --call-graph dwarf; each time:
#   - run.txt lists MONO_DEBUG=disable_omit_fp among the switches set;
#   - the summary's "complete stack" share is >= JP_MIN_MONO (85) % of at
#     least 100 JIT-leaf samples (91.2-96.9 % in 6 runs on 2026-12-07; the
#     rest stop in mscorlib's AOT code, compiled without frame pointers
#     and with no unwinding data perf finds);
#   - the workload prints what it prints without jitperf-run.
# Once more with MONO_DEBUG=casts of the user's: run.txt shows
# MONO_DEBUG=casts,disable_omit_fp.
# Erlang (tests/engines/erl_work.erl), once with fp and once with dwarf:
# >= JP_MIN_STACKS % complete, counting a chain that ends at BEAM's
# normal_exit (the first frame of every Erlang process's own stack) as
# complete (99.2-99.4 % on 2026-12-07; 0 % when only thread roots
# counted).
# QEMU user mode (tests/engines/qemu_work.c), once with dwarf: >= 90 %
# (98.5 % on 2026-12-07, 0 % before translated blocks were described as
# code running on the prologue's frame: lib/stackheight.h, dispatchers).
# About 50 s on a busy 2-core machine.
set -euo pipefail
# shellcheck source=../lib/capture.sh source-path=SCRIPTDIR
. "$(dirname "$0")/../lib/capture.sh"
# shellcheck source=../engines/engines.bash source-path=SCRIPTDIR
. "$JP_ROOT/tests/engines/engines.bash"

RUNS=${RUNS:-2}
JP_MIN_STACKS=${JP_MIN_STACKS:-90}
JP_MIN_MONO=${JP_MIN_MONO:-85}
fail=0

mr_bad() {
	jp_say "FAIL: $*"
	fail=1
}

mr_run() { # NAME CALL_GRAPH [VAR=VALUE...] -> MR_PCT MR_JIT (from the summary)
	local name=$1 out=$JP_TMP/$1
	jp_run_stacks "$@"
	MR_PCT=$JP_STACK_PCT MR_JIT=$JP_STACK_JIT
	cmp -s "$out.stdout" "$JP_TMP/plain.stdout" ||
		mr_bad "$name: the program printed '$(head -c 200 "$out.stdout")', without jitperf-run '$(head -c 200 "$JP_TMP/plain.stdout")'"
	jp_say "$name: $MR_JIT JIT-leaf samples, $MR_PCT% with a complete stack"
}

mr_judge() { # NAME FLOOR: enough samples, enough complete stacks
	if [ "$MR_JIT" -lt 100 ]; then
		mr_bad "$1: only $MR_JIT JIT-leaf samples"
	elif awk -v p="$MR_PCT" -v m="$2" 'BEGIN { exit !(p < m) }'; then
		mr_bad "$1: $MR_PCT% complete stacks < $2%"
	fi
}

mr_prepare() { # ENGINE: 0 and ENGINE_CMD set, or 1 (said why)
	local missing
	if missing=$(engine_missing "$1"); then
		jp_say "$1: skipped: $missing"
		return 1
	fi
	engine_prepare "$1" "$JP_TMP/prog-$1" >"$JP_TMP/prepare-$1.log" 2>&1 ||
		jp_fail "$1: cannot prepare the workload: $(tail -n 3 "$JP_TMP/prepare-$1.log")"
	engine_cmd "$1" "$JP_TMP/prog-$1"
	"${ENGINE_CMD[@]}" >"$JP_TMP/plain.stdout" 2>"$JP_TMP/plain.log" ||
		jp_fail "$1: the workload fails alone: $(tail -n 3 "$JP_TMP/plain.log")"
}

jp_setup
ran=0
if mr_prepare mono; then
	ran=1
	for i in $(seq 1 "$RUNS"); do
		mr_run "mono_dwarf_$i" dwarf
		grep -q '^runtime names: MONO_DEBUG=disable_omit_fp' "$JP_TMP/mono_dwarf_$i/run.txt" ||
			mr_bad "mono_dwarf_$i: run.txt lists no MONO_DEBUG=disable_omit_fp"
		mr_judge "mono_dwarf_$i" "$JP_MIN_MONO"
	done
	mr_run mono_user dwarf MONO_DEBUG=casts
	grep -q '^runtime names: MONO_DEBUG=casts,disable_omit_fp' "$JP_TMP/mono_user/run.txt" ||
		mr_bad "mono_user: run.txt does not show MONO_DEBUG=casts,disable_omit_fp: $(grep MONO_DEBUG "$JP_TMP/mono_user/run.txt")"
fi
if mr_prepare erlang; then
	ran=1
	for cg in fp dwarf; do
		mr_run "erlang_$cg" "$cg"
		mr_judge "erlang_$cg" "$JP_MIN_STACKS"
	done
fi
if mr_prepare qemu; then
	ran=1
	mr_run qemu_dwarf dwarf
	mr_judge qemu_dwarf "$JP_MIN_STACKS"
fi
[ "$ran" -eq 1 ] || jp_skip "none of Mono, Erlang and QEMU is installed"
if [ "$fail" -ne 0 ]; then
	exit 1
fi
jp_say "PASS unwind_runtimes_run"
