#!/usr/bin/env bash
# engine_hotspot - HotSpot (OpenJDK 17; C1 and C2 code in the code cache reservation) names its JIT samples on every run.
# Costs about 35 s with RUNS=3 (2 busy cores); tests/lib/engine.sh says what each run checks.
set -euo pipefail
# shellcheck source=../lib/engine.sh source-path=SCRIPTDIR
. "$(dirname "$0")/../lib/engine.sh"
engine_test hotspot
