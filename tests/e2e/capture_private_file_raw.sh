#!/usr/bin/env bash
# capture_private_file_raw - capture_private_file (code written into a MAP_PRIVATE executable image file) with the image mapped RWX by a raw system call instruction (tests/jit/file_private_raw): only the scan of executable memory finds it.  RUNS (3) runs.
set -euo pipefail
FILE_PRIVATE_VARIANT=raw exec bash "$(dirname "$0")/capture_private_file.sh"
