#!/usr/bin/env bash
# capture_mremap_move - code moved by mremap(MREMAP_FIXED) is named at its old and its new address.
set -euo pipefail
# shellcheck source=../lib/capture.sh source-path=SCRIPTDIR
. "$(dirname "$0")/../lib/capture.sh"
jp_capture mremap_move "$(jp_prog mremap_move)"
