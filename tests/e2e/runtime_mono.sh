#!/usr/bin/env bash
# runtime_mono - `jitperf-run -- mono ...` names Mono's JIT samples with its own names (--jitmap, buffered until exit, applied after the run), at least as often as --jitmap alone.
# tests/lib/runtime.sh says what is checked; about 25 s.
. "$(dirname "$0")/../lib/runtime.sh"
runtime_test mono MONO_ENV_OPTIONS=--jitmap
