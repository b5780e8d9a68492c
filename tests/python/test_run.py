"""Unit tests of jitperf-run's orchestration: options, checks, the recording's command and environment, the summary's text."""
import importlib.machinery
import importlib.util
import os
import shutil
import signal
import stat
import struct
import subprocess
import sys
import tempfile
import types
import unittest

from jitperf import checks, cli, record, report, summary
from jitperf.text import display_path, shquote, shquote_all


class OptionsTest(unittest.TestCase):
    def test_values_in_every_form(self):
        o = cli.parse(['-oOUT', '--freq=99', '-e', 'task-clock', '--call-graph', 'dwarf,4096',
                       '-R', '-d --mmap-pages 64', '-R', '--no-buildid-cache', '--top', '3', '--', 'prog', '-x'])
        self.assertEqual((o.out_dir, o.freq, o.event, o.call_graph, o.top),
                         ('OUT', '99', 'task-clock', 'dwarf,4096', 3))
        self.assertEqual(o.record_opts, ['-d', '--mmap-pages', '64', '--no-buildid-cache'])
        self.assertEqual(o.program, ['prog', '-x'])

    def test_program_options_are_its_own(self):
        self.assertEqual(cli.parse(['prog', '-q']).program, ['prog', '-q'])
        self.assertFalse(cli.parse(['prog', '-q']).quiet)

    def test_last_of_quiet_and_verbose_wins(self):
        o = cli.parse(['-q', '-v', 'p'])
        self.assertEqual((o.quiet, o.verbose), (False, True))

    def test_flags(self):
        o = cli.parse(['-g', '--no-inject', '--perf-map', '--no-flamegraph', '--force', 'p'])
        self.assertEqual((o.inject, o.perf_map, o.flamegraph, o.force), (False, True, False, True))
        self.assertTrue(cli.parse(['--check']).check_only)
        self.assertTrue(cli.parse(['--help', '--bogus']).help)

    def test_usage_errors(self):
        for argv, words in ((['--bogus', 'p'], "unknown option '--bogus'"),
                            (['-F', 'often', 'p'], 'freq'), (['-F', '0100', 'p'], 'freq'),
                            (['--call-graph', 'frames', 'p'], 'fp, dwarf'),
                            (['--call-graph', 'dwarf,big', 'p'], 'stack size'),
                            (['--top', 'many', 'p'], '--top'), (['--lib', 'x'], 'no program'),
                            (['-o'], 'needs a value'), (['--no-inject=yes', 'p'], 'takes no value')):
            with self.assertRaises(cli.UsageError) as e:
                cli.parse(argv)
            self.assertIn(words, str(e.exception), argv)

    def test_help_names_every_option_and_status(self):
        text = cli.help_text('jitperf-run')
        for word in ('--output', '--freq', '--event', '--call-graph', '--record-opts', '--no-inject',
                     '--perf-map', '--no-flamegraph', '--lib', '--top', '--quiet', '--verbose',
                     '--check', '--force', '--help', '64   usage error', '69   environment problem'):
            self.assertIn(word, text)


