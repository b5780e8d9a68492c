"""jitperf-run's exec helper: the command perf record starts; it puts itself in jitperf-run's process group and becomes the program with libjitperf.so preloaded.

Run as `python3 -I -S exec_helper.py PGID PIDFILE RESET OUT_FD ERR_FD -- PROGRAM ARGS...`
(standard library only, no site: it must start fast, and perf samples it
until the exec).  Why it exists:
- perf runs in a process group of its own, away from the terminal, so that
  Ctrl-C does not stop the recording; the program joins jitperf-run's group,
  so the terminal's signals reach it as they would without jitperf-run;
- the program gets the terminal's stdout and stderr (OUT_FD, ERR_FD) while
  perf's messages go to a log;
- LD_PRELOAD is set only here, at the last moment, so that neither perf nor
  this helper runs with libjitperf.so;
- the signals perf record changes get back the dispositions jitperf-run
  found (RESET: NAME for the default, NAME:ign for ignored), and SIGPIPE
  and SIGXFSZ their defaults (Python ignores them for itself; exec would
  pass that on);
- its pid, which the program keeps, goes to PIDFILE for jitperf-run to
  signal.
"""
import os
import signal
import sys


def main(argv):
    if len(argv) < 8 or argv[6] != '--':
        sys.stderr.write('usage: exec_helper.py PGID PIDFILE RESET OUT_FD ERR_FD -- PROGRAM ARGS...\n')
        return 127
    pgid, pid_file, reset, out_fd, err_fd = argv[1:6]
    program = argv[7:]
    if int(pgid) > 0:
        os.setpgid(0, int(pgid))
    os.dup2(int(out_fd), 1)
    os.dup2(int(err_fd), 2)
    os.close(int(out_fd))
    os.close(int(err_fd))
    for entry in ['SIGPIPE', 'SIGXFSZ'] + [e for e in reset.split(',') if e]:
        name, _, how = entry.partition(':')
        signal.signal(getattr(signal, name), signal.SIG_IGN if how == 'ign' else signal.SIG_DFL)
    with open(pid_file, 'w') as f:
        f.write('%d\n' % os.getpid())
    preload = os.environ.pop('JITPERF_RUN_PRELOAD', '')
    if preload:
        os.environ['LD_PRELOAD'] = preload
    else:
        os.environ.pop('LD_PRELOAD', None)
    try:
        os.execvp(program[0], program)
    except OSError as e:
        sys.stderr.write('jitperf-run: cannot run %s: %s\n' % (program[0], e.strerror))
    return 127


if __name__ == '__main__':
    sys.exit(main(sys.argv))
