#!/usr/bin/env bash
# host_sigkill - SIGKILL at random moments leaves dumps that jitperf-dump --check and perf inject --jit accept up to the last whole record.
#
# tests/host/stress (1 or 4 threads, forks and exec'd children) runs under
# perf record -k 1 with the shim and is killed with SIGKILL after a random
# 0.1-1.5 s, HOST_SIGKILL_ROUNDS times (default 4); the program is paced
# (HOST_STRESS_PACE_US) so the recording stays small for perf inject.  Every dump left behind
# must pass --check, or pass it once cut back to its last whole record
# (a write cut short by the kill); perf inject --jit must then accept the
# recording.  Without a usable perf the dumps are still checked.
set -euo pipefail
# shellcheck source=../lib/host.sh source-path=SCRIPTDIR
. "$(dirname "$0")/../lib/host.sh"
hs_setup
stress=$(hs_bin stress)
scan=$(hs_bin dumpscan)
rounds=${HOST_SIGKILL_ROUNDS:-4}
use_perf=1
if ! command -v perf >/dev/null 2>&1 ||
	! perf record -q -k 1 -e cpu-clock -o "$HS_TMP/probe.data" -- true >/dev/null 2>&1; then
	use_perf=0
	hs_say "perf cannot record here: checking the dumps only"
fi
fail=0 cut=0 whole=0
for ((r = 1; r <= rounds; r++)); do
	run=$HS_TMP/r$r
	mkdir -m 700 "$run" "$run/dumps"
	delay=$(awk -v s="$RANDOM" 'BEGIN { srand(s); printf "%.2f", 0.1 + rand() * 1.4 }')
	# Odd rounds: one thread, kernel write tracking; even rounds: 4 threads
	# (fork and exec'd children too), hashing (with write tracking, 4
	# threads stop early: host_bug_mremap_race.sh).
	if ((r % 2)); then
		mode=(JITPERF_TRACK=auto) threads=1
	else
		mode=(JITPERF_TRACK=hash) threads=4
	fi
	# shellcheck disable=SC2016
	# Its own session, so the kill reaches the forked children too (else
	# perf record waits for orphans to finish their whole run).
	cmd=(setsid -w bash -c 'echo $$ >"$0"; exec env "$@"' "$run/pid" LD_PRELOAD="$HS_SHIM" JITPERF_DIR="$run/dumps"
		JITPERF_EPOCH_MS=20 HOST_STRESS_PACE_US=3000 "${mode[@]}" "$stress" "$threads" 100000000 100 150)
	if [ "$use_perf" = 1 ]; then
		perf --buildid-dir "$HS_TMP/buildid" record -q -k 1 -e cpu-clock -o "$run/perf.data" -- "${cmd[@]}" \
			>"$run/out" 2>"$run/err" &
	else
		"${cmd[@]}" >"$run/out" 2>"$run/err" &
	fi
	bg=$!
	for _ in $(seq 1 50); do
		[ -s "$run/pid" ] && break
		sleep 0.05
	done
	sleep "$delay"
	kill -9 -- "-$(cat "$run/pid")" 2>/dev/null || kill -9 "$(cat "$run/pid")" 2>/dev/null || true
	wait "$bg" 2>/dev/null || true
	n=0
	while IFS= read -r d; do
		n=$((n + 1))
		if "$HS_DUMP" --check "$d" >"$run/check" 2>&1; then
			whole=$((whole + 1))
			continue
		fi
		end=$("$scan" --whole "$d" 2>/dev/null || true)
		cp "$d" "$d.cut"
		truncate -s "${end:-40}" "$d.cut"
		if "$HS_DUMP" --check "$d.cut" >"$run/check.cut" 2>&1; then
			cut=$((cut + 1))
			mv "$d.cut" "$d"
		else
			hs_say "round $r: FAIL $(basename "$d"): $(cat "$run/check")"
			hs_say "  cut at $end: $(cat "$run/check.cut")"
			fail=1
		fi
	done < <(find "$run/dumps" -name 'jit-*.dump' -type f)
	msg="round $r: killed after ${delay}s, $n dump(s)"
	if [ "$use_perf" = 1 ]; then
		if perf --buildid-dir "$HS_TMP/buildid" inject --jit -i "$run/perf.data" -o "$run/perf.jit.data" \
			>"$run/inject" 2>&1; then
			msg="$msg, perf inject --jit ok"
		else
			hs_say "round $r: FAIL perf inject --jit: $(tail -n 3 "$run/inject")"
			fail=1
		fi
	fi
	hs_say "$msg"
	rm -f "$run/perf.data" "$run/perf.jit.data"
	rm -rf "$HOME/.debug"
done
hs_say "$rounds kills: $whole dumps valid as left, $cut valid once cut to their last whole record"
[ "$fail" -eq 0 ] || exit 1
hs_say "PASS host_sigkill"