class ElfTest(unittest.TestCase):
    def write(self, data):
        f = tempfile.NamedTemporaryFile(delete=False)
        f.write(data)
        f.close()
        self.addCleanup(os.unlink, f.name)
        return f.name

    def elf64(self, machine, ptypes):
        phoff = 64
        head = bytearray(64)
        head[:5] = b'\x7fELF\x02'
        struct.pack_into('<H', head, 18, machine)
        struct.pack_into('<Q', head, 32, phoff)
        struct.pack_into('<HH', head, 54, 56, len(ptypes))
        return bytes(head) + b''.join(struct.pack('<I', t) + bytes(52) for t in ptypes)

    def test_dynamic_static_foreign_not_elf(self):
        self.assertEqual(checks.elf_facts(self.write(self.elf64(62, [6, 3, 1]))), (64, 62, True))
        self.assertEqual(checks.elf_facts(self.write(self.elf64(62, [1, 1]))), (64, 62, False))
        self.assertEqual(checks.elf_facts(self.write(self.elf64(183, [3]))), (64, 183, True))
        self.assertIsNone(checks.elf_facts(self.write(b'#!/bin/sh\n' + bytes(60))))
        self.assertEqual(checks.elf_facts(sys.executable)[:2], (64, 62))

    def test_program_verdicts(self):
        found = checks.Checks()
        checks.check_program(found, self.write(self.elf64(62, [1])))
        self.assertIn('statically linked', found.lines[-1])
        checks.check_program(found, self.write(self.elf64(40, [3])))
        self.assertIn('not an x86-64 program (ELF class 64, machine 40)', found.lines[-1])
        self.assertTrue(found.failed)
        static = self.write(self.elf64(62, [1]))
        checks.check_program(found, self.write(('#!%s -x\n' % static).encode()))
        self.assertRegex(found.lines[-1], r'interpreter of .*: .* is statically linked')

    def test_env_scripts_name_the_command(self):
        path = self.write(b'#!/usr/bin/env -S A=1 sh -e\n')
        self.assertEqual(checks.script_interpreter(path), shutil.which('sh'))
        self.assertIsNone(checks.script_interpreter(self.write(b'plain text')))

    def test_setuid_for_someone_else(self):
        path = self.write(b'x')
        os.chmod(path, 0o755 | stat.S_ISUID)
        self.assertFalse(checks.privileged_exec(path))  # ours

    def test_devnull_must_be_a_usable_device(self):
        found = checks.Checks()
        checks.check_devnull(found, self.write(b''))  # a regular file in its place
        self.assertIn('is not a device this user can read and write (mode 600)', found.lines[-1])
        self.assertIn('fix: as root: chmod 666', found.lines[-1])
        checks.check_devnull(found, '/nonexistent/null')
        self.assertIn('(No such file or directory)', found.lines[-1])
        self.assertTrue(found.failed)


class PlacesTest(unittest.TestCase):
    def test_mount_options_longest_mount_point(self):
        lines = ['1 0 8:1 / / rw,relatime - ext4 /dev/sda1 rw',
                 '2 1 0:5 / /srv\\040x rw,noexec - tmpfs tmpfs rw',
                 '3 1 0:6 / /srv rw,nosuid - tmpfs tmpfs rw',
                 '4 1 0:7 / /srv rw,nodev - tmpfs tmpfs rw']
        self.assertEqual(checks.options_at('/srv x/a/b', lines), 'rw,noexec')
        self.assertEqual(checks.options_at('/srv/y', lines), 'rw,nodev')
        self.assertEqual(checks.options_at('/srvz', lines), 'rw,relatime')
        self.assertTrue(checks.mount_options('/no/such/dir'))

    def test_resolve_program(self):
        self.assertEqual(checks.resolve_program('sh'), shutil.which('sh'))
        with tempfile.NamedTemporaryFile() as plain:
            self.assert_refused(plain.name, 126)
        for word, status in (('no-such-program-here', 127), ('/', 126), ('/no/such', 127)):
            self.assert_refused(word, status)

    def assert_refused(self, word, status):
        with self.assertRaises(checks.ProgramError) as e:
            checks.resolve_program(word)
        self.assertEqual(e.exception.status, status, word)

    def test_lib_found_in_build_dir(self):
        with tempfile.TemporaryDirectory() as d:
            open(os.path.join(d, 'libjitperf.so'), 'w').close()
            self.assertEqual(checks.find_lib('', {'JITPERF_BUILD': d}, '/nowhere'),
                             os.path.join(os.path.realpath(d), 'libjitperf.so'))
            self.assertEqual(checks.find_lib('/x.so', {'JITPERF_BUILD': d}, '/nowhere'), '/x.so')
            self.assertEqual(checks.find_lib('', {'JITPERF_LIB': '/y.so'}, '/nowhere'), '/y.so')
            self.assertIsNone(checks.find_lib('', {}, '/nowhere'))


