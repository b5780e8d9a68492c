#!/usr/bin/env python3
# v8_split.py - how well jitperf's pieces match V8's own code objects: attribute each perf sample to V8's function (from node --perf-prof's jitdump) and to jitperf's piece (from ours), report purity and completeness.
#
#   v8_split.py --samples FILE --v8 V8_DUMP --jp JITPERF_DUMP [--pid PID] [--top N] [--json OUT]
#
# FILE: `perf script -F pid,time,ip,dso --ns` of the raw perf.data (not
# injected: both dumps are jit-<pid>.dump of one process, so perf inject
# would read both).  Each dump is replayed in time order the way perf would:
# a LOAD maps [code_addr, code_addr+code_size) to its code from its
# timestamp on, a MOVE maps its index's code at new_code_addr, and a later
# record covering an address wins.  A sample at time t and address ip belongs
# to what covered ip at t in each dump.
#
# Units: a V8 function is one LOAD of V8's dump (one code object: a JS
# function at one tier, a stub, a regular expression), keyed by (name,
# address, size); a jitperf piece likewise (re-emissions of the same piece
# at the same place count as one).  Over the samples both dumps attribute:
#   purity        sum over pieces of the samples of its most frequent V8
#                 function / all such samples (a piece mixing several V8
#                 functions lowers it)
#   completeness  sum over V8 functions of the samples of its most frequent
#                 piece / all such samples (a function cut into several
#                 pieces lowers it)
#   coverage      share of the samples in V8 code that jitperf named at all
# Samples in V8 code that perf places in a file (V8's builtins and bytecode
# handlers, which sit in node's own .text and which V8's dump lists too) are
# left out: perf names them from the file, jitperf rightly ignores them.
# Standard library only.
import argparse
import bisect
import collections
import json
import re
import struct
import sys

JD_MAGIC = 0x4A695444
REC_LOAD, REC_MOVE = 0, 1


def read_dump(path):
    """Events (timestamp, addr, size, key) in file order; key = (name, addr, size)."""
    with open(path, 'rb') as f:
        data = f.read()
    if len(data) < 40:
        raise ValueError(f'{path}: too short for a jitdump header')
    magic, version, hsize = struct.unpack_from('<III', data, 0)
    if magic != JD_MAGIC:
        raise ValueError(f'{path}: not a jitdump (magic {magic:#x})')
    pid = struct.unpack_from('<I', data, 20)[0]
    names = {}  # code_index -> name (for MOVE)
    events = []
    off = hsize
    while off + 16 <= len(data):
        rid, size, ts = struct.unpack_from('<IIQ', data, off)
        if size < 16 or off + size > len(data):
            break
        if rid == REC_LOAD and size >= 56:
            _pid, _tid, _vma, addr, csize, idx = struct.unpack_from('<IIQQQQ', data, off + 16)
            end = data.index(b'\0', off + 56, off + size)
            name = data[off + 56:end].decode('utf-8', 'replace')
            names[idx] = (name, csize)
            if csize:
                events.append((ts, addr, csize, (name, addr, csize)))
        elif rid == REC_MOVE and size >= 56:
            _pid, _tid, _vma, _old, new, csize, idx = struct.unpack_from('<IIQQQQQ', data, off + 16)
            if idx in names and csize:
                name = names[idx][0]
                events.append((ts, new, csize, (name, new, csize)))
        off += size
    events.sort(key=lambda e: e[0])  # stable: file order among equal times
    return pid, events


class Painter:
    """Non-overlapping address intervals; a new one overwrites what it covers."""

    def __init__(self):
        self.starts, self.ends, self.keys = [], [], []

    def paint(self, start, end, key):
        i = bisect.bisect_right(self.ends, start)  # first interval ending after start
        new_s, new_e, new_k = [], [], []
        j = i
        while j < len(self.starts) and self.starts[j] < end:
            s, e, k = self.starts[j], self.ends[j], self.keys[j]
            if s < start:
                new_s.append(s), new_e.append(start), new_k.append(k)
            if e > end:
                tail = (end, e, k)
            else:
                tail = None
            j += 1
            if tail:
                break
        else:
            tail = None
        new_s.append(start), new_e.append(end), new_k.append(key)
        if tail:
            new_s.append(tail[0]), new_e.append(tail[1]), new_k.append(tail[2])
        self.starts[i:j] = new_s
        self.ends[i:j] = new_e
        self.keys[i:j] = new_k

    def find(self, ip):
        i = bisect.bisect_right(self.starts, ip) - 1
        if i >= 0 and ip < self.ends[i]:
            return self.keys[i]
        return None


