"""Unit tests of the one classifier of JIT code and of the report's reading of perf script text (jitperf.classify, jitperf.report, jitperf.flamegraph)."""
import io
import unittest

from jitperf import classify as jit
from jitperf import flamegraph
from jitperf import report

# perf 6.1 lines of each kind, leaf only (perf script -G), as the tests read them.
LEAF_LINES = '''\
            demo  4242/4242  1000.000001000:      7f5153ca5038 jit:f_hot+0x38 (/tmp/d/dumps/jitted-4242-0.so)
            demo  4242/4242  1000.000002000:      7f4c8da201db [unknown] (/tmp/perf-4242.map)
            demo  4242/4242  1000.000003000:      7f4c8da201db [unknown] (/memfd:jitdual (deleted))
            demo  4242/4242  1000.000004000:      7f4c8da201db [unknown] (/tmp/orcexec.K61bkj (deleted))
            demo  4242/4242  1000.000005000:      7f5153ca50a7 [unknown] ([unknown])
            demo  4242/4242  1000.000006000:      55d4aa000010 [unknown] ([heap])
            demo  4242/4242  1000.000007000:      7f4c8da201db [unknown] (//anon)
            demo  4242/4242  1000.000008000:  ffffffff8223a7e2 mas_preallocate+0x152 ([kernel.kallsyms])
            demo  4242/4242  1000.000009000:      7fd90e98ccde __strchr_evex+0x1e (/usr/lib/x86_64-linux-gnu/libc.so.6)
            demo  4242/4242  1000.000010000:      7f4c8dd18be6 __vdso_clock_gettime+0xf6 ([vdso])
            demo  4242/4242  1000.000011000:      7f4c8da20100 LazyCompile:*hot (/tmp/perf-4242.map)
            demo  4242/4242  1000.000012000:      7f4c8da20100 [unknown] ([anon:v8 code])
 my prog (x)  4242/4243  1000.000013000:      7f4c8da20100 f(int) (/tmp/a (b)/orc (deleted))
            demo  4242/4242  1000.000014000:  ffffffff8223a7e2 [unknown] ([unknown])
'''

WANT = [  # pid tid time ip class symoff dso
    (4242, 4242, 1000000001000, 0x7f5153ca5038, 'named', '0x38', '/tmp/d/dumps/jitted-4242-0.so'),
    (4242, 4242, 1000000002000, 0x7f4c8da201db, 'unnamed', None, '/tmp/perf-4242.map'),
    (4242, 4242, 1000000003000, 0x7f4c8da201db, 'unnamed', None, '/memfd:jitdual (deleted)'),
    (4242, 4242, 1000000004000, 0x7f4c8da201db, 'unnamed', None, '/tmp/orcexec.K61bkj (deleted)'),
    (4242, 4242, 1000000005000, 0x7f5153ca50a7, 'unnamed', None, '[unknown]'),
    (4242, 4242, 1000000006000, 0x55d4aa000010, 'unnamed', None, '[heap]'),
    (4242, 4242, 1000000007000, 0x7f4c8da201db, 'unnamed', None, '//anon'),
    (4242, 4242, 1000000008000, 0xffffffff8223a7e2, 'other', '0x152', '[kernel.kallsyms]'),
    (4242, 4242, 1000000009000, 0x7fd90e98ccde, 'other', '0x1e', '/usr/lib/x86_64-linux-gnu/libc.so.6'),
    (4242, 4242, 1000000010000, 0x7f4c8dd18be6, 'other', '0xf6', '[vdso]'),
    (4242, 4242, 1000000011000, 0x7f4c8da20100, 'named', None, '/tmp/perf-4242.map'),
    (4242, 4242, 1000000012000, 0x7f4c8da20100, 'unnamed', None, '[anon:v8 code]'),
    (4242, 4243, 1000000013000, 0x7f4c8da20100, 'named', None, '/tmp/a (b)/orc (deleted)'),
    (4242, 4242, 1000000014000, 0xffffffff8223a7e2, 'other', None, '[unknown]'),
]

