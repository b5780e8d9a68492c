"""The runtimes' own names, switched on through the program's environment (jitperf-run's default; --no-runtime-names: off).

Many runtimes write their function names to /tmp/perf-<pid>.map when asked
(facts: ../shared/docs/runtime-names.md).  jitperf-run asks through the
environment, so the user's command line stays as it is, and libjitperf.so's
capture stays underneath: code bytes, exact times, and code the runtime does
not list.  Continuously written maps are merged by libjitperf.so while the
program runs; maps written at exit are applied afterwards
(jitperf.runtime_maps).

Rules, for each runtime:
- never break a program: a runtime that refuses an unknown option gets a
  switch only when every copy of it found here supports the switch (its
  version read from its files where that is cheap: the JDK's `release`,
  OTP's `OTP_VERSION`, the option's text in mono's, beam's and qemu's
  binaries; `node --version` otherwise, about 20 ms);
- a variable the user set is extended, never replaced; a user who set the
  same switch (in the variable, another variable the runtime reads, or the
  program's own arguments) is left alone, whatever the value;
- never a second jit-<pid>.dump: map modes only (V8's --perf-basic-prof-*, not
  --perf-prof; BEAM's `map`, not `dump`; .NET's 3, not 1 or 2);
- Ruby's YJIT is not switched on: --yjit changes how Ruby runs, so it is
  the user's choice (RUBYOPT='--yjit --yjit-perf' by hand);
- LuaJIT has no switch: LUA_INIT gets a chunk that writes the map
  (jitperf.luajit_init); a LUA_INIT of the user's runs after it, as luajit
  would run it.
"""
import dataclasses
import glob
import mmap
import os
import re
import shlex
import shutil
import subprocess

from jitperf import luajit_init

# Flags whose presence means the user chose a runtime's names themselves.
_NODE_USER = re.compile(r'^--(no-)?perf[-_](basic[-_])?prof')
# --perf-basic-prof-only-functions, not --perf-basic-prof: the latter also
# turns on V8's logger, which leaves an isolate-*-v8.log in the program's
# working directory at every start (node 20; checked).  Stubs and regexp
# code, which only the latter lists, keep jitperf's names.
NODE_FLAGS = '--perf-basic-prof-only-functions'
# Interpreted JS frames run in per-function copies of the interpreter entry:
# named, in JIT memory.  In NODE_OPTIONS' allow-list since node 12.x.
NODE_INTERPRETED = '--interpreted-frames-native-stack'
JAVA_FLAGS = '-XX:+UnlockDiagnosticVMOptions -XX:+DumpPerfMapAtExit'
JAVA_IGNORE = '-XX:+IgnoreUnrecognizedVMOptions'
JAVA_FRAMES = '-XX:+PreserveFramePointer'
MONO_FLAGS = '--jitmap'
MONO_FRAMES = 'disable_omit_fp'
ERL_FLAGS = '+JPperf map'
VERSION_TIMEOUT = 5


@dataclasses.dataclass
class Decision:
    """What was done for one runtime: var set to value (None: left alone),
    and why, for the summary."""
    runtime: str
    var: str
    value: str = None
    added: str = ''
    note: str = ''
    names: bool = True   # False: not a name switch (HotSpot's frame pointers)

    @property
    def on(self):
        return self.value is not None

    def skip(self, note):
        """Not switched on, and why."""
        self.note = note
        return self

    def left_alone(self, who):
        return self.skip('set by you (%s): left alone' % who)

    def switch(self, value, added, note=''):
        self.value, self.added, self.note = value, added, note
        return self


