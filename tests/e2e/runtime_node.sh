#!/usr/bin/env bash
# runtime_node - `jitperf-run -- node ...` names node's JIT samples with V8's own names (NODE_OPTIONS=--perf-basic-prof, set by jitperf-run), at least as often as node --perf-prof alone.
# tests/lib/runtime.sh says what is checked; about 25 s.
. "$(dirname "$0")/../lib/runtime.sh"
runtime_test node node-perf-prof
