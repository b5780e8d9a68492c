#!/usr/bin/env bash
# run_basic.sh - jitperf-run on the demo JIT with default options: the files of a run, the summary's numbers, the perf commands it prints, a private build-id cache, output directories never reused.
# shellcheck source=../lib/jitperf_run.sh source-path=SCRIPTDIR
. "$(dirname "$0")/../lib/jitperf_run.sh"
need_perf
need_build

cd "$T" || exit 1
export JIT_SECONDS=1
run_jr demo 0 --lib "$LIB" -- "$DEMO"
out=$T/jitperf-demo-1
sum=$out/summary.txt

check "default output directory ./jitperf-demo-1" test -d "$out"
check "perf.data written" test -s "$out/perf.data"
check "the raw recording is gone once injected" test ! -e "$out/perf.data.raw"
pid=$(awk '/^pid:/ { print $2 }' "$out/run.txt")
check "run.txt has the program's pid" test -n "$pid" -a "$pid" != "?"
check "dumps/jit-$pid.dump written by libjitperf.so" test -s "$out/dumps/jit-$pid.dump"
check "only the program wrote a dump (not perf, not the helper)" \
	test "$(find "$out/dumps" -name 'jit-*.dump' ! -name "jit-$pid.dump" | wc -l)" -eq 0
check "perf inject made jitted-$pid-*.so" test -n "$(find "$out/dumps" -name "jitted-$pid-*.so" -print -quit)"
check "they are not copied into the run's build-id cache (inject is faster without)" \
	test -z "$(find "$out/buildid" -path '*jitted-*' -print -quit)"
check "the summary was printed" grep -q 'in named JIT code' "$T/demo.err"
check "the summary is in summary.txt" grep -q 'in named JIT code' "$sum"
check "the demo's own output reached stdout" grep -q 'demo: done' "$T/demo.out"
check "nothing of the summary on stdout" bash -c "! grep -q 'JIT code' '$T/demo.out'"

samples=$(summary_num "$sum" samples) jit=$(summary_num "$sum" jit) named=$(summary_num "$sum" named)
echo "samples=$samples jit=$jit named=$named"
check "at least 1000 samples in a 1 s run" test "${samples:-0}" -ge 1000
check "most samples in JIT code (demo: ~90%)" test "$((${jit:-0} * 100))" -ge "$((${samples:-1} * 70))"
check "JIT samples named (>= 90%)" test "$((${named:-0} * 100))" -ge "$((${jit:-1} * 90))"
njit=$(grep -c '  \[JIT\]$' "$sum")
check "several named JIT functions among the top ones ($njit)" test "$njit" -ge 3
check "the interpreter (C code) is listed too" grep -q ' interp_eval .* demo$' "$sum"
check "the flame graph was written" test -s "$out/flamegraph.html"

# The commands it prints work as printed (from the directory it ran in).
report=$(grep -m1 ' report -i ' "$sum" | sed 's/^ *//')
annotate=$(grep -m1 ' annotate -i ' "$sum" | sed 's/^ *//')
top=$(sed -n 's/^ *[0-9.]*%  \(.*[^ ]\) *\[JIT\]$/\1/p' "$sum" | sed -n '1,1p')
echo "report: $report"
echo "annotate: $annotate"
bash -c "$report --stdio" >"$T/report.txt" 2>"$T/report.err"
check "the printed perf report command shows the top JIT function '$top'" grep -qF -- "$top" "$T/report.txt"
bash -c "$annotate" >"$T/annotate.txt" 2>"$T/annotate.err"
check "the printed perf annotate command disassembles it" grep -q 'Disassembly of section' "$T/annotate.txt"

# Runs never overwrite each other.
JIT_SECONDS=0.1 run_jr demo2 0 -q --lib "$LIB" -- "$DEMO"
check "a second run goes to ./jitperf-demo-2" test -s "$T/jitperf-demo-2/perf.data"
check "the first run is untouched" cmp -s "$sum" "$T/jitperf-demo-1/summary.txt"
check "-q printed nothing but the program's output" test ! -s "$T/demo2.err"
before=$(ls -l "$out")
run_jr existing 64 -q --lib "$LIB" -o "$out" -- "$DEMO"
check "-o on a used directory is refused and says why" grep -q 'not empty' "$T/existing.err"
check "... and leaves it alone" test "$before" = "$(ls -l "$out")"
mkdir "$T/empty"
JIT_SECONDS=0.1 run_jr empty 0 -q --lib "$LIB" -o "$T/empty" -- "$DEMO"
check "-o on an empty directory is fine" test -s "$T/empty/perf.data"
JIT_SECONDS=0.1 run_jr nested 0 -q --lib "$LIB" -o "$T/a/b/c" -- "$DEMO"
check "-o creates missing parents" test -s "$T/a/b/c/perf.data"
finish