class Probe:
    """Finding a runtime's programs and their versions; tests swap it."""

    def __init__(self, env, program=(), program_path=None):
        self.env = env
        self.program = list(program)
        self.program_path = program_path
        self._versions = {}

    def find(self, names):
        """Real paths of the programs called one of names: the program
        being run, then those on PATH, each once."""
        found = []
        if self.program_path and os.path.basename(self.program[0] if self.program else '') in names:
            found.append(os.path.realpath(self.program_path))
        for name in names:
            path = shutil.which(name, path=self.env.get('PATH', os.defpath))
            if path:
                found.append(os.path.realpath(path))
        return list(dict.fromkeys(found))

    def program_args(self, names):
        """The program's arguments when the program is one of names."""
        if self.program and os.path.basename(self.program[0]) in names:
            return self.program[1:]
        return []

    @staticmethod
    def read(path):
        try:
            with open(path, encoding='utf-8', errors='replace') as f:
                return f.read()
        except OSError:
            return None

    @staticmethod
    def glob(pattern):
        return sorted(glob.glob(pattern))

    @staticmethod
    def contains(path, needle):
        """Does the file hold these bytes?  (mono-sgen: 5 MB, a few ms.)"""
        try:
            with open(path, 'rb') as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as m:
                return m.find(needle) >= 0
        except (OSError, ValueError):
            return False

    def version_output(self, path):
        """PROGRAM --version's first line ('' when it fails)."""
        if path not in self._versions:
            try:
                r = subprocess.run([path, '--version'], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, timeout=VERSION_TIMEOUT, encoding='utf-8',
                                   errors='replace', env=_clean_env(self.env))
                self._versions[path] = (r.stdout or '').strip().split('\n')[0]
            except (OSError, subprocess.SubprocessError):
                self._versions[path] = ''
        return self._versions[path]


def _clean_env(env):
    """The environment for a version probe: without what could make the
    probe itself fail or write files (our own switches are not set yet;
    the user's NODE_OPTIONS could be anything)."""
    return {k: v for k, v in env.items() if k not in ('NODE_OPTIONS', 'LD_PRELOAD')}


def version_tuple(text):
    """(major, minor, patch) of the first dotted number in text, or None."""
    m = re.search(r'(\d+)(?:\.(\d+))?(?:\.(\d+))?', text or '')
    if not m:
        return None
    return tuple(int(g or 0) for g in m.groups())


def extend(env, var, words):
    """The user's value with words after it (theirs come first; for
    options read in order, the user's own later setting still wins)."""
    old = env.get(var, '')
    return (old.rstrip() + ' ' + words) if old.strip() else words


def _words(text):
    try:
        return shlex.split(text or '')
    except ValueError:
        return (text or '').split()


def _user_said(probe, variables, pattern, names):
    """The user set this switch: in one of variables, or in the program's
    own arguments."""
    for var in variables:
        if any(pattern(w) for w in _words(probe.env.get(var))):
            return var
    if any(pattern(w) for w in probe.program_args(names)):
        return 'the command line'
    return None


# ---- one function per runtime ---------------------------------------------------

NODE_NAMES = ('node', 'nodejs')


def node(probe):
    d = Decision('node', 'NODE_OPTIONS')
    who = _user_said(probe, ['NODE_OPTIONS'], lambda w: bool(_NODE_USER.match(w)), NODE_NAMES)
    if who:
        return d.left_alone(who)
    nodes = probe.find(NODE_NAMES)
    if not nodes:
        return d.skip('not found')
    versions = [version_tuple(probe.version_output(p)) for p in nodes]
    if None in versions or min(versions) < (12, 20):
        return d.skip('a node older than 12.20 (or of unknown version) is installed: '
                      'its NODE_OPTIONS may not allow the flags')
    words = NODE_FLAGS + ' ' + NODE_INTERPRETED
    return d.switch(extend(probe.env, d.var, words), words, 'node ' + ', '.join('.'.join(map(str, v)) for v in versions))


JAVA_VARS = ('JAVA_TOOL_OPTIONS', 'JDK_JAVA_OPTIONS', '_JAVA_OPTIONS')


def jdk_version(probe, java):
    """JAVA_VERSION from the JDK's release file (no JVM start: `java
    -version` takes 100 ms or more)."""
    home = os.path.dirname(os.path.dirname(java))
    text = probe.read(os.path.join(home, 'release'))
    m = re.search(r'^JAVA_VERSION="([^"]*)"', text or '', re.M)
    if not m:
        return None
    v = version_tuple(m.group(1))
    return (v[1],) + v[2:] + (0,) if v and v[0] == 1 else v  # 1.8.0 is 8


def _javas(probe):
    """Every java a program could start: the program, PATH, JAVA_HOME,
    /usr/lib/jvm (a script or a build tool may pick any of them)."""
    javas = probe.find(('java',))
    home = probe.env.get('JAVA_HOME')
    if home and os.path.isfile(os.path.join(home, 'bin', 'java')):
        javas.append(os.path.realpath(os.path.join(home, 'bin', 'java')))
    javas += [os.path.realpath(p) for p in probe.glob('/usr/lib/jvm/*/bin/java')]
    return list(dict.fromkeys(javas))


