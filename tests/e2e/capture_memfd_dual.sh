#!/usr/bin/env bash
# capture_memfd_dual - code run through the RX view of a memfd dual mapping made by syscall(SYS_memfd_create) (Erlang BEAM) is named.
set -euo pipefail
# shellcheck source=../lib/capture.sh source-path=SCRIPTDIR
. "$(dirname "$0")/../lib/capture.sh"
jp_capture memfd_dual "$(jp_prog memfd_dual)"
