#!/usr/bin/env bash
# capture_deepbind - perf names the JIT of a plugin loaded with RTLD_DEEPBIND (its mmap/mprotect bind to libc past the preload): the dlopen hook redirects its GOT slots to the hooks.
#
# The plugin maps 192 MiB MAP_SHARED|MAP_ANONYMOUS and toggles the last
# 64 MiB RW/RX whole for each batch of code.  RUNS (3) runs with the scan
# off (the hooks alone must see its calls), then one with the plugin opened
# by its bare name through LD_LIBRARY_PATH (the caller's search path is the
# shim's: still made and redirected by the hook), and one as
# $ORIGIN/deepbind_plugin.so, which only the program's own directory
# resolves: the hook passes it on whole, the next pass redirects the
# plugin's slots and the scan finds what it made executable before that;
# and one of the plugin linked -z now -z relro, opened with RTLD_NOW (its
# GOT is read-only when dlopen returns: lifted for the rewrite).
set -euo pipefail
# shellcheck source=../lib/capture.sh source-path=SCRIPTDIR
. "$(dirname "$0")/../lib/capture.sh"
prog=$(jp_prog deepbind_host)
fail=0
jp_setup
JITPERF_SCAN=0 jp_capture_runs deepbind "$prog" || fail=1
JITPERF_SCAN=0 RUNS=1 LD_LIBRARY_PATH=$(dirname "$prog") jp_capture_runs deepbind_by_name "$prog" --by-name || fail=1
RUNS=1 jp_capture_runs deepbind_origin "$prog" --origin || fail=1
JITPERF_SCAN=0 RUNS=1 jp_capture_runs deepbind_now "$prog" --now || fail=1
jp_finish deepbind "$fail"