def _java_versions(probe, d, flag):
    """The versions of every java, or None when d is settled already: the
    user set flag (d left alone), or no java (d skipped)."""
    who = _user_said(probe, JAVA_VARS, lambda w: flag in w, ('java',))
    if who:
        d.left_alone(who)
        return None
    javas = _javas(probe)
    if not javas:
        d.skip('not found')
        return None
    return [jdk_version(probe, j) for j in javas]


def hotspot(probe):
    d = Decision('HotSpot', 'JAVA_TOOL_OPTIONS')
    versions = _java_versions(probe, d, 'DumpPerfMapAtExit')
    if versions is None:
        return d
    known = [v for v in versions if v]
    if not known or max(known) < (17,):
        return d.skip('no JDK 17 or later (-XX:+DumpPerfMapAtExit came with 17)')
    words = JAVA_FLAGS
    if len(known) < len(versions) or min(known) < (17,):
        # an older JVM would refuse to start on the unknown flag
        words += ' ' + JAVA_IGNORE
    return d.switch(extend(probe.env, d.var, words), words, 'JDK ' + ', '.join('.'.join(map(str, v[:2])) if v else '?' for v in versions))


def hotspot_frames(probe):
    """-XX:+PreserveFramePointer, asked for only when call graphs are
    recorded: C1/C2 code then keeps rbp frames, so --call-graph fp unwinds
    through it, and --call-graph dwarf too where jitperf has no room to
    write unwinding data after a method (HotSpot puts the next method
    right after it).  The price is a few % on compiled code (rbp is not
    a free register any more), hence not without call graphs."""
    d = Decision('HotSpot frames', 'JAVA_TOOL_OPTIONS', names=False)
    versions = _java_versions(probe, d, 'PreserveFramePointer')
    if versions is None:
        return d
    words = JAVA_FRAMES
    # a product flag from 8u60; jdk_version reads 1.8.0_NNN as (8, 0, 0),
    # so any 8 (or an unknown JDK) gets the flag ignored if unknown
    if any(v is None or v < (9,) for v in versions):
        words += ' ' + JAVA_IGNORE
    return d.switch(extend(probe.env, d.var, words), words, 'for call graphs through compiled Java code')


MONO_NAMES = ('mono', 'mono-sgen')


def mono(probe):
    d = Decision('Mono', 'MONO_ENV_OPTIONS')
    who = _user_said(probe, ['MONO_ENV_OPTIONS'], lambda w: w.startswith(('--jitmap', '--jitdump')), MONO_NAMES)
    if who:
        return d.left_alone(who)
    if not _monos_know(probe, d, MONO_FLAGS, MONO_FLAGS):
        return d
    return d.switch(extend(probe.env, d.var, MONO_FLAGS), MONO_FLAGS)


def _monos_know(probe, d, option, shown):
    """Does every mono found know option?  If not, d is skipped with why.
    mono exits 1 on an option it does not know (in MONO_ENV_OPTIONS and
    MONO_DEBUG alike): look for the option's text in the runtime (the
    binary, or the library it is a launcher for)."""
    monos = probe.find(MONO_NAMES)
    if not monos:
        d.skip('not found')
        return False
    for m in monos:
        libs = probe.glob(os.path.join(os.path.dirname(m), '..', 'lib', 'libmonosgen-2.0.so*'))
        if not any(probe.contains(p, option.encode() + b'\0') for p in [m] + libs):
            d.skip('%s does not know %s' % (m, shown))
            return False
    return True


def mono_frames(probe):
    """MONO_DEBUG=disable_omit_fp, asked for only when call graphs are
    recorded: Mono's JIT otherwise leaves rbp free in most methods, and it
    packs methods too tightly for the unwinding data perf maps after each
    (tests/e2e/unwind_runtimes_run.sh: 1 % of --call-graph dwarf stacks
    complete without it, 91-97 % with it).  --call-graph fp still stops in
    mono-sgen, built without frame pointers.  MONO_DEBUG is a list of
    comma-separated options; the user's come first."""
    d = Decision('Mono frames', 'MONO_DEBUG', names=False)
    if any(w.strip() == MONO_FRAMES for w in probe.env.get('MONO_DEBUG', '').split(',')):
        return d.left_alone('MONO_DEBUG')
    if not _monos_know(probe, d, MONO_FRAMES, 'MONO_DEBUG=' + MONO_FRAMES):
        return d
    old = probe.env.get('MONO_DEBUG', '').strip().strip(',')
    value = old + ',' + MONO_FRAMES if old else MONO_FRAMES
    return d.switch(value, MONO_FRAMES, 'for call graphs through JIT code')


