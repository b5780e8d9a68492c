#!/usr/bin/env bash
# capture_fork_child - a fork child gets its own dump, naming the code it inherited and the code it made.
set -euo pipefail
# shellcheck source=../lib/capture.sh source-path=SCRIPTDIR
. "$(dirname "$0")/../lib/capture.sh"
jp_capture fork_child "$(jp_prog fork_child)"
