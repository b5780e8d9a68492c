# capture.sh - harness for the capture_*.sh and names_*.sh tests: run a JIT program under perf with the shim, inject, measure what perf names.
# shellcheck shell=bash
#
# Sourced by tests/e2e/capture_*.sh and names_*.sh (which set -euo pipefail).  A whole test
# is usually one call:
#
#   jp_capture NAME CMD...    record CMD with the shim, inject, then assert
#                             named share >= JP_MIN_SHARE, the hot-piece check
#                             and jitperf-dump --check on every dump; exits
#                             0 pass, 1 fail
#   jp_baseline NAME CMD...   the same run without the shim: prints the named
#                             share (0% expected) and sets the JP_* figures
#
# The steps, for tests that need more (RUN is a name for a run directory
# $JP_TMP/RUN, MODE is shim or noshim):
#
#   jp_setup                  prerequisites (exit 77 if perf is missing or
#                             cannot sample), $JP_TMP, cleanup trap
#   jp_prog NAME              path of the built test program NAME
#   jp_record RUN MODE CMD... perf record -k 1 -e cpu-clock; the program's
#                             stdout goes to RUN/stdout, its dumps to RUN/dumps
#   jp_inject RUN             perf inject --jit  -> RUN/perf.jit.data
#   jp_samples RUN [OPT...]   jitperf-run's report  -> RUN/samples.tsv, one line
#                             a sample: pid time_ns ip class dso sym symoff
#                             (class: named, unnamed, other)
#   jp_share RUN              sets JP_NAMED, JP_UNNAMED, JP_SHARE (percent)
#   jp_hot_check RUN          the hot-piece check (below); 0 pass, 1 fail
#   jp_dump_check RUN         jitperf-dump --check on every dump; 0 pass, 1 fail
#
# Samples in JIT code are classified by jitperf-run's own report
# (scripts/jitperf/classify.py, through `python3 -m jitperf.report`), so the
# tests measure what the summary and the flame graph show: "named" when perf
# found a name for JIT memory, "unnamed" when it did not, "other" for the
# kernel and file-backed code.  Named share = named / (named + unnamed).  The
# hot-piece check below further wants pieces perf inject made from a dump.

# Hot-piece check: every JITFUNC line with hot=1 (see tests/jit/jitlib.h)
# names a function, its address range, its pid and the time window in which
# it ran.  Of the samples of that pid in that range and window (at least
# JP_MIN_HOT of them), the most frequent piece must be a jitted one whose
# range contains the hot address: the range perf used (sample ip minus symbol
# offset, symbol size from the .so), which the dump must hold as a LOAD or
# MOVE of that index.  At least 90% of them must be on pieces containing the
# hot address (named, and not cut in the middle of the function).  Two hot
# functions of one pid that held the same addresses in turn (code rewritten
# in place, address reused) must not have the same most frequent piece: a
# stale name is a failure.  A piece much larger than the function, or samples
# spread over several pieces (the function renamed while it ran), are printed
# as notes.
#
# Knobs: JITPERF_BUILD (build directory, default build), JIT_SECONDS (passed
# to the programs), JP_MIN_SHARE (95), JP_MIN_HOT (20), JP_KEEP=1 keeps the
# temporary directory and says where it is, JP_VERBOSE=1 prints per-dso
# sample counts.

JP_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
JP_BUILD=${JITPERF_BUILD:-$JP_ROOT/build}
JP_SHIM=$JP_BUILD/libjitperf.so
JP_DUMP_TOOL=${JITPERF_DUMP_TOOL:-$JP_BUILD/jitperf-dump}
JP_MIN_SHARE=${JP_MIN_SHARE:-95}
# An awk function for the scripts here and in the tests: hex("0x7f..") is
# the number, -1 when it is not hex (mawk, Debian's awk, has no strtonum).
# Used as awk "$JP_AWK_HEX"'...program...'.
# shellcheck disable=SC2016 # awk's text
JP_AWK_HEX='function hex(s,    i, c, v) {
	s = tolower(s)
	sub(/^0x/, "", s)
	v = 0
	for (i = 1; i <= length(s); i++) {
		c = index("0123456789abcdef", substr(s, i, 1))
		if (!c)
			return -1
		v = v * 16 + c - 1
	}
	return v
}
'
JP_MIN_HOT=${JP_MIN_HOT:-20}
JP_TMP=
JP_NAMED=0
JP_UNNAMED=0
JP_SHARE=0.0

