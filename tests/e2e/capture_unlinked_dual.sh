#!/usr/bin/env bash
# capture_unlinked_dual - code run through the RX view of an unlinked file mapped twice (liborc) is named.
set -euo pipefail
# shellcheck source=lib.sh source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"
jp_capture unlinked_dual "$(jp_prog unlinked_dual)"
