#!/usr/bin/env bash
# capture_rewrite - code rewritten in place at the same address is named twice, each version for its own samples.
set -euo pipefail
# shellcheck source=lib.sh source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"
jp_capture rewrite "$(jp_prog rewrite)"
