#!/usr/bin/env bash
# names_unwind - perf --call-graph dwarf unwinds through frame-pointer JIT pieces, with the FDE (JITPERF_UNWIND=auto) and with the empty table.
#
# tests/jit/fp_chain runs main -> run_jit -> jit_outer -> jit_inner -> burn,
# both JIT functions with push rbp; mov rbp,rsp prologues and room for an FDE
# after them.  It is recorded twice with perf record -k 1 -e cpu-clock
# --call-graph dwarf, once with JITPERF_UNWIND=auto (CFI built from each
# piece's code) and once with JITPERF_UNWIND=empty (the empty table, perf's
# unwinder falls back to the frame-pointer chain), then injected.
#
# Of the samples whose leaf is burn() or one of the JIT pieces:
#   reach  share whose call chain has a JIT frame and main()
#   exact  share whose chain below the leaf is exactly the expected one
#          (burn, jit_inner, jit_outer, run_jit, main, or its tail)
# Both modes must reach main for >= JP_MIN_REACH (90) percent; which mode
# is better is printed.  A third run without the shim is the control: perf
# cannot unwind past JIT code it knows nothing about, so burn()'s chains must
# stop there (at most 10% reach main).  The dumps must hold what the mode says: in auto mode
# an UNWINDING_INFO larger than the empty table (the CIE and FDEs built from
# the code, lib/stackheight.c) right before the LOAD of each JIT function, in
# empty mode one of total_size 64.
set -euo pipefail
# shellcheck source=../lib/capture.sh source-path=SCRIPTDIR
. "$(dirname "$0")/../lib/capture.sh"

export JIT_SECONDS=${JIT_SECONDS:-1.0}
JP_MIN_REACH=${JP_MIN_REACH:-90}
fail=0

uw_record() { # RUN MODE (auto, empty, or none: without the shim)
	local run=$1 mode=$2 dir=$JP_TMP/$1 rc=0
	local -a envs=(LD_PRELOAD="$JP_SHIM" JITPERF_DIR="$dir/dumps" JITPERF_UNWIND="$mode")
	mkdir -p "$dir"
	mkdir -m 700 "$dir/dumps"
	if [ "$mode" = none ]; then
		envs=(-u LD_PRELOAD)
	fi
	jp_perf record -k 1 -e cpu-clock --call-graph dwarf -o "$dir/perf.data" -- \
		env "${envs[@]}" "$(jp_prog fp_chain)" >"$dir/stdout" 2>"$dir/stderr" || rc=$?
	if [ "$rc" -ne 0 ]; then
		sed 's/^/  stderr: /' "$dir/stderr" | tail -n 20
		jp_fail "$run: fp_chain exited with status $rc under perf record"
	fi
}

# Name of the LOAD at the address of JIT function LABEL, and the total_size
# of the record before it (from the offsets jitperf-dump lists).
uw_piece() { # RUN LABEL -> "name prev_type prev_total_size"
	local dir=$JP_TMP/$1 addr
	addr=$(sed -n "s/^JITFUNC name=$2 .* addr=\\(0x[0-9a-f]*\\) .*/\\1/p" "$dir/stdout")
	awk -v a="$addr" '
		$1 ~ /^[0-9]+$/ {
			if ($2 == "LOAD" && $4 == a && !done) {
				print $7, ptype, $1 - poff
				done = 1
			}
			ptype = $2
			poff = $1
		}' "$dir/dump.txt"
}

