#!/usr/bin/env bash
# capture_syscall_wx - perf names a JIT whose memory calls go through libc's syscall() by number: the shim interposes syscall() for the memory numbers.
set -euo pipefail
# shellcheck source=../lib/capture.sh source-path=SCRIPTDIR
. "$(dirname "$0")/../lib/capture.sh"
jp_capture syscall_wx "$(jp_prog syscall_wx)"