class RecordTest(unittest.TestCase):
    def test_preload_order(self):
        self.assertEqual(record.preload_list('/l.so', ''), '/l.so')
        self.assertEqual(record.preload_list('/l.so', '/u.so'), '/l.so:/u.so')
        self.assertEqual(record.preload_list('/l.so', '/u.so /v.so'), '/l.so:/u.so /v.so')
        self.assertEqual(record.preload_list('/l.so', '/u.so:/l.so'), '/u.so:/l.so')
        self.assertEqual(record.preload_list('', '/u.so'), '/u.so')

    def test_record_command(self):
        cmd = record.record_command('perf', 'B', 'D', 'cycles', '', 'none', ['-d'])
        self.assertEqual(cmd, ['perf', '--buildid-dir', 'B', 'record', '-k', '1', '--no-bpf-event',
                               '-o', 'D', '-e', 'cycles', '-d'])
        cmd = record.record_command('perf', 'B', 'D', 'cpu-clock', '99', 'fp', [])
        self.assertEqual(cmd[-4:], ['-F', '99', '--call-graph', 'fp'])

    def test_settings(self):
        self.assertEqual(record.jitperf_settings('/d', True),
                         {'JITPERF_DIR': '/d', 'JITPERF_PERFMAP': '1', 'JITPERF_JITDUMP': '0'})

    def test_terminal_foreground(self):
        with tempfile.NamedTemporaryFile('w', delete=False) as f:
            f.write('42 (a b) c) S 1 42 42 34816 42 4194304\n')
        self.addCleanup(os.unlink, f.name)
        self.assertTrue(record.terminal_sent_it(f.name))

    def test_relay(self):
        sent = []
        real_kill = record._kill
        record._kill = lambda pid, sig: sent.append((pid, sig))
        self.addCleanup(setattr, record, '_kill', real_kill)
        said = types.SimpleNamespace(info=lambda t: None, always=lambda t: sent.append(t))
        relay = record.Relay('/nonexistent', said)
        relay.perf_pid = 10
        relay(signal.SIGTERM, None)  # program not started: perf stops
        relay.program = 11
        relay(signal.SIGTERM, None)  # second: the program is killed
        self.assertEqual(sent, [(10, signal.SIGINT), 'killing the program (pid 11): it did not exit',
                                (11, signal.SIGKILL)])
        relay = record.Relay('/nonexistent', said)
        relay.program, sent[:] = 12, []
        relay(signal.SIGTERM, None)
        self.assertEqual(sent, [(12, signal.SIGTERM)])


