#!/usr/bin/env bash
# capture_harness - the capture harness's hot-piece table catches a stale name (two functions that ran in turn at one address, both on one piece); needs no perf.
set -euo pipefail
# shellcheck source=../lib/capture.sh source-path=SCRIPTDIR
. "$(dirname "$0")/../lib/capture.sh"

tab=$'\t'
JP_TMP=$(mktemp -d "${TMPDIR:-/tmp}/jitperf-e2e.XXXXXX")
trap jp_cleanup EXIT
mkdir -p "$JP_TMP/st"
printf '%s\n' \
	'JITFUNC name=A pid=7 addr=0x1000 size=64 hot=1 t0=100 t1=200' \
	'JITFUNC name=B pid=7 addr=0x1000 size=64 hot=1 t0=300 t1=400' >"$JP_TMP/st/stdout"
printf '7\t150\t1010\tnamed\t/d/jitted-7-0.so\tjit:a\t0x10\n7\t350\t1010\tnamed\t/d/jitted-7-0.so\tjit:a\t0x10\n' \
	>"$JP_TMP/st/samples.tsv"
jp_hot_table st
grep -q "^CLASH${tab}A${tab}B${tab}/d/jitted-7-0.so\$" "$JP_TMP/st/hot.tsv" ||
	jp_fail "stale name not detected: $(cat "$JP_TMP/st/hot.tsv")"
grep -q "^PIECE${tab}A${tab}1${tab}named${tab}/d/jitted-7-0.so${tab}jit:a${tab}4096\$" "$JP_TMP/st/hot.tsv" ||
	jp_fail "piece start wrong: $(cat "$JP_TMP/st/hot.tsv")"
jp_say "PASS capture harness self-test"
