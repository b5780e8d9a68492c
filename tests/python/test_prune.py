"""Unit tests of giving perf inject only the sampled pieces (jitperf.prune; the samples are read by jitperf-dump, tested in C)."""
import os
import subprocess
import tempfile
import unittest

from jitperf import prune


class PruneDumps(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp()
        self.addCleanup(subprocess.run, ['rm', '-rf', self.dir])
        for pid in (4242, 4343, 4444):
            with open(os.path.join(self.dir, 'jit-%d.dump' % pid), 'w') as f:
                f.write('dump of %d' % pid)
        self.calls = []

    def fake_tool(self, argv, **kw):
        self.calls.append(argv)
        n = 3
        if 'jit-4343' in argv[-1]:
            return subprocess.CompletedProcess(argv, 1, '', 'jitperf-dump: not a jitdump')
        with open(argv[4] + '.tmp', 'w') as f:
            f.write('pruned')
        os.replace(argv[4] + '.tmp', argv[4])
        return subprocess.CompletedProcess(argv, 0, '%s: kept %d of 10 LOADs, ...\n' % (argv[-1], n), '')

    def test_prunes_each_dump_and_keeps_the_whole_one(self):
        dumps = sorted(os.path.join(self.dir, n) for n in os.listdir(self.dir))
        kept, total, notes = prune.prune_dumps('jitperf-dump', dumps, 'perf.data', run=self.fake_tool)
        self.assertEqual((kept, total), (6, 20))
        self.assertEqual(len(notes), 1)  # 4343: the tool refused
        # one jitperf-dump per dump, reading perf.data itself
        self.assertEqual([c[:3] for c in self.calls], [['jitperf-dump', '--prune', 'perf.data']] * 3)
        a = os.path.join(self.dir, 'jit-4242.dump')
        with open(a) as f:
            self.assertEqual(f.read(), 'pruned')
        with open(a + '.all') as f:
            self.assertEqual(f.read(), 'dump of 4242')
        for pid in (4343,):  # left as it was, no copy beside it
            p = os.path.join(self.dir, 'jit-%d.dump' % pid)
            with open(p) as f:
                self.assertEqual(f.read(), 'dump of %d' % pid)
            self.assertFalse(os.path.exists(p + '.all'))

    def test_a_full_disk_keeps_the_dump_whole(self):
        def no_space(argv, **kw):
            raise OSError(28, 'No space left on device')

        dump = os.path.join(self.dir, 'jit-4242.dump')
        kept, total, notes = prune.prune_dumps('jitperf-dump', [dump], 'perf.data', run=no_space)
        self.assertEqual((kept, total), (0, 0))
        self.assertIn('No space left on device', notes[0])
        with open(dump) as f:
            self.assertEqual(f.read(), 'dump of 4242')
        self.assertEqual(sorted(os.listdir(self.dir)), ['jit-4242.dump', 'jit-4343.dump', 'jit-4444.dump'])


if __name__ == '__main__':
    unittest.main()
