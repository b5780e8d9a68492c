#!/usr/bin/env bash
# host_settings - every JITPERF_* variable given garbage, empty, huge or hostile values: a clear message at most once, a safe default, never a crash or a changed program.
#
# For each variable and each bad value, tests/host/stress (one thread, a
# fork and an exec'd child, so the settings are read in several processes)
# must print what it prints without the shim and exit 0; jitperf may say at
# most one line per process about it, and every dump it writes (in
# JITPERF_DIR, or the default under $HOME when JITPERF_DIR itself is bad)
# must be valid.  Then all variables bad at once.  Hostile paths: "..",
# a symlink to a directory another user owns, control characters, 5000
# bytes, a path through a regular file.  A symlink to a directory of one's
# own is accepted (host_bug_symlink_dir.sh while it is not).
set -euo pipefail
# shellcheck source=../lib/host.sh source-path=SCRIPTDIR
. "$(dirname "$0")/../lib/host.sh"
hs_setup
stress=$(hs_bin stress)
args=(1 600 200 300 11)
"$stress" "${args[@]}" >"$HS_TMP/ref" 2>&1 || hs_fail "stress fails without the shim"
# Processes that read the settings: the program, its fork and exec'd children.
procs=$((1 + $(sed -n 's/.* \([0-9]*\) forks, \([0-9]*\) execs.*/\1 + \2/p' "$HS_TMP/ref")))
long=$(printf 'A%.0s' $(seq 1 5000))
mkdir -p "$HS_TMP/foreign" "$HS_TMP/a/b"
chown 65534:65534 "$HS_TMP/foreign"
ln -s "$HS_TMP/foreign" "$HS_TMP/foreign-link"
: >"$HS_TMP/plainfile"
ctl=$(printf 'x\001y\033[31mz')
values=("" "garbage" "-1" "0" "99999999999999999999999999" "18446744073709551616" "0x10" " 1" "1 " "1e3"
	"yes please" "$long" "$ctl" "%s%n%s%n" "../../../../etc" "\$(touch $HS_TMP/pwned)")
vars=(JITPERF_DIR JITPERF_EPOCH_MS JITPERF_TRACK JITPERF_JITDUMP JITPERF_PERFMAP JITPERF_PERFMAP_DIR
	JITPERF_UNWIND JITPERF_MAX_PIECE JITPERF_VERBOSE JITPERF_DISABLE JITPERF_SCAN JITPERF_DESCRIBE)
fail=0 runs=0

# try LABEL ENV...: run with the shim; checks as described above.
try() {
	local label=$1 dir=$HS_TMP/out.$runs rc=0 n
	shift
	runs=$((runs + 1))
	mkdir -m 700 "$dir"
	rm -rf "$HOME/.cache"
	(cd "$HS_TMP/a/b" && env LD_PRELOAD="$HS_SHIM" JITPERF_DIR="$dir" JITPERF_PERFMAP_DIR="$dir" "$@" \
		"$stress" "${args[@]}") >"$dir.out" 2>"$dir.err" || rc=$?
	n=$(grep -c '^jitperf: ' "$dir.err" || true)
	if [ "$rc" -ne 0 ] || ! cmp -s "$HS_TMP/ref" "$dir.out"; then
		hs_say "$label: FAIL (status $rc, output $(cmp -s "$HS_TMP/ref" "$dir.out" && echo same || echo changed))"
		head -n 5 "$dir.err" | cut -c1-200 | sed 's/^/  /'
		fail=1
	elif grep -v '^jitperf: ' "$dir.err" | grep -q .; then
		hs_say "$label: FAIL unexpected stderr: $(grep -v '^jitperf: ' "$dir.err" | sed -n '1,1p')"
		fail=1
	elif [ "$n" -gt $((procs * ${MAXMSG:-1})) ]; then
		hs_say "$label: FAIL $n messages (at most ${MAXMSG:-1} per process)"
		head -n 6 "$dir.err" | cut -c1-200 | sed 's/^/  /'
		fail=1
	elif ! hs_check_dumps "$dir" || ! hs_check_dumps "$HOME"; then
		hs_say "$label: FAIL invalid dump"
		fail=1
	fi
	if [ -e "$HS_TMP/pwned" ]; then
		hs_say "$label: FAIL a value was executed by a shell"
		fail=1
	fi
	if [ "$n" -gt 0 ] && [ "${SHOW:-0}" = 1 ]; then
		hs_say "$label: $(grep -m 1 '^jitperf: ' "$dir.err" | cut -c1-160)"
	fi
}

for var in "${vars[@]}"; do
	for v in "${values[@]}"; do
		try "$var=$(printf '%q' "${v:0:40}")" "$var=$v"
	done
done
# Hostile directories.
for var in JITPERF_DIR JITPERF_PERFMAP_DIR; do
	SHOW=1 try "$var=foreign-owned" JITPERF_PERFMAP=1 "$var=$HS_TMP/foreign"
	SHOW=1 try "$var=symlink to foreign" JITPERF_PERFMAP=1 "$var=$HS_TMP/foreign-link"
	SHOW=1 try "$var=through a file" JITPERF_PERFMAP=1 "$var=$HS_TMP/plainfile/x"
	SHOW=1 try "$var=relative" JITPERF_PERFMAP=1 "$var=rel/dumps"
	SHOW=1 try "$var=dotdot" JITPERF_PERFMAP=1 "$var=$HS_TMP/a/../a/b/../dd"
done
if find "$HS_TMP/foreign" -mindepth 1 | grep -q .; then
	hs_say "FAIL jitperf wrote into a directory owned by another user: $(find "$HS_TMP/foreign" -mindepth 1)"
	fail=1
fi
# Everything bad at once (one message per bad variable per process).
all=()
for var in "${vars[@]}"; do
	all+=("$var=$ctl$long")
done
MAXMSG=${#vars[@]} SHOW=1 try "all variables bad" "${all[@]}"
hs_say "$runs runs with bad settings, ${#vars[@]} variables x ${#values[@]} values + hostile paths"
[ "$fail" -eq 0 ] || exit 1
hs_say "PASS host_settings"