ANON_DSO = re.compile(r'^(//anon|\[anon:|/?memfd:|\[heap\]$|\[unknown\]$|/tmp/perf-\d+\.map$)|\(deleted\)$')


def read_samples(path, pid):
    """(time_ns, ip, file_backed) of user-space samples of pid, in time order.

    Lines are `perf script -F pid,time,ip,dso --ns`: "PID TIME: IP (DSO)".
    file_backed: perf resolved the ip in a file mapping (V8's builtins and
    bytecode handlers live in node's own .text, which V8's dump describes
    but which is not JIT code and needs no jitdump)."""
    out = []
    with open(path) as f:
        for line in f:
            parts = line.split(None, 3)
            if len(parts) < 3:
                continue
            try:
                p = int(parts[0])
                t = parts[1].rstrip(':')
                sec, _, frac = t.partition('.')
                t_ns = int(sec) * 1000000000 + int((frac + '000000000')[:9])
                ip = int(parts[2], 16)
            except ValueError:
                continue
            if pid is not None and p != pid:
                continue
            if ip >= 0xffff800000000000:
                continue  # kernel
            dso = parts[3].strip() if len(parts) > 3 else ''
            if dso.startswith('(') and dso.endswith(')'):
                dso = dso[1:-1]
            out.append((t_ns, ip, dso.startswith('/') and not ANON_DSO.search(dso)))
    out.sort()
    return out


def attribute(samples, v8_events, jp_events):
    v8, jp = Painter(), Painter()
    vi = ji = 0
    res = []
    for t, ip, filed in samples:
        while vi < len(v8_events) and v8_events[vi][0] <= t:
            ts, a, z, k = v8_events[vi]
            v8.paint(a, a + z, k)
            vi += 1
        while ji < len(jp_events) and jp_events[ji][0] <= t:
            ts, a, z, k = jp_events[ji]
            jp.paint(a, a + z, k)
            ji += 1
        res.append((ip, v8.find(ip), jp.find(ip), filed))
    return res


def dominant_share(pairs, group_by):
    """Sum over groups of the count of the most frequent partner / total."""
    groups = collections.defaultdict(collections.Counter)
    for v, j in pairs:
        g, partner = (j, v) if group_by == 'jp' else (v, j)
        groups[g][partner] += 1
    total = sum(sum(c.values()) for c in groups.values())
    dom = sum(max(c.values()) for c in groups.values())
    return (100.0 * dom / total if total else 0.0), groups


