#!/usr/bin/env bash
# capture_reserve - code in small RWX parts of huge PROT_NONE reservations (HotSpot, V8, QEMU) is named, piece by piece.
set -euo pipefail
# shellcheck source=../lib/capture.sh source-path=SCRIPTDIR
. "$(dirname "$0")/../lib/capture.sh"
jp_capture reserve "$(jp_prog reserve)"
