#!/usr/bin/env bash
# capture_syscall_rwx - perf names a JIT whose memory calls go through libc's syscall() by number: the shim interposes syscall() for the memory numbers.
set -euo pipefail
# shellcheck source=../lib/capture.sh source-path=SCRIPTDIR
. "$(dirname "$0")/../lib/capture.sh"
jp_capture syscall_rwx "$(jp_prog syscall_rwx)"
