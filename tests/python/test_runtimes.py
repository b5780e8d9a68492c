"""Unit tests of the environment jitperf-run builds for the runtimes' own names (jitperf.runtimes) and of applying late maps (jitperf.runtime_maps)."""
import os
import re
import shutil
import subprocess
import tempfile
import types
import unittest

from jitperf import luajit_init, runtime_maps, runtimes, summary


class FakeProbe(runtimes.Probe):
    """A machine described by dictionaries: programs on PATH, file
    contents, globs, binaries' strings, --version outputs."""

    def __init__(self, env=None, program=(), path=None, found=None, files=None, globs=None, strings=None,
                 versions=None):
        super().__init__(env or {}, program, path)
        self.found, self.files = found or {}, files or {}
        self.globs, self.strings, self.versions = globs or {}, strings or {}, versions or {}

    def find(self, names):
        out = []
        if self.program_path and self.program and os.path.basename(self.program[0]) in names:
            out.append(self.program_path)
        out += [self.found[n] for n in names if n in self.found]
        return list(dict.fromkeys(out))

    def read(self, path):
        return self.files.get(path)

    def glob(self, pattern):
        return self.globs.get(pattern, [])

    def contains(self, path, needle):
        return needle in self.strings.get(path, b'')

    def version_output(self, path):
        return self.versions.get(path, '')


def decide(func, **kw):
    return func(FakeProbe(**kw))


class NodeTest(unittest.TestCase):
    def test_added_for_a_recent_node(self):
        d = decide(runtimes.node, found={'node': '/usr/bin/node'}, versions={'/usr/bin/node': 'v20.20.2'})
        self.assertEqual(d.value, '--perf-basic-prof-only-functions --interpreted-frames-native-stack')

    def test_user_value_extended(self):
        d = decide(runtimes.node, env={'NODE_OPTIONS': '--max-old-space-size=100'},
                   found={'node': '/n'}, versions={'/n': 'v18.0.0'})
        self.assertEqual(d.value, '--max-old-space-size=100 --perf-basic-prof-only-functions --interpreted-frames-native-stack')

    def test_users_own_switch_wins(self):
        for value in ('--no-perf-basic-prof', '--perf-prof', '--perf-basic-prof', '--perf_basic_prof_only_functions'):
            d = decide(runtimes.node, env={'NODE_OPTIONS': value}, found={'node': '/n'}, versions={'/n': 'v20.0.0'})
            self.assertFalse(d.on, value)
            self.assertIn('set by you', d.note)
        d = decide(runtimes.node, program=['node', '--perf-prof', 'a.js'], path='/n', versions={'/n': 'v20.0.0'})
        self.assertFalse(d.on)

    def test_old_node_refuses_the_flag(self):
        # node 8 exits 9 on a flag outside its NODE_OPTIONS allow-list
        d = decide(runtimes.node, found={'node': '/n', 'nodejs': '/m'}, versions={'/n': 'v20.0.0', '/m': 'v8.9.0'})
        self.assertFalse(d.on)
        d = decide(runtimes.node, found={'node': '/n'}, versions={'/n': ''})
        self.assertFalse(d.on)
        d = decide(runtimes.node, found={'node': '/n'}, versions={'/n': 'v12.19.0'})
        self.assertFalse(d.on)

    def test_not_installed(self):
        self.assertFalse(decide(runtimes.node).on)


JDK17 = {'/jdk17/release': 'IMPLEMENTOR="Debian"\nJAVA_VERSION="17.0.21.1"\n'}


