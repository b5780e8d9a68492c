#!/usr/bin/env bash
# names_heap_yields - where node lists its functions in its own perf map, a name libjitperf.so reads from V8's heap never replaces the map's (docs/naming.md, *Which wins*); without the map those names are there.
#
# node_cpu.js under libjitperf.so alone, describing as it runs, three times
# with NODE_OPTIONS=--perf-basic-prof-only-functions (the map jitperf-run
# asks for) and once without.  With the map, no LOAD of the dump gives an
# address a name of the heap's form (JS:kernel /path: no tier mark) after
# a LOAD gave it the map's (JS:*kernel /path:15:16); the hot function
# carries the map's name.  A heap name may still come first, when a pass
# reads the code before the map's first line is read (after that, V8's
# heap is not read at all): the map's name replaces it once read; the
# test says how many came first (0 in 24 runs).  Without the map, V8's
# constants are found and heap names
# written (what makes the first check mean something).  Three runs: which
# name arrives first depends on when a pass meets the code.  The build
# before the rule failed every run (the heap names of the read-again after
# V8's constants were found came after the map's).  About 10 s.  Exit 77
# when node is missing.
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

# run NAME [NODE_OPTIONS]: the dump's LOADs, "ADDRESS NAME" a line in order, in NAME.names
run() {
	local d=$tmp/$1 dump
	mkdir -p "$d"
	(cd "$d" && NODE_OPTIONS=${2:-} JITPERF_DIR=$d LD_PRELOAD=$lib node "$work" 0.3 >/dev/null 2>"$d/err") ||
		fail "$1: node failed: $(tail -n 3 "$d/err")"
	dump=$(find "$d" -maxdepth 1 -name 'jit-*.dump' | sed -n '1,1p')
	[ -n "$dump" ] || { fail "$1: no dump"; return; }
	pids+=("$(basename "$dump" .dump | sed 's/^jit-//')")
	"$dump_tool" "$dump" | awk '$2 == "LOAD" { a = $4; $1 = $2 = $3 = $4 = $5 = $6 = ""; sub(/^ +/, ""); print a, $0 }' >"$tmp/$1.names"
}

# V8's map names carry a tier mark after "JS:"; lib/v8.c's do not.
heap_re='^JS:[^*~^+ ]'
map_re='^JS:[*~^+]'
run plain
n=$(awk -v re="$heap_re" '{ a = $1; sub(/^[^ ]+ /, "") } $0 ~ re { n++ } END { print n + 0 }' "$tmp/plain.names")
if [ "$n" -gt 0 ]; then
	ok "without the map: $n LOADs carry names read from V8's heap, e.g. $(grep -m1 -E " JS:[^*~^+ ]" "$tmp/plain.names")"
else
	fail "without the map: no LOAD carries a name read from V8's heap (were V8's constants found?)"
fi
for i in 1 2 3; do
	run "map$i" --perf-basic-prof-only-functions
	# "OVER FIRST": heap names given to an address the map had named, and
	# heap names that came first (replaced later, or code gone before)
	read -r over first < <(awk -v h="$heap_re" -v m="$map_re" '{ a = $1; sub(/^[^ ]+ /, "") }
		$0 ~ m { mapped[a] = 1 }
		$0 ~ h { if (a in mapped) { over++; print "over: " a " " $0 > "/dev/stderr" } else first++ }
		END { print over + 0, first + 0 }' "$tmp/map$i.names" 2>"$tmp/map$i.over")
	if [ "$over" -eq 0 ]; then
		ok "with the map, run $i: no heap name over the map's ($first came first, before the map's line)"
	else
		fail "with the map, run $i: $over LOADs give heap names over the map's: $(head -n 3 "$tmp/map$i.over" | tr '\n' ';')"
	fi
	if grep -qE ' JS:\*kernel /.*node_cpu\.js:15:16$' "$tmp/map$i.names"; then
		ok "with the map, run $i: kernel carries the map's name"
	else
		fail "with the map, run $i: no LOAD named JS:*kernel ...node_cpu.js:15:16"
	fi
done
[ "$failures" -eq 0 ] || { echo "names_heap_yields: $failures check(s) failed"; exit 1; }
