"""What a run needs, checked before it starts (jitperf-run --check shows them all): perf and the right to use it, events, libjitperf.so, the output directory, and whether LD_PRELOAD can reach the program."""
import os
import re
import shutil
import stat
import struct
import subprocess

from jitperf.text import display_path, shquote

PARANOID_FILE = '/proc/sys/kernel/perf_event_paranoid'
CAP_SYS_ADMIN = 21
CAP_PERFMON = 38
EM_X86_64 = 62
PT_INTERP = 3


class Checks:
    """The checks' verdicts, in order: ok, warn or FAIL, with a fix."""

    def __init__(self):
        self.lines = []
        self.failed = False

    def add(self, status, text, fix=None):
        line = '  %-5s %s' % (status, text)
        if fix:
            line += '\n        fix: %s' % fix
        self.lines.append(line)
        self.failed = self.failed or status == 'FAIL'

    def text(self, everything):
        return '\n'.join(l for l in self.lines if everything or not l.startswith('  ok '))


class ProgramError(Exception):
    """The program cannot be run; .status is the shell's status for it."""

    def __init__(self, message, status):
        super().__init__(message)
        self.status = status


# ---- facts ----------------------------------------------------------------

def elf_facts(path):
    """(class 32|64, machine, has PT_INTERP) of an ELF file, else None.
    PT_INTERP: it goes through the dynamic loader, which honours LD_PRELOAD."""
    try:
        with open(path, 'rb') as f:
            head = f.read(64)
            if len(head) < 52 or head[:4] != b'\x7fELF':
                return None
            if head[4] == 1:
                phoff, = struct.unpack_from('<I', head, 28)
                phentsize, phnum = struct.unpack_from('<HH', head, 42)
            else:
                phoff, = struct.unpack_from('<Q', head, 32)
                phentsize, phnum = struct.unpack_from('<HH', head, 54)
            machine, = struct.unpack_from('<H', head, 18)
            return (32 if head[4] == 1 else 64, machine,
                    _has_interp(f, phoff, phentsize, min(phnum, 256)))
    except OSError:
        return None


def _has_interp(f, phoff, phentsize, phnum):
    for i in range(phnum):
        f.seek(phoff + i * phentsize)
        word = f.read(4)
        if len(word) == 4 and struct.unpack('<I', word)[0] == PT_INTERP:
            return True
    return False


def existing_ancestor(path):
    while not os.path.exists(path):
        path = os.path.dirname(path)
    return path


def mount_options(path, mountinfo='/proc/self/mountinfo'):
    """Mount options of the filesystem holding path (or its nearest existing
    ancestor)."""
    try:
        with open(mountinfo, encoding='utf-8', errors='replace') as f:
            return options_at(os.path.realpath(existing_ancestor(path)), f)
    except OSError:
        return ''


def options_at(path, mountinfo_lines):
    """The options of the longest mount point above path, the last one
    mounted there."""
    best, opts = -1, ''
    for line in mountinfo_lines:
        fields = line.split()
        mp = _unescape(fields[4])
        if (mp == '/' or path == mp or path.startswith(mp + '/')) and len(mp) >= best:
            best, opts = len(mp), fields[5]
    return opts


def _unescape(s):
    return re.sub(r'\\([0-7]{3})', lambda m: chr(int(m.group(1), 8)), s)


def has_capability(bit, status_file='/proc/self/status'):
    try:
        with open(status_file, encoding='utf-8') as f:
            for line in f:
                if line.startswith('CapEff:'):
                    return bool(int(line.split()[1], 16) >> bit & 1)
    except (OSError, ValueError, IndexError):
        pass
    return False


def find_lib(explicit, env, self_dir):
    """libjitperf.so: --lib, $JITPERF_LIB, else the first that exists of
    $JITPERF_BUILD, the source tree's build/, the installed lib/jitperf/."""
    if explicit:
        return explicit
    if env.get('JITPERF_LIB'):
        return env['JITPERF_LIB']
    for d in lib_places(env, self_dir):
        candidate = os.path.join(d, 'libjitperf.so')
        if os.path.isfile(candidate):
            return os.path.join(os.path.realpath(d), 'libjitperf.so')
    return None


def find_dump_tool(env, self_dir):
    """jitperf-dump: where libjitperf.so is looked for, beside this script
    once installed, else on PATH; None when there is none."""
    for d in lib_places(env, self_dir) + [self_dir]:
        candidate = os.path.join(d, 'jitperf-dump')
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return os.path.realpath(candidate)
    return shutil.which('jitperf-dump')


def lib_places(env, self_dir):
    places = [env['JITPERF_BUILD']] if env.get('JITPERF_BUILD') else []
    return places + [os.path.join(self_dir, '..', 'build'),
                     os.path.join(self_dir, '..', 'lib', 'jitperf')]


