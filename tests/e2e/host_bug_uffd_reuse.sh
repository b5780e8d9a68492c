#!/usr/bin/env bash
# host_bug_uffd_reuse - regression (fixed): the program's own userfaultfd gets jitperf's registrations, and its next write to its code blocks forever.
#
# lib/wtrack.c keeps using the descriptor number of its userfaultfd after
# the program closed it; when the program creates its own userfaultfd and
# gets that number back, jp_wtrack_add registers the program's memory in
# write-protect mode on the program's descriptor (synchronous, not
# WP_ASYNC), so the program's next write to it waits for a fault handler
# that does not exist: a hang.  Fix: check the descriptor is still ours
# before every ioctl (fdinfo shows the negotiated features, WP_ASYNC).
set -euo pipefail
# shellcheck source=../lib/host.sh source-path=SCRIPTDIR
. "$(dirname "$0")/../lib/host.sh"
hs_setup
hs_bug_case uffd-reuse 0 
