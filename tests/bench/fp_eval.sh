#!/usr/bin/env bash
# fp_eval.sh - two-run stability and purity of candidate fingerprints
# (tests/bench/fp_eval.c) over the runs an engine test kept.
#
# Usage: tests/bench/fp_eval.sh BUILD_DIR KEPT_DIR [LABEL]
# KEPT_DIR is what `JP_KEEP=1 JITPERF_BUILD=BUILD_DIR bash
# tests/e2e/engine_NAME.sh` leaves (it prints "kept DIR"): run1, run2, ...
# each with dumps/ (the whole dumps, *.all when pruned) and samples.tsv
# (jitperf.report --samples).  Writes RUN/cands.tsv and RUN/mnem.tsv (for
# tests/bench/fp_nearest.py) and KEPT_DIR/fp_eval.pairs (one line per
# ordered pair and candidate: pair, candidate, stable%, merged%,
# merged_hot%, stable_with_n%).  For every ordered pair of runs and every
# candidate:
#   stable     of run A's JIT samples, the share whose piece's candidate
#              value (with the creator) is also that of a LOAD of run B
#              (tests/lib/engine.sh's measure with the candidate for the
#              name; the row "name" is that measure itself);
#   merged     of run A's JIT samples, the share on a candidate value that
#              LOADs of run A with different current fingerprints share;
#   merged_hot the same counting only fingerprints with samples in run A
#              (different functions the profile shows under one name; the
#              docs' "merged");
#   with#n     stable with a #n added in the order each run's dumps first
#              show a value's different current fingerprints, as naming
#              would if they were alive together (a name that exists in
#              run B, whatever code it holds there).
# Prints one line per candidate: LABEL, candidate, stable (lowest-highest
# pair), with#n (lowest pair), merged and merged_hot (largest of any run).
set -euo pipefail
build=$1 kept=$2 label=${3:-$(basename "$2")}
runs=()
for d in "$kept"/run*; do
	[ -d "$d/dumps" ] || continue
	mapfile -t dumps < <(find "$d/dumps" -name 'jit-*.dump' -type f |
		while read -r f; do if [ -e "$f.all" ]; then echo "$f.all"; else echo "$f"; fi; done)
	"$build/tests/bench/fp_eval" -m "$d/mnem.tsv" "${dumps[@]}" >"$d/cands.tsv"
	runs+=("$d")
done
pair() { # A B -> one line per candidate: cand stable% merged% merged_hot%
	awk -F'\t' '
	BEGIN { split("name cur same reg regimm bag bagimm skel skelbag mnem minhash imm storeimm bagsame bagnonop skip16 skip16bag skipbang", cn, " "); nc = 18 }
	function creator(nm,  f) { split(nm, f, ":"); return f[2] }
	FILENAME == ARGV[1] { cr = creator($1); base = cr ":" $3
		inB[1, $1] = 1
		for (c = 2; c <= nc; c++) { k = cr ":" $(c + 1); inB[c, k] = 1
			if (!((c, k, base) in rkB)) rkB[c, k, base] = ++nB[c, k]
			inBn[c, k "#" rkB[c, k, base]] = 1 }
		next }
	FILENAME == ARGV[2] { cr = creator($1); base = cr ":" $3
		nameok[$1] = 1
		for (c = 2; c <= nc; c++) { k = cr ":" $(c + 1); key[c, $1] = k
			if (!((c, k, base) in seen)) { seen[c, k, base] = ++nfp[c, k] }
			keyn[c, $1] = k "#" seen[c, k, base] }
		basefp[$1] = base
		next }
	$4 == "named" || $4 == "unnamed" { j++
		if ($4 != "named" || !($6 in nameok)) next
		if ((1, $6) in inB) s[1]++
		hot[basefp[$6]] = 1; sn[$6]++
		for (c = 2; c <= nc; c++) { if ((c, key[c, $6]) in inB) s[c]++; if ((c, keyn[c, $6]) in inBn) sn_[c]++
			if (nfp[c, key[c, $6]] > 1) m[c]++ } }
	END {
		# merged among sampled pieces only
		for (nm in sn) for (c = 2; c <= nc; c++) { k = key[c, nm]
			if (!((c, k, basefp[nm]) in hs)) { hs[c, k, basefp[nm]] = 1; nh[c, k]++ } }
		for (nm in sn) for (c = 2; c <= nc; c++) if (nh[c, key[c, nm]] > 1) mh[c] += sn[nm]
		sn_[1] = s[1]
		for (c = 1; c <= nc; c++) printf "%s %.1f %.2f %.2f %.1f\n", cn[c], j ? 100 * s[c] / j : 0, j ? 100 * m[c] / j : 0, j ? 100 * mh[c] / j : 0, j ? 100 * sn_[c] / j : 0 }
	' "$1/cands.tsv" "$2/cands.tsv" "$2/samples.tsv"
}
{
	for ((i = 0; i < ${#runs[@]}; i++)); do
		for ((k = 0; k < ${#runs[@]}; k++)); do
			[ "$i" -ne "$k" ] || continue
			pair "${runs[k]}" "${runs[i]}" | sed "s|^|$(basename "${runs[i]}")>$(basename "${runs[k]}") |"
		done
	done
} >"$kept/fp_eval.pairs"
awk -v L="$label" '{ c = $2; st = $3 + 0; if (!(c in lo) || st < lo[c]) lo[c] = st; if (!(c in hi) || st > hi[c]) hi[c] = st
	if (!(c in lon) || $6 + 0 < lon[c]) lon[c] = $6 + 0
	if ($4 + 0 > mg[c]) mg[c] = $4 + 0; if ($5 + 0 > mh[c]) mh[c] = $5 + 0; if (!(c in ord)) ord[c] = ++n; nm[ord[c]] = c }
	END { for (i = 1; i <= n; i++) { c = nm[i]; printf "%s\t%s\tstable %.1f-%.1f\twith#n>=%.1f\tmerged<=%.2f\tmerged_hot<=%.2f\n", L, c, lo[c], hi[c], lon[c], mg[c], mh[c] } }' "$kept/fp_eval.pairs"
