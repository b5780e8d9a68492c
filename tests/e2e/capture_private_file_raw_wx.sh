#!/usr/bin/env bash
# capture_private_file_raw_wx - capture_private_file (code written into a MAP_PRIVATE executable image file) with the image the wx variant with every mmap and mprotect a raw system call instruction: the toggles no hook sees are inferred at the next pass (a floor, not the 95 % goal: see capture_private_file.sh).  RUNS (3) runs.
set -euo pipefail
FILE_PRIVATE_VARIANT=raw_wx exec bash "$(dirname "$0")/capture_private_file.sh"