CHAIN_TEXT = '''\
demo  7/7    1.000000100: 
\t              9e jit:main:f8e5+0x1e (/r/dumps/jitted-7-0.so)
\t          401010 run_compiled+0x10 (/r/demo)
\t          401020 main+0x20 (/r/demo)
\t    7f0000002724 [unknown] ([unknown])

demo  7/7    1.000000200: 
\tffffffff81000000 pvm_irq_enable+0x0 ([kernel.kallsyms])
\t          401010 interp_eval+0x10 (/r/demo)

'''


class ClassifyTest(unittest.TestCase):
    def test_perf_lines_of_each_kind(self):
        samples = list(report.parse_samples(io.StringIO(LEAF_LINES)))
        got = [(s.pid, s.tid, s.time_ns, s.frames[0].ip, s.frames[0].kind,
                s.frames[0].symoff, s.frames[0].dso) for s in samples]
        self.assertEqual(got, WANT)
        self.assertEqual(samples[12].comm, 'my prog (x)')
        self.assertEqual(samples[12].frames[0].sym, 'f(int)')

    def test_where_names_come_from(self):
        self.assertEqual(jit.classify('f', '/d/jitted-1-2.so'), (jit.NAMED, jit.VIA_JITDUMP))
        self.assertEqual(jit.classify('f', '/tmp/perf-1.map'), (jit.NAMED, jit.VIA_PERF_MAP))
        self.assertEqual(jit.classify('f', '[JIT] tid 5'), (jit.NAMED, jit.VIA_PERF_MAP))
        self.assertEqual(jit.classify('[JIT] tid 5', '/x/libc.so'), (jit.UNNAMED, None))
        self.assertEqual(jit.classify('f', '/tmp/x (deleted)'), (jit.NAMED, jit.VIA_SYMBOL))
        self.assertEqual(jit.classify('f', '/usr/lib/libc.so.6'), (jit.OTHER, None))

    def test_deleted_is_jit_in_summary_and_flame_graph(self):
        frame = report.parse_frame('7f4c8da201db [unknown] (/tmp/orcexec.K61bkj (deleted))')
        self.assertEqual(report.function_key(frame),
                         ('[unknown]', '[JIT, unnamed] /tmp/orcexec.K61bkj (deleted)'))
        self.assertEqual(flamegraph.libtype(frame), 'jit')


class PassTest(unittest.TestCase):
    def samples(self):
        return list(report.parse_samples(io.StringIO(CHAIN_TEXT)))

    def test_call_chains(self):
        first, second = self.samples()
        self.assertEqual([f.sym for f in first.frames],
                         ['jit:main:f8e5', 'run_compiled', 'main', '[unknown]'])
        self.assertEqual(second.frames[0].kind, jit.OTHER)

    def test_tally_and_stacks_agree(self):
        tally, tree = report.Tally(), flamegraph.StackTree()
        for s in self.samples():
            tally.add(s)
            tree.add(s)
        self.assertEqual((tally.samples, tally.jit, tally.named), (2, 1, 1))
        self.assertEqual((tree.samples, tree.jit), (2, 1))
        self.assertEqual(tally.top()[0][2], '[JIT]')
        self.assertEqual(sorted(tree.folded), [
            'demo;interp_eval;pvm_irq_enable_[k]',
            'demo;main;run_compiled;jit:main:f8e5_[j]'])

    def test_unresolved_leaf_is_kept(self):
        s = list(report.parse_samples(io.StringIO(
            'x  1/1  1.0: \n\t 7f00 [unknown] ([unknown])\n\t 7f01 [unknown] ([unknown])\n')))[0]
        self.assertEqual(flamegraph.stack_of(s.frames), [('[unknown]', 'jit')])

    def test_sample_table(self):
        out = io.StringIO()
        table = report.SampleTable(out)
        for s in report.parse_samples(io.StringIO(LEAF_LINES.splitlines(True)[0])):
            table.add(s)
        self.assertEqual(out.getvalue(), '4242\t1000000001000\t7f5153ca5038\tnamed\t'
                         '/tmp/d/dumps/jitted-4242-0.so\tjit:f_hot\t0x38\n')

    def test_skip(self):
        self.assertEqual(report.parse_skip('12:python3'), (12, 'python3'))


