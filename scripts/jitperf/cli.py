"""jitperf-run's command line: the options, their checks, and the --help text."""
import dataclasses
import re

EX_USAGE = 64  # sysexits.h; the program's own status otherwise
EX_ENV = 69

HELP = """\
Usage: {prog} [options] [--] program [args...]
       {prog} --check [options] [[--] program]

Run PROGRAM under `perf record -k 1` with libjitperf.so preloaded, so that the
machine code it generates at run time gets names; then run `perf inject --jit`,
print a summary (samples in JIT code, how many of them are named, the top
functions) and write an interactive flame graph.  Nothing needs to change in
the program or its JIT.

Output:
  -o, --output DIR      write the run into DIR (created; must be new or empty).
                        Default: a new directory jitperf-<program>-<N> in the
                        current directory; an earlier run is never overwritten.
Recording:
  -F, --freq HZ         sampling frequency (default: perf's, 4000 Hz; or "max")
  -e, --event EVENT     event to sample (default: cycles where the CPU's
                        hardware events are available, else cpu-clock)
      --call-graph MODE fp (the default), dwarf[,SIZE], lbr or none.  Call
                        graphs make the flame graph; fp is cheap, dwarf also
                        unwinds code built without frame pointers (bigger
                        files, slower; perf inject gets the JIT pieces the
                        copied stacks point into, so that perf finds the
                        JIT callers).  With fp or dwarf,
                        HotSpot is asked to keep frame pointers (below).
  -g                    the same as --call-graph fp (as with perf record)
  -R, --record-opts OPTS
                        extra `perf record` options, split at spaces, e.g.
                        -R '--mmap-pages 1024'.  May be repeated.
      --no-inject       stop after perf record: JIT code stays unnamed until
                        you run the printed `perf inject --jit` command
      --all-loads       give perf inject every piece of code in the dumps.
                        Default: only the pieces some sample (its call
                        chain, or with dwarf its copied stack) falls in, which
                        names every sample the same way and makes inject
                        cost what the profile holds, not what the program
                        compiled; the whole dump stays in
                        dumps/jit-<pid>.dump.all
      --perf-map        perf-map mode: libjitperf.so writes /tmp/perf-<pid>.map,
                        read directly by perf report, perf script and other
                        tools; no inject step, no machine code (no annotate)
      --no-runtime-names
                        do not switch on the runtimes' own names (see
                        "Runtime names" below)
      --no-flamegraph   do not write flamegraph.html / stacks.folded
      --lib PATH        libjitperf.so to preload (default: $JITPERF_LIB, else
                        found next to this script)
Reporting:
      --top N           functions listed in the summary (default 10)
  -q, --quiet           print nothing but errors (summary.txt is still written)
  -v, --verbose         show the checks, the perf commands and perf's messages
Checks:
      --check           only diagnose: /dev/null, perf, perf_event_paranoid
                        and your privileges, libjitperf.so, the output
                        directory (a noexec filesystem hides the dump from
                        perf), and the program if given (static or setuid
                        programs ignore LD_PRELOAD).  The same checks run
                        before every run.
      --force           run even when a check fails
  -h, --help            this text

Runtime names:
  Many runtimes name their JIT code themselves when asked; {prog} asks
  through the program's environment, so the command line stays as it is
  (--no-runtime-names: not at all).  A runtime gets a switch only when every
  copy of it installed here supports it; a variable you set is extended,
  never replaced; a switch you set yourself is left alone.
    node 12.20+      NODE_OPTIONS += --perf-basic-prof-only-functions
                     --interpreted-frames-native-stack
    HotSpot 17+      JAVA_TOOL_OPTIONS += -XX:+UnlockDiagnosticVMOptions
                     -XX:+DumpPerfMapAtExit (+ -XX:+IgnoreUnrecognizedVMOptions
                     when an older JVM is installed too)
    HotSpot, with --call-graph fp or dwarf:
                     JAVA_TOOL_OPTIONS += -XX:+PreserveFramePointer, so
                     stacks go through compiled Java code (it may run a
                     few % slower; -XX:-PreserveFramePointer of yours wins)
    Mono             MONO_ENV_OPTIONS += --jitmap
    Mono, with --call-graph fp or dwarf:
                     MONO_DEBUG += disable_omit_fp, so dwarf stacks go
                     through JIT code (it may run a few % slower)
    Erlang/OTP 25+   ERL_AFLAGS += +JPperf map   (JIT builds)
    CPython 3.12+    PYTHONPERFSUPPORT=1
    .NET 8+          DOTNET_PerfMapEnabled=3     (map only, no second dump)
    QEMU user 8+     QEMU_PERFMAP=1
    LuaJIT           LUA_INIT = a chunk naming each trace by where it starts
                     (lua:FILE:LINE root|loop|side|stitch); a LUA_INIT of
                     yours runs after it; the program's own
                     jit.attach(f, "trace"), -jv or -jdump replace it
  Ruby's YJIT is not switched on (RUBYOPT='--yjit --yjit-perf' yourself).
  The runtime writes /tmp/perf-<pid>.map; maps completed only at exit
  (HotSpot, Mono) are applied to the dump after the run.  A copy stays in
  dumps/.  What you may notice: HotSpot prints "Picked up JAVA_TOOL_OPTIONS:
  ..." on stderr; V8 stops compacting its code space; BEAM maps its JIT code
  once, RWX, instead of twice (memory layout); each runtime pays for writing
  its map (see the README for measured costs); the variables reach child
  processes too (npm, javac, ...), which write maps of their own.

Signals:
  Ctrl-C reaches the program as usual; perf keeps recording until the program
  has exited, then inject and the summary run on what was recorded.  SIGTERM
  (and SIGINT or SIGHUP not coming from the terminal) sent to {prog} is
  passed on to the program.  A second signal kills the program (SIGKILL).

Exit status:
  the program's own exit status (128+N when it was killed by signal N; for
  SIGINT, SIGTERM, SIGHUP, SIGPIPE and SIGKILL {prog} then dies of the same
  signal, so that a calling shell script stops too);
  {ex_usage}   usage error (bad option, output directory not new);
  {ex_env}   environment problem (a failed check, perf could not record);
  126  program not executable;  127  program not found.
  When the program returns one of these itself, -v (and run.txt) tell.

Files, in the output directory:
  perf.data         the profile, JIT code named (perf inject --jit applied)
  flamegraph.html   interactive flame graph, self-contained (JIT frames green)
  stacks.folded     the stacks, one line each (flamegraph.pl, inferno, ...)
  summary.txt       the summary printed at the end
  dumps/            jit-<pid>.dump from libjitperf.so (only the sampled
                    pieces; jit-<pid>.dump.all: all of them), jitted-*.so
                    from inject
  buildid/          perf's build-id cache for this run only (--buildid-dir):
                    the program's own objects; the generated jitted-*.so
                    stay in dumps/ and are not cached (inject is faster),
                    so nothing piles up in ~/.debug
  run.txt, *.log    the command, the program's pid and status; perf's words

Environment:
  JITPERF_LIB          libjitperf.so to preload (like --lib)
  JITPERF_BUILD        build directory holding libjitperf.so (source tree)
  JITPERF_FLAMEGRAPH_TEMPLATE
                       d3-flamegraph-base.html (default:
                       /usr/share/d3-flame-graph/d3-flamegraph-base.html,
                       installed by scripts/setup-deps)
  JITPERF_*            passed on to libjitperf.so; {prog} sets JITPERF_DIR
                       to DIR/dumps (and JITPERF_PERFMAP=1 with --perf-map)
                       and JITPERF_DESCRIBE=after: the program only records
                       the code it reads, and {prog} describes it once the
                       program has ended (jitperf-dump --describe), out of
                       the program's CPU; JITPERF_DESCRIBE=now in the
                       environment describes in the program instead
  NODE_OPTIONS, JAVA_TOOL_OPTIONS, MONO_ENV_OPTIONS, ERL_AFLAGS,
  PYTHONPERFSUPPORT, DOTNET_PerfMapEnabled, QEMU_PERFMAP
                       extended for the runtimes' own names (above)
  LD_PRELOAD           kept: libjitperf.so is added in front of it, for the
                       program only

Examples:
  {prog} -- luajit bench.lua
  {prog} --call-graph dwarf -F 999 -o /tmp/regex-run -- ./pcre2-bench corpus.txt
  {prog} --check -- node app.js
"""