def resolve_program(word):
    """The program's path, as the shell would run it; ProgramError if not."""
    path = word if '/' in word else shutil.which(word)
    if path is None:
        raise ProgramError('%s: command not found' % word, 127)
    if os.path.isdir(path):
        raise ProgramError('%s: is a directory' % word, 126)
    if not os.path.exists(path):
        raise ProgramError('%s: no such file' % word, 127)
    if not os.access(path, os.X_OK):
        raise ProgramError('%s: permission denied (not executable)' % word, 126)
    return path


# ---- checks -----------------------------------------------------------------

def check_perf(checks):
    """perf's path, or None."""
    perf = shutil.which('perf')
    if perf is None:
        checks.add('FAIL', 'perf is not installed (not found in PATH)',
                   'install it: apt-get install linux-perf (Debian), linux-tools-$(uname -r) (Ubuntu), perf (Fedora)')
        return None
    r = subprocess.run([perf, '--version'], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       encoding='utf-8', errors='replace')
    version = r.stdout.strip()
    if r.returncode != 0:
        checks.add('FAIL', '%s does not run: %s' % (perf, ' '.join(version.splitlines()[:3])),
                   'install the perf that matches your kernel (Ubuntu: linux-tools-$(uname -r))')
        return None
    checks.add('ok', 'perf: %s (%s)' % (perf, version))
    return perf


def check_devnull(checks, devnull=os.devnull):
    """perf, the runtimes' version probes and the program's own redirections
    read from or write to /dev/null.  A broken one (made 0755 by something
    else on a shared host, or replaced by a regular file) fails them later
    with errors that name something else."""
    if os.access(devnull, os.R_OK | os.W_OK) and not os.path.isfile(devnull):
        return
    try:
        mode = 'mode %03o' % (os.stat(devnull).st_mode & 0o7777)
    except OSError as e:
        mode = e.strerror
    checks.add('FAIL', '%s is not a device this user can read and write (%s)' % (devnull, mode),
               'as root: chmod 666 %s (if it is no longer the character device 1,3: rm it, then'
               ' mknod -m 666 %s c 1 3)' % (devnull, devnull))


def check_privileges(checks, paranoid_file):
    who = ('root' if os.geteuid() == 0 else 'CAP_PERFMON' if has_capability(CAP_PERFMON)
           else 'CAP_SYS_ADMIN' if has_capability(CAP_SYS_ADMIN) else None)
    try:
        with open(paranoid_file, encoding='utf-8') as f:
            level = f.read().replace(' ', '').replace('\n', '')
    except OSError:
        level = ''
    if not level:
        checks.add('warn', 'cannot read %s; perf may refuse to profile' % paranoid_file)
    elif who:
        checks.add('ok', 'perf_event_paranoid=%s, no limit for you (%s)' % (level, who))
    elif level.lstrip('-').isdigit() and int(level) >= 3:
        checks.add('FAIL', 'perf_event_paranoid=%s: this kernel lets only privileged users use perf' % level,
                   'sudo sysctl kernel.perf_event_paranoid=2 (to keep it: echo kernel.perf_event_paranoid=2'
                   ' | sudo tee /etc/sysctl.d/60-perf.conf), or run as root')
    elif level == '2':
        checks.add('ok', 'perf_event_paranoid=2: user-space samples only (kernel time is not seen)')
    else:
        checks.add('ok', 'perf_event_paranoid=%s' % level)


def check_events(checks, perf, event):
    """Are hardware events there (else cpu-clock), and can perf count at all
    (containers may forbid perf_event_open)?  Returns the hardware verdict."""
    r = subprocess.run([perf, 'stat', '-x,', '-e', 'cycles:u,cpu-clock:u', '--', 'true'],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, encoding='utf-8', errors='replace')
    hardware = re.search(r'^[0-9.]+,[^,]*,cycles', r.stderr, re.M) is not None
    if not re.search(r'^[0-9.]+,[^,]*,cpu-clock', r.stderr, re.M):
        said = ' '.join([l for l in r.stderr.splitlines() if l.strip()][:2])
        checks.add('FAIL', 'perf cannot count events here: %s' % said,
                   'lower kernel.perf_event_paranoid, run with CAP_PERFMON, or allow perf_event_open'
                   " in the container's seccomp profile")
    elif event:
        checks.add('ok', 'event: %s (your choice)' % event)
    elif hardware:
        checks.add('ok', 'event: cycles (hardware events available)')
    else:
        checks.add('ok', 'event: cpu-clock (hardware events are not available here, e.g. in a VM)')
    return hardware