ERL_NAMES = ('erl', 'erlc', 'escript')
ERL_VARS = ('ERL_AFLAGS', 'ERL_FLAGS', 'ERL_ZFLAGS')


def otp(probe, erl):
    """(OTP version, JIT build?) of the installation erl belongs to."""
    root = os.path.dirname(os.path.dirname(erl))
    versions = [version_tuple(probe.read(p)) for p in probe.glob(os.path.join(root, 'releases', '*', 'OTP_VERSION'))]
    versions = [v for v in versions if v]
    # only the JIT writes perf maps; an emulator build refuses +JP
    jit = any(probe.contains(b, b'perf-%i.map') for b in probe.glob(os.path.join(root, 'erts-*', 'bin', 'beam.smp')))
    return (max(versions) if versions else None), jit


def erlang(probe):
    d = Decision('Erlang', 'ERL_AFLAGS')
    who = _user_said(probe, ERL_VARS, lambda w: w.startswith('+JP'), ('erl',))
    if who:
        return d.left_alone(who)
    erls = probe.find(ERL_NAMES)
    if not erls:
        return d.skip('not found')
    roots = dict.fromkeys(os.path.dirname(os.path.dirname(e)) for e in erls)
    found = [otp(probe, os.path.join(r, 'bin', 'erl')) for r in roots]
    for version, jit in found:
        # OTP 24 knows only +JPperf true, which also writes a jitdump
        if not version or version < (25,) or not jit:
            return d.skip('an OTP older than 25 or without its JIT is installed (+JPperf map came with 25)')
    return d.switch(extend(probe.env, d.var, ERL_FLAGS), ERL_FLAGS, 'OTP ' + ', '.join('.'.join(map(str, v)) for v, _ in found))


def cpython(probe):
    d = Decision('CPython', 'PYTHONPERFSUPPORT')
    if 'PYTHONPERFSUPPORT' in probe.env:
        return d.skip('set by you: left alone')
    if any(w == 'perf' or w.startswith('perf') for w in _xopts(probe.program_args(PYTHON_NAMES))):
        return d.skip('set by you (-X perf): left alone')
    # Older Pythons ignore the variable: no version check needed (and a
    # pyenv shim takes most of a second to say its version).
    return d.switch('1', '1', 'used by CPython 3.12 and later')


PYTHON_NAMES = ('python3', 'python', 'python3.12', 'python3.13', 'python3.14', 'python3.15')


def _xopts(args):
    out = []
    for i, a in enumerate(args):
        if a == '-X' and i + 1 < len(args):
            out.append(args[i + 1])
        elif a.startswith('-X') and len(a) > 2:
            out.append(a[2:])
    return out


def dotnet(probe):
    d = Decision('.NET', 'DOTNET_PerfMapEnabled')
    for var in ('DOTNET_PerfMapEnabled', 'COMPlus_PerfMapEnabled'):
        if var in probe.env:
            return d.left_alone(var)
    roots = [os.path.dirname(p) for p in probe.find(('dotnet',))]
    if probe.env.get('DOTNET_ROOT'):
        roots.append(probe.env['DOTNET_ROOT'])
    versions = []
    for root in dict.fromkeys(roots):
        versions += [version_tuple(os.path.basename(p))
                     for p in probe.glob(os.path.join(root, 'shared', 'Microsoft.NETCore.App', '*'))]
    versions = [v for v in versions if v]
    if not versions:
        return d.skip('not found')
    # 3 means "map only" from .NET 8; before, any non-zero value also
    # wrote /tmp/jit-<pid>.dump, a second dump for the process
    if min(versions) < (8,):
        return d.skip('a .NET older than 8 is installed (PerfMapEnabled=3 means "map only" from 8)')
    return d.switch('3', '3', '.NET ' + ', '.join('.'.join(map(str, v)) for v in versions))


