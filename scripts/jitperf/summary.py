"""The summary a run prints and keeps in summary.txt: what was sampled, how much of it is JIT code and named, the top functions, the files, and the perf commands to go further."""
import signal

from jitperf.text import shquote, shquote_all

# Entries under 0.1% of all samples are left out once three are shown.
ALWAYS_SHOWN = 3
NAME_WIDTH = 60


def pct(part, whole):
    return '%.1f%%' % (100.0 * part / whole) if whole > 0 else '-'


def status_text(status):
    if 128 < status < 160:
        try:
            name = signal.Signals(status - 128).name
        except ValueError:
            name = str(status - 128)
        return 'killed by ' + name
    return 'exit status %d' % status


def sampling_text(evlist_output, event):
    """'cpu-clock, 4000 Hz' from `perf evlist -F` ('cpu-clock: sample_freq=4000')."""
    events, rate = [], ''
    for line in evlist_output.splitlines():
        name, _, settings = line.partition(': ')
        if not name:
            continue
        events.append(name)
        for key, value in (kv.partition('=')[::2] for kv in settings.replace(',', ' ').split()):
            digits = value.split()[0] if value else ''
            if key == 'sample_freq' and digits.isdigit():
                rate = digits + ' Hz'
            elif key == 'sample_period' and digits.isdigit():
                rate = 'every %s events' % digits
    if not events:
        return event
    return ', '.join(events) + (', ' + rate if rate else '')


def top_jit_name(tally):
    """The function perf annotate is shown for: the top JIT one, else the top named one."""
    top = tally.top()
    for _, name, module in top:
        if module.startswith('[JIT]'):
            return name
    for _, name, _ in top:
        if name != '[unknown]':
            return name
    return None


def head(run, tally):
    """Everything up to the files: what the flame graph's Context shows."""
    lines = ['', ' jitperf-run profile of: %s   (%s, %.2f s)' % (
        shquote_all(run.program), status_text(run.status), run.seconds), '',
        '   %9d  samples  (%s, call graphs: %s)' % (tally.samples, run.sampling, run.call_graph),
        '   %9d  in JIT code: %s of all samples' % (tally.jit, pct(tally.jit, tally.samples))]
    if tally.jit == 0:
        pass
    elif not run.inject and not run.perf_map:
        lines.append('   %9s  named: not yet (--no-inject: run the perf inject command below)' % '')
    else:
        lines.append('   %9d  in named JIT code: %s of JIT samples (%s)' % (
            tally.named, pct(tally.named, tally.jit), 'perf map' if run.perf_map else 'jitdump'))
    lines += stack_lines(run, tally)
    lines += runtime_lines(run, tally)
    lines += ['', '   Top functions, by samples in the function itself:', '']
    lines += top_lines(tally, run.top)
    return '\n'.join(lines) + '\n'


def stack_lines(run, tally):
    """How many JIT samples have a whole call stack, when call graphs were
    recorded; and the advice when JIT code keeps no frame pointer."""
    if run.call_graph == 'none' or tally.jit == 0 or tally.chains == 0:
        return []
    lines = ["   %9d  JIT samples with a complete stack (up to _start, start_thread or an Erlang process's root): %s" % (
        tally.jit_complete, pct(tally.jit_complete, tally.jit))]
    if run.call_graph == 'fp' and 2 * tally.jit_complete < tally.jit:
        lines.append('   %9s  (JIT code without frame pointers cuts the stacks: try --call-graph dwarf, '
                     'which uses the unwinding data libjitperf.so writes)' % '')
    return lines


MAPS_SHOWN = 4  # maps listed; a build spawning many node processes uses dozens
SYNTHETIC_PREFIX = 'jit:'  # lib/names.h: what libjitperf.so calls code nobody named


def runtime_named(tally):
    """JIT samples named by the runtime itself (a name libjitperf.so did not make up)."""
    return sum(n for (name, module), n in tally.functions.items()
               if module.startswith('[JIT]') and not module.startswith('[JIT, unnamed]')
               and not name.startswith(SYNTHETIC_PREFIX))


