#!/usr/bin/env bash
# names_perfmap - code a runtime names in its own /tmp/perf-<pid>.map is named by those names, with code bytes, and the map is left alone.
#
# tests/jit/perfmap_prog writes /tmp/perf-<pid>.map lines like node
# --perf-basic-prof ("LazyCompile:*pm_hot perfmap.js:1"), one more line while
# it runs.  After perf inject:
# - >= 90% of each hot function's samples (its range and run window) are on
#   a jitted piece named by its map line, spaces kept as the runtime wrote
#   them (docs/naming.md), not jit:...;
# - the dump has a LOAD of that name with the function's code
#   (code_size = the map's size > 0: perf annotate works, a map cannot);
# - the map file is exactly what the program wrote: same bytes, same size and
#   mtime as the program saw after its last write (jitperf only reads it).
# The map file is removed at the end.
set -euo pipefail
# shellcheck source=../lib/capture.sh source-path=SCRIPTDIR
. "$(dirname "$0")/../lib/capture.sh"

export JIT_SECONDS=${JIT_SECONDS:-1.5}
fail=0

pm_cleanup() {
	local m
	if [ -n "$JP_TMP" ] && [ -f "$JP_TMP/perfmap/stdout" ]; then
		m=$(sed -n 's/^PMSTAT path=\(\/tmp\/perf-[0-9]*\.map\) .*/\1/p' "$JP_TMP/perfmap/stdout")
		if [ -n "$m" ]; then
			rm -f "$m"
		fi
	fi
	jp_cleanup
}

jp_setup
trap pm_cleanup EXIT
jp_run_all perfmap shim "$(jp_prog perfmap_prog)"
dir=$JP_TMP/perfmap
jp_say "perfmap: named $JP_SHARE% ($JP_NAMED/$((JP_NAMED + JP_UNNAMED)) JIT samples)"
jp_hot_check perfmap || fail=1
jp_dump_check perfmap || fail=1

read -r map size mtime < <(sed -n 's/^PMSTAT path=\([^ ]*\) size=\([0-9]*\) mtime=\([0-9.]*\)$/\1 \2 \3/p' "$dir/stdout") || true
[ -n "${map:-}" ] || jp_fail "the program printed no PMSTAT line"
dump=$(find "$dir/dumps" -name 'jit-*.dump' -type f | sed -n '1,1p')
"$JP_DUMP_TOOL" "$dump" >"$dir/dump.txt"

# label addr size expected-name, for every function with a map line.
while read -r label addr fsize; do
	want=$(awk -v a="${addr#0x}" '$1 == "PMLINE" && $2 == a {
		n = $4; for (i = 5; i <= NF; i++) n = n " " $i; print n; exit }' "$dir/stdout")
	[ -n "$want" ] || jp_fail "no PMLINE for $label at $addr"
	hot=$(grep -c "^JITFUNC name=$label .*hot=1" "$dir/stdout" || true)
	loaded=$(awk -v n="$want" '$2 == "LOAD" { s = $7; for (i = 8; i <= NF; i++) s = s " " $i; if (s == n) print $5 }' "$dir/dump.txt" | sort -u | tr '\n' ' ')
	if [ "${loaded% }" != "$((fsize))" ]; then
		jp_say "FAIL: $label: LOADs named '$want' have code sizes '${loaded% }', want $((fsize))"
		fail=1
	else
		jp_say "perfmap: $label: LOAD '$want' with $fsize bytes of code"
	fi
	[ "$hot" -gt 0 ] || continue
	n=$(awk -F'\t' -v l="$label" '$1 == "HOT" && $2 == l { print $6 }' "$dir/hot.tsv")
	named=$(awk -F'\t' -v l="$label" -v w="$want" '$1 == "PIECE" && $2 == l && $4 == "named" && $6 == w { s += $3 }
		END { print s + 0 }' "$dir/hot.tsv")
	awk -F'\t' -v l="$label" '$1 == "PIECE" && $2 == l { printf "  %6d  %s\n", $3, $6 }' "$dir/hot.tsv"
	if [ -z "$n" ] || [ "$n" -lt "$JP_MIN_HOT" ]; then
		jp_say "FAIL: $label: too few samples (${n:-0})"
		fail=1
	elif [ $((named * 100)) -lt $((n * 90)) ]; then
		jp_say "FAIL: $label: only $named of $n samples named '$want'"
		fail=1
	else
		jp_say "perfmap: $label: $named/$n samples named '$want'"
	fi
done < <(sed -n 's/^JITFUNC name=\([^ ]*\) pid=[0-9]* addr=\(0x[0-9a-f]*\) size=\([0-9]*\) .*/\1 \2 \3/p' "$dir/stdout")

# The map is the program's: jitperf must not have written to it.
sed -n 's/^PMLINE //p' "$dir/stdout" >"$dir/map.expected"
if ! cmp -s "$map" "$dir/map.expected"; then
	jp_say "FAIL: $map differs from what the program wrote:"
	diff "$dir/map.expected" "$map" | sed -n '1,10p' | sed 's/^/  /'
	fail=1
fi
got=$(stat -c '%s %.9Y' "$map")
if [ "$got" != "$size $mtime" ]; then
	jp_say "FAIL: $map changed after the program's last write: size/mtime $got, was $size $mtime"
	fail=1
else
	jp_say "perfmap: $map untouched ($size bytes, mtime $mtime)"
fi
if [ "$fail" -ne 0 ]; then
	exit 1
fi
jp_say "PASS names_perfmap"
