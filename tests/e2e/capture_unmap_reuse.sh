#!/usr/bin/env bash
# capture_unmap_reuse - code at an address unmapped and mapped again with other code is named anew each time.
set -euo pipefail
# shellcheck source=../lib/capture.sh source-path=SCRIPTDIR
. "$(dirname "$0")/../lib/capture.sh"
jp_capture unmap_reuse "$(jp_prog unmap_reuse)"
