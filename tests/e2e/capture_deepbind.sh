#!/usr/bin/env bash
# capture_deepbind - perf names the JIT of a plugin loaded with RTLD_DEEPBIND (its mmap/mprotect bind to libc past the preload): the dlopen hook redirects its GOT slots to the hooks.  A 192 MiB MAP_SHARED|MAP_ANONYMOUS area whose last 64 MiB are toggled RW/RX whole; RUNS (3) runs, then once with the plugin opened by its bare name.
set -euo pipefail
# shellcheck source=../lib/capture.sh source-path=SCRIPTDIR
. "$(dirname "$0")/../lib/capture.sh"
prog=$(jp_prog deepbind_host)
# Without the scan the hooks alone must see the plugin's calls.
JITPERF_SCAN=0 jp_capture_repeated deepbind "$prog"
