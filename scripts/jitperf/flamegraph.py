"""The flame graph of a run: a stack tree fed by the report's pass, written as folded stacks and as a self-contained HTML page with JIT frames marked.

stacks.folded: one line per distinct stack, "comm;root;...;leaf count", with
the suffixes flamegraph.pl and inferno understand: _[j] for JIT code, _[k]
for the kernel.  flamegraph.html: the d3-flame-graph "base" template that
perf's own `perf script report flamegraph` uses, filled with the stacks.
Frames carry a library type the template's default palette colours: "jit"
green, "kernel" orange, anything else red (yellow for C++ names).  The page
holds its JavaScript inline, so it works offline and can be mailed.
"""
import html
import json
import os

from jitperf import classify as jit

TEMPLATE_PLACES = ('/usr/share/d3-flame-graph/d3-flamegraph-base.html',
                   '/usr/local/share/d3-flame-graph/d3-flamegraph-base.html')
_SUFFIX = {'jit': '_[j]', 'kernel': '_[k]'}


def find_template(env):
    for path in [env.get('JITPERF_FLAMEGRAPH_TEMPLATE', '')] + list(TEMPLATE_PLACES):
        if path and os.path.isfile(path):
            return path
    return None


def libtype(frame):
    if frame.kind != jit.OTHER:
        return 'jit'
    if jit.is_kernel(frame.ip, frame.dso):
        return 'kernel'
    return 'user'


class Node:
    __slots__ = ('name', 'libtype', 'value', 'children')

    def __init__(self, name, libtype_):
        self.name = name
        self.libtype = libtype_
        self.value = 0
        self.children = {}

    def child(self, name, libtype_):
        key = (name, libtype_)
        node = self.children.get(key)
        if node is None:
            node = self.children[key] = Node(name, libtype_)
        return node

    def to_json(self):
        return {'n': self.name, 'l': self.libtype, 'v': self.value,
                'c': [c.to_json() for c in self.children.values()]}


class StackTree:
    """Consumer of the report's pass: every sample's call chain, root first."""

    def __init__(self):
        self.root = Node('all', 'root')
        self.folded = {}
        self.samples = 0
        self.jit = 0

    def add(self, sample):
        frames = stack_of(sample.frames)
        self.samples += 1
        if frames[-1][1] == 'jit':
            self.jit += 1
        node = self.root.child('%s (%d)' % (sample.comm, sample.pid),
                               'user' if sample.pid else 'kernel')
        for name, lt in frames:
            node = node.child(name, lt)
        node.value += 1
        key = ';'.join([sample.comm.replace(';', ':').replace(' ', '_')] +
                       [n.replace(';', ':') + _SUFFIX.get(t, '') for n, t in frames])
        self.folded[key] = self.folded.get(key, 0) + 1


def stack_of(frames):
    """[(label, libtype)] root first.  A frame-pointer walk often ends in a
    garbage return address past the outermost frame: unresolved roots go
    (never the leaf, which the summary counts too)."""
    out = []
    for f in reversed(frames[1:]):
        if not out and f.sym == jit.UNKNOWN and f.dso == jit.UNKNOWN:
            continue
        out.append((f.sym, libtype(f)))
    out.append((frames[0].sym, libtype(frames[0])))
    return out


def write_folded(tree, path):
    with open(path + '.tmp', 'w', encoding='utf-8') as f:
        for key in sorted(tree.folded):
            f.write('%s %d\n' % (key, tree.folded[key]))
    os.replace(path + '.tmp', path)


def script_json(obj):
    # inside <script>: no "</" that could close it, ASCII only
    return json.dumps(obj, ensure_ascii=True, separators=(',', ':')).replace('</', '<\\/')


def write_html(tree, path, template, title, context):
    with open(template, encoding='utf-8') as f:
        page = f.read()
    if '/** @flamegraph_json **/' not in page:
        raise ValueError('%s is not a d3-flamegraph base template' % template)
    # any colour scheme other than "blue-green" selects the template's
    # default palette, which colours frames by library type
    options = {'colorscheme': 'libtype', 'context': context or 'No summary.'}
    page = page.replace('/** @options_json **/', script_json(options))
    page = page.replace('/** @flamegraph_json **/', script_json(tree.root.to_json()))
    title = html.escape(title or 'profile')
    page = page.replace('<title>Flame Graph</title>', '<title>jitperf: %s</title>' % title, 1)
    page = page.replace('<div id="controls">', _header(tree, title) + '<div id="controls">', 1)
    with open(path + '.tmp', 'w', encoding='utf-8') as f:
        f.write(page)
    os.replace(path + '.tmp', path)


def _header(tree, title):
    share = 100.0 * tree.jit / tree.samples if tree.samples else 0.0
    return (
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
    ) % (title, tree.samples, share)
