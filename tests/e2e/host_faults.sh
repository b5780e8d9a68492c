#!/usr/bin/env bash
# host_faults - an output directory that is missing, read-only, unwritable, noexec or fills up mid-run: the program runs to completion with the same output, jitperf says why once, and what was written stays readable.
#
# Hosts: tests/host/stress with one thread (its summary line depends only
# on its arguments) and tests/host/diff_calls (every result printed).  Each
# fault is made for real: a regular file where a directory component should
# be, a tmpfs remounted read-only, a directory owned by and running as an
# unprivileged user with mode 0500, a noexec tmpfs, and a 64 KiB tmpfs the
# dump outgrows.  Needs root for the mounts (skips otherwise).
set -euo pipefail
# shellcheck source=../lib/host.sh source-path=SCRIPTDIR
. "$(dirname "$0")/../lib/host.sh"
hs_setup
stress=$(hs_bin stress)
diffp=$(hs_bin diff_calls)
[ "$(id -u)" -eq 0 ] || hs_skip "the fault cases mount tmpfs filesystems: run as root"
fail=0 faults=0

"$stress" 1 3000 0 0 3 >"$HS_TMP/ref.stress" 2>&1 || hs_fail "stress fails without the shim"
"$diffp" 1500 5 >"$HS_TMP/ref.diff" 2>&1 || hs_fail "diff_calls fails without the shim"

# fault NAME MAXMSG PATTERN ENV... -- both hosts with the shim and ENV:
# same output as without it, exit 0, 1..MAXMSG "jitperf: " lines, the first
# matching PATTERN, and every dump left behind valid.
fault() {
	local name=$1 maxmsg=$2 pat=$3 host ref out err rc n
	shift 3
	faults=$((faults + 1))
	for host in stress diff; do
		out=$HS_TMP/$name.$host.out
		err=$HS_TMP/$name.$host.err
		rc=0
		if [ "$host" = stress ]; then
			ref=$HS_TMP/ref.stress
			env LD_PRELOAD="$HS_SHIM" "$@" "$stress" 1 3000 0 0 3 >"$out" 2>"$err" || rc=$?
		else
			ref=$HS_TMP/ref.diff
			env LD_PRELOAD="$HS_SHIM" JITPERF_TRACK=hash "$@" "$diffp" 1500 5 >"$out" 2>"$err" || rc=$?
		fi
		n=$(grep -c '^jitperf: ' "$err" || true)
		if [ "$rc" -ne 0 ]; then
			hs_say "$name/$host: FAIL exit status $rc"
			fail=1
		elif ! cmp -s "$ref" "$out"; then
			hs_say "$name/$host: FAIL the program's output changed"
			fail=1
		elif [ "$n" -lt 1 ] || [ "$n" -gt "$maxmsg" ]; then
			hs_say "$name/$host: FAIL $n messages from jitperf (want 1..$maxmsg)"
			fail=1
		elif ! grep -m 1 '^jitperf: ' "$err" | grep -qiE "$pat"; then
			hs_say "$name/$host: FAIL the message does not say why ($pat)"
			fail=1
		else
			hs_say "$name/$host: ok: $(grep -m 1 '^jitperf: ' "$err" | cut -c1-200)"
			continue
		fi
		sed 's/^/  stderr: /' "$err" | sed -n '1,5p'
	done
}

# 1. A directory that cannot be created: a file where a component should be.
: >"$HS_TMP/afile"
fault missing 1 'not a directory|cannot create' JITPERF_DIR="$HS_TMP/afile/dumps"

# 2. A read-only filesystem: directory to be created, and one that exists.
hs_mount "$HS_TMP/ro" size=1m,mode=0755
mkdir "$HS_TMP/ro/existing"
mount -o remount,ro "$HS_TMP/ro"
fault readonly-new 1 'read-only|cannot create' JITPERF_DIR="$HS_TMP/ro/new"
fault readonly-existing 1 'read-only|not writable' JITPERF_DIR="$HS_TMP/ro/existing"

# 3. Unwritable for the program's user (root may write anywhere).
nobody=65534
chmod 755 "$HS_TMP"
mkdir -m 0500 "$HS_TMP/locked"
chown "$nobody:$nobody" "$HS_TMP/locked"
faults=$((faults + 1))
rc=0
setpriv --reuid="$nobody" --regid="$nobody" --clear-groups env HOME="$HS_TMP/locked" \
	LD_PRELOAD="$HS_SHIM" JITPERF_DIR="$HS_TMP/locked" "$stress" 1 3000 0 0 3 \
	>"$HS_TMP/locked.out" 2>"$HS_TMP/locked.err" || rc=$?
if [ "$rc" -eq 0 ] && cmp -s "$HS_TMP/ref.stress" "$HS_TMP/locked.out" &&
	[ "$(grep -c '^jitperf: ' "$HS_TMP/locked.err")" -eq 1 ] && grep -q 'not writable' "$HS_TMP/locked.err"; then
	hs_say "unwritable/stress (uid $nobody): ok: $(grep -m 1 '^jitperf: ' "$HS_TMP/locked.err")"
else
	hs_say "unwritable/stress (uid $nobody): FAIL status $rc"
	sed 's/^/  stderr: /' "$HS_TMP/locked.err" | sed -n '1,5p'
	fail=1
fi

# 4. noexec: perf finds a dump only through an executable mapping of it.
hs_mount "$HS_TMP/noexec" size=4m,noexec,mode=0700
fault noexec 1 'noexec' JITPERF_DIR="$HS_TMP/noexec"
if find "$HS_TMP/noexec" -name 'jit-*.dump' | grep -q .; then
	hs_say "noexec: FAIL a dump was left on the noexec filesystem"
	fail=1
fi

# 5. Disk full mid-run: what was written before stays a valid dump.
for what in dump perfmap; do
	hs_mount "$HS_TMP/full-$what" size=64k,mode=0700
	if [ "$what" = dump ]; then
		fault "full-$what" 1 'no space' JITPERF_DIR="$HS_TMP/full-$what"
	else
		# Both outputs on the full filesystem: one message each at most.
		fault "full-$what" 2 'no space' JITPERF_DIR="$HS_TMP/full-$what" JITPERF_PERFMAP=1 \
			JITPERF_PERFMAP_DIR="$HS_TMP/full-$what"
	fi
	if ! hs_check_dumps "$HS_TMP/full-$what"; then
		hs_say "full-$what: FAIL a dump cut short by ENOSPC is not valid"
		fail=1
	else
		for d in "$HS_TMP/full-$what"/jit-*.dump; do
			[ -e "$d" ] || continue
			hs_say "full-$what: kept $(stat -c %s "$d") bytes: $("$HS_DUMP" --check "$d" 2>&1 | sed 's/.*: //')"
		done
	fi
done

hs_say "$faults faults injected, each into two programs"
[ "$fail" -eq 0 ] || exit 1
hs_say "PASS host_faults"
