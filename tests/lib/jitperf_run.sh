# jitperf_run.sh - shared set-up of the jitperf-run end-to-end tests (tests/e2e/run_*.sh); sourced, not run.
# shellcheck shell=bash
#
# Gives: $REPO, $BUILD (JITPERF_BUILD or build/), $JR (scripts/jitperf-run),
# $LIB and $DEMO from the build, $T (a private temp dir removed at exit, also
# HOME: a run must not write to ~/.debug), and check helpers.  A test exits
# 0 when every check passed, 1 when one failed, 77 when a prerequisite is
# missing.

set -uo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${JITPERF_BUILD:-$REPO/build}
BUILD=$(cd "$BUILD" 2>/dev/null && pwd) || { echo "no build directory ${JITPERF_BUILD:-$REPO/build}"; exit 1; }
JR=$REPO/scripts/jitperf-run
LIB=$BUILD/libjitperf.so
DEMO=$BUILD/tests/jit/demo
TEST_NAME=$(basename "$0" .sh)

T=$(mktemp -d "${TMPDIR:-/tmp}/jitperf-$TEST_NAME.XXXXXX")
chmod 755 "$T"
cleanup_hooks=()
on_exit() {
	local h
	for h in "${cleanup_hooks[@]}"; do eval "$h" || true; done
	rm -rf "$T"
}
trap on_exit EXIT
mkdir -p "$T/home"
export HOME=$T/home
unset JITPERF_LIB JITPERF_FLAMEGRAPH_TEMPLATE LD_PRELOAD

failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
ok() { echo "ok: $*"; }
skip() { echo "SKIP: $*"; exit 77; }
# check DESCRIPTION command...: the command must succeed
check() {
	local what=$1; shift
	if "$@"; then ok "$what"; else fail "$what"; fi
}
finish() {
	if [ -e "$HOME/.debug" ]; then fail "a run wrote to ~/.debug (the build-id cache must stay private)"; fi
	if [ "$failures" -gt 0 ]; then
		echo "$TEST_NAME: $failures check(s) failed"
		exit 1
	fi
	echo "$TEST_NAME: all checks passed"
	exit 0
}

# run_jr LABEL EXPECTED_STATUS jitperf-run-args...: runs jitperf-run with
# stdout/stderr saved in $T/LABEL.out / .err; checks the exit status.
run_jr() {
	local label=$1 want=$2 rc=0; shift 2
	"$JR" "$@" >"$T/$label.out" 2>"$T/$label.err" </dev/null || rc=$?
	if [ "$rc" -ne "$want" ]; then
		fail "$label: exit status $rc, expected $want"
		sed 's/^/    | /' "$T/$label.err" | tail -n 30
		return 1
	fi
	ok "$label: exit status $rc"
}

# has_line DESCRIPTION LINE FILE: FILE has LINE as a whole line; on failure
# shows what FILE holds, so a failure on another machine says why.
has_line() {
	if grep -qxF -- "$2" "$3"; then
		ok "$1"
	else
		fail "$1: no line '$2' in $3, which holds:"
		sed 's/^/    | /' "$3" 2>&1 | sed -n '1,10p'
	fi
}

# A number from a run's summary.txt: samples, jit or named.
summary_num() { # file what
	case $2 in
	samples) awk '/ samples  \(/ { print $1; exit }' "$1" ;;
	jit) awk '/ in JIT code:/ { print $1; exit }' "$1" ;;
	named) awk '/ in named JIT code:/ { print $1; exit }' "$1" ;;
	esac
}

need_perf() {
	command -v perf >/dev/null 2>&1 || skip "perf is not installed (scripts/setup-deps installs it)"
	perf stat -e cpu-clock:u -- true >/dev/null 2>&1 || skip "perf cannot count events here"
}

need_build() {
	[ -f "$LIB" ] || { echo "FAIL: $LIB missing: build first (make BUILD=...)"; exit 1; }
	[ -x "$DEMO" ] || { echo "FAIL: $DEMO missing: build first (make BUILD=...)"; exit 1; }
}

# Small C programs the tests need, built once per test into $T/bin.
cc_prog() { # name [gcc flags...] < source
	local name=$1; shift
	mkdir -p "$T/bin"
	cat >"$T/bin/$name.c"
	gcc -O1 -g -fno-omit-frame-pointer -o "$T/bin/$name" "$T/bin/$name.c" "$@" ||
		{ echo "FAIL: cannot compile $name"; exit 1; }
}

# wait_for FILE [seconds]: until FILE exists and is not empty
wait_for() {
	local f=$1 n=$(( ${2:-30} * 20 ))
	while [ ! -s "$f" ] && [ "$n" -gt 0 ]; do sleep 0.05; n=$((n - 1)); done
	[ -s "$f" ]
}
