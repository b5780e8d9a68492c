"""One pass over a recording: perf script's samples, classified once (jitperf.classify), fed to every consumer that wants them.

The consumers are the summary's tally (Tally), the flame graph's stack tree
(jitperf.flamegraph.StackTree) and the end-to-end tests' table of samples
(SampleTable).  jitperf-run and the tests read a recording only through
here, so they cannot disagree on what is JIT code.

Why perf script's text and not a `perf script -s` handler: on the demo's
recording (8,000 samples with call chains) perf took 1.4-1.9 s to run a
handler that does nothing much, and 0.4-0.6 s to print the text; and the
text needs no perf built with Python.  A new count (samples whose call
chain reaches a thread root, per-name shares for run-to-run stability) is
one more consumer here, not another pass.  The one trap in the text is the dso,
which may hold parentheses ("/memfd:x (deleted)"): it is the last balanced
parenthesis group of a frame's line.

As a program (the tests' harness, tests/lib/capture.sh):

    python3 -m jitperf.report [--skip PID:COMM] [--leaf-only]
        [--samples FILE] [--json] [--perf PERF] [--buildid-dir DIR] perf.data
"""
import argparse
import collections
import contextlib
import functools
import json
import re
import subprocess
import sys

from jitperf import classify as jit

Frame = collections.namedtuple('Frame', 'ip sym symoff dso kind via')
Sample = collections.namedtuple('Sample', 'comm pid tid time_ns frames')

FIELDS = 'comm,pid,tid,time,ip,sym,symoff,dso'
_HEADER = re.compile(r'^\s*(.*?)\s+(\d+)/(\d+)\s+(\d+)\.(\d+):\s*(.*)$')
_SYMOFF = re.compile(r'^(.*)\+(0x[0-9a-f]+)$')
# A sample whose call chain perf printed empty: nothing to call JIT code.
_NO_FRAME = Frame(0, jit.UNKNOWN, None, '', jit.OTHER, None)
# Where every thread's stack begins: a chain that reaches one is complete.
THREAD_ROOTS = frozenset(('_start', '__libc_start_main', '__libc_start_call_main', 'start_thread',
                          'clone', 'clone3', '__clone', '__clone3'))
# Where a green thread's own stack begins.  An Erlang process runs on a
# stack of its own, whose first return address is BEAM's normal_exit: the
# scheduler's native frames are not under it (named so by BEAM's perf map;
# the entry's two symbols, perf picks either at the boundary).
PROCESS_ROOTS = frozenset(('$erts_beamasm:normal_exit/0', '$erts_beamasm:normal_exit/0-CodeInfoPrologue'))


def split_dso(text):
    """(before, dso) of 'sym+0x1 (dso)', dso being the last balanced (...)."""
    text = text.rstrip()
    if not text.endswith(')'):
        return text, jit.UNKNOWN
    start = text.rfind(' (')
    inside = text[start + 2:-1]
    if start >= 0 and '(' not in inside and ')' not in inside:
        return text[:start], inside
    depth = 0
    for i in range(len(text) - 1, -1, -1):
        if text[i] == ')':
            depth += 1
        elif text[i] == '(':
            depth -= 1
            if depth == 0:
                return text[:i].rstrip(), text[i + 1:-1]
    return text, jit.UNKNOWN


def parse_frame(text):
    """A Frame from 'IP SYM[+0xOFF] (DSO)'; None if it is not one."""
    ip_text, _, rest = text.strip().partition(' ')
    try:
        ip = int(ip_text, 16)
    except ValueError:
        return None
    return Frame(ip, *_described(rest, ip >= jit.KERNEL_START))


# A recording repeats the same few thousand frames: each is read and
# classified once (this halves the pass).
@functools.lru_cache(maxsize=1 << 16)
def _described(rest, kernel_address):
    """(sym, symoff, dso, kind, via) of a frame's text after its address."""
    sym, dso = split_dso(rest)
    symoff = None
    m = _SYMOFF.match(sym)
    if m:
        sym, symoff = m.group(1), m.group(2)
    sym = sym or jit.UNKNOWN
    kind, via = jit.classify(sym, dso, kernel_address)
    return sym, symoff, dso, kind, via


def parse_samples(lines):
    """Samples from perf script -F FIELDS lines, leaf frame first.

    With call chains perf prints a header line, one tab-indented frame a
    line and a blank line; without, the leaf on the header's line."""
    sample = None
    for line in lines:
        if line.startswith('\t'):
            frame = parse_frame(line)
            if sample is not None and frame is not None:
                sample.frames.append(frame)
            continue
        m = _HEADER.match(line)
        if not m:
            continue
        if sample is not None:
            yield _finished(sample)
        comm, pid, tid, sec, frac, rest = m.groups()
        time_ns = int(sec) * 1000000000 + int(frac.ljust(9, '0')[:9])
        sample = Sample(comm, int(pid), int(tid), time_ns, [])
        if rest.strip():
            frame = parse_frame(rest)
            if frame is not None:
                sample.frames.append(frame)
    if sample is not None:
        yield _finished(sample)


def _finished(sample):
    return sample if sample.frames else sample._replace(frames=[_NO_FRAME])


