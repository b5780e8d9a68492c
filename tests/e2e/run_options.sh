#!/usr/bin/env bash
# run_options.sh - every jitperf-run option end to end: --help, usage errors, -F, -e, the default event, -g fp/dwarf/none, -R, --no-inject, --perf-map, -q, -v, --top, --no-flamegraph, --lib and JITPERF_LIB.
# shellcheck source=../lib/jitperf_run.sh source-path=SCRIPTDIR
. "$(dirname "$0")/../lib/jitperf_run.sh"
need_perf
need_build
cd "$T" || exit 1
export JIT_SECONDS=0.3


# --help: exit 0, every option documented
run_jr help 0 --help
for o in --output --freq --event --call-graph --record-opts --no-inject --perf-map \
	--no-flamegraph --lib --top --quiet --verbose --check --force --help; do
	grep -q -- "$o" "$T/help.out" || fail "--help does not mention $o"
done
check "--help names the exit statuses" grep -q 'environment problem' "$T/help.out"

# usage errors: exit 64 and a message that says what is wrong
run_jr u1 64 --bogus -- "$DEMO" && check "unknown option named" grep -q "unknown option '--bogus'" "$T/u1.err"
run_jr u2 64 -F often -- "$DEMO" && check "bad -F explained" grep -q 'freq' "$T/u2.err"
run_jr u3 64 --call-graph frames -- "$DEMO" && check "bad --call-graph explained" grep -q 'fp, dwarf' "$T/u3.err"
run_jr u4 64 --top many -- "$DEMO"
run_jr u5 64 --lib "$LIB" && check "missing program explained" grep -q 'no program' "$T/u5.err"
run_jr u6 64 -o && check "missing value explained" grep -q 'needs a value' "$T/u6.err"
run_jr u7 64 --no-inject=yes -- "$DEMO"
run_jr u8 64 -q --lib "$LIB" -o "$T/u8" -R '--no-such-perf-option' -- "$DEMO"
check "a bad -R option is a usage error, with perf's words" grep -q 'no-such-perf-option' "$T/u8.err"

# -F and -e end up in the recording; the summary says what was sampled
run_jr freq 0 -q --lib "$LIB" -o "$T/freq" -F 997 -e task-clock -- "$DEMO"
check "-F 997 recorded" bash -c "perf evlist -i '$T/freq/perf.data' -F | grep -q 'sample_freq=997'"
check "-e task-clock recorded" bash -c "perf evlist -i '$T/freq/perf.data' | grep -q '^task-clock'"
check "the summary names the event and rate" grep -q 'task-clock, 997 Hz' "$T/freq/summary.txt"

# default event: cycles where hardware events work, else cpu-clock
if perf stat -x, -e cycles:u -- true 2>&1 | grep -q '^[0-9]'; then want=cycles; else want=cpu-clock; fi
run_jr default 0 -q --lib "$LIB" -o "$T/default" -- "$DEMO"
check "default event is $want here" bash -c "perf evlist -i '$T/default/perf.data' | grep -q '^$want'"
check "call graphs by default (fp)" bash -c "perf evlist -v -i '$T/default/perf.data' | grep -q CALLCHAIN"

# -g dwarf (--call-graph=dwarf,SIZE form) and -g none
run_jr dwarf 0 -q --lib "$LIB" -o "$T/dwarf" --call-graph=dwarf,4096 -- "$DEMO"
check "-g dwarf records user stacks" bash -c "perf evlist -v -i '$T/dwarf/perf.data' | grep -q STACK_USER"
check "-g dwarf still names JIT code" test "$(summary_num "$T/dwarf/summary.txt" named)" -gt 0
check "-g dwarf gives a flame graph" test -s "$T/dwarf/flamegraph.html"
run_jr nocg 0 -q --lib "$LIB" -o "$T/nocg" --call-graph none -- "$DEMO"
check "--call-graph none records no call chains" bash -c "! perf evlist -v -i '$T/nocg/perf.data' | grep -q CALLCHAIN"
check "--call-graph none: no flame graph, and the summary says why" \
	bash -c "test ! -e '$T/nocg/flamegraph.html' && grep -q 'no call graphs' '$T/nocg/summary.txt'"

# -R: extra perf record options, split at spaces, repeatable
run_jr extra 0 -q --lib "$LIB" -o "$T/extra" -R '-d --mmap-pages 64' -R '--no-buildid-cache' -- "$DEMO"
check "-R '-d ...' reached perf record (sample addresses)" \
	bash -c "perf evlist -v -i '$T/extra/perf.data' | grep -q 'sample_type:.*ADDR'"
check "-R options appear in run.txt" grep -q -- '--mmap-pages 64 --no-buildid-cache' "$T/extra/run.txt"