def check_lib(checks, explicit, env, self_dir):
    """libjitperf.so's absolute path, or None."""
    lib = find_lib(explicit, env, self_dir)
    if lib is None:
        looked = ', '.join(['$JITPERF_LIB', '$JITPERF_BUILD'] +
                           [display_path(p) for p in lib_places({}, self_dir)])
        checks.add('FAIL', 'libjitperf.so not found (looked in %s)' % looked,
                   "build it with 'make', or point to it: --lib PATH or JITPERF_LIB=PATH")
        return None
    if not os.path.isfile(lib) or not os.access(lib, os.R_OK):
        checks.add('FAIL', 'libjitperf.so: %s does not exist or is not readable' % lib,
                   "build it with 'make', or fix --lib / JITPERF_LIB")
        return None
    lib = os.path.join(os.path.realpath(os.path.dirname(os.path.abspath(lib))), os.path.basename(lib))
    if elf_facts(lib) is None:
        checks.add('FAIL', 'libjitperf.so: %s is not an ELF shared object' % lib, "rebuild it with 'make'")
        return lib
    # The loader names what is wrong (a missing libunwind, a wrong class):
    # a missing dependency is fatal to the program, a wrong file is
    # ignored with a message.
    r = subprocess.run(['/bin/sh', '-c', 'exit 0'], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       env=dict(os.environ, LD_PRELOAD=lib, JITPERF_DISABLE='1'),
                       encoding='utf-8', errors='replace')
    if r.returncode != 0 or re.search(r'ld\.so|error while loading', r.stderr):
        said = ([l for l in r.stderr.splitlines() if l.strip()] or [''])[0]
        checks.add('FAIL', 'libjitperf.so cannot be preloaded: %s' % said,
                   "rebuild it ('make'); install the libraries it needs (scripts/setup-deps)")
        return lib
    checks.add('ok', 'libjitperf.so: %s' % lib)
    return lib


def check_output_dir(checks, path, perf_map):
    probe = existing_ancestor(path)
    if not os.path.isdir(probe) or not os.access(probe, os.W_OK):
        checks.add('FAIL', 'output directory: %s is not a writable directory' % display_path(probe),
                   'choose another with -o DIR')
        return
    opts = mount_options(path)
    if not perf_map and 'noexec' in opts.split(','):
        checks.add('FAIL', 'output directory: %s is on a noexec filesystem; perf finds the jitdump only'
                   ' through an executable mapping of it, which noexec forbids, so nothing would be named'
                   % display_path(path),
                   'choose a directory on another filesystem with -o DIR (or use --perf-map)')
        return
    checks.add('ok', 'output directory: %s%s' % (display_path(path), ' (mounted %s)' % opts if opts else ''))


def check_template(checks, template):
    if template is None:
        checks.add('warn', 'flame graph: d3-flamegraph-base.html not found; only stacks.folded will be written',
                   'run scripts/setup-deps (installs d3-flame-graph in /usr/share/d3-flame-graph),'
                   ' or set JITPERF_FLAMEGRAPH_TEMPLATE')
    else:
        checks.add('ok', 'flame graph template: %s' % template)


def check_program(checks, path, what='program'):
    """The program (and a script's interpreter) must go through the dynamic
    loader as the user who runs it, or LD_PRELOAD never reaches it."""
    facts = elf_facts(path)
    if facts is None:
        interpreter = script_interpreter(path) if what == 'program' else None
        if interpreter is not None and os.path.isfile(interpreter):
            check_program(checks, interpreter, 'interpreter of %s' % display_path(path))
        elif interpreter is not None:
            checks.add('ok', 'program: %s (a script)' % display_path(path))
        else:
            checks.add('warn', "%s: %s is not an ELF executable; cannot tell whether LD_PRELOAD reaches it"
                       % (what, display_path(path)))
        return
    elf_class, machine, interp = facts
    shown = display_path(path)
    if elf_class != 64 or machine != EM_X86_64:
        checks.add('FAIL', '%s: %s is not an x86-64 program (ELF class %d, machine %d); libjitperf.so cannot'
                   ' be loaded into it' % (what, shown, elf_class, machine), 'profile an x86-64 build of it')
    elif not interp:
        checks.add('FAIL', '%s: %s is statically linked; LD_PRELOAD cannot reach it (no dynamic loader)'
                   % (what, shown),
                   'profile a dynamically linked build (without -static); perf alone still sees it, as [unknown]')
    elif privileged_exec(path):
        checks.add('FAIL', '%s: %s is set-user-ID or set-group-ID; the dynamic loader ignores LD_PRELOAD for it'
                   % (what, shown),
                   'profile a copy without the bit (cp %s /tmp/x && /tmp/x ...), or run as its owner' % shquote(path))
    else:
        checks.add('ok', '%s: %s (dynamically linked x86-64)' % (what, shown))


def script_interpreter(path):
    """The interpreter a '#!' line names ('' if none), following env to the
    command it runs; None when the file is no script."""
    try:
        with open(path, 'rb') as f:
            line = f.readline().decode('utf-8', 'replace').rstrip('\n')
    except OSError:
        return None
    if not line.startswith('#!'):
        return None
    words = line[2:].split()
    interpreter = words[0] if words else ''
    if os.path.basename(interpreter) == 'env':
        for w in words[1:]:
            if w.startswith('-') or '=' in w:
                continue
            interpreter = shutil.which(w) or ''
            break
    return interpreter


def privileged_exec(path):
    """Set-user-ID or set-group-ID for someone else: the loader then ignores LD_PRELOAD."""
    try:
        st = os.stat(path)
    except OSError:
        return False
    return ((st.st_mode & stat.S_ISUID and st.st_uid != os.getuid()) or
            (st.st_mode & stat.S_ISGID and st.st_gid != os.getgid()))