class HotSpotTest(unittest.TestCase):
    def test_jdk17(self):
        d = decide(runtimes.hotspot, found={'java': '/jdk17/bin/java'}, files=JDK17)
        self.assertEqual(d.value, '-XX:+UnlockDiagnosticVMOptions -XX:+DumpPerfMapAtExit')

    def test_older_jvm_beside_it_ignores_the_flag(self):
        files = dict(JDK17, **{'/jdk8/release': 'JAVA_VERSION="1.8.0_402"\n'})
        d = decide(runtimes.hotspot, found={'java': '/jdk17/bin/java'}, files=files,
                   globs={'/usr/lib/jvm/*/bin/java': ['/jdk8/bin/java']})
        self.assertTrue(d.value.endswith(' -XX:+IgnoreUnrecognizedVMOptions'))
        self.assertEqual(runtimes.jdk_version(FakeProbe(files=files), '/jdk8/bin/java'), (8, 0, 0))

    def test_only_old_jvms(self):
        d = decide(runtimes.hotspot, found={'java': '/jdk11/bin/java'}, files={'/jdk11/release': 'JAVA_VERSION="11.0.2"'})
        self.assertFalse(d.on)

    def test_users_own_switch_wins(self):
        for var in runtimes.JAVA_VARS:
            d = decide(runtimes.hotspot, env={var: '-XX:-DumpPerfMapAtExit'}, found={'java': '/jdk17/bin/java'},
                       files=JDK17)
            self.assertFalse(d.on, var)
        d = decide(runtimes.hotspot, env={'JAVA_TOOL_OPTIONS': '-Xmx1g'}, found={'java': '/jdk17/bin/java'},
                   files=JDK17)
        self.assertEqual(d.value, '-Xmx1g -XX:+UnlockDiagnosticVMOptions -XX:+DumpPerfMapAtExit')


class MonoTest(unittest.TestCase):
    def test_option_in_the_binary(self):
        d = decide(runtimes.mono, found={'mono': '/usr/bin/mono-sgen'},
                   strings={'/usr/bin/mono-sgen': b'xx--jitmap\0yy'})
        self.assertEqual(d.value, '--jitmap')

    def test_option_in_the_library_of_a_launcher(self):
        d = decide(runtimes.mono, found={'mono': '/opt/bin/mono'},
                   globs={'/opt/bin/../lib/libmonosgen-2.0.so*': ['/opt/lib/libmonosgen-2.0.so.1']},
                   strings={'/opt/lib/libmonosgen-2.0.so.1': b'--jitmap\0'})
        self.assertTrue(d.on)

    def test_unknown_option_refused(self):
        d = decide(runtimes.mono, found={'mono': '/m'}, strings={'/m': b'--jitmapper'})
        self.assertFalse(d.on)

    def test_users_own_switch_wins(self):
        d = decide(runtimes.mono, env={'MONO_ENV_OPTIONS': '--jitdump'}, found={'mono': '/m'},
                   strings={'/m': b'--jitmap\0'})
        self.assertFalse(d.on)
        d = decide(runtimes.mono, env={'MONO_ENV_OPTIONS': '--debug'}, found={'mono': '/m'},
                   strings={'/m': b'--jitmap\0'})
        self.assertEqual(d.value, '--debug --jitmap')


class MonoFramesTest(unittest.TestCase):
    MONO = {'found': {'mono': '/m'}, 'strings': {'/m': b'--jitmap\0disable_omit_fp\0'}}

    def plan(self, call_graph, **kw):
        probe = FakeProbe(**dict(self.MONO, **kw))
        return runtimes.plan(probe.env, probe=probe, call_graph=call_graph)

    def test_asked_with_call_graphs_only(self):
        for cg in ('fp', 'dwarf', 'dwarf,16384'):
            self.assertEqual(runtimes.environment(self.plan(cg))['MONO_DEBUG'], 'disable_omit_fp', cg)
        for cg in ('none', 'lbr'):
            self.assertNotIn('MONO_DEBUG', runtimes.environment(self.plan(cg)), cg)

    def test_users_options_kept_first(self):
        env = runtimes.environment(self.plan('dwarf', env={'MONO_DEBUG': 'casts,'}))
        self.assertEqual(env['MONO_DEBUG'], 'casts,disable_omit_fp')
        decisions = self.plan('dwarf', env={'MONO_DEBUG': 'casts, disable_omit_fp'})
        self.assertNotIn('MONO_DEBUG', runtimes.environment(decisions))
        self.assertIn('Mono frames: set by you (MONO_DEBUG): left alone', runtimes.summary_lines(decisions))

    def test_unknown_option_refused(self):
        # mono exits 1 on a MONO_DEBUG option it does not know
        decisions = self.plan('fp', strings={'/m': b'--jitmap\0disable_omit_fpx'})
        self.assertNotIn('MONO_DEBUG', runtimes.environment(decisions))
        self.assertIn('Mono frames: /m does not know MONO_DEBUG=disable_omit_fp', runtimes.summary_lines(decisions))

    def test_summary_names_the_variable(self):
        run = types.SimpleNamespace(runtime_names=self.plan('dwarf'))
        lines = summary.runtime_lines(run, types.SimpleNamespace(jit=0, functions={}))
        self.assertTrue(any('for the call graphs: MONO_DEBUG=disable_omit_fp' in l for l in lines))

    def test_not_installed(self):
        decisions = runtimes.plan({}, probe=FakeProbe(), call_graph='dwarf')
        self.assertNotIn('MONO_DEBUG', runtimes.environment(decisions))
        self.assertFalse(any('Mono frames' in l for l in runtimes.summary_lines(decisions)))