jp_say() {
	printf '%s\n' "$*"
}

jp_fail() {
	printf 'FAIL: %s\n' "$*"
	exit 1
}

jp_skip() {
	printf 'SKIP: %s\n' "$*"
	exit 77
}

jp_cleanup() {
	if [ -z "$JP_TMP" ]; then
		return 0
	fi
	if [ "${JP_KEEP:-0}" = 1 ]; then
		printf 'kept %s\n' "$JP_TMP" >&2
	else
		rm -rf "$JP_TMP"
	fi
}

jp_perf() {
	perf --buildid-dir "$JP_TMP/buildid" "$@"
}

jp_setup() {
	command -v perf >/dev/null 2>&1 || jp_skip "no perf binary (apt-get install linux-perf)"
	command -v readelf >/dev/null 2>&1 || jp_skip "no readelf (binutils)"
	JP_TMP=$(mktemp -d "${TMPDIR:-/tmp}/jitperf-e2e.XXXXXX")
	trap jp_cleanup EXIT
	mkdir -p "$JP_TMP/buildid"
	# perf present but not allowed to sample (perf_event_paranoid, seccomp):
	# a missing prerequisite, not a jitperf failure.
	if ! jp_perf record -q -k 1 -e cpu-clock -o "$JP_TMP/probe.data" -- true \
		>"$JP_TMP/probe.log" 2>&1; then
		jp_skip "perf record cannot sample here: $(head -n 1 "$JP_TMP/probe.log")"
	fi
	rm -f "$JP_TMP/probe.data" "$JP_TMP/probe.log"
	[ -x "$JP_DUMP_TOOL" ] || jp_fail "$JP_DUMP_TOOL not built (make BUILD=$JP_BUILD)"
}

jp_prog() {
	local p=$JP_BUILD/tests/jit/$1
	[ -x "$p" ] || jp_fail "$p not built (make BUILD=$JP_BUILD)"
	printf '%s\n' "$p"
}

jp_record() {
	local run=$1 mode=$2
	shift 2
	local dir=$JP_TMP/$run rc=0
	local -a envs=(-u LD_PRELOAD)
	mkdir -p "$dir"
	mkdir -m 700 "$dir/dumps"
	if [ "$mode" = shim ]; then
		[ -f "$JP_SHIM" ] || jp_fail "$JP_SHIM not built"
		envs=(LD_PRELOAD="$JP_SHIM" JITPERF_DIR="$dir/dumps")
	fi
	# env (not perf) gets LD_PRELOAD in its arguments: perf itself runs
	# without the shim, and env execs the program with it from the start.
	jp_perf record -k 1 -e cpu-clock -o "$dir/perf.data" -- \
		env "${envs[@]}" "$@" >"$dir/stdout" 2>"$dir/stderr" || rc=$?
	if [ "$rc" -ne 0 ]; then
		sed 's/^/  stderr: /' "$dir/stderr" | tail -n 20
		jp_fail "$run: '$*' exited with status $rc under perf record ($mode)"
	fi
	grep -q '^JITFUNC .*hot=1' "$dir/stdout" || jp_fail "$run: the program printed no hot JITFUNC line"
	if [ "$mode" = shim ] && grep -q '^jitperf: ' "$dir/stderr"; then
		jp_say "$run: the shim said:"
		grep '^jitperf: ' "$dir/stderr" | sed 's/^/  /' | sed -n '1,20p'
	fi
}

jp_inject() {
	local dir=$JP_TMP/$1
	if ! jp_perf inject --jit -i "$dir/perf.data" -o "$dir/perf.jit.data" \
		>"$dir/inject.log" 2>&1; then
		sed 's/^/  inject: /' "$dir/inject.log" | tail -n 20
		jp_fail "$1: perf inject --jit failed"
	fi
}

