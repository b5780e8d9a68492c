#!/usr/bin/env bash
# capture_heap_rwx - code in memory from malloc made RWX ([heap], tcc -run) is named.
set -euo pipefail
# shellcheck source=../lib/capture.sh source-path=SCRIPTDIR
. "$(dirname "$0")/../lib/capture.sh"
jp_capture heap_rwx "$(jp_prog heap_rwx)"
