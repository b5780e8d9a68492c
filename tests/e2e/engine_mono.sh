#!/usr/bin/env bash
# engine_mono - Mono's JIT (RWX code chunks filled with no further call) names its JIT samples on every run.
# Costs about 25 s with RUNS=3 (2 busy cores); engine_common.bash says what each run checks.
set -euo pipefail
# shellcheck source=engine_common.bash source-path=SCRIPTDIR
. "$(dirname "$0")/engine_common.bash"
engine_test mono
