# runtime.sh - the body of the runtime_*.sh tests: a real runtime's own names through `jitperf-run -- PROGRAM` with no extra flag.
# shellcheck shell=bash
#
#   runtime_test NAME TOOL          runs the whole test and exits (0 pass,
#                                   1 fail, 77 runtime or perf missing)
#
# NAME is an engine of tests/engines/engines.bash (node, hotspot, mono,
# erlang, luajit); TOOL how the runtime names its code on its own, for the
# run side by side: VAR=VALUE in the command's environment, or "node-perf-prof"
# (node --perf-prof, a jitdump of V8's own, injected as perf needs).
# RT_TOOL_LABEL: what the messages call TOOL (default: TOOL itself).
#
# Checks, one run each (a run takes 5-15 s; the JIT share is stable to a
# percent or two across runs of these workloads):
#   - jitperf-run -- CMD (libjitperf.so from the build through JITPERF_LIB,
#     nothing else): the program's stdout and exit status are the plain
#     run's; its stderr lines are all there; nothing is written to the
#     working directory (V8's --perf-basic-prof would leave a log there);
#   - >= RT_MIN_SHARE (90) % of its JIT samples carry a name the runtime
#     wrote (not jitperf's jit:...), counted by jitperf.report (the
#     summary's own classification);
#   - at least as large a share as the runtime's own tool alone, under
#     perf without libjitperf.so, less RT_SLACK (1.0) points: the two runs
#     sample different moments of a run, and the tool's misses are as
#     small as ours;
#   - the summary says which runtime was asked; a copy of the map is in
#     dumps/ and none is left in /tmp;
#   - perf annotate shows machine code for the hottest real-named function,
#     whose name matches RT_TOP_NAME (an extended regexp) when it is set;
#   - when RT_HEAP_NAME_RE (an awk regexp) is set: at most 0.5 % of each
#     run's JIT samples carry a name that matches it, the form of the names
#     libjitperf.so reads from the runtime's heap, which yield to the
#     runtime's map (docs/naming.md);
#   - names stay from run to run, as a user gets them: a second jitperf-run
#     run, and of each run's JIT samples (named or not) the share whose
#     name is also that of a JIT sample of the other run must reach
#     RT_MIN_STABLE (95) % both ways (the runtime's names do not depend on
#     the code it generated, which changes from run to run on HotSpot and
#     V8: tests/lib/engine.sh).

# shellcheck source=jitperf_run.sh source-path=SCRIPTDIR
. "$(dirname "${BASH_SOURCE[0]}")/jitperf_run.sh"
# shellcheck source=../engines/engines.bash source-path=SCRIPTDIR
. "$REPO/tests/engines/engines.bash"

RT_MIN_SHARE=${RT_MIN_SHARE:-90}
RT_SLACK=${RT_SLACK:-1.0}
RT_MIN_STABLE=${RT_MIN_STABLE:-95}

# "JIT RUNTIME_NAMED SHARE TOP" of a perf.data, as jitperf-run's summary
# counts them: leaf frames in JIT code; named by the runtime = named, and
# not a name libjitperf.so made up; TOP the hottest such name.
rt_counts() { # DATA [BUILDID_DIR]
	PYTHONPATH=$REPO/scripts python3 - "$@" <<'EOF'
import sys
from jitperf import report, summary
tally = report.Tally()
cmd = report.perf_script_command('perf', sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else '/dev/null')
report.run_pass(cmd, [tally], stderr=open('/dev/null', 'w'))
rt = summary.runtime_named(tally)
top = [n for c, n, m in tally.top() if m.startswith('[JIT]') and not n.startswith('jit:')]
print(tally.jit, rt, '%.1f' % (100.0 * rt / tally.jit if tally.jit else 0), top[0] if top else '-')
EOF
}

# "PCT KEPT JIT": of run A's JIT samples (named or not), the share whose
# name is also the name of a JIT sample of run B (tables of
# jitperf.report --samples).
rt_stability() { # A_TSV B_TSV
	awk -F'\t' 'FNR == NR { if ($4 == "named") n[$6] = 1; next }
		$4 == "named" || $4 == "unnamed" { j++; if ($4 == "named" && ($6 in n)) s++ }
		END { printf "%.1f %d %d\n", j ? 100 * s / j : 0, s, j }' "$2" "$1"
}

# The names of A_TSV's JIT samples that B_TSV lacks, most samples first:
# what a failed stability check prints, to tell a tier the other run did not
# reach from a name that changed.
rt_lost_names() { # A_TSV B_TSV
	awk -F'\t' 'FNR == NR { if ($4 == "named") n[$6] = 1; next }
		($4 == "named" && !($6 in n)) || $4 == "unnamed" { c[$4 == "named" ? $6 : "(unnamed)"]++ }
		END { for (k in c) print c[k] "\t" k }' "$2" "$1" | sort -rn | sed -n '1,8p'
}

