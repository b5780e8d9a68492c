#!/usr/bin/env bash
# capture_rewrite - code rewritten in place at the same address is named twice, each version for its own samples.
set -euo pipefail
# shellcheck source=../lib/capture.sh source-path=SCRIPTDIR
. "$(dirname "$0")/../lib/capture.sh"
jp_capture rewrite "$(jp_prog rewrite)"
