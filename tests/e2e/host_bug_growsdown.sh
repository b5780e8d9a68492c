#!/usr/bin/env bash
# host_bug_growsdown - regression (fixed): mprotect(PROT_GROWSDOWN) stopped at a boundary the shim's write-tracking registration made, leaving the bottom of the mapping executable.
#
# With PROT_GROWSDOWN the kernel changes a grows-down mapping from its start.
# A userfaultfd registration on part of one RWX mapping splits it (the kernel
# never merges registered and unregistered mappings), so the change stopped
# at the registered part.  Found by the differential test (seed 5).  Fix:
# such calls take the slow path, every registration is given back first
# (the kernel merges again), and capture covers the mapping from its start
# (lib/capture.c growsdown_start).
set -euo pipefail
# shellcheck source=../lib/host.sh source-path=SCRIPTDIR
. "$(dirname "$0")/../lib/host.sh"
hs_setup
hs_bug_case growsdown 0