# The runtime's own tool alone: perf record with its switch, no shim.
rt_tool_run() { # TOOL CMD...
	local tool=$1 dir=$T/tool
	shift
	mkdir -p "$dir"
	if [ "$tool" = node-perf-prof ]; then
		(cd "$dir" && perf --buildid-dir "$dir/buildid" record -q -k 1 -e cpu-clock -o perf.raw -- "$1" --perf-prof "${@:2}" >stdout 2>stderr) || true
		perf --buildid-dir /dev/null inject --jit -i "$dir/perf.raw" -o "$dir/perf.data" >"$dir/inject.log" 2>&1 ||
			fail "tool: perf inject of node --perf-prof's dump failed"
	else
		(cd "$dir" && perf --buildid-dir "$dir/buildid" record -q -k 1 -e cpu-clock -o perf.data -- env "$tool" "$@" >stdout 2>stderr) || true
	fi
}

rt_cleanup_maps() {
	local pid
	for pid in "${RT_PIDS[@]}"; do rm -f "/tmp/perf-$pid.map"; done
}

runtime_test() { # NAME TOOL
	local name=$1 tool=$2 why rc=0 want_rc jr=$T/jr counts tcounts
	local -a ours theirs
	need_perf
	need_build
	why=$(engine_missing "$name") && skip "$why"
	engine_prepare "$name" "$T/w" >/dev/null || skip "cannot prepare the $name workload"
	engine_cmd "$name" "$T/w"
	RT_PIDS=()
	cleanup_hooks+=(rt_cleanup_maps)

	"${ENGINE_CMD[@]}" >"$T/plain.out" 2>"$T/plain.err" </dev/null || rc=$?
	want_rc=$rc

	rc=0
	mkdir -p "$T/cwd"
	(cd "$T/cwd" && JITPERF_LIB=$LIB "$JR" -o "$jr" -- "${ENGINE_CMD[@]}" >"$T/jr.out" 2>"$T/jr.err" </dev/null) || rc=$?
	# node --perf-basic-prof would leave isolate-*-v8.log files here
	if [ -n "$(ls -A "$T/cwd")" ]; then
		fail "$name: the switches left files in the working directory: $(ls -A "$T/cwd" | sed -n '1,3p' | tr '\n' ' ')"
	else
		ok "$name: nothing written to the working directory"
	fi
	[ "$rc" -eq "$want_rc" ] && ok "$name: exit status $rc, as without jitperf-run" ||
		fail "$name: exit status $rc, $want_rc without jitperf-run"
	if cmp -s "$T/plain.out" "$T/jr.out"; then
		ok "$name: stdout as without jitperf-run"
	else
		fail "$name: stdout differs from the plain run's"
		diff "$T/plain.out" "$T/jr.out" | sed -n '1,5p' | sed 's/^/    | /'
	fi
	# stderr: the program's own lines are all there (jitperf-run adds its
	# summary; the JVM its "Picked up JAVA_TOOL_OPTIONS" notice)
	if [ -s "$T/plain.err" ] && grep -vxF -f "$T/jr.err" "$T/plain.err" | grep -q .; then
		fail "$name: lines of the program's stderr are missing"
	fi
	grep -q "runtime names asked of: .*$(rt_label "$name")" "$jr/summary.txt" &&
		ok "$name: the summary says the runtime was asked" ||
		fail "$name: the summary does not name $(rt_label "$name") among the runtimes asked"
	RT_PIDS+=("$(sed -n 's/^pid: //p' "$jr/run.txt")")
	if ls "$jr"/dumps/perf-*.map >/dev/null 2>&1; then
		ok "$name: the runtime's map is kept in dumps/"
	else
		fail "$name: no copy of the runtime's map in dumps/"
	fi
	[ ! -e "/tmp/perf-${RT_PIDS[0]}.map" ] && ok "$name: nothing left in /tmp" ||
		fail "$name: /tmp/perf-${RT_PIDS[0]}.map left behind"

	counts=$(rt_counts "$jr/perf.data" "$jr/buildid")
	read -r -a ours <<<"$counts"
	echo "  jitperf-run: ${ours[1]} of ${ours[0]} JIT samples named by $name itself (${ours[2]}%); top: ${counts#* * * }"
	[ "${ours[0]}" -ge 100 ] || fail "$name: only ${ours[0]} JIT samples"
	awk -v s="${ours[2]}" -v m="$RT_MIN_SHARE" 'BEGIN { exit !(s >= m) }' &&
		ok "$name: ${ours[2]}% of JIT samples named by the runtime (>= $RT_MIN_SHARE%)" ||
		fail "$name: ${ours[2]}% of JIT samples named by the runtime, want >= $RT_MIN_SHARE%"

	rt_tool_run "$tool" "${ENGINE_CMD[@]}"
	tcounts=$(rt_counts "$T/tool/perf.data" "$T/tool/buildid")
	read -r -a theirs <<<"$tcounts"
	echo "  ${RT_TOOL_LABEL:-$tool} alone: ${theirs[1]} of ${theirs[0]} JIT samples named (${theirs[2]}%)"
	RT_PIDS+=($(perf script -i "$T/tool/perf.data" -F pid 2>/dev/null | sort -u))
	awk -v a="${ours[2]}" -v b="${theirs[2]}" -v s="$RT_SLACK" 'BEGIN { exit !(a + s >= b) }' &&
		ok "$name: jitperf-run names ${ours[2]}%, its own tool alone ${theirs[2]}% (slack $RT_SLACK points)" ||
		fail "$name: jitperf-run names ${ours[2]}%, its own tool alone ${theirs[2]}%"

	rt_annotate "$name" "$jr" "${counts#* * * }"
	if [ -n "${RT_TOP_NAME:-}" ]; then
		grep -qE "$RT_TOP_NAME" <<<"${counts#* * * }" &&
			ok "$name: the hottest name reads '${counts#* * * }'" ||
			fail "$name: the hottest name '${counts#* * * }' does not match $RT_TOP_NAME"
	fi

	# A second run: the names a user compares between two profiles.
	(cd "$T/cwd" && JITPERF_LIB=$LIB "$JR" -o "$jr.2" -- "${ENGINE_CMD[@]}" >"$T/jr2.out" 2>"$T/jr2.err" </dev/null) ||
		true
	RT_PIDS+=("$(sed -n 's/^pid: //p' "$jr.2/run.txt")")
	local r line pct s j
	for r in "$jr" "$jr.2"; do
		PYTHONPATH=$REPO/scripts python3 -m jitperf.report --buildid-dir "$r/buildid" --samples "$r.tsv" \
			"$r/perf.data" >/dev/null 2>&1 || fail "$name: jitperf.report failed on $r/perf.data"
	done
	if [ -n "${RT_HEAP_NAME_RE:-}" ]; then
		for r in "$jr" "$jr.2"; do
			read -r pct s j <<<"$(awk -F'\t' -v re="$RT_HEAP_NAME_RE" '$4 == "named" || $4 == "unnamed" { j++; if ($4 == "named" && $6 ~ re) s++ }
				END { printf "%.1f %d %d\n", j ? 100 * s / j : 0, s, j }' "$r.tsv")"
			awk -v p="$pct" 'BEGIN { exit !(p <= 0.5) }' &&
				ok "$name: $pct% of the JIT samples ($s of $j) in names jitperf read from the heap, not the runtime's map's (<= 0.5%)" ||
				fail "$name: $pct% of the JIT samples ($s of $j) in names jitperf read from the heap where the runtime's map names the code"
		done
	fi
	for line in "$jr.tsv $jr.2.tsv" "$jr.2.tsv $jr.tsv"; do
		# shellcheck disable=SC2086 # two file names
		read -r pct s j <<<"$(rt_stability $line)"
		awk -v p="$pct" -v m="$RT_MIN_STABLE" 'BEGIN { exit !(p >= m) }' &&
			ok "$name: $pct% of one run's JIT samples ($s of $j) keep their name in the other (>= $RT_MIN_STABLE%)" ||
			{
				fail "$name: only $pct% of one run's JIT samples ($s of $j) keep their name in the other, want >= $RT_MIN_STABLE%"
				# shellcheck disable=SC2086 # two file names
				rt_lost_names $line | sed 's/^/    | lost: /'
			}
	done
	finish
}

rt_label() {
	case $1 in node) echo node ;; hotspot) echo HotSpot ;; mono) echo Mono ;; erlang) echo Erlang ;; luajit) echo LuaJIT ;;
	*) echo "$1" ;; esac
}

# perf annotate shows instructions for a function named by the runtime:
# the LOAD carried its code bytes (a perf map alone cannot).
rt_annotate() { # NAME RUN_DIR SYMBOL
	local out
	[ "$3" != - ] || { fail "$1: no function named by the runtime to annotate"; return; }
	out=$(perf --buildid-dir "$2/buildid" annotate -i "$2/perf.data" --stdio "$3" 2>/dev/null | sed -n '1,400p')
	if grep -qE '^\s+[0-9.]+\s+:\s+[0-9a-f]+:\s+[a-z]' <<<"$out" || grep -qE ':\s+(push|mov|add|sub|cmp|j[a-z]+|call|lea|test|xor)\b' <<<"$out"; then
		ok "$1: perf annotate shows the code of '$3'"
	else
		fail "$1: perf annotate shows no code for '$3'"
		head -n 10 <<<"$out" | sed 's/^/    | /'
	fi
}
