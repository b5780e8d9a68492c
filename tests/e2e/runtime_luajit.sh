#!/usr/bin/env bash
# runtime_luajit - `jitperf-run -- luajit ...` names LuaJIT's traces by where they start (LUA_INIT's chunk writes the map as traces are made), at least as often as that chunk alone, and the names stay from run to run.
# tests/lib/runtime.sh says what is checked; the hottest name must read like
# lua:luajit_work.lua:9 loop (a place, never a trace number).  About 20 s.
. "$(dirname "$0")/../lib/runtime.sh"
chunk=$(PYTHONPATH=$REPO/scripts python3 -c 'from jitperf import luajit_init; print(luajit_init.chunk())') ||
	{ echo "FAIL: jitperf.luajit_init gave no chunk"; exit 1; }
# shellcheck disable=SC2034 # both read by tests/lib/runtime.sh
RT_TOOL_LABEL="LUA_INIT=<jitperf's chunk>"
RT_TOP_NAME='^lua:luajit_work\.lua:[0-9]+ (root|loop|side|stitch)$'
runtime_test luajit "LUA_INIT=$chunk"
