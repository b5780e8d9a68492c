#!/usr/bin/env bash
# capture_private_file_raw - capture_private_file with every mmap and mprotect a raw system call instruction (tests/jit/file_private_raw): the scan of executable memory finds the written pages of the private file mapping.  RUNS (3) runs of each variant.
set -euo pipefail
FILE_PRIVATE_RAW=1 exec bash "$(dirname "$0")/capture_private_file.sh"