def qemu(probe):
    d = Decision('QEMU', 'QEMU_PERFMAP')
    if 'QEMU_PERFMAP' in probe.env or 'QEMU_JITDUMP' in probe.env:
        return d.skip('set by you: left alone')
    progs = []
    if probe.program and os.path.basename(probe.program[0]).startswith('qemu-') and probe.program_path:
        progs.append(os.path.realpath(probe.program_path))
        if any(a in ('-perfmap', '-jitdump') for a in probe.program[1:]):
            return d.skip('set by you (the command line): left alone')
    progs += probe.find(('qemu-x86_64',))
    progs = list(dict.fromkeys(progs))
    if not progs:
        return d.skip('not found')
    # QEMU 8 and later read the variable; its name in the binary says so
    # without running it.  Older ones ignore it anyway.
    for p in progs:
        if not probe.contains(p, b'QEMU_PERFMAP'):
            return d.skip('%s predates QEMU 8 (no user-mode perf map)' % p)
    return d.switch('1', '1')


def _luajit_ignores_env(args):
    """luajit -E: LUA_INIT is not read.  Options end at the script, "-"
    or "--"; -e, -l and -j take the next word when nothing is attached."""
    i = 0
    while i < len(args):
        a = args[i]
        if a == '-E':
            return True
        if a in ('--', '-') or not a.startswith('-') or a.startswith('-b'):
            return False
        if a in ('-e', '-l', '-j'):
            i += 1
        i += 1
    return False


def luajit(probe):
    """No switch in LuaJIT: the standalone luajit runs LUA_INIT before the
    script, and the chunk there names each trace in the map as it is made
    (jitperf.luajit_init; PUC Lua, which reads LUA_INIT too, skips it).  Set
    whenever a luajit is found, the program or on PATH, as a script or a
    child may start it; no version check (jit.attach and jit.util are in
    every LuaJIT 2, and the chunk checks for them)."""
    d = Decision('LuaJIT', 'LUA_INIT')
    found = probe.find(('luajit',))
    name = os.path.basename(probe.program[0]) if probe.program else ''
    if name.startswith('luajit') and probe.program_path:
        found.append(os.path.realpath(probe.program_path))
        if _luajit_ignores_env(probe.program[1:]):
            return d.skip('luajit -E ignores LUA_INIT')
    if not found:
        return d.skip('not found')
    user = probe.env.get('LUA_INIT')
    note = 'a chunk that writes the map; yours runs after it' if user is not None else 'a chunk that writes the map'
    return d.switch(luajit_init.chunk(user), luajit_init.chunk(), note)


RUNTIMES = (node, hotspot, mono, erlang, cpython, dotnet, qemu, luajit)


def plan(env, program=(), program_path=None, probe=None, call_graph='none'):
    """One Decision per runtime, in a fixed order; with call graphs
    (fp or dwarf) also HotSpot's and Mono's frame pointers."""
    probe = probe or Probe(env, program, program_path)
    decisions = [f(probe) for f in RUNTIMES]
    if call_graph.split(',')[0] in ('fp', 'dwarf'):
        decisions += [hotspot_frames(probe), mono_frames(probe)]
    return decisions


def environment(decisions):
    """The variables to set for the program.  Two decisions on one
    variable (HotSpot's names and frames): the second's words go after
    the first's value, without repeating a word."""
    env = {}
    for d in decisions:
        if not d.on:
            continue
        if d.var not in env:
            env[d.var] = d.value
            continue
        have = _words(env[d.var])
        new = [w for w in _words(d.added) if w not in have]
        if new:
            env[d.var] += ' ' + ' '.join(new)
    return env


def summary_lines(decisions):
    """What the summary says: the switches set, then the runtimes found but
    not switched on, and why."""
    lines, seen = [], set()
    for d in decisions:
        if d.on:
            # a second switch in the same variable: only its own words
            said = '%s += %s' % (d.var, shlex.quote(d.added)) if d.var in seen else '%s=%s' % (d.var, shlex.quote(d.value))
            lines.append(said + (' (%s)' % d.note if d.note else ''))
            seen.add(d.var)
    lines += ['%s: %s' % (d.runtime, d.note) for d in decisions if not d.on and d.note != 'not found']
    return lines


def main(argv=None):
    """python3 -m jitperf.runtimes [-- PROGRAM ARGS...]: the variables
    jitperf-run would set for PROGRAM, one VAR=VALUE a line (stdout); why
    the others are not set (stderr)."""
    import sys

    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ['--']:
        argv = argv[1:]
    path = shutil.which(argv[0]) if argv else None
    decisions = plan(os.environ, argv, path)
    for var, value in environment(decisions).items():
        print('%s=%s' % (var, value))
    for d in decisions:
        if not d.on:
            sys.stderr.write('%s: %s\n' % (d.runtime, d.note))
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
