#!/usr/bin/env bash
# v8_split.sh - measure jitperf's split of V8 code against V8's own jitdump (node --perf-prof in the same process): purity, completeness, coverage.
#
# Usage: tests/bench/v8_split.sh [BUILD] [SCALE]
#
# Runs `node --perf-prof tests/bench/node_cpu.js SCALE` (default 1, about
# 1.5 s) with libjitperf.so preloaded under perf record -k 1 -e cpu-clock.
# V8 writes its jit-<pid>.dump into the working directory, jitperf its own
# jit-<pid>.dump into JITPERF_DIR, a different directory.  The two are not
# injected (perf inject would read both markers); instead tests/bench/
# v8_split.py attributes every sample of perf script's raw output to a V8
# code object and a jitperf piece by replaying each dump, and prints the
# figures (see its header for the definitions).  A measurement, not a test:
# it exits 0 whatever the figures are, 1 when the run itself fails.
# Knobs: V8_SPLIT_KEEP=1 keeps the scratch directory, V8_SPLIT_JSON=FILE
# writes the figures as JSON, NODE_FLAGS adds node flags.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${1:-$ROOT/build}
SCALE=${2:-1}
BUILD=$(cd "$BUILD" && pwd)
SHIM=$BUILD/libjitperf.so

for c in perf node python3; do
	command -v "$c" >/dev/null 2>&1 || { echo "v8_split: $c is not installed" >&2; exit 1; }
done
[ -f "$SHIM" ] || { echo "v8_split: $SHIM is missing (make BUILD=$BUILD all)" >&2; exit 1; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/jitperf-v8split.XXXXXX")
cleanup() {
	if [ "${V8_SPLIT_KEEP:-0}" = 1 ]; then
		echo "kept $tmp" >&2
	else
		rm -rf "$tmp"
	fi
}
trap cleanup EXIT
mkdir -p "$tmp/v8" "$tmp/buildid"
mkdir -m 700 "$tmp/jp"

# shellcheck disable=SC2086 # NODE_FLAGS is a list of flags
(cd "$tmp/v8" && perf --buildid-dir "$tmp/buildid" record -q -k 1 -e cpu-clock -o "$tmp/perf.data" -- \
	env LD_PRELOAD="$SHIM" JITPERF_DIR="$tmp/jp" \
	node --perf-prof ${NODE_FLAGS:-} "$ROOT/tests/bench/node_cpu.js" "$SCALE") \
	>"$tmp/node.log" 2>&1 || { tail -n 20 "$tmp/node.log" >&2; echo "v8_split: node failed" >&2; exit 1; }

shopt -s nullglob
v8=("$tmp"/v8/jit-*.dump)
jp=("$tmp"/jp/jit-*.dump)
shopt -u nullglob
if [ ${#v8[@]} -ne 1 ] || [ ${#jp[@]} -ne 1 ]; then
	echo "v8_split: expected one dump from V8 and one from jitperf, got ${#v8[@]} and ${#jp[@]}" >&2
	exit 1
fi
pid=${v8[0]##*/jit-}
pid=${pid%.dump}
perf --buildid-dir "$tmp/buildid" script -i "$tmp/perf.data" -F pid,time,ip,dso --ns \
	>"$tmp/samples.txt" 2>"$tmp/script.log"
echo "v8_split: node --perf-prof node_cpu.js $SCALE, pid $pid"
python3 "$ROOT/tests/bench/v8_split.py" --samples "$tmp/samples.txt" --v8 "${v8[0]}" --jp "${jp[0]}" \
	--pid "$pid" ${V8_SPLIT_JSON:+--json "$V8_SPLIT_JSON"}
