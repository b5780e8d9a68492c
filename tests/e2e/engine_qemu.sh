#!/usr/bin/env bash
# engine_qemu - QEMU user mode (qemu-x86_64 running a stock x86-64 program; TCG code in the 128 MiB code_gen_buffer) names its JIT samples on every run.
# Costs about 45 s with RUNS=3 (2 busy cores); tests/lib/engine.sh says what each run checks.
set -euo pipefail
# shellcheck source=../lib/engine.sh source-path=SCRIPTDIR
. "$(dirname "$0")/../lib/engine.sh"
engine_test qemu
