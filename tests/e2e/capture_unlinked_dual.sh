#!/usr/bin/env bash
# capture_unlinked_dual - code run through the RX view of an unlinked file mapped twice (liborc) is named.
set -euo pipefail
# shellcheck source=../lib/capture.sh source-path=SCRIPTDIR
. "$(dirname "$0")/../lib/capture.sh"
jp_capture unlinked_dual "$(jp_prog unlinked_dual)"
