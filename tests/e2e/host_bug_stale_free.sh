#!/usr/bin/env bash
# host_bug_stale_free - regression (fixed): memory freed through libc's internal munmap stays tracked; the program's data in it is written to the dump as code.
#
# free() of a large malloc'd block unmaps it with glibc's internal munmap,
# which no hook sees.  The region stays in the table as executable; when
# malloc maps the same address again for data, the epoch thread's write
# tracking fails (the new VMA is not registered), collect_dirty falls back
# to hashing every resident page and LOADs the program's data (HL_DATA):
# memory that was never executable, and the program's data leaked into the
# dump.  Fix: when a registration vanished or a region's pages are no longer
# executable in /proc/self/maps, drop the region instead of hashing it.
set -euo pipefail
# shellcheck source=../lib/host.sh source-path=SCRIPTDIR
. "$(dirname "$0")/../lib/host.sh"
hs_setup
hs_bug_case stale-free 1 
