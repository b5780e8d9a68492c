#!/usr/bin/env bash
# capture_pcre2 - the real PCRE2 JIT (sljit, RWX chunks with allocator headers between functions) is named.
set -euo pipefail
# shellcheck source=../lib/capture.sh source-path=SCRIPTDIR
. "$(dirname "$0")/../lib/capture.sh"
jp_capture pcre2 "$(jp_prog pcre2_bench)"
