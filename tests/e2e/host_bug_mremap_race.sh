#!/usr/bin/env bash
# host_bug_mremap_race - regression (fixed): a fresh RWX mapping half registered for write tracking; the program's own mremap of it fails (EFAULT).
#
# Between the real munmap and jp_capture_unmap_done (preload/hooks.c runs
# the real call unlocked) another thread's mmap may get the same address;
# jp_capture_mmap_done -> track_range then keeps the stale region entry
# ("already tracked: becomes executable again") whose track state says
# registered, so arm_region skips it, while the part of the new mapping not
# covered by the stale entry is registered: the program's 2-page mapping is
# split in two VMAs (/proc/self/smaps shows "uw" on one page only) and its
# mremap fails.  Fix: hold the engine lock across the real call, and make
# mmap_done drop any stale entry in [addr, addr+len) before tracking.
set -euo pipefail
# shellcheck source=../lib/host.sh source-path=SCRIPTDIR
. "$(dirname "$0")/../lib/host.sh"
hs_setup
hs_bug_case mremap-race 0 JITPERF_EPOCH_MS=1
