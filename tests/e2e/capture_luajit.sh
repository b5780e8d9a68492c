#!/usr/bin/env bash
# capture_luajit - the real LuaJIT: the trace compiled for a hot loop (W^X mcode area) is named.
set -euo pipefail
# shellcheck source=../lib/capture.sh source-path=SCRIPTDIR
. "$(dirname "$0")/../lib/capture.sh"
command -v luajit >/dev/null 2>&1 || jp_skip "no luajit binary (apt-get install luajit)"
jp_capture luajit luajit "$JP_ROOT/tests/jit/luajit_hot.lua"