class UsageError(Exception):
    """A bad command line: said with a hint to --help, exit status EX_USAGE."""


@dataclasses.dataclass
class Options:
    out_dir: str = ''
    freq: str = ''
    event: str = ''
    call_graph: str = 'fp'
    record_opts: list = dataclasses.field(default_factory=list)
    inject: bool = True
    all_loads: bool = False
    perf_map: bool = False
    flamegraph: bool = True
    runtime_names: bool = True
    lib: str = ''
    top: int = 10
    quiet: bool = False
    verbose: bool = False
    check_only: bool = False
    force: bool = False
    help: bool = False
    program: list = dataclasses.field(default_factory=list)


# option -> the settings it makes; the options below take a value.
_FLAGS = {
    '-g': {'call_graph': 'fp'},
    '--no-inject': {'inject': False},
    '--all-loads': {'all_loads': True},
    '--perf-map': {'perf_map': True},
    '--no-flamegraph': {'flamegraph': False},
    '--no-runtime-names': {'runtime_names': False},
    '-q': {'quiet': True, 'verbose': False}, '--quiet': {'quiet': True, 'verbose': False},
    '-v': {'verbose': True, 'quiet': False}, '--verbose': {'verbose': True, 'quiet': False},
    '--check': {'check_only': True},
    '--force': {'force': True},
    '-h': {'help': True}, '--help': {'help': True},
}
_VALUED = {
    '-o': 'out_dir', '--output': 'out_dir',
    '-F': 'freq', '--freq': 'freq',
    '-e': 'event', '--event': 'event',
    '--call-graph': 'call_graph',
    '-R': 'record_opts', '--record-opts': 'record_opts',
    '--lib': 'lib',
    '--top': 'top',
}
_SHORT_WITH_VALUE = ('-o', '-F', '-e', '-R')


