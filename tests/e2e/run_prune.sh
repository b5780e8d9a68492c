#!/usr/bin/env bash
# run_prune.sh - perf inject given only the sampled pieces names every sample (leaf and call chain, fp and dwarf) exactly as the whole dump does: the demo JIT, dual-mapped code (perf prints its frames as file offsets), code rewritten at one address (only the version in place while sampled is kept), and LuaJIT, which compiles more than it runs; jitperf-dump reads the samples from perf.data itself.
# shellcheck source=../lib/jitperf_run.sh source-path=SCRIPTDIR
. "$(dirname "$0")/../lib/jitperf_run.sh"
need_perf
need_build

export JIT_SECONDS=1
DUMP_TOOL=$BUILD/jitperf-dump

# As jitperf-run does: the generated objects are found in dumps/ by path,
# never through a build-id cache.
perf_() { perf --buildid-dir /dev/null "$@"; }
# Every sample with its call chain, as perf report and perf annotate see it.
samples() { perf_ script -i "$1" -F pid,tid,time,ip,sym,dso 2>/dev/null; }

# LABEL:CALL_GRAPH.  With dwarf, perf finds the JIT callers only after
# inject, by unwinding the copied stacks: the pruning must keep every piece
# they return into.
cases="demo:fp memfd_dual:fp rewrite:fp demo_dwarf:dwarf memfd_dual_dwarf:dwarf"
if command -v luajit >/dev/null 2>&1; then cases="$cases luajit:fp luajit_dwarf:dwarf"; else echo "note: no luajit, its part skipped"; fi
for c in $cases; do
	prog=${c%%:*}
	out=$T/$prog
	case $prog in
	luajit*) cmd=(luajit "$REPO/tests/jit/luajit_hot.lua") ;;
	*) cmd=("$BUILD/tests/jit/${prog%_dwarf}") ;;
	esac
	run_jr "$prog" 0 --no-inject --no-flamegraph --call-graph "${c#*:}" -o "$out" --lib "$LIB" -- "${cmd[@]}"
	dump=$(find "$out/dumps" -name 'jit-*.dump' | sed -n '1,1p')
	check "$prog: a dump was written" test -n "$dump"
	[ -n "$dump" ] || continue
	cp "$dump" "$T/$prog.whole"

	perf_ inject --jit -i "$out/perf.data" -o "$T/$prog.whole.data" 2>/dev/null
	samples "$T/$prog.whole.data" >"$T/$prog.whole.txt"
	rm -f "$out"/dumps/jitted-*.so

	kept=$(PYTHONPATH=$REPO/scripts python3 -c '
import sys
from jitperf import prune
kept, total, notes = prune.prune_dumps(sys.argv[2], [sys.argv[3]], sys.argv[1])
print(kept, total, len(notes))
' "$out/perf.data" "$DUMP_TOOL" "$dump")
	echo "$prog: kept, total, dumps left whole: $kept"
	read -r k total whole <<<"$kept"
	check "$prog: no dump left whole" test "$whole" = 0
	check "$prog: some pieces kept ($k of $total)" test "$k" -gt 0
	# LuaJIT's start-up traces do not run while perf samples the hot one
	# (with dwarf, words of the copied stacks may still point into them).
	[ "$prog" = luajit ] && check "luajit: fewer pieces kept than written" test "$k" -lt "$total"
	# rewrite.c writes B over A, both hot, then C over B: the dump holds
	# a LOAD of each at one address, and samples at that address.  Kept:
	# the ones in place while sampled, not every one that covers it.
	if [ "$prog" = rewrite ]; then
		covering=$(PYTHONPATH=$REPO/scripts python3 - "$T/$prog.whole" "$out/perf.data" "$DUMP_TOOL" <<'PY'
import subprocess, sys
whole, data, tool = sys.argv[1:]
# A text list of the same addresses has no times: every covering LOAD counts.
out = subprocess.run(['perf', 'script', '-i', data, '-F', 'ip'], capture_output=True, text=True).stdout
with open(whole + '.addrs', 'w') as f:
    f.write(''.join(line.strip() + '\n' for line in out.splitlines() if line.strip()))
r = subprocess.run([tool, '--prune', whole + '.addrs', '-o', whole + '.bytime', whole], capture_output=True, text=True)
print(r.stdout.split(' kept ')[1].split(' ')[0])
PY
)
		check "rewrite: fewer pieces kept by time ($k) than by address alone ($covering)" test "$k" -lt "$covering"
	fi
	check "$prog: the pruned dump is valid" "$DUMP_TOOL" --check "$dump"
	check "$prog: the whole dump is kept beside it" cmp -s "$dump.all" "$T/$prog.whole"

	perf_ inject --jit -i "$out/perf.data" -o "$T/$prog.pruned.data" 2>/dev/null
	samples "$T/$prog.pruned.data" >"$T/$prog.pruned.txt"
	check "$prog: perf script shows samples" test "$(wc -l <"$T/$prog.pruned.txt")" -gt 1000
	check "$prog: the JIT frames are named" grep -q 'jitted-' "$T/$prog.pruned.txt"
	check "$prog: every sample and frame named as with the whole dump" cmp -s "$T/$prog.whole.txt" "$T/$prog.pruned.txt"
	check "$prog: inject made one object per kept piece" \
		test "$(find "$out/dumps" -name 'jitted-*.so' | wc -l)" -eq "$k"
done

# The default run prunes and says so.
run_jr demo 0 -o "$T/default" --lib "$LIB" -- "$DEMO"
check "jitperf-run says how many pieces hold samples" grep -q 'pieces hold samples' "$T/demo.err"
check "--all-loads is named as the way to get all" grep -q -- '--all-loads' "$T/demo.err"
d=$(find "$T/default/dumps" -name 'jit-*.dump' | sed -n '1,1p')
check "the whole dump stays as .all" test -s "$d.all"
run_jr demo_dwarf_default 0 -o "$T/dwarf_default" --call-graph dwarf --lib "$LIB" -- "$DEMO"
check "dwarf call graphs are pruned too" grep -q 'pieces hold samples' "$T/demo_dwarf_default.err"
check "dwarf: the whole dump stays as .all" test -n "$(find "$T/dwarf_default/dumps" -name '*.all' -print -quit)"
run_jr demo 0 -o "$T/all" --all-loads --lib "$LIB" -- "$DEMO"
check "--all-loads: no .all copy, every piece injected" \
	test -z "$(find "$T/all/dumps" -name '*.all' -print -quit)"
finish