def otp(version, jit=True):
    return dict(found={'erl': '/otp/bin/erl'},
                files={'/otp/releases/%s/OTP_VERSION' % version.split('.')[0]: version + '\n'},
                globs={'/otp/releases/*/OTP_VERSION': ['/otp/releases/%s/OTP_VERSION' % version.split('.')[0]],
                       '/otp/erts-*/bin/beam.smp': ['/otp/erts-13/bin/beam.smp']},
                strings={'/otp/erts-13/bin/beam.smp': b'/tmp/perf-%i.map' if jit else b''})


class ErlangTest(unittest.TestCase):
    def test_otp25_jit(self):
        self.assertEqual(decide(runtimes.erlang, **otp('25.2.3')).value, '+JPperf map')

    def test_otp24_knows_no_map_mode(self):
        self.assertFalse(decide(runtimes.erlang, **otp('24.3')).on)

    def test_emulator_build(self):
        self.assertFalse(decide(runtimes.erlang, **otp('26.1', jit=False)).on)

    def test_users_own_switch_wins(self):
        for var in runtimes.ERL_VARS:
            d = decide(runtimes.erlang, env={var: '+JPperf true'}, **otp('25.2.3'))
            self.assertFalse(d.on, var)
        d = decide(runtimes.erlang, env={'ERL_AFLAGS': '+S 2'}, **otp('25.2.3'))
        self.assertEqual(d.value, '+S 2 +JPperf map')


class CPythonTest(unittest.TestCase):
    def test_set_without_probing(self):
        self.assertEqual(decide(runtimes.cpython).value, '1')

    def test_users_value_wins(self):
        self.assertFalse(decide(runtimes.cpython, env={'PYTHONPERFSUPPORT': '0'}).on)
        self.assertFalse(decide(runtimes.cpython, program=['python3', '-X', 'perf', 'a.py']).on)
        self.assertFalse(decide(runtimes.cpython, program=['python3.12', '-Xperf_jit', 'a.py']).on)


class LuaJitTest(unittest.TestCase):
    def test_set_when_a_luajit_is_found(self):
        d = decide(runtimes.luajit, found={'luajit': '/usr/bin/luajit'})
        self.assertEqual((d.var, d.value), ('LUA_INIT', luajit_init.chunk()))
        self.assertNotIn('\n', d.value)  # one VAR=VALUE line in run.txt
        d = decide(runtimes.luajit, program=['luajit-2.1.0-beta3', 'a.lua'], path='/opt/luajit-2.1.0-beta3')
        self.assertTrue(d.on)

    def test_not_installed(self):
        self.assertFalse(decide(runtimes.luajit, found={'lua5.1': '/usr/bin/lua5.1'}).on)

    def test_users_init_runs_after_ours(self):
        d = decide(runtimes.luajit, env={'LUA_INIT': '@/my init.lua'}, found={'luajit': '/l'})
        self.assertTrue(d.value.startswith(luajit_init.chunk() + ' '))
        self.assertIn('"@/my init.lua"', d.value)
        self.assertIn('yours runs after it', d.note)

    def test_minus_E_ignores_the_environment(self):
        d = decide(runtimes.luajit, program=['luajit', '-O3', '-E', 'a.lua'], path='/l')
        self.assertFalse(d.on)
        self.assertIn('-E', d.note)
        for args in (['-e', '-E', 'a.lua'], ['a.lua', '-E'], ['-jv', '--', '-E'], ['-b', '-E', 'a', 'b']):
            self.assertTrue(decide(runtimes.luajit, program=['luajit'] + args, path='/l').on, args)

    def test_lua_string_escapes_every_other_byte(self):
        self.assertEqual(luajit_init.lua_string('a"b\\\n'), '"a\\034b\\092\\010"')
        self.assertEqual(luajit_init.lua_string(b'\xff1'), '"\\2551"')


