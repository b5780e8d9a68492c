#!/usr/bin/env bash
# host_bug_cancel - regression (fixed): a thread cancelled inside a hook leaves the engine lock held; every other thread then hangs in mmap/munmap.
#
# The engine calls cancellation points (write, open, close, nanosleep) while
# holding E.lock (lib/capture.c).  pthread_cancel acts at the first one after
# the request, which in a JIT thread whose own code has few cancellation
# points is inside jitperf: the thread unwinds with the lock held.  Fix: in
# the hooks, pthread_setcancelstate(PTHREAD_CANCEL_DISABLE) around the
# engine calls (or raw syscalls that are not cancellation points).
set -euo pipefail
# shellcheck source=../lib/host.sh source-path=SCRIPTDIR
. "$(dirname "$0")/../lib/host.sh"
hs_setup
hs_bug_case cancel 0 
