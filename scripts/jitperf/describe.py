"""Describe after the run the code libjitperf.so recorded.

Describing code (cutting it into pieces, naming them, building their
unwinding data) is most of what the shim costs a program: on BEAM, which
loads 3 MB of code at start-up, a tenth of a short run's CPU.  jitperf-run
therefore runs the program with JITPERF_DESCRIBE=after: the shim records
what each capture pass read into the dump (lib/deferlog.h), and
`jitperf-dump --describe` (lib/jd_describe.c) replays that record through
the same steps here, after the run and out of the program, writing the
LOADs the program would have written.
"""
import os
import re
import subprocess
import time

_DUMP = re.compile(r'^jit-(\d+)\.dump$')
_DONE = re.compile(r'described (\d+) bytes in (\d+) steps: (\d+) LOADs')


def settings(dump_tool, environ):
    """JITPERF_DESCRIBE=after when the dumps can be described afterwards
    (jitperf-dump found) and the user chose nothing else."""
    if not dump_tool or 'JITPERF_DESCRIBE' in environ:
        return {}
    return {'JITPERF_DESCRIBE': 'after'}


def describe_dumps(dump_tool, dumps, run=subprocess.run):
    """Describe each jit-<pid>.dump in place.  Returns (bytes described,
    LOADs written, seconds, notes on dumps that could not be)."""
    described = loads = 0
    notes = []
    started = time.monotonic()
    for path in dumps:
        if not _DUMP.match(os.path.basename(path)):
            continue
        try:
            res = run([dump_tool, '--describe', '-o', path, path],
                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        except OSError as e:
            notes.append('%s: not described (%s)' % (path, e.strerror or e))
            continue
        if res.returncode != 0:
            notes.append('%s: not described (%s)' % (path, (res.stderr or '').strip() or 'jitperf-dump failed'))
            continue
        done = _DONE.search(res.stdout or '')
        if done:
            described += int(done.group(1))
            loads += int(done.group(3))
    return described, loads, time.monotonic() - started, notes
