#!/usr/bin/env bash
# names_creator - made-up names say which engine made the code: pcre2_jit_compile_8 for PCRE2 (the entry the program called), the program's name for test JITs.
#
# For each program, every hot function's samples (its range and run window)
# must mostly (>= 90%) sit on pieces named jit:<creator>:<12 hex digits>
# with the expected creator (docs/naming.md, "creator"):
# - pcre2_bench: sljit allocates and protects inside a stripped
#   libpcre2-8.so, called by the program: the entry point the program
#   called, pcre2_jit_compile_8, which must be a function symbol of the
#   library (so it is a real name, not a guess);
# - threads: each thread's worker() maps and fills its own area, all in the
#   program: the program's short name, threads (not the thread library);
# - rwx_late: main() maps the area: rwx_late.
set -euo pipefail
# shellcheck source=../lib/capture.sh source-path=SCRIPTDIR
. "$(dirname "$0")/../lib/capture.sh"

export JIT_SECONDS=${JIT_SECONDS:-0.8}
fail=0

# Is FUNC a function symbol (.symtab or .dynsym) of ELF file OBJ?
cr_has_func() { # OBJ FUNC
	readelf -sW "$1" 2>/dev/null | awk -v f="$2" '$4 == "FUNC" && $8 != "" { s = $8; sub(/@.*/, "", s); if (s == f) ok = 1 }
		END { exit !ok }'
}

cr_check() { # RUN CREATOR OBJ CMD...
	local run=$1 creator=$2 obj=$3 label n good bad=0
	shift 3
	jp_run_all "$run" shim "$@"
	jp_hot_check "$run" || bad=1
	if [ "$obj" != - ] && ! cr_has_func "$obj" "$creator"; then
		jp_say "FAIL: $run: $creator is not a function symbol of $obj"
		bad=1
	fi
	while read -r label n; do
		good=$(awk -F'\t' -v l="$label" -v c="$creator" '
			$1 == "PIECE" && $2 == l && $4 == "named" && substr($6, 1, length(c) + 5) == "jit:" c ":" {
				fp = substr($6, length(c) + 6)
				sub(/#[0-9]+$/, "", fp)
				# (mawk has no {12})
				if (length(fp) == 12 && fp !~ /[^0-9a-f]/)
					s += $3
			}
			END { print s + 0 }' "$JP_TMP/$run/hot.tsv")
		if [ "$n" -lt "$JP_MIN_HOT" ] || [ $((good * 100)) -lt $((n * 90)) ]; then
			jp_say "FAIL: $run: $label: $good of $n samples on pieces named jit:$creator:<fingerprint>; its pieces:"
			awk -F'\t' -v l="$label" '$1 == "PIECE" && $2 == l { printf "  %6d  %s\n", $3, $6 }' "$JP_TMP/$run/hot.tsv"
			bad=1
		fi
	done < <(awk -F'\t' '$1 == "HOT" { print $2, $6 }' "$JP_TMP/$run/hot.tsv")
	jp_say "$run: creator $creator ($obj); names of the hot functions' samples:"
	awk -F'\t' '$1 == "PIECE" { c[$6] += $3 } END { for (k in c) printf "  %6d  %s\n", c[k], k }' \
		"$JP_TMP/$run/hot.tsv" | sort -k1,1nr | sed -n '1,5p'
	if [ "$bad" -ne 0 ]; then
		fail=1
	fi
}

jp_setup
pcre2=$(jp_prog pcre2_bench)
libpcre2=$(ldd "$pcre2" | awk '$1 ~ /^libpcre2-8\.so/ { print $3 }')
[ -n "$libpcre2" ] || jp_fail "pcre2_bench is not linked with libpcre2-8.so"
cr_check pcre2 pcre2_jit_compile_8 "$libpcre2" "$pcre2"
cr_check threads threads - "$(jp_prog threads)"
cr_check rwx_late rwx_late - "$(jp_prog rwx_late)"
if [ "$fail" -ne 0 ]; then
	exit 1
fi
jp_say "PASS names_creator"
