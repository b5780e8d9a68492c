# jitperf-flamegraph.py - perf script handler (perf script -s) that writes a self-contained HTML flame graph with JIT frames marked, plus folded stacks.
#
#   perf script -i perf.data -s jitperf-flamegraph.py -- --output-dir DIR \
#       [--template d3-flamegraph-base.html] [--title TEXT] [--context FILE] \
#       [--skip PID:COMM]...
#
# DIR/stacks.folded: one line per distinct stack, "comm;root;...;leaf count",
# with the suffixes flamegraph.pl and inferno understand: _[j] for JIT code,
# _[k] for the kernel.
# DIR/flamegraph.html (with --template): the d3-flame-graph "base" template
# that perf's own `perf script report flamegraph` uses, filled with the
# stacks.  Frames carry a library type the template's default palette colours:
# "jit" green, "kernel" orange, anything else red (yellow for C++ names).  The
# page holds its JavaScript inline, so it works offline and can be mailed.
#
# Runs inside perf's embedded Python 3; standard library only.
import argparse
import html
import json
import os
import re
import sys

JITTED = re.compile(r'(^|/)jitted-\d+-\d+\.so$')
PERF_MAP = re.compile(r'(^|/)perf-\d+\.map$')
ANON = re.compile(r'^(//anon|\[anon:|/?memfd:|\[heap\]$|\[unknown\]$|\[JIT\] tid )')


def parse_args():
    p = argparse.ArgumentParser(prog='jitperf-flamegraph.py')
    p.add_argument('--output-dir', required=True)
    p.add_argument('--template')
    p.add_argument('--title', default='')
    p.add_argument('--context', help='text file shown behind the Context button')
    p.add_argument('--skip', action='append', default=[],
                   help='PID:COMM - leave out samples of this pid while it has this comm')
    return p.parse_args()


ARGS = parse_args()
SKIP = set()
for item in ARGS.skip:
    pid, _, comm = item.partition(':')
    SKIP.add((int(pid), comm))


class Node:
    __slots__ = ('name', 'libtype', 'value', 'children')

    def __init__(self, name, libtype):
        self.name = name
        self.libtype = libtype
        self.value = 0
        self.children = {}

    def child(self, name, libtype):
        key = (name, libtype)
        node = self.children.get(key)
        if node is None:
            node = self.children[key] = Node(name, libtype)
        return node

    def to_json(self):
        return {'n': self.name, 'l': self.libtype, 'v': self.value,
                'c': [c.to_json() for c in self.children.values()]}


ROOT = Node('all', 'root')
FOLDED = {}
COUNTS = {'samples': 0, 'jit': 0}


def frame(name, dso):
    """(label, libtype) of one frame."""
    dso = dso or ''
    if JITTED.search(dso) or PERF_MAP.search(dso) or ANON.match(dso):
        return name or '[unknown]', 'jit'
    if dso == '[kernel.kallsyms]' or dso.endswith('/vmlinux') or dso.startswith('[kernel'):
        return name or '[unknown]', 'kernel'
    return name or '[unknown]', 'user'


def process_event(event):
    sample = event.get('sample', {})
    pid = sample.get('pid', 0)
    comm = event.get('comm', '?')
    if (pid, comm) in SKIP:
        return
    frames = []
    chain = event.get('callchain')
    if chain:
        for entry in reversed(chain):  # perf gives leaf first
            name = entry.get('sym', {}).get('name')
            dso = entry.get('dso')
            # a frame-pointer walk often ends in a garbage return address
            # past the outermost frame: drop unresolved roots
            if not frames and name is None and dso is None:
                continue
            frames.append(frame(name, dso))
    else:
        frames.append(frame(event.get('symbol'), event.get('dso')))
    if not frames:
        frames.append(('[unknown]', 'user'))

    COUNTS['samples'] += 1
    if frames[-1][1] == 'jit':
        COUNTS['jit'] += 1
    node = ROOT.child('%s (%d)' % (comm, pid), 'user' if pid else 'kernel')
    for name, libtype in frames:
        node = node.child(name, libtype)
    node.value += 1

    suffix = {'jit': '_[j]', 'kernel': '_[k]'}
    key = ';'.join([comm.replace(';', ':').replace(' ', '_')] +
                   [n.replace(';', ':') + suffix.get(t, '') for n, t in frames])
    FOLDED[key] = FOLDED.get(key, 0) + 1


def script_json(obj):
    # inside <script>: no "</" that could close it, ASCII only
    return json.dumps(obj, ensure_ascii=True, separators=(',', ':')).replace('</', '<\\/')


def write_html(path):
    with open(ARGS.template, encoding='utf-8') as f:
        page = f.read()
    context = ''
    if ARGS.context:
        try:
            with open(ARGS.context, encoding='utf-8', errors='replace') as f:
                context = f.read()
        except OSError:
            pass
    # any colour scheme other than "blue-green" selects the template's default
    # palette, which colours frames by library type
    options = {'colorscheme': 'libtype', 'context': context or 'No summary.'}
    if '/** @flamegraph_json **/' not in page:
        raise SystemExit('%s is not a d3-flamegraph base template' % ARGS.template)
    page = page.replace('/** @options_json **/', script_json(options))
    page = page.replace('/** @flamegraph_json **/', script_json(ROOT.to_json()))
    title = html.escape(ARGS.title or 'profile')
    page = page.replace('<title>Flame Graph</title>',
                        '<title>jitperf: %s</title>' % title, 1)
    share = 100.0 * COUNTS['jit'] / COUNTS['samples'] if COUNTS['samples'] else 0.0
    header = (
        '<div id="jitperf-header" style="font-family: Verdana, sans-serif; font-size: 13px; '
        'margin: 8px 30px">'
        '<div style="font-size: 17px; margin-bottom: 4px"><b>jitperf</b> flame graph of '
        '<code>%s</code></div>'
        '%d samples, %.1f%% of them in JIT code. '
        '<span style="background: rgb(80,228,80); padding: 0 6px">JIT code</span> '
        '<span style="background: rgb(222,122,0); padding: 0 6px">kernel</span> '
        '<span style="background: rgb(227,90,90); padding: 0 6px">other code</span> '
        '&nbsp; Click a frame to zoom in; Search highlights matches (regular expression); '
        'Context shows the run\'s summary.</div>\n'
    ) % (title, COUNTS['samples'], share)
    page = page.replace('<div id="controls">', header + '<div id="controls">', 1)
    tmp = path + '.tmp'
    with open(tmp, 'w', encoding='utf-8') as f:
        f.write(page)
    os.replace(tmp, path)


def trace_end():
    folded = os.path.join(ARGS.output_dir, 'stacks.folded')
    with open(folded + '.tmp', 'w', encoding='utf-8') as f:
        for key in sorted(FOLDED):
            f.write('%s %d\n' % (key, FOLDED[key]))
    os.replace(folded + '.tmp', folded)
    if ARGS.template:
        write_html(os.path.join(ARGS.output_dir, 'flamegraph.html'))
    print('%d samples, %d in JIT code' % (COUNTS['samples'], COUNTS['jit']), file=sys.stderr)
