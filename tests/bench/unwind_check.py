#!/usr/bin/env python3
"""unwind_check.py - compare jitperf's stack-height rules with the compiler's .eh_frame.

usage: unwind_bench --rows [--mid] ELF | unwind_check.py ELF

Every rule jitperf would write (lines `R start end reg off rbp` on stdin)
is checked against `readelf --debug-dump=frames-interp ELF` at its start
and at every change of the compiler's rule inside it: the CFA must be the
same offset where both use the same register, and a saved rbp the same
slot.  Prints the
counts and the first disagreements; exits 1 on any disagreement."""
import bisect
import re
import subprocess
import sys


def compiler_rules(path):
    out = subprocess.run(["readelf", "--debug-dump=frames-interp", path],
                         capture_output=True, text=True, check=False).stdout
    fdes = []  # (lo, hi, [(loc, cfa, rbp)])
    cols = None
    cur = None
    for line in out.splitlines():
        m = re.search(r"FDE cie=\S+ pc=([0-9a-f]+)\.\.([0-9a-f]+)", line)
        if m:
            cur = (int(m.group(1), 16), int(m.group(2), 16), [])
            fdes.append(cur)
            cols = None
            continue
        if "CIE" in line:
            cur = None
            continue
        f = line.split()
        if cur is None or not f:
            continue
        if f[0] == "LOC":
            cols = f
            continue
        if cols and re.fullmatch(r"[0-9a-f]{16}", f[0]):
            row = dict(zip(cols, f))
            cur[2].append((int(f[0], 16), row.get("CFA"), row.get("rbp", "u")))
    fdes.sort()
    return fdes


def main():
    fdes = compiler_rules(sys.argv[1])
    starts = [f[0] for f in fdes]
    checked = unverifiable = bad = 0
    for line in sys.stdin:
        f = line.split()
        if not f or f[0] != "R":
            continue
        s, e, reg, off, rbp = int(f[1], 16), int(f[2], 16), f[3], int(f[4]), int(f[5])
        i = bisect.bisect_right(starts, s) - 1
        if i < 0 or not (fdes[i][0] <= s < fdes[i][1]) or not fdes[i][2]:
            unverifiable += 1
            continue
        lo, hi, rows = fdes[i]
        locs = [r[0] for r in rows]
        points = [s] + [r[0] for r in rows if s < r[0] < min(e, hi)]
        for pc in points:
            k = bisect.bisect_right(locs, pc) - 1
            if k < 0:
                continue
            _, cfa, crbp = rows[k]
            if cfa is None or not re.fullmatch(r"r[sb]p\+\d+", cfa):
                unverifiable += 1
                continue
            if not cfa.startswith(reg):
                # rsp+N and rbp+M can both be right: not comparable here
                unverifiable += 1
                continue
            checked += 1
            ok = cfa == "%s+%d" % (reg, off)
            if rbp > 0:
                ok = ok and crbp == "c-%d" % rbp
            # rbp 0 (still in rbp) against a saved slot: after `pop rbp`
            # both hold the caller's value; not decidable from the table.
            if not ok:
                bad += 1
                if bad <= 15:
                    print("disagree at %x (row %x..%x): ours %s+%d rbp %d, compiler %s rbp %s"
                          % (pc, s, e, reg, off, rbp, cfa, crbp))
    print("checked %d points, %d disagree, %d not verifiable" % (checked, bad, unverifiable))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