if __name__ == '__main__':
    unittest.main()


ROOT_CHAINS = '''\
demo  7/7    1.000000100: 
\t              9e jit:main:f8e5+0x1e (/r/dumps/jitted-7-0.so)
\t          401020 main+0x20 (/r/demo)
\t    7f0000002724 __libc_start_call_main+0x7a (/usr/lib/x86_64-linux-gnu/libc.so.6)
\t    7f0000002800 __libc_start_main+0x85 (/usr/lib/x86_64-linux-gnu/libc.so.6)
\t          401000 _start+0x21 (/r/demo)

demo  7/8    1.000000200: 
\t              9e jit:main:f8e5+0x1e (/r/dumps/jitted-7-0.so)
\t    7f0000009999 [unknown] ([unknown])

demo  7/8    1.000000300: 
\t          401050 burn+0x10 (/r/demo)
\t              a0 jit:main:aaaa+0x20 (/r/dumps/jitted-7-1.so)
\t    7f0000003000 start_thread+0x2f0 (/usr/lib/x86_64-linux-gnu/libc.so.6)
\t    7f0000003100 clone3+0x2c (/usr/lib/x86_64-linux-gnu/libc.so.6)

'''


class StackTest(unittest.TestCase):
    """Complete stacks: the counts jitperf-run's summary prints."""

    def test_complete_stacks(self):
        tally = report.Tally()
        for s in report.parse_samples(io.StringIO(ROOT_CHAINS)):
            tally.add(s)
        self.assertEqual((tally.jit, tally.jit_complete), (2, 1))
        self.assertEqual((tally.through_jit, tally.through_jit_complete), (3, 2))
        self.assertEqual(tally.chains, 3)
        self.assertEqual(tally.to_json()['through_jit_complete'], 2)

    def test_erlang_process_root(self):
        # an Erlang process's stack ends at BEAM's normal_exit, not at a
        # thread root; the same name inside a chain ends nothing
        text = ('beam.smp  9/9    1.000000100: \n'
                '\t              9e $erl_work:loop/2+0x1e (/r/dumps/jitted-9-0.so)\n'
                '\t              a7 $erts_beamasm:normal_exit/0-CodeInfoPrologue+0x7 (/r/dumps/jitted-9-1.so)\n\n'
                'beam.smp  9/9    1.000000200: \n'
                '\t              9e $erl_work:loop/2+0x1e (/r/dumps/jitted-9-0.so)\n'
                '\t              80 $erts_beamasm:normal_exit/0 (/r/dumps/jitted-9-1.so)\n'
                '\t    7f0000009999 [unknown] ([unknown])\n\n')
        tally = report.Tally()
        for s in report.parse_samples(io.StringIO(text)):
            tally.add(s)
        self.assertEqual((tally.jit, tally.jit_complete), (2, 1))

    def test_summary_advises_dwarf_without_frame_pointers(self):
        from jitperf import summary

        class Run:
            call_graph = 'fp'
        tally = report.Tally()
        for s in report.parse_samples(io.StringIO(ROOT_CHAINS)):
            tally.add(s)
        tally.jit_complete = 0
        lines = summary.stack_lines(Run(), tally)
        self.assertIn('0.0%', lines[0])
        self.assertIn('--call-graph dwarf', lines[1])
        Run.call_graph = 'dwarf'
        self.assertEqual(len(summary.stack_lines(Run(), tally)), 1)
        Run.call_graph = 'none'
        self.assertEqual(summary.stack_lines(Run(), tally), [])
