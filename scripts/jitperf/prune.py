"""Give perf inject only the LOADs that some sample is resolved with.

perf inject --jit writes one ELF object per LOAD (0.3-0.5 ms each) whether or
not a sample lands in it, and perf resolves a sample with the newest map
covering its address at its time.  So a dump pruned to those LOADs, for
every sampled address, leaf or caller (`jitperf-dump --prune`,
lib/jd_prune.c), names
every sample exactly as the whole dump does, and inject costs what the
profile needs instead of what the program compiled.  The whole dump stays
beside it as jit-<pid>.dump.all.

jitperf-dump reads the sampled addresses from perf.data itself
(lib/perfdata.c, lib/sampled.c): each sample's ip and call chain and, with
--call-graph dwarf, every word of the copied user stack that points into
the dump's code, so that perf, unwinding after inject, finds the objects of
every JIT caller.  No perf script process (it cost more than perf inject),
and addresses are the raw ones also in dual-mapped code.  A perf.data the
tool cannot read whole leaves the dumps whole.
"""
import os
import re
import subprocess

_DUMP = re.compile(r'^jit-(\d+)\.dump$')
_KEPT = re.compile(r'kept (\d+) of (\d+) LOADs')


def _remove(path):
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def _prune_one(dump_tool, path, data, run):
    """Prune one dump in place; returns ((kept, total), None), or (None, why)
    with the dump as it was and nothing left beside it."""
    whole = path + '.all'
    pruned = False
    try:
        _remove(whole)
        os.link(path, whole)  # the same file: the pruned one replaces path
        res = run([dump_tool, '--prune', data, '-o', path, whole],
                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        counts = _KEPT.search(res.stdout or '')
        if res.returncode != 0 or not counts:
            return None, (res.stderr or '').strip() or 'jitperf-dump failed'
        pruned = True
        return (int(counts.group(1)), int(counts.group(2))), None
    finally:
        if not pruned:
            _remove(whole)


def prune_dumps(dump_tool, dumps, data, run=subprocess.run):
    """Prune each jit-<pid>.dump in dumps to the LOADs the samples of
    perf.data data need, the whole dump kept as jit-<pid>.dump.all.
    Returns (LOADs kept, LOADs in all, notes on dumps left whole)."""
    kept = total = 0
    notes = []
    for path in dumps:
        if not _DUMP.match(os.path.basename(path)):
            continue
        try:
            counts, why = _prune_one(dump_tool, path, data, run)
        except OSError as e:  # a full or read-only disk: inject takes the whole dump
            counts, why = None, e.strerror or str(e)
        if counts is None:
            notes.append('%s: kept whole (%s)' % (path, why))
            continue
        kept += counts[0]
        total += counts[1]
    return kept, total, notes


def main(argv=None):
    """python3 -m jitperf.prune --dump-tool JITPERF_DUMP perf.data DUMP...:
    what jitperf-run does before perf inject, for a recording made by hand."""
    import argparse
    import sys

    ap = argparse.ArgumentParser(prog='python3 -m jitperf.prune', description=main.__doc__.split(':', 1)[1])
    ap.add_argument('--perf', default='perf', help='ignored (the samples are read without perf)')
    ap.add_argument('--dump-tool', default='jitperf-dump')
    ap.add_argument('data')
    ap.add_argument('dumps', nargs='+')
    args = ap.parse_args(argv)
    kept, total, notes = prune_dumps(args.dump_tool, args.dumps, args.data)
    for note in notes:
        sys.stderr.write(note + '\n')
    print('kept %d of %d LOADs; %d dump(s) left whole' % (kept, total, len(notes)))
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