jp_samples() { # RUN [report options, e.g. --skip PID:COMM]
	local dir=$JP_TMP/$1
	shift
	PYTHONPATH=$JP_ROOT/scripts${PYTHONPATH:+:$PYTHONPATH} python3 -m jitperf.report \
		--buildid-dir "$JP_TMP/buildid" --leaf-only --samples "$dir/samples.tsv" "$@" \
		"$dir/perf.jit.data" 2>"$dir/script.log" || jp_fail "$(basename "$dir"): the report failed: $(tail -n 3 "$dir/script.log")"
	[ -s "$dir/samples.tsv" ] || jp_fail "$1: perf script printed no samples"
}

jp_share() {
	local dir=$JP_TMP/$1 counts
	counts=$(awk -F'\t' '$4 == "named" { n++ } $4 == "unnamed" { u++ }
		END { printf "%d %d\n", n, u }' "$dir/samples.tsv")
	read -r JP_NAMED JP_UNNAMED <<<"$counts"
	JP_SHARE=$(awk -v n="$JP_NAMED" -v u="$JP_UNNAMED" \
		'BEGIN { printf "%.1f", (n + u) ? 100 * n / (n + u) : 0 }')
	if [ "${JP_VERBOSE:-0}" = 1 ] || [ "$JP_UNNAMED" -gt 0 ]; then
		jp_say "$1: JIT samples by dso (unnamed first):"
		awk -F'\t' '$4 != "other" { c[$4 "\t" $5]++ }
			END { for (k in c) print c[k] "\t" k }' "$dir/samples.tsv" |
			sort -t"$(printf '\t')" -k2,2r -k1,1nr | sed -n '1,15p' | sed 's/^/  /'
	fi
}

# RUN/hot.tsv, for each hot function:
#   HOT label pid addr size samples
# then one line for each piece (dso) its samples landed on:
#   PIECE label samples class dso sym start
# where start (decimal) is the sample ip minus its symbol offset, i.e. where
# perf placed the piece; and for each pair of hot functions of one pid that
# held the same addresses in turn yet whose most-sampled piece is the same:
#   CLASH first second dso
jp_hot_table() {
	local dir=$JP_TMP/$1
	grep '^JITFUNC ' "$dir/stdout" >"$dir/jitfuncs" || true
	awk -F'\t' "$JP_AWK_HEX"'
	FNR == NR {
		# JITFUNC key=value ...
		split($0, kv, " ")
		delete f
		for (i = 2; i in kv; i++) {
			eq = index(kv[i], "=")
			if (eq)
				f[substr(kv[i], 1, eq - 1)] = substr(kv[i], eq + 1)
		}
		if (f["hot"] != 1)
			next
		h++
		lab[h] = f["name"]; hpid[h] = ("pid" in f) ? f["pid"] : "-"
		lo[h] = hex(f["addr"]); hi[h] = lo[h] + f["size"]; haddr[h] = f["addr"]
		hsize[h] = f["size"]
		t0[h] = ("t0" in f) ? f["t0"] + 0 : -1
		t1[h] = ("t1" in f) ? f["t1"] + 0 : -1
		next
	}
	{
		ip = hex($3)
		for (i = 1; i <= h; i++) {
			if (ip < lo[i] || ip >= hi[i] || (hpid[i] != "-" && hpid[i] != $1))
				continue
			if (t0[i] >= 0 && ($2 + 0 < t0[i] || $2 + 0 > t1[i]))
				continue
			cnt[i]++
			key = $4 "\t" $5 "\t" ($6 == "" ? "-" : $6)
			if (!((i, key) in pc))
				keys[i] = keys[i] SUBSEP key
			pc[i, key]++
			# Decimal: mawk prints %x of 64-bit values as 0xffffffff.
			if (!((i, key) in st) && $7 != "-")
				st[i, key] = sprintf("%.0f", ip - hex($7))
		}
	}
	END {
		for (i = 1; i <= h; i++) {
			printf "HOT\t%s\t%s\t%s\t%s\t%d\n", lab[i], hpid[i], haddr[i], hsize[i], cnt[i]
			top[i] = "-"; bn = 0
			nk = split(keys[i], kl, SUBSEP)
			for (j = 2; j <= nk; j++) {
				k = kl[j]
				printf "PIECE\t%s\t%d\t%s\t%s\n", lab[i], pc[i, k], k,
					((i, k) in st) ? st[i, k] : "-"
				if (pc[i, k] > bn) {
					bn = pc[i, k]
					split(k, b, "\t")
					top[i] = b[2]
				}
			}
		}
		for (i = 1; i <= h; i++)
			for (j = i + 1; j <= h; j++)
				if (hpid[i] == hpid[j] && lo[i] < hi[j] && lo[j] < hi[i] &&
				    top[i] == top[j] && top[i] != "-")
					printf "CLASH\t%s\t%s\t%s\n", lab[i], lab[j], top[i]
	}' "$dir/jitfuncs" "$dir/samples.tsv" >"$dir/hot.tsv"
}

# Size of the one function symbol of a jitted-<pid>-<n>.so (0 if none).
jp_piece_size() {
	local z
	z=$(readelf -sW "$1" 2>/dev/null | awk '$4 == "FUNC" { print $3; exit }')
	case $z in
	0x*) printf '%d\n' "$z" ;;
	'') echo 0 ;;
	*) echo "$z" ;;
	esac
}

