#!/usr/bin/env bash
# capture_rwx_late - perf names code written into an RWX mapping long after its only mmap call (PCRE2, V8).
set -euo pipefail
# shellcheck source=../lib/capture.sh source-path=SCRIPTDIR
. "$(dirname "$0")/../lib/capture.sh"
jp_capture rwx_late "$(jp_prog rwx_late)"
