#!/usr/bin/env bash
# runtime_hotspot - `jitperf-run -- java ...` names HotSpot's JIT samples with its own names (its map, written only at exit, applied after the run), at least as often as -XX:+DumpPerfMapAtExit alone.
# tests/lib/runtime.sh says what is checked; about 30 s.
. "$(dirname "$0")/../lib/runtime.sh"
runtime_test hotspot "JAVA_TOOL_OPTIONS=-XX:+UnlockDiagnosticVMOptions -XX:+DumpPerfMapAtExit"
