#!/usr/bin/env bash
# host_bug_unmap_reuse - regression (fixed): code unmapped while another thread maps data at the freed address: the data is written to the dump as code.
#
# preload/hooks.c munmap: jp_capture_unmap_before, the real munmap without
# the engine lock, then jp_capture_unmap_done.  In between, the region is
# still in the table as executable while the address is free: another
# thread's mmap (fast path, no lock) gets it and writes data, and any
# capture of that range (the epoch thread, or that thread's own munmap slow
# path) LOADs the data.  Same window in mremap, MAP_FIXED mmap and madvise.
# Fix: keep the engine lock across the real call in the slow paths.
set -euo pipefail
# shellcheck source=../lib/host.sh source-path=SCRIPTDIR
. "$(dirname "$0")/../lib/host.sh"
hs_setup
hs_bug_case unmap-reuse 1 JITPERF_EPOCH_MS=1