@unittest.skipUnless(shutil.which('luajit'), 'no luajit')
class LuaJitChunkTest(unittest.TestCase):
    """The chunk in a real luajit: the program's output unchanged, a map
    line per trace named by place, the user's LUA_INIT run as luajit runs it."""
    SCRIPT = """local x = 0
for i = 1, 20000 do if i % 3 == 0 then x = x + i else x = x - 1 end end
local f = loadstring("return function(n)\\nlocal s = 0 for i = 1, n do s = s + i end return s end")()
print(x, f(20000), ...)
"""

    def setUp(self):
        self.dir = tempfile.mkdtemp()
        self.script = os.path.join(self.dir, 'w.lua')
        with open(self.script, 'w') as f:
            f.write(self.SCRIPT)
        self.maps = []

    def tearDown(self):
        for m in self.maps:
            if os.path.exists(m):
                os.unlink(m)
        shutil.rmtree(self.dir)

    def run_lua(self, init, args=('a',)):
        env = {k: v for k, v in os.environ.items() if not k.startswith('LUA_INIT')}
        if init is not None:
            env['LUA_INIT'] = init
        p = subprocess.Popen(['luajit', self.script] + list(args), env=env, cwd=self.dir,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        out, err = p.communicate(timeout=30)
        self.maps.append('/tmp/perf-%d.map' % p.pid)
        return p.returncode, out, err, self.maps[-1]

    def test_names_by_place(self):
        plain = self.run_lua(None)
        rc, out, err, path = self.run_lua(luajit_init.chunk())
        self.assertEqual((rc, out, err), plain[:3])
        with open(path) as f:
            lines = f.read().splitlines()
        names = set()
        for line in lines:
            m = re.match(r'^([0-9a-f]+) ([0-9a-f]+) (.*)$', line)
            self.assertTrue(m, line)
            self.assertGreater(int(m.group(2), 16), 0)
            names.add(m.group(3))
        self.assertIn('lua:w.lua:2 loop', names)
        self.assertIn('lua:w.lua:2 side', names)
        self.assertTrue(any(re.match(r'^lua:\[string "return function\(n\)\.\.\."\]#[0-9a-f]{8}:2 loop$', n) for n in names),
                        names)

    def test_users_init_as_luajit_runs_it(self):
        with open(os.path.join(self.dir, 'my init.lua'), 'w') as f:
            f.write('print("file init", select("#", ...))')
        for user in ('print("init")', 'error("boom")', 'x = (', '@my init.lua', '@missing.lua', '',
                     'print("tab\\tand\\nnewline")\nprint(2)'):
            plain = self.run_lua(user)
            rc, out, err, _ = self.run_lua(luajit_init.chunk(user))
            self.assertEqual((rc, out), plain[:2], user)
            # the message is luajit's; under a traceback, one more frame
            self.assertEqual(err.split('\n')[0], plain[2].split('\n')[0], user)

    def test_an_attach_of_the_program_wins(self):
        rc, out, err, path = self.run_lua(luajit_init.chunk('jit.attach(function() end, "trace")'))
        self.assertEqual((rc, err), (0, ''))
        self.assertFalse(os.path.exists(path))


PUC_LUAS = [p for p in map(shutil.which, ('lua5.1', 'lua5.2', 'lua5.3', 'lua5.4')) if p]


@unittest.skipUnless(PUC_LUAS, 'no PUC Lua')
class PucLuaTest(unittest.TestCase):
    def test_chunk_does_nothing_and_the_users_init_runs(self):
        # PUC Lua reads LUA_INIT too (when no LUA_INIT_5_x is set)
        env = {k: v for k, v in os.environ.items() if not k.startswith('LUA_INIT')}
        env['LUA_INIT'] = luajit_init.chunk('print("init")')
        for lua in PUC_LUAS:
            r = subprocess.run([lua, '-e', 'print(1)'], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
            self.assertEqual((r.returncode, r.stdout, r.stderr), (0, 'init\n1\n', ''), lua)

def dotnet(*versions):
    return dict(found={'dotnet': '/dn/dotnet'},
                globs={'/dn/shared/Microsoft.NETCore.App/*': ['/dn/shared/Microsoft.NETCore.App/' + v for v in versions]})


class DotnetTest(unittest.TestCase):
    def test_net8_map_only(self):
        # 3: the map and no jitdump of its own (1 and 2 write jit-<pid>.dump)
        self.assertEqual(decide(runtimes.dotnet, **dotnet('8.0.4', '9.0.0')).value, '3')

    def test_older_runtime_beside_it(self):
        self.assertFalse(decide(runtimes.dotnet, **dotnet('6.0.30', '8.0.4')).on)

    def test_users_value_wins(self):
        for var in ('DOTNET_PerfMapEnabled', 'COMPlus_PerfMapEnabled'):
            self.assertFalse(decide(runtimes.dotnet, env={var: '1'}, **dotnet('8.0.4')).on)

    def test_not_installed(self):
        self.assertFalse(decide(runtimes.dotnet).on)


class QemuTest(unittest.TestCase):
    def test_qemu8(self):
        d = decide(runtimes.qemu, found={'qemu-x86_64': '/q'}, strings={'/q': b'QEMU_PERFMAP'})
        self.assertEqual(d.value, '1')

    def test_qemu7(self):
        self.assertFalse(decide(runtimes.qemu, found={'qemu-x86_64': '/q'}, strings={'/q': b''}).on)

    def test_users_choice_wins(self):
        self.assertFalse(decide(runtimes.qemu, env={'QEMU_JITDUMP': '1'}, found={'qemu-x86_64': '/q'},
                                strings={'/q': b'QEMU_PERFMAP'}).on)
        self.assertFalse(decide(runtimes.qemu, program=['qemu-aarch64', '-perfmap', 'a'], path='/qa',
                                strings={'/qa': b'QEMU_PERFMAP'}).on)


class HotSpotFramesTest(unittest.TestCase):
    JAVA = {'found': {'java': '/jdk17/bin/java'}, 'files': JDK17}

    def plan(self, call_graph, **kw):
        probe = FakeProbe(**dict(self.JAVA, **kw))
        return runtimes.plan(probe.env, probe=probe, call_graph=call_graph)

    def test_asked_with_call_graphs_only(self):
        for cg in ('fp', 'dwarf', 'dwarf,16384'):
            env = runtimes.environment(self.plan(cg))
            self.assertEqual(env['JAVA_TOOL_OPTIONS'], '-XX:+UnlockDiagnosticVMOptions -XX:+DumpPerfMapAtExit '
                             '-XX:+PreserveFramePointer', cg)
        for cg in ('none', 'lbr'):
            env = runtimes.environment(self.plan(cg))
            self.assertNotIn('PreserveFramePointer', env['JAVA_TOOL_OPTIONS'], cg)

    def test_users_own_choice_wins(self):
        env = runtimes.environment(self.plan('dwarf', env={'JAVA_TOOL_OPTIONS': '-XX:-PreserveFramePointer'}))
        self.assertEqual(env['JAVA_TOOL_OPTIONS'], '-XX:-PreserveFramePointer -XX:+UnlockDiagnosticVMOptions '
                         '-XX:+DumpPerfMapAtExit')
        decisions = self.plan('fp', program=['java', '-XX:-PreserveFramePointer', 'Main'], path='/jdk17/bin/java')
        self.assertNotIn('PreserveFramePointer', runtimes.environment(decisions)['JAVA_TOOL_OPTIONS'])
        self.assertIn('HotSpot frames: set by you (the command line): left alone',
                      runtimes.summary_lines(decisions))

    def test_asked_when_the_names_are_the_users(self):
        # the user's own DumpPerfMapAtExit: names left alone, frames still asked for
        env = runtimes.environment(self.plan('fp', env={'_JAVA_OPTIONS': '-XX:+DumpPerfMapAtExit',
                                                        'JAVA_TOOL_OPTIONS': '-Xmx1g'}))
        self.assertEqual(env['JAVA_TOOL_OPTIONS'], '-Xmx1g -XX:+PreserveFramePointer')

    def test_jdk8_beside_ignores_unknown_flags_once(self):
        files = dict(JDK17, **{'/jdk8/release': 'JAVA_VERSION="1.8.0_45"\n'})
        decisions = self.plan('dwarf', files=files, globs={'/usr/lib/jvm/*/bin/java': ['/jdk8/bin/java']})
        words = runtimes.environment(decisions)['JAVA_TOOL_OPTIONS'].split()
        self.assertEqual(words.count('-XX:+IgnoreUnrecognizedVMOptions'), 1)
        self.assertEqual(words[-1], '-XX:+PreserveFramePointer')
        self.assertIn("JAVA_TOOL_OPTIONS += '-XX:+PreserveFramePointer -XX:+IgnoreUnrecognizedVMOptions' "
                      "(for call graphs through compiled Java code)", runtimes.summary_lines(decisions))

    def test_summary_says_what_it_costs(self):
        run = types.SimpleNamespace(runtime_names=self.plan('dwarf'))
        lines = summary.runtime_lines(run, types.SimpleNamespace(jit=0, functions={}))
        self.assertIn('runtime names asked of: HotSpot, CPython (', '\n'.join(lines))
        self.assertTrue(any('for the call graphs: -XX:+PreserveFramePointer' in l and 'slower' in l for l in lines))

    def test_not_installed(self):
        decisions = runtimes.plan({}, probe=FakeProbe(), call_graph='fp')
        self.assertNotIn('JAVA_TOOL_OPTIONS', runtimes.environment(decisions))


class PlanTest(unittest.TestCase):
    def test_environment_and_summary(self):
        probe = FakeProbe(found={'node': '/n'}, versions={'/n': 'v20.1.0'})
        decisions = runtimes.plan({}, probe=probe)
        env = runtimes.environment(decisions)
        self.assertEqual(env, {'NODE_OPTIONS': '--perf-basic-prof-only-functions --interpreted-frames-native-stack',
                               'PYTHONPERFSUPPORT': '1'})
        self.assertNotIn('JAVA_TOOL_OPTIONS', env)  # no JVM here: nothing to ask
        lines = runtimes.summary_lines(decisions)
        self.assertTrue(lines[0].startswith("NODE_OPTIONS='--perf-basic-prof-only-functions"))
        self.assertFalse(any('not found' in l for l in lines))

    def test_never_a_second_jitdump(self):
        # whatever is installed, no switch that makes a runtime write jit-<pid>.dump
        kw = dotnet('8.0.4')
        kw['found']['node'] = '/n'
        probe = FakeProbe(versions={'/n': 'v20.1.0'}, **kw)
        env = runtimes.environment(runtimes.plan({}, probe=probe))
        self.assertNotIn('--perf-prof', env['NODE_OPTIONS'].split())
        # nor one that makes V8 leave isolate-*-v8.log files in the working directory
        self.assertNotIn('--perf-basic-prof', env['NODE_OPTIONS'].split())
        self.assertEqual(env['DOTNET_PerfMapEnabled'], '3')
        self.assertFalse(any(k in env for k in ('PYTHON_PERF_JIT_SUPPORT', 'QEMU_JITDUMP')))

    def test_real_probe_finds_the_program_itself(self):
        probe = runtimes.Probe({'PATH': ''}, ['node', 'x.js'], '/usr/bin/true')
        self.assertEqual(probe.find(('node',)), [os.path.realpath('/usr/bin/true')])
        self.assertEqual(probe.program_args(('node',)), ['x.js'])
        with tempfile.NamedTemporaryFile() as f:
            f.write(b'abc--jitmap\0def')
            f.flush()
            self.assertTrue(probe.contains(f.name, b'--jitmap\0'))
            self.assertFalse(probe.contains(f.name, b'--jitdump'))


class RuntimeNamedTest(unittest.TestCase):
    def test_counts_names_the_runtime_wrote(self):
        tally = types.SimpleNamespace(functions={
            ('W:Fib (int)', '[JIT]'): 5, ('jit:libjvm:abc', '[JIT]'): 2,
            ('[unknown]', '[JIT, unnamed] //anon'): 1, ('malloc', 'libc.so.6'): 9})
        self.assertEqual(summary.runtime_named(tally), 5)


class ApplyMapsTest(unittest.TestCase):
    OUT = ('jit-42.dump: renamed 4096 code bytes: 3 LOADs added, 2 of 9 replaced, 1 older renamed; '
           'map entries: 10, 8 alive, 5 in JIT code, 1 named already\n')

    def test_applies_the_map_of_each_dump_and_keeps_a_copy(self):
        with tempfile.TemporaryDirectory() as tmp:
            maps, dumps = os.path.join(tmp, 'maps'), os.path.join(tmp, 'dumps')
            os.mkdir(maps)
            os.mkdir(dumps)
            dump = os.path.join(dumps, 'jit-42.dump')
            open(dump, 'w').close()
            open(os.path.join(dumps, 'jit-43.dump'), 'w').close()  # no map for 43
            with open(os.path.join(maps, 'perf-42.map'), 'w') as f:
                f.write('1000 10 W:Fib (int)\n')
            calls = []

            def run(argv, **kw):
                calls.append(argv)
                return subprocess.CompletedProcess(argv, 0, self.OUT, '')

            done = runtime_maps.apply_maps('jitperf-dump', [dump, os.path.join(dumps, 'jit-43.dump')],
                                           remove_after=0, map_dir=maps, run=run)
            self.assertEqual(calls, [['jitperf-dump', '--apply-map', os.path.join(maps, 'perf-42.map'),
                                      '-o', dump, dump]])
            self.assertEqual((done[0].pid, done[0].added, done[0].older, done[0].in_jit, done[0].named_already),
                             (42, 3, 1, 5, 1))
            self.assertIn('4 pieces named after the run', done[0].text())
            self.assertTrue(os.path.exists(os.path.join(dumps, 'perf-42.map')))
            self.assertFalse(os.path.exists(os.path.join(maps, 'perf-42.map')))  # asked for by us: moved

    def test_a_failure_leaves_the_dump_and_the_map(self):
        with tempfile.TemporaryDirectory() as tmp:
            dump = os.path.join(tmp, 'jit-7.dump')
            open(dump, 'w').close()
            with open(os.path.join(tmp, 'perf-7.map'), 'w') as f:
                f.write('x\n')

            def run(argv, **kw):
                return subprocess.CompletedProcess(argv, 1, '', 'jitperf-dump: not a jitdump')

            done = runtime_maps.apply_maps('jitperf-dump', [dump], remove_after=None, map_dir=tmp, run=run)
            self.assertIn('not a jitdump', done[0].error)
            self.assertTrue(os.path.exists(os.path.join(tmp, 'perf-7.map')))  # not ours to remove

    def test_map_of_another_user_ignored(self):
        with tempfile.TemporaryDirectory() as tmp:
            os.symlink('/etc/passwd', os.path.join(tmp, 'perf-9.map'))
            self.assertIsNone(runtime_maps.map_for(9, tmp))


if __name__ == '__main__':
    unittest.main()
