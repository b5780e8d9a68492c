#!/usr/bin/env bash
# capture_exec_chain - a JIT that execve()s itself (same pid) gets a second dump that perf also finds.
set -euo pipefail
# shellcheck source=../lib/capture.sh source-path=SCRIPTDIR
. "$(dirname "$0")/../lib/capture.sh"
jp_capture exec_chain "$(jp_prog exec_chain)"
