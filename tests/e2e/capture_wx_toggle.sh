#!/usr/bin/env bash
# capture_wx_toggle - perf names code a JIT makes executable by W^X toggling (LuaJIT, SpiderMonkey) when jitperf is preloaded.
set -euo pipefail
# shellcheck source=../lib/capture.sh source-path=SCRIPTDIR
. "$(dirname "$0")/../lib/capture.sh"
jp_capture wx_toggle "$(jp_prog wx_toggle)"
