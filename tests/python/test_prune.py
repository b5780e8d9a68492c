"""Unit tests of giving perf inject only the sampled pieces (jitperf.prune, jitperf.classify.address_is_file_offset)."""
import os
import subprocess
import tempfile
import unittest

from jitperf import classify as jit
from jitperf import prune

# perf script --show-mmap-events -F pid,ip,dso, as perf 6.1 prints it.
TEXT = '''\
 4242 PERF_RECORD_MMAP2 4242/4242: [0x7f36cc442000(0x10000) @ 0x7f36cc442000 00:00 0 0]: rwxp //anon
 4242 PERF_RECORD_MMAP2 4242/4242: [0x7f1817bff000(0x800000) @ 0 00:01 186 3708844670]: r-xs /memfd:vmem (deleted)
 4242 PERF_RECORD_MMAP2 4242/4242: [0x7f1818bff000(0x800000) @ 0x800000 00:01 186 3708844670]: r-xs /memfd:vmem (deleted)
 4242 PERF_RECORD_MMAP 4242/4242: [0x7f0000001000(0x1000) @ 0x2000]: x /tmp/orc (deleted)
 4242 
\t    7f36cc44202f (/tmp/perf-4242.map)
\t           406f8 (/memfd:vmem (deleted))
\t           1ab70 (/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2)
\t    ffffffff81474101 ([kernel.kallsyms])
 4242 
\t            2010 (/tmp/orc (deleted))
\t    7f5153ca5038 (/tmp/d/dumps/jitted-4242-0.so)
 4343       55d4aa000010 ([heap])
 4343       7f1817c3f6f9 (/memfd:vmem (deleted))
 4343 
\t    7f4c8da201db ([unknown])
\t    7f4c8da201dc (//anon)
\t    7f4c8da201dd ([anon:v8 code])
'''


class AddressKinds(unittest.TestCase):
    def test_which_frames_can_hold_a_load(self):
        self.assertFalse(jit.address_is_file_offset('//anon'))
        self.assertFalse(jit.address_is_file_offset('[unknown]'))
        self.assertFalse(jit.address_is_file_offset('/tmp/perf-4242.map'))
        self.assertFalse(jit.address_is_file_offset('[heap]'))
        self.assertTrue(jit.address_is_file_offset('/memfd:vmem (deleted)'))
        self.assertTrue(jit.address_is_file_offset('/tmp/orcexec.K61bkj (deleted)'))
        self.assertIsNone(jit.address_is_file_offset('/tmp/d/dumps/jitted-4242-0.so'))
        self.assertIsNone(jit.address_is_file_offset('/usr/lib/x86_64-linux-gnu/libc.so.6'))
        self.assertIsNone(jit.address_is_file_offset('[kernel.kallsyms]'))


class Sampled(unittest.TestCase):
    def test_addresses_of_jit_frames(self):
        s = prune.SampledAddresses().feed(TEXT.splitlines(True))
        self.assertEqual(s.unplaced, set())
        # The memfd offset 0x406f8 lies in the first of the file's two
        # views only; the unlinked file's 0x2010 at 0x1010 into its map.
        self.assertEqual(sorted(s.addrs[4242]), [0x7f0000001010, 0x7f1817c3f6f8, 0x7f36cc44202f])
        # Without a call chain, perf prints the sample's address as it is.
        self.assertEqual(sorted(s.addrs[4343]), [0x55d4aa000010, 0x7f1817c3f6f9, 0x7f4c8da201db, 0x7f4c8da201dc,
                                                 0x7f4c8da201dd])

    def test_both_views_of_a_file_are_kept(self):
        text = TEXT.replace('0x800000 00:01 186', '0 00:01 186')  # two views of offset 0
        s = prune.SampledAddresses().feed(text.splitlines(True))
        self.assertIn(0x7f1817c3f6f8, s.addrs[4242])
        self.assertIn(0x7f1818c3f6f8, s.addrs[4242])

    def test_a_frame_no_mapping_explains(self):
        text = TEXT + ' 4444 \n\t           406f8 (/memfd:other (deleted))\n'
        s = prune.SampledAddresses().feed(text.splitlines(True))
        self.assertEqual(s.unplaced, {4444})


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
        with open(argv[2]) as f:
            n = len(f.read().split())
        if 'jit-4343' in argv[-1]:
            return subprocess.CompletedProcess(argv, 1, '', 'jitperf-dump: not a jitdump')
        with open(argv[4] + '.tmp', 'w') as f:
            f.write('pruned')
        os.replace(argv[4] + '.tmp', argv[4])
        return subprocess.CompletedProcess(argv, 0, '%s: kept %d of 10 LOADs, ...\n' % (argv[-1], n), '')

    def test_prunes_each_dump_and_keeps_the_whole_one(self):
        s = prune.SampledAddresses().feed(TEXT.splitlines(True))
        s.unplaced.add(4444)
        dumps = sorted(os.path.join(self.dir, n) for n in os.listdir(self.dir))
        kept, total, notes = prune.prune_dumps('jitperf-dump', dumps, s, run=self.fake_tool)
        self.assertEqual((kept, total), (3, 10))
        self.assertEqual(len(notes), 2)  # 4343: the tool refused; 4444: unplaced
        a = os.path.join(self.dir, 'jit-4242.dump')
        with open(a) as f:
            self.assertEqual(f.read(), 'pruned')
        with open(a + '.all') as f:
            self.assertEqual(f.read(), 'dump of 4242')
        for pid in (4343, 4444):  # left as they were, no copy beside them
            p = os.path.join(self.dir, 'jit-%d.dump' % pid)
            with open(p) as f:
                self.assertEqual(f.read(), 'dump of %d' % pid)
            self.assertFalse(os.path.exists(p + '.all'))
        self.assertFalse([n for n in os.listdir(self.dir) if n.endswith('.sampled')])

    def test_a_full_disk_keeps_the_dump_whole(self):
        def no_space(argv, **kw):
            raise OSError(28, 'No space left on device')

        s = prune.SampledAddresses().feed(TEXT.splitlines(True))
        dump = os.path.join(self.dir, 'jit-4242.dump')
        kept, total, notes = prune.prune_dumps('jitperf-dump', [dump], s, run=no_space)
        self.assertEqual((kept, total), (0, 0))
        self.assertIn('No space left on device', notes[0])
        with open(dump) as f:
            self.assertEqual(f.read(), 'dump of 4242')
        self.assertEqual(sorted(os.listdir(self.dir)), ['jit-4242.dump', 'jit-4343.dump', 'jit-4444.dump'])


if __name__ == '__main__':
    unittest.main()
