#!/usr/bin/env bash
# engine_mono - Mono's JIT (RWX code chunks filled with no further call) names its JIT samples on every run.
# Costs about 25 s with RUNS=3 (2 busy cores); tests/lib/engine.sh says what each run checks.
set -euo pipefail
# shellcheck source=../lib/engine.sh source-path=SCRIPTDIR
. "$(dirname "$0")/../lib/engine.sh"
engine_test mono