def main():
    ap = argparse.ArgumentParser(prog='v8_split.py')
    ap.add_argument('--samples', required=True)
    ap.add_argument('--v8', required=True, help="V8's jit-<pid>.dump (node --perf-prof)")
    ap.add_argument('--jp', required=True, help="jitperf's jit-<pid>.dump")
    ap.add_argument('--pid', type=int)
    ap.add_argument('--top', type=int, default=12)
    ap.add_argument('--json')
    a = ap.parse_args()

    v8_pid, v8_events = read_dump(a.v8)
    jp_pid, jp_events = read_dump(a.jp)
    pid = a.pid if a.pid is not None else v8_pid
    if jp_pid != v8_pid:
        print(f'v8_split: warning: dumps of different processes ({v8_pid}, {jp_pid})', file=sys.stderr)
    samples = read_samples(a.samples, pid)
    res = attribute(samples, v8_events, jp_events)

    n = len(res)
    in_v8_file = sum(1 for _, v, _, fb in res if v and fb)
    res = [r for r in res if not r[3]]
    in_v8 = sum(1 for _, v, _, _ in res if v)
    in_jp = sum(1 for _, _, j, _ in res if j)
    both = [(v, j) for _, v, j, _ in res if v and j]
    jp_only = sum(1 for _, v, j, _ in res if j and not v)
    stub_both = sum(1 for v, j in both if j[0].endswith(':stub'))
    purity, pieces = dominant_share(both, 'jp')
    completeness, funcs = dominant_share(both, 'v8')
    coverage = 100.0 * len(both) / in_v8 if in_v8 else 0.0
    # Pieces that start where their dominant V8 function starts, by samples.
    starts_ok = sum(sum(c.values()) for j, c in pieces.items() if c.most_common(1)[0][0][1] == j[1])
    starts_pct = 100.0 * starts_ok / len(both) if both else 0.0
    near_ok = sum(sum(c.values()) for j, c in pieces.items() if abs(c.most_common(1)[0][0][1] - j[1]) <= 32)
    near_pct = 100.0 * near_ok / len(both) if both else 0.0

    v8_loads = len({e[3] for e in v8_events})
    jp_loads = len({e[3] for e in jp_events})
    print(f'samples of pid {pid}: {n} user-space; in V8 code in anonymous memory {in_v8} '
          f'(and {in_v8_file} in V8 builtins in node\'s own file, not counted); in jitperf pieces {in_jp}; '
          f'both {len(both)}; jitperf only {jp_only}')
    print(f'V8 code objects: {v8_loads} (sampled {len(funcs)}); jitperf pieces: {jp_loads} (sampled {len(pieces)})')
    print(f'coverage:     {coverage:5.1f}%  of samples in V8 code are in a jitperf piece')
    print(f'purity:       {purity:5.1f}%  of samples are in their piece\'s main V8 function (sample-weighted over pieces)')
    print(f'completeness: {completeness:5.1f}%  of samples are in their V8 function\'s main piece (sample-weighted over functions)')
    print(f'aligned:      {starts_pct:5.1f}%  of samples are in pieces that start exactly where their main V8 function starts '
          f'({near_pct:.1f}% within 32 bytes)')
    cut = sum(1 for c in funcs.values() if len(c) > 1)
    mixed = sum(1 for c in pieces.values() if len(c) > 1)
    print(f'by count:     {mixed} of {len(pieces)} sampled pieces hold samples of more than one V8 function; '
          f'{cut} of {len(funcs)} sampled V8 functions have samples in more than one piece')
    if stub_both:
        print(f'note: {stub_both} samples fell in pieces jitperf flagged as data (:stub)')
    print()
    print(f'top V8 functions (samples, share in main piece, pieces, V8 size -> main piece size and start offset):')
    ranked = sorted(funcs.items(), key=lambda kv: -sum(kv[1].values()))
    for (name, addr, size), c in ranked[:a.top]:
        tot = sum(c.values())
        (pname, paddr, psize), pc = c.most_common(1)[0]
        print(f'  {tot:6d} {100.0 * pc / tot:5.1f}% {len(c):2d}  {size:6d} -> {psize:6d} @{paddr - addr:+d}  '
              f'{name[:60]}  =>  {pname}')
    print()
    print('top jitperf pieces (samples, share of main V8 function, V8 functions in it):')
    ranked = sorted(pieces.items(), key=lambda kv: -sum(kv[1].values()))
    for (pname, paddr, psize), c in ranked[:a.top]:
        tot = sum(c.values())
        (vname, vaddr, vsize), vc = c.most_common(1)[0]
        print(f'  {tot:6d} {100.0 * vc / tot:5.1f}% {len(c):2d}  {pname}  =>  {vname[:60]}')
    if a.json:
        with open(a.json, 'w') as f:
            json.dump({'pid': pid, 'samples': n, 'in_v8': in_v8, 'in_jitperf': in_jp, 'both': len(both),
                       'coverage_pct': round(coverage, 2), 'purity_pct': round(purity, 2),
                       'completeness_pct': round(completeness, 2), 'aligned_pct': round(starts_pct, 2),
                       'aligned32_pct': round(near_pct, 2), 'in_v8_builtins_file': in_v8_file,
                       'v8_code_objects': v8_loads, 'jitperf_pieces': jp_loads}, f, indent=1)
    return 0 if both else 1


if __name__ == '__main__':
    sys.exit(main())
