#!/usr/bin/env bash
# capture_private_file_wx - capture_private_file (code written into a MAP_PRIVATE executable image file) with the image mapped RW, made RX once the first code is in, each later batch toggled RW and back to RX, RWX at the end.  RUNS (3) runs.
set -euo pipefail
FILE_PRIVATE_VARIANT=wx exec bash "$(dirname "$0")/capture_private_file.sh"
