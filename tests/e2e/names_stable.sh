#!/usr/bin/env bash
# names_stable - the same program run twice gives the same names to >= 95% of its JIT samples (PCRE2, LuaJIT, test JITs; node reported).
#
# Stability of a program: run it twice under the shim and perf record, inject
# each run.  Run 1's names are the names of every LOAD in run 1's dumps (every
# name jitperf gave any piece).  Of run 2's named JIT samples (samples perf
# resolved to a jitted-<pid>-<n>.so with a symbol), the stability is the share
# whose symbol name is among run 1's names: weighted by samples, so it says
# how much of a profile `perf diff` can match up between the runs.  Also
# printed: the same share against only the names run 1's samples hit.
#
# Gated (>= JP_MIN_STABLE, 95): pcre2_bench, luajit_hot.lua, rwx_late,
# wx_toggle, header_jit (per-run data around every function, as V8 and
# Mono lay it out; its functions must also be exactly one piece each).
# node (tests/bench/node_cpu.js) is measured, not gated: it keeps 97-99%
# in most runs, but TurboFan now and then compiles the hot function
# differently (other code, so another name; tests/lib/engine.sh asserts a
# lower floor for it).  node used to keep 0-50%: V8 puts each
# code object's header, two tagged heap pointers, right before its first
# instruction, and the split glued them to the piece.  The header is filler
# now (lib/split.c) and node keeps 97-99% (the node here is built without
# pointer compression; builds with it add per-run 32-bit compressed
# pointers in immediates, which no mask can tell from other constants).
#
# LuaJIT needed the fingerprint of the decoded instruction stream (no
# displacements, internal branches as instruction counts, GC64 tagged
# constants and imm32 pointer halves masked): its traces embed seeded
# string-hash table slots that change every run, even in instruction
# lengths.  It is at 100% since.
#
# Knobs (besides tests/lib/capture.sh's): NS_PROGRAMS="pcre2 luajit ..." runs only those,
# NS_NODE_SCALE (0.7) the node workload's size, JP_MIN_STABLE (95).
set -euo pipefail
# shellcheck source=../lib/capture.sh source-path=SCRIPTDIR
. "$(dirname "$0")/../lib/capture.sh"

JP_MIN_STABLE=${JP_MIN_STABLE:-95}
export JIT_SECONDS=${JIT_SECONDS:-0.6}

# Like jp_record, for programs that print no JITFUNC lines (node).
ns_record() { # RUN CMD...
	local run=$1 dir=$JP_TMP/$1 rc=0
	shift
	mkdir -p "$dir"
	mkdir -m 700 "$dir/dumps"
	jp_perf record -k 1 -e cpu-clock -o "$dir/perf.data" -- \
		env LD_PRELOAD="$JP_SHIM" JITPERF_DIR="$dir/dumps" "$@" \
		>"$dir/stdout" 2>"$dir/stderr" || rc=$?
	if [ "$rc" -ne 0 ]; then
		sed 's/^/  stderr: /' "$dir/stderr" | tail -n 20
		jp_fail "$run: '$*' exited with status $rc under perf record"
	fi
}

# Names of every LOAD in the run's dumps, one a line (sorted, unique).
ns_dump_names() { # RUN
	local d
	find "$JP_TMP/$1/dumps" -name 'jit-*.dump' -type f | sort | while read -r d; do
		"$JP_DUMP_TOOL" "$d" | awk '$2 == "LOAD" { print $7 }'
	done | sort -u
}

# Named JIT samples of a run by symbol: "count name" lines, most first.
ns_sample_names() { # RUN
	awk -F'\t' '$4 == "named" && $6 != "" && $6 != "[unknown]" { c[$6]++ }
		END { for (k in c) print c[k], k }' "$JP_TMP/$1/samples.tsv" | sort -k1,1nr -k2
}

# Share (percent, one decimal) of the samples in "count name" lines on stdin
# whose name is a line of file $1; prints "percent hits total".
ns_share_in() { # NAMEFILE
	awk 'FNR == NR { known[$0] = 1; next }
		{ t += $1; if ($2 in known) h += $1 }
		END { printf "%.1f %d %d\n", t ? 100 * h / t : 0, h, t }' "$1" -
}

