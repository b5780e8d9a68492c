#!/usr/bin/env bash
# describe_after_erlang - the engine test of erlang with JITPERF_DESCRIBE=after, as jitperf-run runs it: the program records what it reads, jitperf-dump --describe describes it after the run, and every run still names its JIT samples, keeps its names from run to run, prints what it prints without the shim (BEAM: 3 MB of code at start-up, written through a second view while the passes read it).
# Costs about as much as engine_erlang.sh; tests/lib/engine.sh says what each run checks.
set -euo pipefail
# shellcheck source=../lib/engine.sh source-path=SCRIPTDIR
. "$(dirname "$0")/../lib/engine.sh"
ENGINE_DESCRIBE=after engine_test erlang
