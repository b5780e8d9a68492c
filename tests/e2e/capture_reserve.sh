#!/usr/bin/env bash
# capture_reserve - code in small RWX parts of huge PROT_NONE reservations (HotSpot, V8, QEMU) is named, piece by piece.
set -euo pipefail
# shellcheck source=lib.sh source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"
jp_capture reserve "$(jp_prog reserve)"
