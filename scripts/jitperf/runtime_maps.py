"""Names that arrive late: each process's own perf map applied to its dump after the run, before perf inject.

HotSpot writes /tmp/perf-<pid>.map only at exit (-XX:+DumpPerfMapAtExit),
Mono's --jitmap sits in a stdio buffer until exit: libjitperf.so has long
captured the code by then, under synthetic names.  `jitperf-dump
--apply-map` (lib/jd_rename.c) gives the code the map lists at the address
where it was alive at the end the map's name and boundaries, at the time it
was captured.  Maps written as the code appears (V8, BEAM, CPython, .NET)
were merged by libjitperf.so while the program ran; applying them again
changes nothing but what the shim could not read in time.

A copy of each map stays in dumps/ beside the dump it named.  Maps that
exist only because jitperf-run switched the names on are then removed from
/tmp (a node run leaves a megabyte there otherwise); perf no longer reads
them for an injected process.
"""
import dataclasses
import os
import re
import shutil
import stat
import subprocess

_DUMP = re.compile(r'^jit-(\d+)\.dump$')
_RESULT = re.compile(r'renamed (\d+) code bytes: (\d+) LOADs added, (\d+) of (\d+) replaced, (\d+) older renamed; '
                     r'map entries: (\d+), (\d+) alive, (\d+) in JIT code, (\d+) named already')


@dataclasses.dataclass
class Applied:
    """One map applied to one dump (or why not)."""
    pid: int
    map_path: str
    added: int = 0
    replaced: int = 0
    older: int = 0
    entries: int = 0
    in_jit: int = 0
    named_already: int = 0
    error: str = ''

    def text(self):
        if self.error:
            return 'pid %d: %s not applied (%s)' % (self.pid, os.path.basename(self.map_path), self.error)
        return 'pid %d: %s, %d entries in JIT code: %d pieces named after the run, %d named while it ran' % (
            self.pid, os.path.basename(self.map_path), self.in_jit, self.added + self.older, self.named_already)


def map_for(pid, map_dir='/tmp'):
    """The runtime's map of pid, if it is a regular file of ours."""
    path = os.path.join(map_dir, 'perf-%d.map' % pid)
    try:
        st = os.lstat(path)
    except OSError:
        return None
    if not stat.S_ISREG(st.st_mode) or st.st_uid != os.geteuid():
        return None
    return path


def apply_one(dump_tool, dump, map_path, pid, run=subprocess.run):
    """jitperf-dump --apply-map, the dump replaced only when it worked."""
    done = Applied(pid, map_path)
    try:
        res = run([dump_tool, '--apply-map', map_path, '-o', dump, dump],
                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    except OSError as e:
        done.error = e.strerror or str(e)
        return done
    m = _RESULT.search(res.stdout or '')
    if res.returncode != 0 or not m:
        done.error = (res.stderr or '').strip() or 'jitperf-dump failed'
        return done
    n = [int(g) for g in m.groups()]
    done.added, done.replaced, done.older = n[1], n[2], n[4]
    done.entries, done.in_jit, done.named_already = n[5], n[7], n[8]
    return done


def apply_maps(dump_tool, dumps, remove_after=None, map_dir='/tmp', run=subprocess.run):
    """Apply each dump's process's map; returns [Applied].  remove_after:
    a time (seconds since the epoch): maps written since then are moved
    into dumps/ rather than copied (jitperf-run asked for them)."""
    done = []
    for dump in sorted(dumps):
        m = _DUMP.match(os.path.basename(dump))
        if not m:
            continue
        pid = int(m.group(1))
        path = map_for(pid, map_dir)
        if not path:
            continue
        done.append(apply_one(dump_tool, dump, path, pid, run))
        keep_copy(path, os.path.dirname(dump), remove_after)
    return done


def keep_copy(path, dest_dir, remove_after):
    try:
        shutil.copy(path, dest_dir)
        if remove_after is not None and os.path.getmtime(path) >= remove_after:
            os.unlink(path)
    except OSError:
        pass