def parse(argv):
    """Options from the words after the program name; raises UsageError.
    Stops at --help as the shell version did: nothing after it matters."""
    opts = Options()
    i = 0
    while i < len(argv):
        word = argv[i]
        opt, value = _split_value(word)
        if opt == '--':
            i += 1
            break
        if not opt.startswith('-') or opt == '-':
            break
        i += 1
        if opt in _FLAGS:
            if value is not None:
                raise UsageError('option %s takes no value' % opt)
            for field, setting in _FLAGS[opt].items():
                setattr(opts, field, setting)
            if opts.help:
                return opts
        elif opt in _VALUED:
            if value is None:
                if i >= len(argv):
                    raise UsageError('option %s needs a value' % opt)
                value = argv[i]
                i += 1
            _set_value(opts, _VALUED[opt], value)
        else:
            raise UsageError("unknown option '%s'" % word)
    opts.program = argv[i:]
    _validate(opts)
    return opts


def _split_value(word):
    """(option, attached value or None): "--opt=value", "-oVALUE"."""
    if word.startswith('--') and '=' in word:
        opt, _, value = word.partition('=')
        return opt, value
    if len(word) > 2 and word[:2] in _SHORT_WITH_VALUE:
        return word[:2], word[2:]
    return word, None


def _set_value(opts, field, value):
    if field == 'record_opts':
        opts.record_opts.extend(value.split())
    elif field == 'top':
        if not re.fullmatch(r'[0-9]+', value):
            raise UsageError("--top wants a number, not '%s'" % value)
        opts.top = int(value)
    else:
        setattr(opts, field, value)


def _validate(opts):
    if opts.freq not in ('', 'max') and not re.fullmatch(r'[1-9][0-9]*', opts.freq):
        raise UsageError("--freq wants a positive number of samples per second or 'max', not '%s'"
                         % opts.freq)
    cg = opts.call_graph
    if cg.startswith('dwarf,') and not re.fullmatch(r'[0-9]+', cg[6:]):
        raise UsageError("--call-graph dwarf,SIZE wants a stack size in bytes, not '%s'" % cg[6:])
    if cg not in ('fp', 'none', 'lbr', 'dwarf') and not cg.startswith('dwarf,'):
        raise UsageError("--call-graph is fp, dwarf[,SIZE], lbr or none, not '%s'" % cg)
    if not opts.program and not opts.check_only:
        raise UsageError('no program to run')


def help_text(prog):
    return HELP.format(prog=prog, ex_usage=EX_USAGE, ex_env=EX_ENV)