class ExecHelperTest(unittest.TestCase):
    def run_helper(self, reset, preload):
        """What the program the helper became saw: its output lines."""
        with tempfile.TemporaryDirectory() as d:
            pid_file = os.path.join(d, 'pid')
            r, w = os.pipe()
            err = os.dup(2)
            script = 'echo "preload=$LD_PRELOAD"; grep SigIgn /proc/self/status; echo "pid=$$"'

            def ignore_int_and_quit():
                signal.signal(signal.SIGINT, signal.SIG_IGN)
                signal.signal(signal.SIGQUIT, signal.SIG_IGN)
            helper = subprocess.Popen(
                [sys.executable, '-I', '-S', record.HELPER, '0', pid_file, reset, str(w), str(err), '--',
                 'sh', '-c', script], pass_fds=(w, err), preexec_fn=ignore_int_and_quit,
                env=dict(os.environ, JITPERF_RUN_PRELOAD=preload, LD_PRELOAD='/gone.so'),
                stdout=subprocess.DEVNULL)
            os.close(w)
            os.close(err)
            with os.fdopen(r) as f:
                lines = f.read().splitlines()
            helper.wait()
            with open(pid_file) as f:
                lines.append('pidfile=' + f.read().strip())
        return lines

    def test_becomes_the_program(self):
        lines = self.run_helper('SIGINT', '')
        self.assertEqual(lines[0], 'preload=')  # not the user's LD_PRELOAD it started with
        ignored = int(lines[1].split()[1], 16)
        self.assertEqual(ignored & (1 << (signal.SIGINT - 1)), 0)  # reset as asked
        self.assertNotEqual(ignored & (1 << (signal.SIGQUIT - 1)), 0)  # left ignored
        self.assertEqual(ignored & (1 << (signal.SIGPIPE - 1)), 0)  # Python's own, undone
        self.assertEqual(lines[2][len('pid='):], lines[3][len('pidfile='):])

    def test_ignored_as_asked(self):
        lines = self.run_helper('SIGINT:ign,SIGQUIT,SIGUSR2:ign', '')
        ignored = int(lines[1].split()[1], 16)
        self.assertNotEqual(ignored & (1 << (signal.SIGINT - 1)), 0)
        self.assertEqual(ignored & (1 << (signal.SIGQUIT - 1)), 0)
        self.assertNotEqual(ignored & (1 << (signal.SIGUSR2 - 1)), 0)

    def test_dispositions_as_found(self):
        previous = signal.signal(signal.SIGUSR2, signal.SIG_IGN)
        try:
            found = record.signals_to_reset()
        finally:
            signal.signal(signal.SIGUSR2, previous)
        self.assertIn('SIGUSR2:ign', found)
        self.assertEqual(len(found), len(record.RESET_SIGNALS))


class SummaryTest(unittest.TestCase):
    def tally(self, counts):
        t = report.Tally()
        for (name, module), n in counts.items():
            t.functions[(name, module)] = n
            t.samples += n
            t.jit += n if module.startswith('[JIT') else 0
            t.named += n if module.startswith('[JIT]') else 0
        return t

    def test_status(self):
        self.assertEqual(summary.status_text(0), 'exit status 0')
        self.assertEqual(summary.status_text(139), 'killed by SIGSEGV')
        self.assertEqual(summary.status_text(200), 'exit status 200')

    def test_sampling(self):
        self.assertEqual(summary.sampling_text('task-clock: sample_freq=997\n', 'x'), 'task-clock, 997 Hz')
        self.assertEqual(summary.sampling_text('cycles: sample_period=1000\n', 'x'),
                         'cycles, every 1000 events')
        self.assertEqual(summary.sampling_text('', 'cpu-clock'), 'cpu-clock')

    def test_top_list(self):
        t = self.tally({('jit:a', '[JIT]'): 5000, ('b' * 70, 'x.so'): 3000, ('c', 'y'): 1000,
                        ('d', 'z'): 999, ('tiny', 'z'): 5})
        lines = summary.top_lines(t, 10)
        self.assertEqual(len(lines), 4)  # under 0.1% once three are shown
        self.assertIn('b' * 57 + '...', lines[1])
        self.assertEqual(len(summary.top_lines(t, 2)), 2)
        self.assertEqual(summary.top_jit_name(t), 'jit:a')

    def test_head(self):
        run = types.SimpleNamespace(program=['prog', 'a b'], status=3, seconds=1.234, sampling='cpu-clock',
                                    call_graph='fp', inject=False, perf_map=False, top=10)
        text = summary.head(run, self.tally({('jit:a', '[JIT]'): 10}))
        self.assertIn("profile of: prog 'a b'   (exit status 3, 1.23 s)", text)
        self.assertIn('named: not yet', text)


class TextTest(unittest.TestCase):
    def test_quoting(self):
        self.assertEqual(shquote_all(['a/b', "it's", '']), "a/b 'it'\\''s' ''")
        self.assertEqual(shquote('x=1,y:2'), 'x=1,y:2')

    def test_display_path(self):
        self.assertEqual(display_path(os.path.join(os.getcwd(), 'a')), 'a')
        self.assertEqual(display_path('/elsewhere'), '/elsewhere')


if __name__ == '__main__':
    unittest.main()


