#!/usr/bin/env bash
# capture_pcre2 - the real PCRE2 JIT (sljit, RWX chunks with allocator headers between functions) is named.
set -euo pipefail
# shellcheck source=lib.sh source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"
jp_capture pcre2 "$(jp_prog pcre2_bench)"