def runtime_lines(run, tally):
    """The runtimes' own names: the share of JIT samples they name, the
    switches jitperf-run set, the maps it applied after the run."""
    names = getattr(run, 'runtime_names', None)
    if names is None:
        return ['   %9s  runtime names: off (--no-runtime-names or --perf-map)' % ''] if tally.jit else []
    lines = []
    if tally.jit:
        lines.append('   %9d  named by the runtime itself: %s of JIT samples' % (
            runtime_named(tally), pct(runtime_named(tally), tally.jit)))
    asked = ', '.join(d.runtime for d in names if d.on and d.names)
    lines.append('   %9s  runtime names asked of: %s' % ('', (asked + ' (the variables: run.txt, -v)') if asked
                                                     else 'none (no runtime found that can be asked)'))
    for d in names:
        if d.on and not d.names:
            # a JVM flag says what it is; Mono's MONO_DEBUG option needs its variable
            shown = d.added if d.added.startswith('-') else '%s=%s' % (d.var, d.added)
            lines.append('   %9s  for the call graphs: %s (compiled code may run a few %% slower)' % ('', shown))
    maps = getattr(run, 'runtime_maps', None) or []
    for applied in maps[:MAPS_SHOWN]:
        lines.append('   %9s  runtime map used: %s' % ('', applied.text()))
    if len(maps) > MAPS_SHOWN:
        lines.append('   %9s  ... and %d more maps (dumps/perf-*.map)' % ('', len(maps) - MAPS_SHOWN))
    return lines


def top_lines(tally, how_many):
    top = tally.top()
    if not top:
        return ['     (no samples)']
    shown = []
    for i, (count, name, module) in enumerate(top[:how_many]):
        if i >= ALWAYS_SHOWN and 1000 * count < tally.samples:
            break
        if len(name) > NAME_WIDTH:
            name = name[:NAME_WIDTH - 3] + '...'
        shown.append((count, name, module))
    width = max((len(name) for _, name, _ in shown), default=0)
    total = tally.samples
    return ['   %6.1f%%  %-*s  %s' % (100.0 * c / total if total else 0, width, n, m) for c, n, m in shown]


def files(run, shown_dir, fg_note):
    """The files of the run and the commands to go further."""
    lines = ['', '   Files in %s/' % shown_dir]

    def entry(name, what):
        lines.append('     %-17s %s' % (name, what))

    entry('perf.data', perf_data_text(run))
    if run.has_flamegraph:
        entry('flamegraph.html', 'interactive flame graph, open it in a browser (JIT frames in green)')
    if run.has_folded:
        entry('stacks.folded', 'the stacks in folded form, for other flame graph tools')
    if run.perf_map:
        if run.map_copy:
            entry(run.map_copy, 'a copy of the map (perf reads the one in /tmp)')
    else:
        entry('dumps/', 'what libjitperf.so wrote (jit-<pid>.dump) and perf inject made (jitted-*.so)')
    entry('summary.txt', 'this summary')
    if fg_note:
        lines.append('     (%s)' % fg_note)
    lines += ['', '   Go further:'] + ['     ' + c for c in further_commands(run, shown_dir)]
    return '\n'.join(lines) + '\n\n'


def perf_data_text(run):
    if run.injected:
        return 'the profile, JIT code named (perf inject --jit done)'
    if run.no_dump:
        return 'the profile (no JIT dump to inject)'
    if run.perf_map:
        return 'the profile; JIT names come from /tmp/perf-%s.map' % (run.pid or '<pid>')
    return 'the profile as recorded (not injected)'


def further_commands(run, shown_dir):
    perf = 'perf --buildid-dir %s' % shquote(shown_dir + '/buildid')
    data = shquote(shown_dir + '/perf.data')
    if not run.inject and not run.perf_map:
        jit_data = shquote(shown_dir + '/perf.jit.data')
        return ['perf --buildid-dir /dev/null inject --jit -i %s -o %s' % (data, jit_data),
                '%s report -i %s --sort dso,sym' % (perf, jit_data)]
    commands = ['%s report -i %s --sort dso,sym' % (perf, data)]
    if not run.perf_map and run.top_name:
        commands.append('%s annotate -i %s --stdio %s' % (perf, data, shquote(run.top_name)))
    return commands
