"""Unit tests of describing after the run what the shim recorded (jitperf.describe; the description itself is jitperf-dump's, tested in C)."""
import os
import subprocess
import tempfile
import unittest

from jitperf import describe


class Settings(unittest.TestCase):
    def test_after_the_run_when_the_tool_is_there(self):
        self.assertEqual(describe.settings('/x/jitperf-dump', {}), {'JITPERF_DESCRIBE': 'after'})

    def test_nothing_without_the_tool(self):
        # nothing could describe the record: the program describes as it runs
        self.assertEqual(describe.settings(None, {}), {})

    def test_the_users_choice_stands(self):
        self.assertEqual(describe.settings('/x/jitperf-dump', {'JITPERF_DESCRIBE': 'now'}), {})


class DescribeDumps(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp()
        self.addCleanup(subprocess.run, ['rm', '-rf', self.dir])
        self.dumps = []
        for pid in (4242, 4343, 4444):
            p = os.path.join(self.dir, 'jit-%d.dump' % pid)
            with open(p, 'w') as f:
                f.write('record of %d' % pid)
            self.dumps.append(p)
        self.calls = []

    def fake_tool(self, argv, **kw):
        self.calls.append(argv)
        if 'jit-4343' in argv[-1]:
            return subprocess.CompletedProcess(argv, 1, '', 'jitperf-dump: x: not described (out of memory)')
        if 'jit-4444' in argv[-1]:  # an ordinary dump: left alone
            return subprocess.CompletedProcess(argv, 0, '%s: nothing to describe\n' % argv[-1], '')
        with open(argv[3], 'w') as f:
            f.write('described')
        return subprocess.CompletedProcess(
            argv, 0, '%s: described 8192 bytes in 2 steps: 5 LOADs (600 bytes), 0 MOVEs\n' % argv[-1], '')

    def test_each_dump_described_in_place(self):
        described, loads, seconds, notes = describe.describe_dumps('jitperf-dump', self.dumps, run=self.fake_tool)
        self.assertEqual((described, loads), (8192, 5))
        self.assertGreaterEqual(seconds, 0)
        self.assertEqual([c[:4] for c in self.calls],
                         [['jitperf-dump', '--describe', '-o', d] for d in self.dumps])
        self.assertEqual([c[4] for c in self.calls], self.dumps)
        with open(self.dumps[0]) as f:
            self.assertEqual(f.read(), 'described')
        self.assertEqual(len(notes), 1)  # 4343: said why, left as it was
        self.assertIn('out of memory', notes[0])
        with open(self.dumps[1]) as f:
            self.assertEqual(f.read(), 'record of 4343')

    def test_other_files_are_not_dumps(self):
        other = os.path.join(self.dir, 'jit-4242.dump.all')
        with open(other, 'w') as f:
            f.write('x')
        describe.describe_dumps('jitperf-dump', [other], run=self.fake_tool)
        self.assertEqual(self.calls, [])

    def test_a_tool_that_cannot_run(self):
        def missing(argv, **kw):
            raise OSError(2, 'No such file or directory')
        described, loads, _, notes = describe.describe_dumps('jitperf-dump', self.dumps[:1], run=missing)
        self.assertEqual((described, loads), (0, 0))
        self.assertIn('No such file', notes[0])


if __name__ == '__main__':
    unittest.main()
