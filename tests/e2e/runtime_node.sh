#!/usr/bin/env bash
# runtime_node - `jitperf-run -- node ...` names node's JIT samples with V8's own names (NODE_OPTIONS=--perf-basic-prof-only-functions, set by jitperf-run), about as often as node --perf-prof alone.
# tests/lib/runtime.sh says what is checked; about 25 s.
# The slack is 2 points here, not 1: jitperf-run asks V8 for its functions
# only (--perf-basic-prof would leave an isolate-*-v8.log in the working
# directory at every node start), so irregexp code, which node_cpu.js
# generates and --perf-prof lists, keeps jitperf's names: 0.8-1.1% of the
# JIT samples on this workload.
RT_SLACK=${RT_SLACK:-2.0}
# V8's map marks each function's tier (JS:*kernel, JS:^kernel, JS:~ ...);
# the names lib/v8.c reads from the heap carry none (JS:kernel /path).
RT_HEAP_NAME_RE='^JS:[^*~^+]'
. "$(dirname "$0")/../lib/runtime.sh"
runtime_test node node-perf-prof