def perf_script_command(perf, data, buildid_dir=None, leaf_only=False):
    cmd = [perf]
    if buildid_dir:
        cmd += ['--buildid-dir', buildid_dir]
    # --no-inline: inline frames would cost an addr2line per frame, and
    # neither the summary nor the flame graph shows them.
    cmd += ['script', '-i', data, '--ns', '--no-inline', '-F', FIELDS]
    if leaf_only:
        cmd.append('-G')
    return cmd


def run_pass(cmd, consumers, skip=(), stderr=None):
    """Feed every sample of `cmd`'s output, except (pid, comm) in skip, to
    each consumer's add(); returns perf script's exit status."""
    skip = set(skip)
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=stderr,
                          encoding='utf-8', errors='replace') as proc:
        for sample in parse_samples(proc.stdout):
            if (sample.pid, sample.comm) in skip:
                continue
            for consumer in consumers:
                consumer.add(sample)
    return proc.returncode


def reaches_root(sample):
    """Does the sample's call chain end in a thread root (its outermost
    frames; perf may add a bogus frame or two past the root), or at the
    bottom of an Erlang process's stack (its last frame)?"""
    return any(f.sym in THREAD_ROOTS for f in sample.frames[-3:]) or sample.frames[-1].sym in PROCESS_ROOTS


class Tally:
    """What the summary counts: samples, JIT samples, named JIT samples,
    samples by the function they landed in (their leaf), and with call
    chains how many JIT-leaf samples, and samples whose chain passes
    through JIT code, have a complete stack (reach a thread root)."""

    def __init__(self):
        self.samples = 0
        self.jit = 0
        self.named = 0
        self.functions = collections.Counter()  # (name, module) -> samples
        self.chains = 0             # samples with more than one frame
        self.jit_complete = 0       # JIT leaf, chain reaches a root
        self.through_jit = 0        # a JIT frame anywhere in the chain
        self.through_jit_complete = 0

    def add(self, sample):
        leaf = sample.frames[0]
        self.samples += 1
        if leaf.kind != jit.OTHER:
            self.jit += 1
        if leaf.kind == jit.NAMED:
            self.named += 1
        self.functions[function_key(leaf)] += 1
        if len(sample.frames) > 1:
            self.chains += 1
        if any(f.kind != jit.OTHER for f in sample.frames):
            complete = reaches_root(sample)
            self.through_jit += 1
            self.through_jit_complete += complete
            self.jit_complete += complete and leaf.kind != jit.OTHER

    def top(self):
        """[(samples, name, module)], most samples first."""
        return sorted(((n, name, mod) for (name, mod), n in self.functions.items()),
                      key=lambda t: (-t[0], t[1], t[2]))

    def to_json(self):
        return {'samples': self.samples, 'jit': self.jit, 'named': self.named,
                'chains': self.chains, 'jit_complete': self.jit_complete,
                'through_jit': self.through_jit, 'through_jit_complete': self.through_jit_complete,
                'functions': [list(t) for t in self.top()]}


def function_key(frame):
    """(name, module) under which the summary lists a leaf frame."""
    if frame.kind == jit.NAMED:
        return frame.sym, '[JIT] (perf map)' if frame.via == jit.VIA_PERF_MAP else '[JIT]'
    if frame.kind == jit.UNNAMED:
        where = '//anon' if jit.jit_source(frame.dso) == jit.VIA_PERF_MAP else frame.dso
        return jit.UNKNOWN, '[JIT, unnamed] ' + where
    return frame.sym, frame.dso.rsplit('/', 1)[-1]


class SampleTable:
    """The tests' table, one line a sample (leaf):
    pid time_ns ip class dso sym symoff, tab-separated; symoff '-' when
    perf printed none; ip as perf printed it (absolute with --leaf-only)."""

    def __init__(self, out):
        self.out = out

    def add(self, sample):
        f = sample.frames[0]
        self.out.write('%d\t%d\t%x\t%s\t%s\t%s\t%s\n' % (
            sample.pid, sample.time_ns, f.ip, f.kind, f.dso or '?', f.sym, f.symoff or '-'))


def parse_skip(text):
    pid, sep, comm = text.partition(':')
    if not sep or not pid.isdigit():
        raise argparse.ArgumentTypeError('PID:COMM, not %r' % text)
    return int(pid), comm


def main(argv=None):
    p = argparse.ArgumentParser(prog='python3 -m jitperf.report',
                                description='Classify the samples of a perf recording as jitperf-run does.')
    p.add_argument('data')
    p.add_argument('--perf', default='perf')
    p.add_argument('--buildid-dir')
    p.add_argument('--skip', type=parse_skip, action='append', default=[],
                   help='leave out the samples of this pid while it has this comm')
    p.add_argument('--leaf-only', action='store_true',
                   help='ignore call chains (absolute leaf addresses)')
    p.add_argument('--samples', help='write the table of samples here')
    p.add_argument('--json', action='store_true', help='print the tally as JSON')
    args = p.parse_args(argv)
    tally = Tally()
    consumers = [tally]
    cmd = perf_script_command(args.perf, args.data, args.buildid_dir, args.leaf_only)
    with contextlib.ExitStack() as files:
        if args.samples:
            consumers.append(SampleTable(files.enter_context(open(args.samples, 'w', encoding='utf-8'))))
        rc = run_pass(cmd, consumers, args.skip)
    if args.json:
        json.dump(tally.to_json(), sys.stdout)
        sys.stdout.write('\n')
    return 1 if rc else 0


if __name__ == '__main__':
    sys.exit(main())
