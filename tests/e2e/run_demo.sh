#!/usr/bin/env bash
# run_demo.sh - what `make demo` shows a new user (scripts/demo BUILD): the demo JIT's output, then a summary in which its JIT functions are named, and where to look next.
# shellcheck source=../lib/jitperf_run.sh source-path=SCRIPTDIR
. "$(dirname "$0")/../lib/jitperf_run.sh"
need_perf
need_build

# A build directory of our own, so the demo's runs land in $T.
mkdir -p "$T/build/tests/jit"
ln -s "$LIB" "$T/build/libjitperf.so"
ln -s "$DEMO" "$T/build/tests/jit/demo"
cd "$T" || exit 1
rc=0
JIT_SECONDS=1 "$REPO/scripts/demo" "$T/build" >"$T/demo.out" 2>"$T/demo.err" || rc=$?
cat "$T/demo.out" "$T/demo.err"
check "make demo's script succeeds (status $rc)" test "$rc" -eq 0
check "it introduces itself" grep -q '^jitperf demo' "$T/demo.out"
check "it shows the command it runs" grep -qF "scripts/jitperf-run -o $T/build/demo-1 -- $T/build/tests/jit/demo" "$T/demo.out"
check "the demo JIT ran" grep -q '^demo: done' "$T/demo.out"
named=$(summary_num "$T/build/demo-1/summary.txt" named)
jit=$(summary_num "$T/build/demo-1/summary.txt" jit)
check "the summary was shown" grep -q 'in named JIT code' "$T/demo.err"
check "JIT functions named ($named of $jit JIT samples)" test "${named:-0}" -gt 0 -a "$((${named:-0} * 10))" -ge "$((${jit:-1} * 9))"
check "several named JIT functions in the top list" test "$(grep -c '  \[JIT\]$' "$T/demo.err")" -ge 3
check "it points to the flame graph" grep -q "open $T/build/demo-1/flamegraph.html" "$T/demo.out"
JIT_SECONDS=0.1 "$REPO/scripts/demo" "$T/build" >/dev/null 2>&1
check "a second demo goes to demo-2" test -s "$T/build/demo-2/summary.txt"
mkdir "$T/empty"
rc=0
"$REPO/scripts/demo" "$T/empty" >/dev/null 2>"$T/nobuild.err" || rc=$?
check "without a build it says what to do" bash -c "test $rc -ne 0 && grep -q 'build first' '$T/nobuild.err'"
finish