# Ranges "addr size" of code index $2 in dump $1, from its LOAD and MOVE
# records (jitperf-dump prints OFFSET TYPE TIMESTAMP ADDRESS SIZE INDEX NAME).
jp_dump_ranges() {
	"$JP_DUMP_TOOL" "$1" 2>/dev/null |
		awk -v idx="$2" '($2 == "LOAD" || $2 == "MOVE") && $6 == idx { print $4, $5 }'
}

# One hot function: its pieces from hot.tsv; see the comment at the top.
jp_hot_one() {
	local dir=$1 label=$2 addr=$3 size=$4 n=$5
	local kind lab cnt class dso sym start size_p base idx dump a z found
	local top_n=0 top_dso=- top_sym=- top_start=- top_size=0 top_ok=0 covered=0 pieces=0
	local spread=""
	while IFS=$'\t' read -r kind lab cnt class dso sym start; do
		if [ "$kind" != PIECE ] || [ "$lab" != "$label" ]; then
			continue
		fi
		pieces=$((pieces + 1))
		spread+=" ${dso##*/}:$cnt"
		if [ "$class" != named ] || [ "$start" = - ] || [[ ${dso##*/} != jitted-*.so ]]; then
			continue
		fi
		size_p=$(jp_piece_size "$dso")
		local contains=0
		if ((addr >= start && addr < start + size_p)); then
			contains=1
			covered=$((covered + cnt))
		fi
		if [ "$cnt" -gt "$top_n" ]; then
			top_n=$cnt top_dso=$dso top_sym=$sym top_start=$start top_size=$size_p top_ok=$contains
		fi
	done <"$dir/hot.tsv"
	if [ "$n" -lt "$JP_MIN_HOT" ]; then
		jp_say "hot piece: FAIL $label ($addr+$size): only $n samples in its range and window (need $JP_MIN_HOT)"
		return 1
	fi
	if [ "$top_n" -eq 0 ]; then
		jp_say "hot piece: FAIL $label ($addr+$size): none of its $n samples is on a jitted piece:$spread"
		return 1
	fi
	local where
	where="'$top_sym' at $(printf '%#x' "$top_start")+$top_size"
	if [ "$top_ok" -ne 1 ]; then
		jp_say "hot piece: FAIL $label ($addr+$size): most samples ($top_n of $n) are on $where, which does not contain $addr"
		return 1
	fi
	# The piece must be in the dump that perf inject read it from.
	base=${top_dso##*/}
	idx=${base##*-}
	idx=${idx%.so}
	dump=${top_dso%/*}/jit-$(cut -d- -f2 <<<"$base").dump
	found=0
	if [ -f "$dump" ]; then
		while read -r a z; do
			[ -n "$a" ] || continue
			if ((a == top_start && z == top_size)); then
				found=1
			fi
		done < <(jp_dump_ranges "$dump" "$idx")
	fi
	if [ "$found" -ne 1 ]; then
		jp_say "hot piece: FAIL $label: $where (index $idx) is not a LOAD/MOVE in $dump"
		return 1
	fi
	# Samples on pieces holding the function's start: named, not cut apart.
	if [ $((covered * 100)) -lt $((n * 90)) ]; then
		jp_say "hot piece: FAIL $label ($addr+$size): only $covered of $n samples on pieces that contain it:$spread"
		return 1
	fi
	jp_say "hot piece: ok $label $addr+$size: $top_n/$n samples on $where (index $idx)"
	if [ "$top_size" -gt $((size + 64)) ]; then
		jp_say "  note: the piece is $top_size bytes for a $size-byte function (not split from its neighbours)"
	fi
	if [ "$pieces" -gt 1 ]; then
		jp_say "  note: its samples are spread over $pieces pieces (renamed while it ran?):$spread"
	fi
	return 0
}

jp_hot_check() {
	local dir=$JP_TMP/$1 bad=0 kind label pid addr size n
	jp_hot_table "$1"
	while IFS=$'\t' read -r kind label pid addr size n; do
		case $kind in
		HOT)
			jp_hot_one "$dir" "$label" "$addr" "$size" "$n" || bad=1
			;;
		CLASH)
			# Fields: CLASH first second dso.
			jp_say "hot piece: FAIL '$label' and '$pid' ran in turn at the same address but most samples of both are on the same piece ${addr##*/} (stale name)"
			bad=1
			;;
		esac
	done <"$dir/hot.tsv"
	return "$bad"
}

# Without the shim: each hot function's samples must all be unnamed JIT
# samples, which shows the classification knows that kind of memory.
jp_hot_unnamed() {
	local dir=$JP_TMP/$1 bad=0 kind label pid addr size n unnamed where table
	jp_hot_table "$1"
	table=$(cat "$dir/hot.tsv")
	while IFS=$'\t' read -r kind label pid addr size n; do
		[ "$kind" = HOT ] || continue
		unnamed=$(awk -F'\t' -v l="$label" '$1 == "PIECE" && $2 == l && $4 == "unnamed" { u += $3 }
			END { print u + 0 }' <<<"$table")
		where=$(awk -F'\t' -v l="$label" '$1 == "PIECE" && $2 == l { printf " %s:%d", $5, $3 }' <<<"$table")
		if [ "$n" -lt "$JP_MIN_HOT" ] || [ $((unnamed * 100)) -lt $((n * 95)) ]; then
			jp_say "baseline: FAIL $label ($addr+$size): $unnamed of $n samples counted as unnamed JIT:$where"
			bad=1
		else
			jp_say "baseline: ok $label: $unnamed/$n samples counted as unnamed JIT:$where"
		fi
	done <<<"$table"
	return "$bad"
}

jp_dump_check() {
	local dir=$JP_TMP/$1 bad=0 d pid out
	local -a dumps=()
	mapfile -t dumps < <(find "$dir/dumps" -name 'jit-*.dump' -type f | sort)
	if [ ${#dumps[@]} -eq 0 ]; then
		jp_say "dumps: FAIL no jit-*.dump under $dir/dumps"
		return 1
	fi
	for d in "${dumps[@]}"; do
		if out=$("$JP_DUMP_TOOL" --check "$d" 2>&1); then
			jp_say "dump: ${out#"$dir"/}"
		else
			jp_say "dump: FAIL ${out#"$dir"/}"
			bad=1
		fi
	done
	# Every process that ran hot JIT code needs a dump of its own.
	while read -r pid; do
		if ! printf '%s\n' "${dumps[@]}" | grep -q "/jit-$pid\.dump$"; then
			jp_say "dumps: FAIL no jit-$pid.dump for process $pid"
			bad=1
		fi
	done < <(sed -n 's/^JITFUNC .*pid=\([0-9]*\) .*hot=1.*/\1/p' "$dir/stdout" | sort -u)
	return "$bad"
}

jp_run_all() { # RUN MODE CMD...
	local run=$1
	jp_record "$@"
	jp_inject "$run"
	jp_samples "$run"
	jp_share "$run"
}

# ENGINE_CMD (tests/engines/engines.bash) under jitperf-run with call graphs,
# into $JP_TMP/NAME (its stdout in NAME.stdout, stderr in NAME.log); sets
# JP_STACK_JIT, JP_STACK_COMPLETE and JP_STACK_PCT from the summary: JIT-leaf
# samples, and those with a complete stack.
jp_run_stacks() { # NAME CALL_GRAPH [VAR=VALUE...]
	local name=$1 cg=$2 out=$JP_TMP/$1
	shift 2
	env "$@" "$JP_ROOT/scripts/jitperf-run" --lib "$JP_SHIM" -q --no-flamegraph --call-graph "$cg" -o "$out" -- \
		"${ENGINE_CMD[@]}" >"$out.stdout" 2>"$out.log" || jp_fail "$name: jitperf-run failed: $(tail -n 3 "$out.log")"
	JP_STACK_COMPLETE='' JP_STACK_PCT=''
	# shellcheck disable=SC2034 # JP_STACK_COMPLETE: for the caller
	read -r JP_STACK_COMPLETE JP_STACK_PCT < <(sed -n \
		's/^ *\([0-9]*\)  JIT samples with a complete stack.*: \([0-9.]*\)%.*/\1 \2/p' "$out/summary.txt")
	JP_STACK_JIT=$(sed -n 's/^ *\([0-9]*\)  in JIT code:.*/\1/p' "$out/summary.txt")
	if [ -z "$JP_STACK_PCT" ] || [ -z "$JP_STACK_JIT" ]; then
		jp_fail "$name: no complete-stack line in the summary"
	fi
}

# The checks of one run: named share, hot pieces, dumps; 0 pass, 1 fail.
jp_check_run() {
	local run=$1 fail=0
	jp_say "$run: named $JP_SHARE% ($JP_NAMED/$((JP_NAMED + JP_UNNAMED)) JIT samples)"
	if [ $((JP_NAMED + JP_UNNAMED)) -lt 100 ]; then
		jp_say "FAIL: $run: only $((JP_NAMED + JP_UNNAMED)) JIT samples: the program did not run its JIT code long enough"
		fail=1
	elif ! awk -v s="$JP_SHARE" -v m="$JP_MIN_SHARE" 'BEGIN { exit !(s + 0 >= m + 0) }'; then
		jp_say "FAIL: $run: named share $JP_SHARE% < $JP_MIN_SHARE%"
		fail=1
	fi
	jp_hot_check "$run" || fail=1
	jp_dump_check "$run" || fail=1
	return "$fail"
}

jp_capture() {
	local name=$1 start=$SECONDS fail=0
	shift
	jp_setup
	jp_run_all "$name" shim "$@"
	jp_check_run "$name" || fail=1
	jp_say "$name: $((SECONDS - start))s"
	if [ "$fail" -ne 0 ]; then
		exit 1
	fi
	jp_say "PASS $name"
	exit 0
}

jp_baseline() {
	local name=$1
	shift
	[ -n "$JP_TMP" ] || jp_setup
	jp_run_all "$name" noshim "$@"
	jp_say "$name (no shim): named $JP_SHARE% ($JP_NAMED/$((JP_NAMED + JP_UNNAMED)) JIT samples)"
}


# jp_capture_runs NAME CMD...: jp_capture's checks on RUNS (3) runs of CMD
# (runs NAME.1 ...), for mechanisms where timing matters; 0 when every run
# passed.  jp_setup first.
jp_capture_runs() {
	local name=$1 start=$SECONDS fail=0 i shares=""
	shift
	for i in $(seq 1 "${RUNS:-3}"); do
		jp_run_all "$name.$i" shim "$@"
		shares+=" $JP_SHARE%"
		jp_check_run "$name.$i" || fail=1
	done
	jp_say "$name: ${RUNS:-3} runs, named:$shares; $((SECONDS - start))s"
	return "$fail"
}

# jp_finish NAME FAIL: the verdict line and exit status.
jp_finish() {
	if [ "$2" -ne 0 ]; then
		jp_say "FAIL $1"
		exit 1
	fi
	jp_say "PASS $1"
	exit 0
}

# jp_capture_repeated NAME CMD...: jp_capture_runs as a whole test.
jp_capture_repeated() {
	local fail=0
	jp_setup
	jp_capture_runs "$@" || fail=1
	jp_finish "$1" "$fail"
}
