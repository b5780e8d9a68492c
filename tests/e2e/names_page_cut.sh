#!/usr/bin/env bash
# names_page_cut - functions across page boundaries, made executable a page at a time (SpiderMonkey's W^X), are each one piece with the same name in every run.
#
# tests/jit/page_cut places each function across a page boundary, at an
# offset that changes from run to run, and grants exec to its two pages in
# two calls.  The first capture sees half the function; the second must
# cut it again whole, with a LOAD at the same address that supersedes the
# half (perf inject: the later LOAD names the later samples).  Before,
# the cut stayed at the page boundary and moved with the code's address,
# so the names changed every run (gjs lost a quarter of its samples so).
# Over RUNS (3) runs, each run must pass jp_capture's checks (named share,
# hot pieces whole, dumps valid); every function's last LOAD at its
# address must be exactly the function (same start, same size), and each
# function must get the same name in every run.
set -euo pipefail
# shellcheck source=../lib/capture.sh source-path=SCRIPTDIR
. "$(dirname "$0")/../lib/capture.sh"

export JIT_SECONDS=${JIT_SECONDS:-1.2}

# "label name" for each function of a run: the name of the last LOAD at
# its address, or "CUT" when that LOAD is not exactly the function.
pc_names() { # RUN
	local dir=$JP_TMP/$1 d
	find "$dir/dumps" -name 'jit-*.dump' -type f | sort | while read -r d; do
		"$JP_DUMP_TOOL" "$d" | awk '$2 == "LOAD" { print "LOAD", $4, $5, $7 }'
	done >"$dir/pc_loads"
	awk 'FNR == NR { size[$2] = $3; name[$2] = $4; next }
		$1 == "JITFUNC" {
			l = ""; a = ""; z = ""
			for (i = 2; i <= NF; i++) {
				if ($i ~ /^name=/) l = substr($i, 6)
				if ($i ~ /^addr=/) a = substr($i, 6)
				if ($i ~ /^size=/) z = substr($i, 6)
			}
			if (!(a in size)) print l, "NONE"
			else if (size[a] != z) print l, "CUT(" size[a] "/" z ")"
			else print l, name[a]
		}' "$dir/pc_loads" "$dir/stdout"
}

jp_setup
fail=0
jp_capture_runs page_cut "$(jp_prog page_cut)" || fail=1
for i in $(seq 1 "${RUNS:-3}"); do
	pc_names "page_cut.$i" >"$JP_TMP/names.$i"
	jp_say "page_cut.$i: $(tr '\n' ' ' <"$JP_TMP/names.$i")"
	if grep -q -e ' CUT' -e ' NONE' "$JP_TMP/names.$i"; then
		jp_say "FAIL: page_cut.$i: a function is not exactly one piece"
		fail=1
	fi
	if [ "$i" -gt 1 ] && ! cmp -s "$JP_TMP/names.1" "$JP_TMP/names.$i"; then
		jp_say "FAIL: page_cut.$i: names differ from run 1:"
		diff "$JP_TMP/names.1" "$JP_TMP/names.$i" | sed 's/^/  /'
		fail=1
	fi
done
jp_finish names_page_cut "$fail"