uw_mode() { # MODE -> sets UW_REACH UW_EXACT UW_N
	local mode=$1 run=unwind_$1 dir inner outer pt ps counts l want=64
	dir=$JP_TMP/$run
	uw_record "$run" "$mode"
	jp_inject "$run"
	"$JP_DUMP_TOOL" "$(find "$dir/dumps" -name 'jit-*.dump' -type f | sed -n '1,1p')" >"$dir/dump.txt"
	read -r inner _ _ < <(uw_piece "$run" jit_inner) || true
	read -r outer _ _ < <(uw_piece "$run" jit_outer) || true
	if [ -z "${inner:-}" ] || [ -z "${outer:-}" ]; then
		jp_fail "$run: no LOAD at the JIT functions' addresses"
	fi
	for l in jit_inner jit_outer; do
		read -r _ pt ps < <(uw_piece "$run" "$l") || true
		# auto: the CFI built from the code, larger than the empty table
		if [ "${pt:-}" != UNWINDING_INFO ] || { [ "$mode" = auto ] && [ "${ps:-0}" -le 64 ]; } ||
			{ [ "$mode" != auto ] && [ "${ps:-0}" -ne "$want" ]; }; then
			jp_say "FAIL: $mode: the LOAD of $l follows $pt of total_size $ps, want UNWINDING_INFO of $want"
			fail=1
		else
			jp_say "$mode: $l is '$(uw_piece "$run" "$l" | cut -d' ' -f1)' after UNWINDING_INFO total_size $ps"
		fi
	done
	jp_perf script --no-inline -i "$dir/perf.jit.data" -F pid,time,ip,sym,dso \
		>"$dir/chains.txt" 2>"$dir/script.log" || jp_fail "$run: perf script failed"
	# Records are separated by blank lines; line 1 is "pid time:", then one
	# frame a line, leaf first: "ip sym (dso)".
	counts=$(awk -v inner="$inner" -v outer="$outer" 'BEGIN { RS = ""; FS = "\n" }
		function frame(s) {
			if (s ~ / burn \(.*\/fp_chain\)$/) return "B"
			if (index(s, " " inner " (")) return "I"
			if (index(s, " " outer " (")) return "O"
			if (s ~ / run_jit[.a-z0-9]* \(.*\/fp_chain\)$/) return "R"
			if (s ~ / main \(.*\/fp_chain\)$/) return "M"
			if (s ~ /jitted-[0-9]+-[0-9]+\.so\)$/) return "J"
			return "x"
		}
		{
			chain = ""
			for (i = 2; i <= NF; i++)
				chain = chain frame($i)
			leaf = substr(chain, 1, 1)
			if (leaf != "B" && leaf != "I" && leaf != "O")
				next
			n++
			if (chain ~ /[IOJ]/ && index(chain, "M"))
				reach++
			# expected: B I O R M, or its tail from the leaf
			if (index(chain, "BIORM") == 1 || index(chain, "IORM") == 1 || index(chain, "ORM") == 1)
				exact++
			depth += length(chain)
		}
		END { printf "%d %d %d %.1f\n", n, reach, exact, n ? depth / n : 0 }' "$dir/chains.txt")
	read -r UW_N UW_REACH UW_EXACT UW_DEPTH <<<"$counts"
	jp_say "$mode: $UW_N samples in burn/JIT: reach main through JIT $(uw_pct "$UW_REACH" "$UW_N")%," \
		"exact chain $(uw_pct "$UW_EXACT" "$UW_N")%, mean $UW_DEPTH frames"
	if [ "$UW_N" -lt 200 ]; then
		jp_say "FAIL: $mode: only $UW_N samples in burn/JIT"
		fail=1
	elif [ $((UW_REACH * 100)) -lt $((UW_N * JP_MIN_REACH)) ]; then
		jp_say "FAIL: $mode: only $UW_REACH of $UW_N call chains reach main through the JIT frames"
		awk 'BEGIN { RS = ""; ORS = "\n\n" } /burn \(/ && !/ main \(/' "$dir/chains.txt" | sed -n '1,12p' | sed 's/^/  /'
		fail=1
	fi
}

uw_pct() {
	awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b ? 100 * a / b : 0 }'
}

# The control: no shim, no inject.
uw_control() {
	local dir=$JP_TMP/unwind_none n m
	uw_record unwind_none none
	jp_perf script --no-inline -i "$dir/perf.data" -F pid,time,ip,sym,dso \
		>"$dir/chains.txt" 2>"$dir/script.log" || jp_fail "unwind_none: perf script failed"
	read -r n m < <(awk 'BEGIN { RS = ""; FS = "\n" }
		$2 ~ / burn \(.*\/fp_chain\)$/ { n++; if ($0 ~ / main \(.*\/fp_chain\)/) m++ }
		END { print n + 0, m + 0 }' "$dir/chains.txt")
	jp_say "no shim: $m of $n samples in burn reach main ($(uw_pct "$m" "$n")%)"
	if [ "$n" -lt 200 ] || [ $((m * 100)) -gt $((n * 10)) ]; then
		jp_say "FAIL: the control should stop at the JIT frame: $m of $n reach main"
		fail=1
	fi
}

jp_setup
uw_control
uw_mode auto
auto_reach=$(uw_pct "$UW_REACH" "$UW_N") auto_exact=$(uw_pct "$UW_EXACT" "$UW_N")
uw_mode empty
empty_reach=$(uw_pct "$UW_REACH" "$UW_N") empty_exact=$(uw_pct "$UW_EXACT" "$UW_N")
jp_say "call chains reaching main through the JIT frames: FDE (auto) $auto_reach%, empty table $empty_reach%;" \
	"exact: FDE $auto_exact%, empty $empty_exact%"
better=$(awk -v a="$auto_exact" -v e="$empty_exact" 'BEGIN {
	if (a > e + 0.5) print "the FDE is better"
	else if (e > a + 0.5) print "the empty table is better"
	else print "no difference" }')
jp_say "unwind: $better"
if [ "$fail" -ne 0 ]; then
	exit 1
fi
jp_say "PASS names_unwind"