def load_entry():
    """scripts/jitperf-run as a module (a file without .py)."""
    path = os.path.join(os.path.dirname(__file__), '..', '..', 'scripts', 'jitperf-run')
    loader = importlib.machinery.SourceFileLoader('jitperf_run', path)
    module = importlib.util.module_from_spec(importlib.util.spec_from_loader('jitperf_run', loader))
    loader.exec_module(module)
    return module


class EntryTest(unittest.TestCase):
    entry = load_entry()

    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.addCleanup(self.dir.cleanup)
        self.addCleanup(os.chdir, os.getcwd())
        os.chdir(self.dir.name)
        self.say = types.SimpleNamespace(always=lambda t: None)

    def test_default_directories_are_never_reused(self):
        first = self.entry.default_out_dir('/usr/bin/my prog!')
        self.assertEqual(os.path.basename(first), 'jitperf-my_prog_-1')
        out = self.entry.make_out_dir(first, False, 'my prog!', self.say)
        self.assertTrue(os.path.isdir(os.path.join(out, 'dumps')))
        self.assertTrue(self.entry.make_out_dir(first, False, 'my prog!', self.say).endswith('-2'))

    def test_explicit_directory_new_or_empty(self):
        os.makedirs('empty')
        self.entry.make_out_dir(os.path.abspath('empty'), True, 'p', self.say)
        with self.assertRaises(self.entry.Exit) as e:
            self.entry.make_out_dir(os.path.abspath('empty'), True, 'p', self.say)
        self.assertEqual(e.exception.status, cli.EX_USAGE)

    def test_dumps_of_reused_pids_are_found(self):
        os.makedirs('d/jitperf-7.1')
        for name in ('d/jit-7.dump', 'd/jitperf-7.1/jit-7.dump', 'd/jitted-7-0.so'):
            open(name, 'w').close()
        self.assertEqual(sorted(self.entry.find_dumps('d')), ['d/jit-7.dump', 'd/jitperf-7.1/jit-7.dump'])

    def test_every_call_graph_prunes_unless_all_loads(self):
        # dwarf too: the pruning keeps the pieces the copied stacks point
        # into, so perf still unwinds through every JIT caller after inject
        out = os.path.abspath('out')
        os.makedirs(os.path.join(out, 'dumps'))
        with open(os.path.join(out, 'dumps', 'jit-7.dump'), 'wb') as f:
            f.write(b'x' * 10)
        perf = os.path.join(self.dir.name, 'perf')
        with open(perf, 'w') as f:
            f.write('#!/bin/sh\nfor a; do last=$a; done\n: > "$last"\n')  # writes -o's file
        os.chmod(perf, 0o755)
        pruned, said = [], []
        self.addCleanup(setattr, self.entry, 'prune_to_samples', self.entry.prune_to_samples)
        self.entry.prune_to_samples = lambda *a: pruned.append(a) or 'pruned'
        say = types.SimpleNamespace(say=said.append, info=said.append, warn=said.append, verbose=False)
        for cg, all_loads, prunes in (('dwarf,8192', False, True), ('dwarf', False, True), ('fp', False, True),
                                      ('dwarf', True, False), ('fp', True, False)):
            raw = os.path.join(out, 'raw.data')
            open(raw, 'w').close()
            run = self.entry.Run(['p'], cg, True, False, 10)
            self.entry.inject(perf, out, raw, run, say, all_loads)
            self.assertTrue(run.injected, cg)
            self.assertEqual(bool(pruned), prunes, (cg, all_loads))
            self.assertEqual('pruned' in said[-1], prunes, said[-1])
            pruned.clear()

    def test_sizes(self):
        self.assertEqual(self.entry.size_text(1), '1 KB')
        self.assertEqual(self.entry.size_text(2500000), '2.5 MB')

    def test_status_passed_on(self):
        self.assertEqual(self.entry.die_like(3), 3)
        self.assertEqual(self.entry.die_like(139), 139)  # SIGSEGV: a status, not a death
