#!/usr/bin/env bash
# names_qemu_buffer - QEMU with its code buffer at 0x7fe9... (one run in 256) is cut into the same pieces, with the same names, as with the buffer anywhere else.
#
# QEMU 7.2 keeps a TranslationBlock (addresses in its code buffer, of its
# code and of other TBs) between translated blocks, and a pool of its
# helpers' addresses after a block's last jump.  With the buffer at
# 0x7fe9..., each TB address holds e9 7f 00 00, a jmp rel32 when decoded:
# every header became a piece with a LOAD of its own (5,322 LOADs against
# 4,242, docs/naming.md "QEMU's odd runs").  tests/jit/mmap_hint_plugin.so,
# preloaded after the shim, puts the buffer at a chosen address.  No perf
# here: the shim's dumps alone.  For each address, one run: the program's
# output as without the shim, the buffer where asked (else the kernel
# refused the hint: skip), a valid dump.  Then the two runs' LOADs: their
# counts within JP_MAX_LOAD_DIFF (2) percent, and at least JP_MIN_SAME_NAMES
# (95) percent of the names of one run's LOADs among the other's, both ways
# (measured 2026-12-07: 4,252 and 4,248 LOADs, 99.8 % of the names shared
# both ways; before the fix, 5,306 against 4,246 LOADs, 81.2 %).  About 3 s.
set -euo pipefail
# shellcheck source=../lib/capture.sh source-path=SCRIPTDIR
. "$(dirname "$0")/../lib/capture.sh"
# shellcheck source=../engines/engines.bash source-path=SCRIPTDIR
. "$JP_ROOT/tests/engines/engines.bash"

JP_MAX_LOAD_DIFF=${JP_MAX_LOAD_DIFF:-2}
JP_MIN_SAME_NAMES=${JP_MIN_SAME_NAMES:-95}
PLUGIN=$JP_BUILD/tests/jit/mmap_hint_plugin.so
# byte 4 e9, and one that decodes harmlessly (a3: mov moffs, eax)
BASES=(7fe9c0000000 7fa3c0000000)

if missing=$(engine_missing qemu); then
	jp_skip "qemu: $missing"
fi
jp_setup
[ -f "$PLUGIN" ] || jp_fail "$PLUGIN not built (make BUILD=$JP_BUILD)"
engine_prepare qemu "$JP_TMP/prog" >"$JP_TMP/prepare.log" 2>&1 || {
	sed 's/^/  /' "$JP_TMP/prepare.log" | tail -n 20
	jp_fail "qemu: the workload did not compile"
}
engine_cmd qemu "$JP_TMP/prog"
env -u LD_PRELOAD "${ENGINE_CMD[@]}" >"$JP_TMP/plain.stdout"

fail=0
for base in "${BASES[@]}"; do
	dir=$JP_TMP/$base
	mkdir -p "$dir"
	mkdir -m 700 "$dir/dumps"
	env LD_PRELOAD="$JP_SHIM:$PLUGIN" JP_MMAP_HINT="$base" JITPERF_DIR="$dir/dumps" "${ENGINE_CMD[@]}" \
		>"$dir/stdout" 2>"$dir/stderr" || { jp_say "$base: FAIL exit status $?"; fail=1; }
	if ! cmp -s "$dir/stdout" "$JP_TMP/plain.stdout"; then
		jp_say "$base: FAIL stdout differs from the plain run"
		fail=1
	fi
	for d in "$dir"/dumps/jit-*.dump; do
		"$JP_DUMP_TOOL" --check "$d" >/dev/null || { jp_say "$base: FAIL $d: $("$JP_DUMP_TOOL" --check "$d")"; fail=1; }
		"$JP_DUMP_TOOL" "$d" | awk '$2 == "LOAD" { print $4, $7 }'
	done >"$dir/loads"
	# The buffer is where the LOADs named after it are (QEMU publishes
	# it as code_gen_buffer): the lowest one, rounded down to 256 MiB.
	at=$(awk '$2 ~ /^jit:code_gen_buffer:/ { print $1 }' "$dir/loads" | sort | awk 'NR == 1')
	if [ -z "$at" ] || [ $((at >> 28)) -ne $((0x$base >> 28)) ]; then
		jp_skip "$base: the code buffer is at ${at:-no address}, not where asked (the kernel did not take the hint)"
	fi
	cut -d' ' -f2 "$dir/loads" | sort -u >"$dir/names"
	jp_say "$base: buffer at $at, $(wc -l <"$dir/loads") LOADs, $(wc -l <"$dir/names") names"
done

a=$JP_TMP/${BASES[0]}
b=$JP_TMP/${BASES[1]}
na=$(wc -l <"$a/loads")
nb=$(wc -l <"$b/loads")
if ! awk -v a="$na" -v b="$nb" -v m="$JP_MAX_LOAD_DIFF" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(100 * d <= m * b) }'; then
	jp_say "FAIL ${BASES[0]}: $na LOADs, ${BASES[1]}: $nb: more than $JP_MAX_LOAD_DIFF % apart"
	fail=1
fi
for pair in "$a $b" "$b $a"; do
	read -r x y <<<"$pair"
	same=$(comm -12 "$x/names" "$y/names" | wc -l)
	all=$(wc -l <"$x/names")
	pct=$(awk -v s="$same" -v n="$all" 'BEGIN { printf "%.1f", n ? 100 * s / n : 0 }')
	jp_say "names of ${x##*/} also in ${y##*/}: $pct% ($same of $all)"
	if ! awk -v p="$pct" -v m="$JP_MIN_SAME_NAMES" 'BEGIN { exit !(p + 0 >= m + 0) }'; then
		jp_say "FAIL: under $JP_MIN_SAME_NAMES%"
		fail=1
	fi
done
jp_finish names_qemu_buffer "$fail"
