#!/usr/bin/env bash
# capture_exit_fast - code written in a program's last epoch is named when the program leaves by _exit or _Exit (QEMU's linux-user does), and a vfork child's _exit leaves the parent's capture alone.
#
# tests/jit/exit_fast runs one function written with no call into an RWX
# mapping and leaves by _exit, with no capture thread (JITPERF_EPOCH_MS=0):
# no pass sees the code, only the capture on the way out (without it the
# dump holds no LOAD).  Per mode
# (_exit, _Exit, vfork: a vfork child that leaves by _exit first): the
# usual checks of one run (named share, the hot piece, the dump), and the
# capture summary on stderr (JITPERF_VERBOSE=2), which only the exit path
# prints.  Then the program's exit status and output lines, with and
# without the shim, for statuses 0 and 7.
set -euo pipefail
# shellcheck source=../lib/capture.sh source-path=SCRIPTDIR
. "$(dirname "$0")/../lib/capture.sh"

fail=0
jp_setup
prog=$(jp_prog exit_fast)
export JITPERF_EPOCH_MS=0 JITPERF_VERBOSE=2
for mode in _exit _Exit vfork; do
	jp_run_all "$mode" shim "$prog" "$mode"
	jp_check_run "$mode" || fail=1
	if ! grep -q '^jitperf: .* LOADs .* ms capturing' "$JP_TMP/$mode/stderr"; then
		jp_say "FAIL: $mode: no capture summary on stderr:"
		sed 's/^/  /' "$JP_TMP/$mode/stderr" | tail -n 5
		fail=1
	fi
done

# What the program prints and returns is its own.  The JITFUNC line's
# pid, address and times differ from run to run: compare the rest.
shape() { sed 's/ pid=[0-9]*//; s/ addr=0x[0-9a-f]*//; s/ t0=[0-9]* t1=[0-9]*//' "$1"; }
for st in 0 7; do
	rc_plain=0 rc_shim=0
	JIT_SECONDS=0.05 "$prog" _exit "$st" >"$JP_TMP/plain.$st" 2>&1 || rc_plain=$?
	mkdir -m 700 "$JP_TMP/dumps.$st"
	JIT_SECONDS=0.05 JITPERF_DIR="$JP_TMP/dumps.$st" JITPERF_VERBOSE=0 LD_PRELOAD="$JP_SHIM" \
		"$prog" _exit "$st" >"$JP_TMP/shim.$st" 2>&1 || rc_shim=$?
	if [ "$rc_plain" != "$st" ] || [ "$rc_shim" != "$st" ]; then
		jp_say "FAIL: _exit($st): exit status $rc_plain without the shim, $rc_shim with it"
		fail=1
	fi
	if ! diff <(shape "$JP_TMP/plain.$st") <(shape "$JP_TMP/shim.$st") >/dev/null; then
		jp_say "FAIL: _exit($st): the program printed otherwise with the shim:"
		diff <(shape "$JP_TMP/plain.$st") <(shape "$JP_TMP/shim.$st") | sed -n '1,10p'
		fail=1
	fi
	jp_say "_exit($st): status $rc_shim with the shim, $rc_plain without; same output"
done
jp_finish capture_exit_fast "$fail"