# --no-inject: the raw recording, and an inject command that works later
run_jr noinj 0 --lib "$LIB" -o "$T/noinj" --no-inject -- "$DEMO"
check "--no-inject: no jitted-*.so made" test -z "$(find "$T/noinj/dumps" -name 'jitted-*' -print -quit)"
check "--no-inject: the dump is there for later" test -n "$(find "$T/noinj/dumps" -name 'jit-*.dump' -print -quit)"
check "--no-inject: JIT samples counted, names 'not yet'" grep -q 'named: not yet' "$T/noinj/summary.txt"
inject=$(grep -m1 ' inject --jit ' "$T/noinj/summary.txt" | sed 's/^ *//')
report=$(grep -m1 ' report -i ' "$T/noinj/summary.txt" | sed 's/^ *//')
bash -c "$inject" >/dev/null 2>&1
bash -c "$report --stdio" >"$T/noinj-report.txt" 2>/dev/null
check "--no-inject: the printed inject + report commands name the JIT code" grep -q 'jitted-' "$T/noinj-report.txt"

# --perf-map: libjitperf.so is asked for /tmp/perf-<pid>.map, no inject
printf '#!/bin/sh\nenv > "%s/probe.env"\n' "$T" >"$T/envprobe"
chmod +x "$T/envprobe"
run_jr probe 0 -q --lib "$LIB" -o "$T/probe" --perf-map -- "$T/envprobe"
cleanup_hooks+=("rm -f /tmp/perf-$(awk '/^pid:/ { print $2 }' "$T/probe/run.txt").map")
check "--perf-map: JITPERF_PERFMAP=1 given to the program" grep -qx 'JITPERF_PERFMAP=1' "$T/probe.env"
check "--perf-map: no jitdump asked for" grep -qx 'JITPERF_JITDUMP=0' "$T/probe.env"
run_jr pmap 0 --lib "$LIB" -o "$T/pmap" --perf-map -- "$DEMO"
pid=$(awk '/^pid:/ { print $2 }' "$T/pmap/run.txt")
cleanup_hooks+=("rm -f /tmp/perf-$pid.map")
check "--perf-map: nothing injected" test -z "$(find "$T/pmap/dumps" -name 'jitted-*' -print -quit)"
check "--perf-map: libjitperf.so wrote /tmp/perf-$pid.map" test -s "/tmp/perf-$pid.map"
check "--perf-map: a copy of the map stays with the run" test -s "$T/pmap/perf-$pid.map"
check "--perf-map: JIT samples named from the map" grep -q '\[JIT\] (perf map)$' "$T/pmap/summary.txt"
check "--perf-map: the summary says where the names come from" grep -q "/tmp/perf-$pid.map" "$T/pmap/summary.txt"

# -q / -v
run_jr quiet 0 -q --lib "$LIB" -o "$T/quiet" -- "$DEMO"
check "-q: nothing on stderr" test ! -s "$T/quiet.err"
check "-q: summary.txt still written" test -s "$T/quiet/summary.txt"
run_jr verbose 0 -v --lib "$LIB" -o "$T/verbose" -- "$DEMO"
check "-v shows the checks" grep -q '^  ok    perf:' "$T/verbose.err"
check "-v shows the perf command" grep -q 'running: .* record -k 1' "$T/verbose.err"
check "-v shows perf's own messages" grep -q 'perf: \[ perf record' "$T/verbose.err"

# --top, --no-flamegraph
run_jr top 0 --lib "$LIB" -o "$T/top" --top 2 --no-flamegraph -- "$DEMO"
n=$(awk '/Top functions/ { on = 1; next } on && /%/ { n++ } /Files in/ { on = 0 } END { print n + 0 }' "$T/top/summary.txt")
check "--top 2 lists 2 functions ($n)" test "$n" -eq 2
check "--no-flamegraph: no flame graph or folded stacks" \
	test ! -e "$T/top/flamegraph.html" -a ! -e "$T/top/stacks.folded"

# the library: --lib, JITPERF_LIB, JITPERF_BUILD; --lib wins over JITPERF_LIB
JITPERF_LIB=$LIB run_jr envlib 0 -q -o "$T/envlib" -- "$DEMO"
check "JITPERF_LIB is used" test "$(summary_num "$T/envlib/summary.txt" named)" -gt 0
JITPERF_BUILD=$BUILD run_jr envbuild 0 -q -o "$T/envbuild" -- "$DEMO"
check "JITPERF_BUILD is used" test "$(summary_num "$T/envbuild/summary.txt" named)" -gt 0
JITPERF_LIB=/nonexistent/libjitperf.so run_jr libwins 0 -q --lib "$LIB" -o "$T/libwins" -- "$DEMO"
finish
