#!/usr/bin/env bash
# writer_perf.sh - lib/jitdump end to end with real perf: a JIT describes its
# code with jp_dump_load, perf record -k 1 / inject --jit / report must name it.
#
# For each unwinding variant (the empty eh_frame_hdr table, and a CIE+FDE):
# - tests/jit/writer_jit runs jit_hot_loop for ~1.5 CPU seconds under
#   perf record --call-graph dwarf;
# - jitperf-dump --check accepts its dump;
# - after perf inject --jit, >= 80% of all samples are in jit_hot_loop and
#   jit_warm has samples too;
# - >= 90% of the jit_hot_loop samples unwind through the JIT frame to main
#   (perf's DWARF unwinder uses our unwinding record, or falls back to the
#   frame pointers for the empty table).
# Exit 77 (skip) only when perf is not installed; any failure of the
# pipeline with perf present is a failure.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
build=${JITPERF_BUILD:-$root/build}
jit=$build/tests/jit/writer_jit
dump_tool=$build/jitperf-dump

if ! command -v perf >/dev/null 2>&1; then
	echo "SKIP: perf is not installed"
	exit 77
fi
for f in "$jit" "$dump_tool"; do
	if [ ! -x "$f" ]; then
		echo "FAIL: $f is not built (make BUILD=$build all)"
		exit 1
	fi
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/jitperf-e2e.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

fail() { # message [log files...]
	local msg=$1
	shift
	echo "FAIL: $msg"
	for f in "$@"; do
		[ -s "$f" ] || continue
		echo "--- $(basename "$f")"
		tail -n 30 "$f"
	done
	exit 1
}

variant() { # empty|fde
	local v=$1 d=$tmp/$1
	local out=$d/out.txt rec=$d/record.log inj=$d/inject.log rep=$d/report.txt
	local dump total hot warm chains deep

	mkdir -p "$d/dumps"
	echo "== variant $v"
	JITPERF_DIR=$d/dumps perf record -k 1 -e cpu-clock -F 999 --call-graph dwarf,8192 \
		-o "$d/perf.data" -- "$jit" "$v" >"$out" 2>"$rec" ||
		fail "perf record of writer_jit $v failed" "$rec" "$out"
	dump=$(sed -n 's/^DUMP //p' "$out")
	[ -n "$dump" ] && [ -f "$dump" ] || fail "writer_jit printed no dump path" "$out" "$rec"
	"$dump_tool" --check "$dump" || fail "jitperf-dump --check rejects $dump"

	perf --buildid-dir "$d/buildid" inject --jit -i "$d/perf.data" -o "$d/jit.data" >"$inj" 2>&1 ||
		fail "perf inject --jit failed" "$inj"
	ls "$(dirname "$dump")"/jitted-*-*.so >/dev/null 2>&1 ||
		fail "perf inject wrote no jitted-*.so next to the dump" "$inj"

	perf --buildid-dir "$d/buildid" report -i "$d/jit.data" --stdio --no-children -g none \
		--sort sym -q --percent-limit 0 >"$rep" 2>"$d/report.err" ||
		fail "perf report failed" "$d/report.err"
	hot=$(awk '$3 == "jit_hot_loop" { sub("%", "", $1); print $1 }' "$rep")
	warm=$(awk '$3 == "jit_warm" { sub("%", "", $1); print $1 }' "$rep")
	echo "jit_hot_loop ${hot:-0}%, jit_warm ${warm:-0}%"
	[ -n "$hot" ] || fail "no samples attributed to jit_hot_loop" "$rep"
	awk -v p="$hot" 'BEGIN { exit !(p >= 80) }' ||
		fail "jit_hot_loop has only $hot% of the samples (want >= 80%)" "$rep"
	[ -n "$warm" ] || fail "jit_warm has no samples: only one LOAD resolved?" "$rep"

	# Call chains: blocks of "ip sym" lines, leaf first, blank line between.
	perf --buildid-dir "$d/buildid" script -i "$d/jit.data" -F ip,sym >"$d/script.txt" 2>"$d/script.err" ||
		fail "perf script failed" "$d/script.err"
	read -r chains deep < <(awk 'BEGIN { RS = "" }
		{ if ($2 == "jit_hot_loop") { n++; if ($0 ~ /[ \t]main\n|[ \t]main$/) m++ } }
		END { print n + 0, m + 0 }' "$d/script.txt")
	echo "call chains from jit_hot_loop reaching main: $deep of $chains"
	[ "$chains" -gt 0 ] || fail "perf script shows no jit_hot_loop samples" "$d/script.txt"
	awk -v a="$deep" -v b="$chains" 'BEGIN { exit !(a >= 0.9 * b) }' ||
		fail "only $deep of $chains jit_hot_loop call chains unwind to main" "$d/script.txt"
}

variant empty
variant fde
echo "PASS"
