#!/usr/bin/env bash
# capture_threads - code made and run by several threads at once is named.
set -euo pipefail
# shellcheck source=../lib/capture.sh source-path=SCRIPTDIR
. "$(dirname "$0")/../lib/capture.sh"
jp_capture threads "$(jp_prog threads)"
