# host.sh - helpers for the host-safety tests (tests/e2e/host_*.sh, tests/stress/run): temp dirs, mounts, watchdogs, dump checks.
# shellcheck shell=bash
#
# Sourced by scripts that set -euo pipefail.  Provides:
#   hs_setup                 $HS_TMP (removed at exit, after unmounting every
#                            hs_mount), HOME inside it (the shim's default
#                            dump directory stays in the sandbox)
#   hs_bin NAME              path of tests/host/NAME in the build
#   hs_mount DIR OPTS        mount a tmpfs with OPTS on DIR, unmounted at exit
#   hs_watch SECS OUT ERR CMD...
#                            run CMD with a watchdog: after SECS the process
#                            tree's stacks are printed (gdb) and it is killed;
#                            sets HS_RC (124 on timeout)
#   hs_check_dumps DIR [RANGES_DIR]
#                            jitperf-dump --check and dumpscan on every dump
#                            under DIR; prints a line per dump, returns 1 on a
#                            problem
#   hs_say / hs_fail / hs_skip
# Knobs: JITPERF_BUILD (build directory), HS_KEEP=1 keeps $HS_TMP.

HS_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
HS_BUILD=${JITPERF_BUILD:-$HS_ROOT/build}
HS_SHIM=$HS_BUILD/libjitperf.so
HS_DUMP=$HS_BUILD/jitperf-dump
HS_TMP=
HS_MOUNTS=()
# shellcheck disable=SC2034 # read by the scripts that source this file
HS_RC=0
# shellcheck disable=SC2034
HS_NDUMPS=0

hs_say() {
	printf '%s\n' "$*"
}

hs_fail() {
	printf 'FAIL: %s\n' "$*"
	exit 1
}

hs_skip() {
	printf 'SKIP: %s\n' "$*"
	exit 77
}

