#!/usr/bin/env bash
# node_perf_prof.sh - our checker must accept a real engine's dump: V8 (node
# --perf-prof) writes jit-<pid>.dump with UNWINDING_INFO before every LOAD and
# DEBUG_INFO for optimised JS.  jitperf-dump --check must pass and --stats
# must count LOADs, with and without --perf-prof-unwinding-info (real FDEs).
# Exit 77 (skip) when node is not installed.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
build=${JITPERF_BUILD:-$root/build}
dump_tool=$build/jitperf-dump

if ! command -v node >/dev/null 2>&1; then
	echo "SKIP: node is not installed"
	exit 77
fi
if [ ! -x "$dump_tool" ]; then
	echo "FAIL: $dump_tool is not built (make BUILD=$build all)"
	exit 1
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/jitperf-node.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# CPU-bound long enough for V8 to optimise fib (TurboFan code + DEBUG_INFO).
cat >"$tmp/work.js" <<'JS'
function fib(n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }
let s = 0;
const end = Date.now() + 400;
while (Date.now() < end) s += fib(18);
if (!(s > 0)) throw new Error("no work done");
JS

fail() {
	echo "FAIL: $1"
	shift
	for f in "$@"; do
		[ -s "$f" ] && { echo "--- $(basename "$f")"; tail -n 30 "$f"; }
	done
	exit 1
}

run() { # name node-flags...
	local name=$1 d=$tmp/$1 dump loads
	shift
	mkdir -p "$d"
	echo "== node $*"
	# V8 writes jit-<pid>.dump into the current directory.
	(cd "$d" && node "$@" ../work.js) >"$d/node.log" 2>&1 || fail "node $* failed" "$d/node.log"
	shopt -s nullglob
	local dumps=("$d"/jit-*.dump)
	shopt -u nullglob
	[ ${#dumps[@]} -eq 1 ] || fail "expected one jit-*.dump from node $*, found ${#dumps[@]}" "$d/node.log"
	dump=${dumps[0]}
	"$dump_tool" --check "$dump" >"$d/check.txt" 2>&1 || fail "jitperf-dump --check rejects V8's dump" "$d/check.txt"
	cat "$d/check.txt"
	"$dump_tool" --stats "$dump" >"$d/stats.txt" 2>&1 || fail "jitperf-dump --stats failed" "$d/stats.txt"
	loads=$(awk '$1 == "LOAD:" { print $2 }' "$d/stats.txt")
	[ -n "$loads" ] && [ "$loads" -gt 0 ] || fail "no LOAD records counted" "$d/stats.txt"
	grep -E 'LOAD:|UNWINDING_INFO:|DEBUG_INFO:|distinct' "$d/stats.txt"
	# The default listing must get through the whole file as well.
	"$dump_tool" "$dump" >"$d/list.txt" 2>&1 || fail "jitperf-dump cannot list V8's dump" "$d/list.txt"
}

run plain --perf-prof --interpreted-frames-native-stack
run unwind --perf-prof --perf-prof-unwinding-info --interpreted-frames-native-stack
echo "PASS"
