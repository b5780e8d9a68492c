#!/usr/bin/env bash
# runtime_erlang - `jitperf-run -- erl ...` names BEAM's JIT samples with its own names (+JPperf map), at least as often as +JPperf map alone.
# tests/lib/runtime.sh says what is checked; about 30 s.
. "$(dirname "$0")/../lib/runtime.sh"
runtime_test erlang 'ERL_AFLAGS=+JPperf map'
