#!/usr/bin/env bash
# capture_mremap_multi - one mremap(MREMAP_FIXED) moving code in two adjacent mappings (RX and RWX; Linux 6.17 and later move several mappings at once): both are named at their new address.
set -euo pipefail
# shellcheck source=../lib/capture.sh source-path=SCRIPTDIR
. "$(dirname "$0")/../lib/capture.sh"
IFS=. read -r major minor _ <<<"$(uname -r)"
if [ "$major" -lt 6 ] || { [ "$major" -eq 6 ] && [ "$minor" -lt 17 ]; }; then
	jp_skip "kernel $(uname -r): mremap moves several mappings at once since 6.17"
fi
jp_capture mremap_multi "$(jp_prog mremap_multi)"
