#!/usr/bin/env bash
# runtime_late_map - a runtime that writes its map only at exit gets its names through jitperf-run: a fake .NET 8 (tests/jit/late_map) asked with DOTNET_PerfMapEnabled=3.
#
# The fake (see tests/jit/late_map.c) is installed as $T/dotnet/dotnet with
# $T/dotnet/shared/Microsoft.NETCore.App/8.0.4/, first on PATH; it fails if
# asked for a jitdump of its own (values 1 and 2).  Checks:
#   - jitperf-run -- dotnet 7: exit status 7 and the result line as without
#     jitperf-run; run.txt shows DOTNET_PerfMapEnabled=3;
#   - perf report: the listed functions' samples carry the runtime's names,
#     spaces kept ("W:Fib (int)", "W:New (int)"); samples in the unlisted
#     stub keep jitperf's jit:... name; samples of W:Old, whose address the
#     runtime reused for W:New, are never called W:New;
#   - perf annotate shows the machine code of W:Fib (int);
#   - --no-runtime-names: no map is written, no runtime name appears;
#   - a value the user set (DOTNET_PerfMapEnabled=0) is left alone;
#   - with a .NET 7 installed beside it, the variable is not set (3 meant
#     something else before .NET 8).
# About 20 s.
. "$(dirname "$0")/../lib/jitperf_run.sh"
need_perf
need_build
FAKE=$BUILD/tests/jit/late_map
[ -x "$FAKE" ] || { echo "FAIL: $FAKE missing: build first"; exit 1; }

mkdir -p "$T/dotnet/shared/Microsoft.NETCore.App/8.0.4"
cp "$FAKE" "$T/dotnet/dotnet"
export PATH=$T/dotnet:$PATH
export JITPERF_LIB=$LIB JIT_SECONDS=1.2
pids=()
cleanup_hooks+=('for p in "${pids[@]}"; do rm -f /tmp/perf-$p.map; done')

result() { grep '^late_map: result=' "$1"; }
run_pid() { sed -n 's/^pid: //p' "$1/run.txt"; }

rc=0
dotnet 7 >"$T/plain.out" 2>/dev/null || rc=$?
check "plain run exits 7" [ "$rc" -eq 7 ]

run_jr late 7 -o "$T/late" -- dotnet 7
pids+=("$(run_pid "$T/late")")
check "same result line as without jitperf-run" [ "$(result "$T/late.out")" = "$(result "$T/plain.out")" ]
check "run.txt shows DOTNET_PerfMapEnabled=3" grep -q 'runtime names: DOTNET_PerfMapEnabled=3' "$T/late/run.txt"
check "the summary names .NET among the runtimes asked" grep -q 'runtime names asked of: .*\.NET' "$T/late/summary.txt"
check "the summary says the map was used" grep -q 'runtime map used: pid' "$T/late/summary.txt"

# leaf symbol of every sample, with its address
perf --buildid-dir "$T/late/buildid" script -i "$T/late/perf.data" -F ip,sym 2>/dev/null >"$T/late.syms"
count() { grep -cF -- "$1" "$T/late.syms" || true; }
fib=$(count 'W:Fib (int)')
new=$(count 'W:New (int)')
echo "  samples: W:Fib (int) $fib, W:New (int) $new, jit:... $(count ' jit:')"
check "W:Fib (int), named at exit, holds samples (spaces kept)" [ "$fib" -ge 200 ]
check "W:New (int), named at exit, holds samples" [ "$new" -ge 100 ]
# Old and the stub each ran for ~25% / 15% of the time under jit: names
check "code the runtime does not list (or no longer) keeps jitperf's names" [ "$(count ' jit:')" -ge 200 ]
# W:Old ran before W:New at the same address: its window must not say New
read -r old_t0 old_t1 < <(sed -n 's/^JITFUNC name=old .* t0=\([0-9]*\) t1=\([0-9]*\)$/\1 \2/p' "$T/late.out")
wrong=$(perf --buildid-dir "$T/late/buildid" script -i "$T/late/perf.data" --ns -F time,sym 2>/dev/null |
	awk -v a="$old_t0" -v b="$old_t1" '{ t = $1; sub(":", "", t); split(t, p, "."); ns = p[1] * 1e9 + p[2] }
		ns > a + 5e6 && ns < b - 5e6 && /W:New/ { n++ } END { print n + 0 }')
check "no sample of W:Old's time is called W:New ($wrong)" [ "$wrong" -eq 0 ]
ann=$(perf --buildid-dir "$T/late/buildid" annotate -i "$T/late/perf.data" --stdio 'W:Fib (int)' 2>/dev/null)
check "perf annotate shows the code of W:Fib (int)" grep -qE ':\s+(push|mov|imul|add|xor|shr|shl|dec|jne|jnz|ret)\b' <<<"$ann"
check "a copy of the map stays in dumps/" test -f "$T/late/dumps/perf-${pids[0]}.map"
check "the map jitperf-run asked for is not left in /tmp" [ ! -e "/tmp/perf-${pids[0]}.map" ]

run_jr off 7 -o "$T/off" --no-runtime-names -- dotnet 7
pids+=("$(run_pid "$T/off")")
check "--no-runtime-names: the runtime wrote no map" [ ! -e "/tmp/perf-${pids[1]}.map" ]
check "--no-runtime-names: no runtime names" bash -c "! perf --buildid-dir '$T/off/buildid' script -i '$T/off/perf.data' -F sym 2>/dev/null | grep -q 'W:'"
check "--no-runtime-names: the summary says so" grep -q 'runtime names: off' "$T/off/summary.txt"

DOTNET_PerfMapEnabled=0 run_jr user 7 -o "$T/user" -- dotnet 7
pids+=("$(run_pid "$T/user")")
check "a value the user set is left alone" grep -q 'set by you (DOTNET_PerfMapEnabled)' "$T/user/run.txt"
check "... and the runtime wrote no map" [ ! -e "/tmp/perf-${pids[2]}.map" ]

mkdir -p "$T/dotnet/shared/Microsoft.NETCore.App/7.0.20"
run_jr seven 7 -o "$T/seven" -- dotnet 7
pids+=("$(run_pid "$T/seven")")
check "with a .NET 7 installed too, the variable is not set" bash -c "! grep -q 'DOTNET_PerfMapEnabled=' '$T/seven/run.txt'"
finish
