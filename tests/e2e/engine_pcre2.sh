#!/usr/bin/env bash
# engine_pcre2 - PCRE2 (sljit code in RWX memory, patterns compiled and freed throughout) names its JIT samples on every run.
# Costs about 20 s with RUNS=3 (2 busy cores); tests/lib/engine.sh says what each run checks.
set -euo pipefail
# shellcheck source=../lib/engine.sh source-path=SCRIPTDIR
. "$(dirname "$0")/../lib/engine.sh"
engine_test pcre2
