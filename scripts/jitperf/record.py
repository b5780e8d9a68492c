"""perf record around the program: the command, the program's environment, the process groups and the signals.

perf runs in a process group of its own, so that the terminal's Ctrl-C does
not stop the recording; the program, started by perf through
exec_helper.py, joins jitperf-run's group and gets the terminal's signals
itself.  perf records until the program has exited, so a program that
cleans up after Ctrl-C is profiled doing it.  perf exits with the program's
status (and dies of the signal that killed it), which jitperf-run passes on.
"""
import os
import signal
import subprocess
import sys
import time

HELPER = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'exec_helper.py')
# The helper's comm until it execs the program: its samples are not the program's.
HELPER_COMM = os.path.basename(sys.executable)[:15]
# Dispositions perf record changes in the program it starts (it handles
# INT and TERM, which exec turns into defaults; perf 6.1 leaves USR2
# ignored): the program gets each back as jitperf-run found it (default,
# or ignored by nohup or a background job).
RESET_SIGNALS = ('SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR2')
# Signals to jitperf-run that the program should get.
RELAYED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def record_command(perf, buildid_dir, data, event, freq, call_graph, extra):
    """perf record's words up to the program.  -k 1: jitdump timestamps are
    CLOCK_MONOTONIC.  --no-bpf-event: perf's BPF side-band thread otherwise
    holds every run up for a second at exit (its poll timeout), for kernel
    BPF programs that do not matter here."""
    cmd = [perf, '--buildid-dir', buildid_dir, 'record', '-k', '1', '--no-bpf-event', '-o', data,
           '-e', event]
    if freq:
        cmd += ['-F', freq]
    if call_graph != 'none':
        cmd += ['--call-graph', call_graph]
    return cmd + list(extra)


def preload_list(lib, user_preload):
    """LD_PRELOAD for the program: libjitperf.so in front of the user's,
    never twice."""
    if not lib:
        return user_preload
    if not user_preload:
        return lib
    if lib in user_preload.replace(':', ' ').split():
        return user_preload
    return lib + ':' + user_preload


def jitperf_settings(dumps_dir, perf_map):
    settings = {'JITPERF_DIR': dumps_dir}
    if perf_map:
        settings.update(JITPERF_PERFMAP='1', JITPERF_JITDUMP='0')
    return settings


def signals_to_reset():
    """RESET_SIGNALS as exec_helper.py takes them: NAME (default) or
    NAME:ign (ignored when jitperf-run started)."""
    return [n + (':ign' if signal.getsignal(getattr(signal, n)) == signal.SIG_IGN else '')
            for n in RESET_SIGNALS]


def terminal_sent_it(stat_file='/proc/self/stat'):
    """Did the terminal deliver the signal to the program already?  It did
    if our process group, which the program is in, is the terminal's
    foreground group (fields pgrp and tpgid of /proc/self/stat)."""
    try:
        with open(stat_file, encoding='utf-8') as f:
            fields = f.read().rsplit(') ', 1)[1].split()
    except (OSError, IndexError):
        return False
    return fields[2] == fields[5]


class Relay:
    """Signals to jitperf-run while perf records.  First: the program gets it
    (unless the terminal sent it already, or perf itself when the program
    has not started); perf goes on recording until the program exits.
    Second: the program is killed (SIGKILL); perf saves what it recorded."""

    def __init__(self, pid_file, say):
        self.perf_pid = None
        self.pid_file = pid_file
        self.say = say
        self.count = 0
        self.program = None

    def program_pid(self):
        if self.program is None:
            try:
                with open(self.pid_file, encoding='utf-8') as f:
                    self.program = int(f.read().strip())
            except (OSError, ValueError):
                pass
        return self.program

    def __call__(self, signum, _frame):
        self.count += 1
        pid = self.program_pid()
        if self.count == 1:
            if pid is None and self.perf_pid:
                _kill(self.perf_pid, signal.SIGINT)
            elif signum == signal.SIGTERM or not terminal_sent_it():
                self.say.info('passing %s to the program (pid %d)' % (signal.Signals(signum).name, pid))
                _kill(pid, signum)
        elif pid is not None:
            self.say.always('killing the program (pid %d): it did not exit' % pid)
            _kill(pid, signal.SIGKILL)
        elif self.perf_pid:
            _kill(self.perf_pid, signal.SIGTERM)


def _kill(pid, sig):
    try:
        os.kill(pid, sig)
    except OSError:
        pass


class Result:
    """How the recording went: the program's status as a shell gives it
    (128+N for signal N), its pid (None if it never started), its time."""

    def __init__(self, status, pid, seconds):
        self.status = status
        self.pid = pid
        self.seconds = seconds


def run(record_cmd, program, env, preload, out_dir, log_path, say):
    """Run `record_cmd -- helper program` and wait for it, relaying signals."""
    pid_file = os.path.join(out_dir, '.program-pid')
    out_fd, err_fd = os.dup(1), os.dup(2)
    perf_env = {k: v for k, v in env.items() if k != 'LD_PRELOAD'}
    perf_env['JITPERF_RUN_PRELOAD'] = preload
    workload = [sys.executable, '-I', '-S', HELPER, str(os.getpgrp()), pid_file,
                ','.join(signals_to_reset()), str(out_fd), str(err_fd), '--'] + list(program)
    relay = Relay(pid_file, say)
    previous = {s: signal.signal(s, relay) for s in RELAYED if signal.getsignal(s) != signal.SIG_IGN}
    start = time.monotonic()
    try:
        perf = _start(record_cmd + ['--'] + workload, perf_env, (out_fd, err_fd), log_path)
        if perf is None:
            return Result(None, None, 0.0)
        relay.perf_pid = perf.pid
        rc = perf.wait()
    finally:
        os.close(out_fd)
        os.close(err_fd)
        for s, handler in previous.items():
            signal.signal(s, handler)
    seconds = time.monotonic() - start
    pid = relay.program_pid()
    try:
        os.unlink(pid_file)
    except OSError:
        pass
    return Result(128 - rc if rc < 0 else rc, pid, seconds)


def _start(cmd, env, fds, log_path):
    """perf, in a process group of its own; None if it cannot start."""
    with open(log_path, 'wb') as log:
        try:
            return subprocess.Popen(cmd, stdout=log, stderr=log, env=env, pass_fds=fds,
                                    process_group=0)
        except OSError as e:
            log.write(('%s: %s\n' % (cmd[0], e.strerror)).encode())
            return None
