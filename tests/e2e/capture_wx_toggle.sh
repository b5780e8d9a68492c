#!/usr/bin/env bash
# capture_wx_toggle - perf names code a JIT makes executable by W^X toggling (LuaJIT, SpiderMonkey) when jitperf is preloaded.
set -euo pipefail
# shellcheck source=lib.sh source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"
jp_capture wx_toggle "$(jp_prog wx_toggle)"
