#!/usr/bin/env bash
# engine_luajit - LuaJIT 2.1 (traces on a W^X-toggled mcode area, written downwards and linked by patching) names its JIT samples on every run.
# Costs about 20 s with RUNS=3 (2 busy cores); tests/lib/engine.sh says what each run checks.
set -euo pipefail
# shellcheck source=../lib/engine.sh source-path=SCRIPTDIR
. "$(dirname "$0")/../lib/engine.sh"
engine_test luajit
