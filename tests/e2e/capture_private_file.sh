#!/usr/bin/env bash
# capture_private_file - perf names code a JIT writes into its MAP_PRIVATE executable image file (a runtime's "core"), and jitperf describes only the pages the program wrote, never the file's own.
#
# tests/jit/file_private maps a 4 MiB image it creates (data, holes, saved
# code that never runs), reads every page, writes functions into some
# pages at start-up and later, and runs them hot.  Variants, RUNS (3) runs
# each: rwx (mapped RWX, written with no call), wx (mapped RW, made RX,
# toggled per batch, RWX at the end), and FILE_PRIVATE_RAW=1 adds the
# same two with every memory call a raw system call instruction
# (file_private_raw: only the scan of executable memory finds them;
# tests/e2e/capture_private_file_raw.sh runs that).
#
# perf labels the image's samples with the file's name (jitperf-run's
# classification counts them as file-backed code, not JIT), so the named
# share here is over the samples whose address is in the image: named when
# perf put them in a jitted-*.so.  Per run, besides the hot-piece and dump
# checks: that share >= JP_MIN_SHARE, and every LOAD in the image lies in
# pages the program says it wrote (WROTE lines): the file's untouched
# pages, its saved code included, are never described.
set -euo pipefail
# shellcheck source=../lib/capture.sh source-path=SCRIPTDIR
. "$(dirname "$0")/../lib/capture.sh"

# The named share of the samples in the image; sets JP_NAMED, JP_UNNAMED, JP_SHARE.
fp_share() {
	local dir=$JP_TMP/$1 counts
	counts=$(awk -F'\t' '
	function hex(s,    i, c, v) {
		s = tolower(s); sub(/^0x/, "", s); v = 0
		for (i = 1; i <= length(s); i++) {
			c = index("0123456789abcdef", substr(s, i, 1))
			if (!c)
				return -1
			v = v * 16 + c - 1
		}
		return v
	}
	FNR == NR {
		if ($0 ~ /^IMAGE /) {
			split($0, kv, /[ =]/)
			lo = hex(kv[3]); hi = hex(kv[5]); pid = kv[7]
		}
		next
	}
	$1 == pid { ip = hex($3); if (ip >= lo && ip < hi) { if ($4 == "named" && $5 ~ /jitted-/) n++; else u++ } }
	END { printf "%d %d\n", n, u }' "$dir/stdout" "$dir/samples.tsv")
	read -r JP_NAMED JP_UNNAMED <<<"$counts"
	JP_SHARE=$(awk -v n="$JP_NAMED" -v u="$JP_UNNAMED" \
		'BEGIN { printf "%.1f", (n + u) ? 100 * n / (n + u) : 0 }')
	if [ "$JP_UNNAMED" -gt 0 ]; then
		jp_say "$1: image samples not on a jitted piece, by dso:"
		awk -F'\t' '$4 != "named" && $5 !~ /^\[kernel/ { c[$4 "\t" $5]++ }
			END { for (k in c) print c[k] "\t" k }' "$dir/samples.tsv" | sort -rn | head -n 8 | sed 's/^/  /'
	fi
}

# Every LOAD lies in pages the program wrote; prints LOADs, LOAD bytes and
# written bytes.  0 pass, 1 fail.
fp_loads() {
	local run=$1 dir=$JP_TMP/$1 dump out
	dump=$(find "$dir/dumps" -name 'jit-*.dump' -type f | head -n 1)
	[ -n "$dump" ] || { jp_say "$run: FAIL no dump"; return 1; }
	"$JP_DUMP_TOOL" "$dump" >"$dir/dump.txt" 2>/dev/null
	out=$(awk '
	function hex(s,    i, c, v) {
		s = tolower(s); sub(/^0x/, "", s); v = 0
		for (i = 1; i <= length(s); i++) {
			c = index("0123456789abcdef", substr(s, i, 1))
			if (!c)
				return -1
			v = v * 16 + c - 1
		}
		return v
	}
	FNR == NR {
		if ($1 == "WROTE") {
			split($0, kv, /[ =]/)
			w++; wlo[w] = hex(kv[3]); whi[w] = hex(kv[5]); wbytes += whi[w] - wlo[w]
		}
		next
	}
	$2 == "LOAD" {
		a = hex($4); z = $5 + 0; loads++; bytes += z
		ok = 0
		for (i = 1; i <= w; i++)
			if (a >= wlo[i] && a + z <= whi[i])
				ok = 1
		if (!ok) {
			bad++
			if (bad <= 5)
				printf "LOAD %s+%d outside the written pages\n", $4, z
		}
	}
	END { printf "SUM %d %d %d %d\n", loads, bytes, wbytes, bad }' "$dir/stdout" "$dir/dump.txt")
	grep -v '^SUM' <<<"$out" | sed "s/^/  $run: /" || true
	read -r _ loads bytes wbytes bad < <(grep '^SUM' <<<"$out")
	jp_say "$run: $loads LOADs, $bytes LOAD bytes, $wbytes bytes written into the image"
	if [ "$bad" -ne 0 ]; then
		jp_say "$run: FAIL $bad LOADs describe pages of the file the program never wrote"
		return 1
	fi
	[ "$loads" -gt 0 ] || { jp_say "$run: FAIL no LOAD"; return 1; }
	return 0
}

# fp_variant NAME PROG MODE: RUNS runs; 0 when every run passed.
fp_variant() {
	local name=$1 prog=$2 mode=$3 i run fail=0 shares=""
	for i in $(seq 1 "${RUNS:-3}"); do
		run=$name.$i
		jp_record "$run" shim "$prog" "$mode" "$JP_TMP/$run/image"
		rm -f "$JP_TMP/$run/image"
		jp_inject "$run"
		jp_samples "$run"
		fp_share "$run"
		shares+=" $JP_SHARE%"
		jp_check_run "$run" || fail=1
		fp_loads "$run" || fail=1
	done
	jp_say "$name: ${RUNS:-3} runs, named:$shares"
	return "$fail"
}

fail=0
jp_setup
if [ "${FILE_PRIVATE_RAW:-0}" = 1 ]; then
	fp_variant private_file_raw_rwx "$(jp_prog file_private_raw)" rwx || fail=1
	fp_variant private_file_raw_wx "$(jp_prog file_private_raw)" wx || fail=1
	jp_finish capture_private_file_raw "$fail"
fi
fp_variant private_file_rwx "$(jp_prog file_private)" rwx || fail=1
fp_variant private_file_wx "$(jp_prog file_private)" wx || fail=1
jp_finish capture_private_file "$fail"
