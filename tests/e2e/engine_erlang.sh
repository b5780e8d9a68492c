#!/usr/bin/env bash
# engine_erlang - Erlang/OTP's BEAM JIT (dual-mapped memfd, code written through the RW view, reached through erl -> erlexec -> beam.smp) names its JIT samples on every run.
# Costs about 40 s with RUNS=3 (2 busy cores); tests/lib/engine.sh says what each run checks.
set -euo pipefail
# shellcheck source=../lib/engine.sh source-path=SCRIPTDIR
. "$(dirname "$0")/../lib/engine.sh"
engine_test erlang
