#!/usr/bin/env bash
# run_classify.sh - the summary, the flame graph and the capture tests' harness classify the same samples of one recording the same way: named JIT code (the demo), unnamed JIT code in an unlinked file mapped twice ("(deleted)", liborc's way), other code.
# shellcheck source=../lib/jitperf_run.sh source-path=SCRIPTDIR
. "$(dirname "$0")/../lib/jitperf_run.sh"
# shellcheck source=../lib/capture.sh source-path=SCRIPTDIR
. "$(dirname "$0")/../lib/capture.sh"
need_perf
need_build
UD=$BUILD/tests/jit/unlinked_dual
[ -x "$UD" ] || { echo "FAIL: $UD missing: build first (make BUILD=...)"; exit 1; }
cd "$T" || exit 1

# One run: the demo, named through libjitperf.so, then unlinked_dual with
# the shim switched off, so its code stays in "/tmp/orcexec.* (deleted)".
export JIT_SECONDS=0.6
run_jr mixed 0 --lib "$LIB" -o "$T/mixed" -- \
	sh -c "'$DEMO' >/dev/null && JITPERF_DISABLE=1 exec '$UD' >/dev/null"
sum=$T/mixed/summary.txt
pid=$(awk '/^pid:/ { print $2 }' "$T/mixed/run.txt")
helper=$(awk '/^helper:/ { print $2 }' "$T/mixed/run.txt")

# The summary's numbers.
s_total=$(summary_num "$sum" samples) s_jit=$(summary_num "$sum" jit) s_named=$(summary_num "$sum" named)

# The flame graph's: every sample is one stack of stacks.folded, its leaf
# (last frame) marked _[j] when it is JIT code.
read -r f_total f_jit f_named < <(awk '{
		n = $NF; stack = substr($0, 1, length($0) - length(n) - 1)
		leaf = stack; sub(/.*;/, "", leaf)
		t += n
		if (leaf ~ /_\[j\]$/) { j += n; if (leaf != "[unknown]_[j]") m += n }
	} END { print t + 0, j + 0, m + 0 }' "$T/mixed/stacks.folded")
f_header=$(grep -o '[0-9]* samples, [0-9.]*% of them in JIT code' "$T/mixed/flamegraph.html")

# The harness's, on the same recording, leaving out the same exec helper.
JP_TMP=$T/harness
mkdir -p "$JP_TMP/mixed"
ln -s "$T/mixed/buildid" "$JP_TMP/buildid"
ln -s "$T/mixed/perf.data" "$JP_TMP/mixed/perf.jit.data"
jp_samples mixed --skip "$pid:$helper"
jp_share mixed
h_total=$(wc -l <"$JP_TMP/mixed/samples.tsv")
h_deleted=$(awk -F'\t' '$4 == "unnamed" && $5 ~ /^\/.*\/orcexec\..* \(deleted\)$/ { n++ } END { print n + 0 }' \
	"$JP_TMP/mixed/samples.tsv")
h_deleted_other=$(awk -F'\t' '$4 != "unnamed" && $5 ~ / \(deleted\)$/ { n++ } END { print n + 0 }' \
	"$JP_TMP/mixed/samples.tsv")

echo "summary:     $s_total samples, $s_jit JIT, $s_named named"
echo "flame graph: $f_total samples, $f_jit JIT, $f_named named ($f_header)"
echo "harness:     $h_total samples, $((JP_NAMED + JP_UNNAMED)) JIT, $JP_NAMED named, $h_deleted in the deleted file"
check "the recording has named JIT samples ($s_named)" test "${s_named:-0}" -ge 500
check "... and unnamed ones in the unlinked file ($h_deleted)" test "$h_deleted" -ge 200
check "... counted as JIT code, none as other code" test "$h_deleted_other" -eq 0
check "samples: summary = flame graph = harness" test "$s_total" = "$f_total" -a "$f_total" = "$h_total"
check "JIT samples: summary = flame graph = harness" \
	test "$s_jit" = "$f_jit" -a "$f_jit" = "$((JP_NAMED + JP_UNNAMED))"
check "named JIT samples: summary = flame graph = harness" \
	test "$s_named" = "$f_named" -a "$f_named" = "$JP_NAMED"
check "the flame graph's header counts the same samples" \
	grep -q "^$s_total samples, " <<<"$f_header"
check "the summary lists the deleted file as unnamed JIT code" \
	grep -Eq '\[unknown\] +\[JIT, unnamed\] /.*/orcexec\..* \(deleted\)$' "$sum"
finish