# Split against the program's own function boundaries (JITFUNC lines of
# run 1): how many functions some LOAD covers exactly (same start and size),
# and how many have a LOAD starting at their first byte.
ns_split() { # RUN
	local dir=$JP_TMP/$1 d
	grep '^JITFUNC ' "$dir/stdout" >"$dir/jitfuncs" || return 0
	find "$dir/dumps" -name 'jit-*.dump' -type f | sort | while read -r d; do
		"$JP_DUMP_TOOL" "$d" | awk '$2 == "LOAD" { print "LOAD", $4, $5 }'
	done >"$dir/loads"
	awk 'FNR == NR { exact[$2 " " $3] = 1; start[$2] = 1; next }
		{
			a = ""; z = ""
			for (i = 2; i <= NF; i++) {
				if ($i ~ /^addr=/) a = substr($i, 6)
				if ($i ~ /^size=/) z = substr($i, 6)
			}
			n++
			if ((a " " z) in exact) e++
			if (a in start) s++
		}
		END { printf "  split: %d of %d functions are exactly one piece, %d start a piece\n", e, n, s
			if (exact_needed && e < n) exit 1 }' exact_needed="${NS_EXACT:-0}" \
		"$dir/loads" "$dir/jitfuncs"
}

NS_FAIL=0
NS_SUMMARY=""

ns_program() { # NAME GATED CMD...
	local name=$1 gated=$2 start=$SECONDS i share hits total sshare
	shift 2
	case " ${NS_PROGRAMS:-$name} " in
	*" $name "*) ;;
	*) return 0 ;;
	esac
	for i in 1 2; do
		if [ "${NS_NODE:-0}" = 1 ]; then
			ns_record "$name.$i" "$@"
		else
			jp_record "$name.$i" shim "$@"
		fi
		jp_inject "$name.$i"
		jp_samples "$name.$i"
	done
	ns_dump_names "$name.1" >"$JP_TMP/$name.names1"
	ns_sample_names "$name.1" | awk '{ print $2 }' >"$JP_TMP/$name.sampled1"
	ns_sample_names "$name.2" >"$JP_TMP/$name.samples2"
	read -r share hits total < <(ns_share_in "$JP_TMP/$name.names1" <"$JP_TMP/$name.samples2")
	read -r sshare _ _ < <(ns_share_in "$JP_TMP/$name.sampled1" <"$JP_TMP/$name.samples2")
	jp_say "$name: stability $share% ($hits of $total named JIT samples of run 2 carry a name of run 1;" \
		"$sshare% against the names run 1's samples hit), $(wc -l <"$JP_TMP/$name.names1") names in run 1, $((SECONDS - start))s"
	jp_say "  most sampled names of run 2 (samples, in run 1?):"
	head -n 5 "$JP_TMP/$name.samples2" | while read -r n s; do
		if grep -qxF -- "$s" "$JP_TMP/$name.names1"; then
			printf '    %6d  %s  yes\n' "$n" "$s"
		else
			printf '    %6d  %s  NO\n' "$n" "$s"
		fi
	done
	if ! ns_split "$name.1"; then
		jp_say "FAIL: $name: functions not cut exactly (the data around them is in a piece)"
		NS_FAIL=1
	fi
	NS_SUMMARY+="$(printf '  %-10s %6s%%  (%d samples)%s' "$name" "$share" "$total" \
		"$([ "$gated" = yes ] || echo '  not gated')")"$'\n'
	if [ "$gated" != yes ]; then
		return 0
	fi
	if [ "$total" -lt 100 ]; then
		jp_say "FAIL: $name: only $total named JIT samples in run 2"
		NS_FAIL=1
	elif ! awk -v s="$share" -v m="$JP_MIN_STABLE" 'BEGIN { exit !(s + 0 >= m + 0) }'; then
		jp_say "FAIL: $name: stability $share% < $JP_MIN_STABLE%"
		NS_FAIL=1
	fi
}

jp_setup
ns_program pcre2 yes "$(jp_prog pcre2_bench)"
ns_program rwx_late yes "$(jp_prog rwx_late)"
ns_program wx_toggle yes "$(jp_prog wx_toggle)"
# per-run data around each function (a V8-like header before, a Mono-like
# trampoline call with a pointer after): every function must be exactly one
# piece, or the data would reach its name
NS_EXACT=1 ns_program header yes "$(jp_prog header_jit)"
if command -v luajit >/dev/null 2>&1; then
	ns_program luajit yes luajit "$JP_ROOT/tests/jit/luajit_hot.lua"
else
	jp_say "luajit: not installed (apt-get install luajit), not measured"
fi
if command -v node >/dev/null 2>&1; then
	NS_NODE=1 ns_program node node node "$JP_ROOT/tests/bench/node_cpu.js" "${NS_NODE_SCALE:-0.7}"
else
	jp_say "node: not installed, not measured"
fi
jp_say "stability (share of run 2's named JIT samples whose name run 1 also gave):"
printf '%s' "$NS_SUMMARY"
if [ "$NS_FAIL" -ne 0 ]; then
	exit 1
fi
jp_say "PASS names_stable"
