#!/usr/bin/env bash
# host_bug_fork_fds - regression (fixed): after the program closes and reopens descriptors, a fork child loses descriptors that are the program's own.
#
# jp_wtrack_forget (lib/wtrack.c, called by jp_capture_fork_child) closes
# the userfaultfd and /proc/self/pagemap descriptor numbers it remembers
# without checking they are still jitperf's (the dump's fd_still_ours does);
# a daemon that closed every descriptor and opened its own files finds some
# of them closed in its children.  jp_perfmap_close has the same flaw.
# Fix: remember (st_dev, st_ino) or the fdinfo identity and close only# descriptors that are still ours; better, keep jitperf's descriptors high.
set -euo pipefail
# shellcheck source=../lib/host.sh source-path=SCRIPTDIR
. "$(dirname "$0")/../lib/host.sh"
hs_setup
hs_bug_case fork-fds 0 
