#!/usr/bin/env bash
# names_heap_yields - where node lists its functions in its own perf map, the names libjitperf.so reads from V8's heap never replace the map's (docs/naming.md, *Which wins*); without the map they are there.
#
# node_cpu.js under libjitperf.so alone, describing as it runs, three times
# with NODE_OPTIONS=--perf-basic-prof-only-functions (the map jitperf-run
# asks for) and once without.  With the map, no LOAD of the dump carries a
# name of the heap's form (JS:kernel /path: no tier mark), and the hot
# functions carry the map's (JS:*kernel /path:15:16); V8's constants are
# found as they run (the heap names of the run without the map).  The run
# without the map is what makes the first check mean something.  Three runs:
# which name arrives first depends on when a pass meets the code.
# About 10 s.  Exit 77 when node is missing.
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${JITPERF_BUILD:-$root/build}
lib=$build/libjitperf.so
dump_tool=$build/jitperf-dump
work=$root/tests/bench/node_cpu.js

command -v node >/dev/null 2>&1 || { echo "SKIP: node is not installed"; exit 77; }
if [ ! -x "$dump_tool" ] || [ ! -f "$lib" ]; then
	echo "FAIL: $build is not built"
	exit 1
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/jitperf-heapnames.XXXXXX")
pids=()
# node leaves /tmp/perf-<pid>.map behind
cleanup() {
	local p
	for p in "${pids[@]}"; do rm -f "/tmp/perf-$p.map"; done
	rm -rf "$tmp"
}
trap cleanup EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
ok() { echo "ok: $*"; }

# run NAME [NODE_OPTIONS]: the dump's LOAD names, one per line, in NAME.names
run() {
	local d=$tmp/$1 dump
	mkdir -p "$d"
	(cd "$d" && NODE_OPTIONS=${2:-} JITPERF_DIR=$d LD_PRELOAD=$lib node "$work" 0.3 >/dev/null 2>"$d/err") ||
		fail "$1: node failed: $(tail -n 3 "$d/err")"
	dump=$(find "$d" -maxdepth 1 -name 'jit-*.dump' | head -n 1)
	[ -n "$dump" ] || { fail "$1: no dump"; return; }
	pids+=("$(basename "$dump" .dump | sed 's/^jit-//')")
	"$dump_tool" "$dump" | awk '$2 == "LOAD" { $1 = $2 = $3 = $4 = $5 = $6 = ""; sub(/^ +/, ""); print }' >"$tmp/$1.names"
}

# V8's map names carry a tier mark after "JS:"; lib/v8.c's do not.
heap_re='^JS:[^*~^+ ]'
run plain
n=$(grep -cE "$heap_re" "$tmp/plain.names")
if [ "$n" -gt 0 ]; then
	ok "without the map: $n LOADs carry names read from V8's heap, e.g. $(grep -E "$heap_re" "$tmp/plain.names" | head -n 1)"
else
	fail "without the map: no LOAD carries a name read from V8's heap (were V8's constants found?)"
fi
for i in 1 2 3; do
	run "map$i" --perf-basic-prof-only-functions
	n=$(grep -cE "$heap_re" "$tmp/map$i.names")
	if [ "$n" -eq 0 ]; then
		ok "with the map, run $i: no LOAD carries a heap name"
	else
		fail "with the map, run $i: $n LOADs carry heap names over the map's: $(grep -E "$heap_re" "$tmp/map$i.names" | head -n 3 | tr '\n' ';')"
	fi
	if grep -qE '^JS:\*kernel /.*node_cpu\.js:15:16$' "$tmp/map$i.names"; then
		ok "with the map, run $i: kernel carries the map's name"
	else
		fail "with the map, run $i: no LOAD named JS:*kernel ...node_cpu.js:15:16"
	fi
done
[ "$failures" -eq 0 ] || { echo "names_heap_yields: $failures check(s) failed"; exit 1; }
