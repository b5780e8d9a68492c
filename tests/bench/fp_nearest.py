#!/usr/bin/env python3
"""fp_nearest.py - what differs where a made-up name did not survive a run.

Usage: fp_nearest.py RUN_A RUN_B [TOP]
RUN_A and RUN_B are run directories an engine test kept (JP_KEEP=1) after
tests/bench/fp_eval.sh wrote their mnem.tsv (fp_eval -m).  Of run A's JIT
samples whose name is not a LOAD name of run B, each piece is compared with
the piece of run B whose mnemonic sequence is most similar (difflib ratio;
only pieces within a third of its instruction count), and the samples are
put in classes: unnamed; no similar piece (ratio < 0.5); other code (0.5 to
0.9); close (0.9 to 0.99: a few blocks differ); near-identical (>= 0.99:
layout, padding, one or two instructions).  TOP (10) pieces are listed.
"""
import collections
import difflib
import sys


def mnemonics(path):
    d = {}
    with open(path) as f:
        for line in f:
            p = line.rstrip('\n').split('\t')
            if len(p) >= 3:
                d[p[0]] = (int(p[1]), p[2].split())
    return d


def nearest(m, pieces):
    best = None
    for n, s, mb in pieces:
        if abs(len(mb) - len(m)) > max(8, len(m) // 3):
            continue
        sm = difflib.SequenceMatcher(None, m, mb, autojunk=False)
        floor = best[0] if best else 0.3
        if sm.real_quick_ratio() < floor or sm.quick_ratio() < floor:
            continue
        r = sm.ratio()
        if not best or r > best[0]:
            best = (r, n, s, mb, sm)
    return best


def main():
    a, b = sys.argv[1], sys.argv[2]
    top = int(sys.argv[3]) if len(sys.argv) > 3 else 10
    pa, pb = mnemonics(a + '/mnem.tsv'), mnemonics(b + '/mnem.tsv')
    bl = [(n, s, m) for n, (s, m) in pb.items()]
    lost = collections.Counter()
    jit = unnamed = 0
    with open(a + '/samples.tsv') as f:
        for line in f:
            p = line.rstrip('\n').split('\t')
            if len(p) < 6 or p[3] not in ('named', 'unnamed'):
                continue
            jit += 1
            if p[3] == 'unnamed':
                unnamed += 1
            elif p[5] not in pb:
                lost[p[5]] += 1
    cls = collections.Counter()
    same_len = 0
    lines = []
    for name, c in lost.most_common():
        if name not in pa:
            cls['no LOAD in A'] += c
            continue
        size, m = pa[name]
        best = nearest(m, bl)
        if not best or best[0] < 0.5:
            k = 'no similar piece'
            desc = 'no similar piece in B'
        else:
            r, n, s, mb, sm = best
            k = 'near-identical' if r >= 0.99 else 'close' if r >= 0.9 else 'other code'
            same_len += c if s == size else 0
            ops = [o for o in sm.get_opcodes() if o[0] != 'equal']
            ed = sum(max(i2 - i1, j2 - j1) for _, i1, i2, j1, j2 in ops)
            desc = f'~ {n} {s}B {len(mb)} insns: ratio {r:.3f}, {ed} insns in {len(ops)} edits'
        cls[k] += c
        if len(lines) < top:
            lines.append(f'  {c:5d} {100 * c / jit:5.1f}% {name} {size}B {len(m)} insns {desc}')
    tot = sum(lost.values()) + unnamed
    print(f'{a} -> {b}: {jit} JIT samples, {tot} ({100 * tot / max(jit, 1):.1f}%) lose their name')
    print('  ' + '; '.join(f'{k} {100 * v / max(jit, 1):.1f}%' for k, v in
                           [('unnamed', unnamed)] + cls.most_common()) +
          f'; same length as the nearest {100 * same_len / max(jit, 1):.1f}%')
    print('\n'.join(lines))


if __name__ == '__main__':
    main()
