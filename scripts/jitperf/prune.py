"""Give perf inject only the LOADs that some sample can fall in.

perf inject --jit writes one ELF object per LOAD (0.3-0.5 ms each) whether or
not a sample lands in it, and perf resolves a sample only against the maps
that cover its address.  So a dump pruned to the LOADs that cover a sampled
address, leaf or caller (`jitperf-dump --prune`, lib/jd_prune.c), names
every sample exactly as the whole dump does, and inject costs what the
profile needs instead of what the program compiled.  The whole dump stays
beside it as jit-<pid>.dump.all.

The addresses come from one `perf script` pass over the recording before
inject, frames in JIT memory only (jitperf.classify).  In a call chain perf
prints an address in a file mapping (dual-mapped code: a memfd, an unlinked
file) as an offset into the file (a sample's own address, without call
chains, as it is); the mmap events of the same pass turn it back into
addresses, one for every mapping of that file (a superset is safe).  A
process with a frame that cannot be placed keeps its whole dump.
"""
import collections
import os
import re
import subprocess

from jitperf import classify as jit

# "PID PERF_RECORD_MMAP2 PID/TID: [0xSTART(0xLEN) @ PGOFF MAJ:MIN INO GEN]: PROT PATH"
# and "PID PERF_RECORD_MMAP PID/TID: [0xSTART(0xLEN) @ 0xPGOFF]: x PATH"
_MMAP = re.compile(r'^\s*(\d+)\s+PERF_RECORD_MMAP2?\s+\d+/\d+:\s+'
                   r'\[0x([0-9a-f]+)\(0x([0-9a-f]+)\) @ (?:0x)?([0-9a-f]+)[^\]]*\]:\s+\S+\s+(.*?)\s*$')
# A call-chain line: "\t    7f12ab34 (dso)"; a sample's first line: "PID"
# or, without call chains, "PID  7f12ab34 (dso)".
_FRAME = re.compile(r'^\s+([0-9a-f]+)\s+\((.*)\)\s*$')
_HEADER = re.compile(r'^\s*(\d+)\s*(?:\s([0-9a-f]+)\s+\((.*)\))?\s*$')


def perf_script_command(perf, data):
    return [perf, 'script', '-i', data, '--show-mmap-events', '-F', 'pid,ip,dso']


class SampledAddresses:
    """Per process: the addresses of the sampled frames in JIT memory."""

    def __init__(self):
        self.addrs = collections.defaultdict(set)
        self.unplaced = set()  # pids with a frame no mapping explains
        self._maps = collections.defaultdict(list)  # (pid, path) -> [(start, length, pgoff)]

    def _frame(self, pid, ip, dso, in_chain=True):
        offset = jit.address_is_file_offset(dso)
        if offset is None:
            return
        if not offset or not in_chain:
            self.addrs[pid].add(ip)
            return
        placed = False
        for start, length, pgoff in self._maps.get((pid, dso), ()):
            if pgoff <= ip < pgoff + length:
                self.addrs[pid].add(start + ip - pgoff)
                placed = True
        if not placed:
            self.unplaced.add(pid)

    def feed(self, lines):
        pid = None
        for line in lines:
            m = _MMAP.match(line)
            if m:
                p, start, length, pgoff, path = m.groups()
                self._maps[(int(p), path)].append((int(start, 16), int(length, 16), int(pgoff, 16)))
                continue
            m = _FRAME.match(line)
            if m and pid is not None:
                self._frame(pid, int(m.group(1), 16), m.group(2))
                continue
            m = _HEADER.match(line)
            if m:
                pid = int(m.group(1))
                if m.group(2):
                    self._frame(pid, int(m.group(2), 16), m.group(3), in_chain=False)
        return self


def sampled_addresses(perf, data):
    """The pass over data; None when perf script failed."""
    with subprocess.Popen(perf_script_command(perf, data), stdout=subprocess.PIPE,
                          stderr=subprocess.DEVNULL, text=True, errors='replace') as proc:
        result = SampledAddresses().feed(proc.stdout)
    return result if proc.returncode == 0 else None


_DUMP = re.compile(r'^jit-(\d+)\.dump$')
_KEPT = re.compile(r'kept (\d+) of (\d+) LOADs')


def _remove(path):
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def _prune_one(dump_tool, path, addrs, run):
    """Prune one dump in place; returns ((kept, total), None), or (None, why)
    with the dump as it was and nothing left beside it."""
    addrs_file, whole = path + '.sampled', path + '.all'
    pruned = False
    try:
        with open(addrs_file, 'w') as f:
            f.writelines('%x\n' % a for a in addrs)
        _remove(whole)
        os.link(path, whole)  # the same file: the pruned one replaces path
        res = run([dump_tool, '--prune', addrs_file, '-o', path, whole],
                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        counts = _KEPT.search(res.stdout or '')
        if res.returncode != 0 or not counts:
            return None, (res.stderr or '').strip() or 'jitperf-dump failed'
        pruned = True
        return (int(counts.group(1)), int(counts.group(2))), None
    finally:
        _remove(addrs_file)
        if not pruned:
            _remove(whole)


def prune_dumps(dump_tool, dumps, sampled, run=subprocess.run):
    """Prune each jit-<pid>.dump in dumps to its sampled LOADs, the whole dump
    kept as jit-<pid>.dump.all.  Returns (LOADs kept, LOADs in all, notes on
    dumps left whole)."""
    kept = total = 0
    notes = []
    for path in dumps:
        m = _DUMP.match(os.path.basename(path))
        if not m:
            continue
        pid = int(m.group(1))
        if pid in sampled.unplaced:
            notes.append('%s: kept whole (a sample in dual-mapped code could not be placed)' % path)
            continue
        try:
            counts, why = _prune_one(dump_tool, path, sorted(sampled.addrs.get(pid, ())), run)
        except OSError as e:  # a full or read-only disk: inject takes the whole dump
            counts, why = None, e.strerror or str(e)
        if counts is None:
            notes.append('%s: kept whole (%s)' % (path, why))
            continue
        kept += counts[0]
        total += counts[1]
    return kept, total, notes


def main(argv=None):
    """python3 -m jitperf.prune [--perf PERF] --dump-tool JITPERF_DUMP perf.data DUMP...:
    what jitperf-run does before perf inject, for a recording made by hand."""
    import argparse
    import sys

    ap = argparse.ArgumentParser(prog='python3 -m jitperf.prune', description=main.__doc__.split(':', 1)[1])
    ap.add_argument('--perf', default='perf')
    ap.add_argument('--dump-tool', default='jitperf-dump')
    ap.add_argument('data')
    ap.add_argument('dumps', nargs='+')
    args = ap.parse_args(argv)
    sampled = sampled_addresses(args.perf, args.data)
    if sampled is None:
        sys.stderr.write('perf script could not read %s; dumps left whole\n' % args.data)
        return 1
    kept, total, notes = prune_dumps(args.dump_tool, args.dumps, sampled)
    for note in notes:
        sys.stderr.write(note + '\n')
    print('kept %d of %d LOADs; %d dump(s) left whole' % (kept, total, len(notes)))
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