hs_cleanup() {
	local m i
	for ((i = ${#HS_MOUNTS[@]} - 1; i >= 0; i--)); do
		m=${HS_MOUNTS[$i]}
		umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
	done
	if [ -n "$HS_TMP" ]; then
		if [ "${HS_KEEP:-0}" = 1 ]; then
			printf 'kept %s\n' "$HS_TMP" >&2
		else
			chmod -R u+rwx "$HS_TMP" 2>/dev/null || true
			rm -rf "$HS_TMP"
		fi
	fi
}

hs_setup() {
	[ -f "$HS_SHIM" ] || hs_fail "$HS_SHIM not built (make BUILD=$HS_BUILD)"
	[ -x "$HS_DUMP" ] || hs_fail "$HS_DUMP not built"
	HS_TMP=$(mktemp -d "${TMPDIR:-/tmp}/jitperf-host.XXXXXX")
	trap hs_cleanup EXIT
	mkdir -p "$HS_TMP/home"
	export HOME=$HS_TMP/home
	unset XDG_CACHE_HOME
	# Settings from the caller's environment would change what is tested.
	local v
	for v in $(env | sed -n 's/^\(JITPERF_[A-Z_]*\)=.*/\1/p'); do
		[ "$v" = JITPERF_BUILD ] || unset "$v"
	done
}

hs_bin() {
	local p=$HS_BUILD/tests/host/$1
	[ -x "$p" ] || hs_fail "$p not built (make BUILD=$HS_BUILD)"
	printf '%s\n' "$p"
}

hs_mount() {
	local dir=$1 opts=$2
	[ "$(id -u)" -eq 0 ] || hs_skip "mounting a tmpfs needs root"
	mkdir -p "$dir"
	mount -t tmpfs -o "$opts" jitperf-test "$dir" || hs_skip "cannot mount a tmpfs here"
	HS_MOUNTS+=("$dir")
}

# Stacks of a process and its descendants, for a hang report.
hs_stacks() {
	local pid=$1 kid
	printf -- '--- stacks of %s (%s)\n' "$pid" "$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)"
	if command -v gdb >/dev/null 2>&1; then
		timeout 30 gdb -p "$pid" -batch -ex 'thread apply all bt 12' 2>/dev/null |
			grep -E '^(Thread|#)' | sed -n '1,80p' || true
	else
		cat "/proc/$pid/task/"*/stack 2>/dev/null | sed -n '1,40p' || true
	fi
	for kid in $(pgrep -P "$pid" 2>/dev/null); do
		hs_stacks "$kid"
	done
}

hs_kill_tree() {
	local pid=$1 kid
	for kid in $(pgrep -P "$pid" 2>/dev/null); do
		hs_kill_tree "$kid"
	done
	kill -9 "$pid" 2>/dev/null || true
}

hs_watch() {
	local secs=$1 out=$2 err=$3 pid waited=0
	shift 3
	"$@" >"$out" 2>"$err" &
	pid=$!
	while kill -0 "$pid" 2>/dev/null; do
		if [ "$waited" -ge $((secs * 10)) ]; then
			hs_say "WATCHDOG: '$*' still running after ${secs}s: deadlock or livelock"
			hs_stacks "$pid"
			hs_kill_tree "$pid"
			wait "$pid" 2>/dev/null || true
			HS_RC=124
			return 0
		fi
		sleep 0.1
		waited=$((waited + 1))
	done
	# shellcheck disable=SC2034
	HS_RC=0
	# shellcheck disable=SC2034
	wait "$pid" || HS_RC=$?
}

hs_check_dumps() {
	local dir=$1 ranges=${2:-} bad=0 d out
	local -a dumps=() rarg=()
	mapfile -t dumps < <(find "$dir" -name 'jit-*.dump' -type f | sort)
	[ -n "$ranges" ] && rarg=(--ranges "$ranges")
	for d in "${dumps[@]}"; do
		if ! out=$("$HS_DUMP" --check "$d" 2>&1); then
			hs_say "  jitperf-dump --check: $out"
			bad=1
		fi
		if ! out=$("$(hs_bin dumpscan)" "${rarg[@]}" "$d" 2>&1); then
			printf '%s\n' "$out" | sed -n '1,5p' | sed 's/^/  dumpscan: /'
			bad=1
		fi
	done
	# shellcheck disable=SC2034
	HS_NDUMPS=${#dumps[@]}
	return "$bad"
}

# hs_bug_case CASE DUMPCHECK [ENV...]: run `bugs CASE` without and with the
# shim (watchdog 30 s each); the case must pass without it (else the test
# itself is broken) and with it.  DUMPCHECK=1 also runs dumpscan (with the
# exec-range logs) on the shim's dumps.  Exits 0 pass, 1 fail.
hs_bug_case() {
	local name=$1 dumpcheck=$2 dir rc
	shift 2
	local prog
	prog=$(hs_bin bugs)
	hs_watch 30 "$HS_TMP/plain.out" "$HS_TMP/plain.err" "$prog" "$name"
	if [ "$HS_RC" -ne 0 ]; then
		cat "$HS_TMP/plain.out" "$HS_TMP/plain.err"
		hs_fail "$name: fails even without the shim (status $HS_RC)"
	fi
	dir=$HS_TMP/dumps
	mkdir -m 700 "$dir" "$HS_TMP/ranges"
	hs_watch 30 "$HS_TMP/shim.out" "$HS_TMP/shim.err" env LD_PRELOAD="$HS_SHIM" JITPERF_DIR="$dir" \
		HOST_RANGES_DIR="$HS_TMP/ranges" "$@" "$prog" "$name"
	rc=$HS_RC
	sed 's/^/  /' "$HS_TMP/shim.out"
	grep '^jitperf: ' "$HS_TMP/shim.err" | sed -n '1,3p' | sed 's/^/  stderr: /' || true
	if [ "$dumpcheck" = 1 ] && ! hs_check_dumps "$dir" "$HS_TMP/ranges"; then
		rc=1
	fi
	if [ "$rc" -ne 0 ]; then
		hs_say "FAIL $name (status $rc): the program behaves differently with the shim (known bug, see the header of $(basename "$0"))"
		exit 1
	fi
	hs_say "PASS $name"
	exit 0
}
