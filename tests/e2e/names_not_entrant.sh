#!/usr/bin/env bash
# names_not_entrant - a HotSpot method keeps its name when HotSpot makes it not entrant (jmp written over its verified entry): no second LOAD of it under another name, and perf names the samples.
#
# HotSpot stops new calls into a method it replaces (a C1 version when the
# C2 one is ready) or deoptimises by writing jmp rel32 to its
# handle_wrong_method stub over the first 5 bytes of the method's verified
# entry (lib/fingerprint.c, patchable_entry).  jitperf reads the code again
# when its pages change; before the fingerprint left those bytes out, the
# re-read method got a second LOAD at the same address under another name
# (13-27 a run of tests/engines/JavaWork.java, 8-26 % of the JIT samples
# on such methods), and a method first read after the patch had another
# name than in a run that read it before.  Each run (RUNS, 2) here, the
# engine workload under perf with the shim:
#   - perf names at least JP_MIN_SHARE (95) % of the JIT samples and the
#     dumps pass jitperf-dump --check;
#   - no two LOADs at one address and size whose code differs only in a
#     patched entry (7 bytes, jmp rel32 in the later one) have different
#     names;
#   - over the runs, the dumps hold pieces read after their patch (a
#     patched entry in the LOAD's code) or the shim saw pieces patched in
#     place (its JITPERF_VERBOSE=2 summary): the case happened.
# About 20 s.
set -euo pipefail
# shellcheck source=../lib/engine.sh source-path=SCRIPTDIR
. "$(dirname "$0")/../lib/engine.sh"

RUNS=${RUNS:-2}

# LOAD records of the whole dumps (*.all where pruned): pairs re-read after
# an entry patch under another name, pairs under the same name, and LOADs
# whose code holds a patched entry.  The jitdump layout is perf's
# (../shared/docs/perf-jitdump-facts.md): a header whose third word is its
# size, then records of id, total size, timestamp; a LOAD (id 0) has pid,
# tid, vma, code address, code size, code index, the name and the code.
ne_scan() { # DUMP...
	python3 - "$@" <<'EOF'
import struct, sys
from collections import defaultdict

def loads(path):
    d = open(path, 'rb').read()
    off = struct.unpack_from('<I', d, 8)[0]
    while off + 16 <= len(d):
        rid, size = struct.unpack_from('<II', d, off)
        if size < 16:
            break
        if rid == 0:
            addr, n = struct.unpack_from('<QQ', d, off + 32)
            end = d.index(b'\0', off + 56)
            yield addr, d[off + 56:end].decode('utf-8', 'replace'), d[end + 1:end + 1 + n]
        off += size

def patched_at(code):
    """Offset of a jmp rel32 leaving the piece over a 7-byte entry, after
    NOP padding or zero bytes, in the first 256 bytes, or None."""
    for o in range(1, min(len(code) - 7, 256)):
        if code[o] != 0xe9 or code[o + 6] != 0xff or code[o + 5] < 0xf0:
            continue
        t = o + 5 + struct.unpack_from('<i', code, o + 1)[0]
        if (t < 0 or t >= len(code)) and code[o - 2:o] in (b'\0\0', b'\x40\0', b'\x66\x90'):
            return o
    return None

other = same = after = 0
for path in sys.argv[1:]:
    at = defaultdict(list)
    for addr, name, code in loads(path):
        if patched_at(code) is not None:
            after += 1
        for pname, pcode in at[addr]:
            if len(pcode) != len(code):
                continue
            diff = [i for i in range(len(code)) if code[i] != pcode[i]]
            if diff and diff[-1] - diff[0] < 5 and code[diff[0]] == 0xe9 and pcode[diff[0]] != 0xe9:
                if pname == name:
                    same += 1
                else:
                    other += 1
                    print('  re-read after the patch under another name: %#x %d bytes %s -> %s'
                          % (addr, len(code), pname, name), file=sys.stderr)
        at[addr].append((name, code))
print(other, same, after)
EOF
}

ne_run() { # RUN
	local run=$1 dir=$JP_TMP/$1 bad=0 other same after inplace
	local -a dumps=()
	engine_record "$run" "${ENGINE_CMD[@]}"
	if [ "$ENGINE_RC" -ne 0 ] || ! cmp -s "$dir/stdout" "$JP_TMP/plain.stdout"; then
		sed 's/^/  stderr: /' "$dir/stderr" | tail -n 10
		jp_say "$run: FAIL status $ENGINE_RC or stdout differs from the plain run"
		return 1
	fi
	engine_inject "$run"
	jp_samples "$run"
	jp_share "$run"
	if ! awk -v s="$JP_SHARE" -v m="$JP_MIN_SHARE" 'BEGIN { exit !(s + 0 >= m + 0) }'; then
		jp_say "$run: FAIL named share $JP_SHARE% < $JP_MIN_SHARE%"
		bad=1
	fi
	jp_dump_check "$run" | sed "s/^/$run: /" || bad=1
	mapfile -t dumps < <(engine_dumps "$run")
	[ ${#dumps[@]} -gt 0 ] || { jp_say "$run: FAIL no dump"; return 1; }
	read -r other same after < <(ne_scan "${dumps[@]}")
	inplace=$(sed -n 's/.* \([0-9]*\) patched in place.*/\1/p' "$dir/stderr" | awk '{ s += $1 } END { print s + 0 }')
	jp_say "$run: named $JP_SHARE% ($JP_NAMED of $((JP_NAMED + JP_UNNAMED)) JIT samples); re-read after an entry patch: $other under another name, $same under the same; $after LOADs read after their patch; $inplace pieces patched in place"
	if [ "$other" -ne 0 ]; then
		jp_say "$run: FAIL $other methods got a second name when HotSpot made them not entrant"
		bad=1
	fi
	NE_SEEN=$((NE_SEEN + after + inplace))
	return "$bad"
}

if missing=$(engine_missing hotspot); then
	jp_skip "hotspot: $missing"
fi
jp_setup
engine_prepare hotspot "$JP_TMP/prog" >"$JP_TMP/prepare.log" 2>&1 || {
	sed 's/^/  /' "$JP_TMP/prepare.log" | tail -n 20
	jp_fail "hotspot: the workload did not compile"
}
engine_cmd hotspot "$JP_TMP/prog"
env -u LD_PRELOAD "${ENGINE_CMD[@]}" >"$JP_TMP/plain.stdout" 2>"$JP_TMP/plain.stderr" ||
	jp_fail "hotspot: the plain run failed"
NE_SEEN=0
failed=0
for i in $(seq 1 "$RUNS"); do
	ne_run "run$i" || failed=$((failed + 1))
done
if [ "$NE_SEEN" -eq 0 ]; then
	jp_say "FAIL no method was seen made not entrant or patched in $RUNS runs: the test saw nothing"
	failed=$((failed + 1))
fi
[ "$failed" -eq 0 ] || exit 1
jp_say "PASS names_not_entrant"
