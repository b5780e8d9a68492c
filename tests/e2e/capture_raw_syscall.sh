#!/usr/bin/env bash
# capture_raw_syscall - perf names a W^X JIT whose every memory call is a syscall instruction of its own (no hook sees any): the scan of executable memory at each pass finds it.  RUNS (3) runs.
set -euo pipefail
# shellcheck source=../lib/capture.sh source-path=SCRIPTDIR
. "$(dirname "$0")/../lib/capture.sh"
jp_capture_repeated raw_syscall "$(jp_prog raw_syscall)"
