#!/usr/bin/env bash
# fp_compare.sh - two-run stability of the same saved runs under two
# builds' fingerprints: what a change to lib/fingerprint.c gains, measured
# on the same bytes (live runs of HotSpot or gjs move by 10-20 points from
# set to set with what the JIT compiled).
#
# Usage: tests/bench/fp_compare.sh OLD_BUILD NEW_BUILD KEPT_DIR...
# KEPT_DIR is what `JP_KEEP=1 JITPERF_BUILD=... bash tests/e2e/engine_NAME.sh`
# leaves (run1, run2, ... each with dumps/ and samples.tsv).  Each build's
# tests/bench/fp_eval gives every LOAD's fingerprint (its cur column,
# jp_fingerprint); each sample of run A is mapped to its piece through its
# name, as tests/bench/fp_eval.sh does.  Prints one line per ordered pair
# of runs:
#   SET/A>B old S1 new S2 merged M (of N)
# S1, S2: the share of A's N JIT samples whose piece's fingerprint (with
# the creator) is also that of a LOAD of B, under each build
# (tests/lib/engine.sh's measure); M: the share of A's JIT samples on a
# new fingerprint that pieces of A with different old fingerprints share
# (what the change merged: the same function in two states, or two
# functions; tell them apart by address and bytes).  Writes nothing into
# KEPT_DIR.
set -euo pipefail
old=$1 new=$2
shift 2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for kept in "$@"; do
	runs=()
	for d in "$kept"/run*; do
		[ -d "$d/dumps" ] || continue
		mapfile -t dumps < <(find "$d/dumps" -name 'jit-*.dump' -type f |
			while read -r f; do if [ -e "$f.all" ]; then echo "$f.all"; else echo "$f"; fi; done)
		o=$work/$(basename "$kept")/$(basename "$d")
		mkdir -p "$o"
		"$old/tests/bench/fp_eval" "${dumps[@]}" | cut -f1-3 >"$o/old.tsv"
		"$new/tests/bench/fp_eval" "${dumps[@]}" | cut -f1-3 >"$o/new.tsv"
		paste "$o/old.tsv" "$o/new.tsv" >"$o/both.tsv"
		cp "$d/samples.tsv" "$o/samples.tsv"
		runs+=("$o")
	done
	for ((i = 0; i < ${#runs[@]}; i++)); do
		for ((k = 0; k < ${#runs[@]}; k++)); do
			[ "$i" -ne "$k" ] || continue
			a=${runs[i]} b=${runs[k]}
			awk -F'\t' -v pair="$(basename "$kept")/$(basename "$a")>$(basename "$b")" '
			function cr(nm,  f) { split(nm, f, ":"); return f[2] }
			FILENAME == ARGV[1] { inBo[cr($1) ":" $3] = 1; inBn[cr($1) ":" $6] = 1; next }
			FILENAME == ARGV[2] { ko[$1] = cr($1) ":" $3; kn[$1] = cr($1) ":" $6
				if (!((kn[$1], $3) in seen)) { seen[kn[$1], $3] = 1; nold[kn[$1]]++ }
				next }
			$4 == "named" || $4 == "unnamed" { j++
				if ($4 != "named" || !($6 in ko)) next
				if (ko[$6] in inBo) so++
				if (kn[$6] in inBn) sn++
				if (nold[kn[$6]] > 1) m++ }
			END { printf "%s old %.1f new %.1f merged %.2f (of %d)\n", pair,
				j ? 100 * so / j : 0, j ? 100 * sn / j : 0, j ? 100 * m / j : 0, j }
			' "$b/both.tsv" "$a/both.tsv" "$a/samples.tsv"
		done
	done
done
