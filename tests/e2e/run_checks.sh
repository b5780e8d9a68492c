#!/usr/bin/env bash
# run_checks.sh - jitperf-run's diagnosis: --check and the checks before every run, each failure mode simulated for real (perf missing, perf_event_paranoid too high for an unprivileged user, noexec output directory, static and setuid programs, libjitperf.so missing or broken), the fix it proposes, and exit statuses 0 / 69.
# shellcheck source=../lib/jitperf_run.sh source-path=SCRIPTDIR
. "$(dirname "$0")/../lib/jitperf_run.sh"
need_perf
need_build
cd "$T" || exit 1
export JIT_SECONDS=0.2

# expect LABEL STATUS PATTERN args...: exit status and a line of the report
expect() {
	local label=$1 status=$2 pattern=$3; shift 3
	run_jr "$label" "$status" "$@" || return 1
	if grep -Eq -- "$pattern" "$T/$label.err"; then
		ok "$label: says '$pattern'"
	else
		fail "$label: no '$pattern' in:"
		sed 's/^/    | /' "$T/$label.err"
	fi
}

# ---- all good ----
expect good 0 'all good' --check --lib "$LIB"
for what in 'perf:' 'perf_event_paranoid=' 'event:' 'libjitperf.so:' 'output directory:'; do
	grep -q "ok    $what" "$T/good.err" || fail "--check does not report '$what'"
done
expect goodprog 0 "ok    program: .*demo \(dynamically linked x86-64\)" --check --lib "$LIB" -- "$DEMO"

# ---- perf missing: a PATH with everything but perf ----
mkdir "$T/noperf"
for d in /usr/local/bin /usr/bin /bin /usr/local/sbin /usr/sbin /sbin; do
	for f in "$d"/*; do
		b=${f##*/}
		[ "$b" = perf ] && continue
		[ -e "$T/noperf/$b" ] || ln -s "$f" "$T/noperf/$b"
	done
done
PATH=$T/noperf expect noperf 69 'FAIL  perf is not installed' --check --lib "$LIB"
check "perf missing: the fix names the package" grep -q 'fix: install it: apt-get install linux-perf' "$T/noperf.err"
PATH=$T/noperf expect noperf-run 69 'not running' --lib "$LIB" -o "$T/noperf-out" -- "$DEMO"
check "a failed check leaves no output directory behind" test ! -e "$T/noperf-out"

# ---- perf_event_paranoid: what matters is the user's privileges ----
echo 3 >"$T/paranoid3"
JITPERF_RUN_PARANOID_FILE=$T/paranoid3 expect paranoid-root 0 'perf_event_paranoid=3, no limit for you \(root\)' --check --lib "$LIB"
as_nobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"; }
if ! command -v setpriv >/dev/null 2>&1 || [ "$(id -u)" -ne 0 ]; then
	echo "note: not root or no setpriv: unprivileged cases not tested"
elif ! as_nobody test -r "$JR" -a -r "$LIB" -a -x "$DEMO" -a -r "$T"; then
	echo "note: user nobody cannot read this checkout or build: unprivileged cases not tested"
elif ! as_nobody sh -c ': </dev/null >/dev/null' 2>/dev/null; then
	# /dev/null is the host's here, and something on the host made it
	# unusable for other users (seen: mode 0755): jitperf-run must say so
	echo "note: /dev/null is not usable by nobody (mode $(stat -c %a /dev/null)): only that diagnosis is tested"
	(cd "$T" && as_nobody "$JR" --check --lib "$LIB") >"$T/devnull.out" 2>"$T/devnull.err"
	rc=$?
	check "broken /dev/null: an environment problem (69, got $rc)" test "$rc" -eq 69
	check "broken /dev/null: explained" grep -q 'FAIL  /dev/null is not a device this user can read and write' "$T/devnull.err"
else
	mkdir "$T/nobody" && chown nobody "$T/nobody"
	(cd "$T/nobody" && JITPERF_RUN_PARANOID_FILE=$T/paranoid3 as_nobody "$JR" --check --lib "$LIB") \
		>"$T/paranoid3.out" 2>"$T/paranoid3.err"
	rc=$?
	check "paranoid=3, unprivileged user: an environment problem (69, got $rc)" test "$rc" -eq 69
	check "paranoid=3, unprivileged user: explained" \
		grep -q 'FAIL  perf_event_paranoid=3: this kernel lets only privileged users use perf' "$T/paranoid3.err"
	check "paranoid=3, unprivileged user: the fix" grep -q 'fix: sudo sysctl kernel.perf_event_paranoid=2' "$T/paranoid3.err"
	# and at the real level (2 here) an unprivileged user profiles for real
	level=$(cat /proc/sys/kernel/perf_event_paranoid)
	if [ "$level" -le 2 ]; then
		(cd "$T/nobody" && as_nobody "$JR" -q --lib "$LIB" -o "$T/nobody/run" -- "$DEMO") \
			>"$T/nobody.out" 2>"$T/nobody.err"
		rc=$?
		check "unprivileged user at paranoid=$level: the run works (status $rc)" test "$rc" -eq 0
		check "unprivileged user: JIT code named" \
			test "$(summary_num "$T/nobody/run/summary.txt" named 2>/dev/null)" -gt 0
	fi
fi

# ---- an output directory on a noexec filesystem ----
noexec_check() { # the checks, inside a private mount namespace with a noexec tmpfs
	# shellcheck disable=SC2016 # $1 and $@ belong to the inner sh
	unshare -m sh -c 'mount -t tmpfs -o noexec,size=64m tmpfs "$1" && shift && exec "$@"' sh "$T/nx" "$@"
}
mkdir "$T/nx"
if unshare -m sh -c "mount -t tmpfs -o noexec tmpfs '$T/nx'" 2>/dev/null; then
	noexec_check "$JR" --check --lib "$LIB" -o "$T/nx/out" >"$T/noexec.out" 2>"$T/noexec.err"
	rc=$?
	check "noexec output directory: an environment problem (69, got $rc)" test "$rc" -eq 69
	check "noexec: explained" grep -q 'is on a noexec filesystem' "$T/noexec.err"
	check "noexec: the fix" grep -q 'fix: choose a directory on another filesystem with -o' "$T/noexec.err"
	noexec_check "$JR" --check --perf-map --lib "$LIB" -o "$T/nx/out" >/dev/null 2>"$T/noexec-map.err"
	check "noexec is fine for --perf-map (no marker mapping)" test $? -eq 0
else
	echo "note: cannot mount a tmpfs here: noexec not tested"
fi

# ---- programs LD_PRELOAD cannot reach ----
cc_prog static -static <<'EOF'
int main(void) { return 5; }
EOF
cc_prog dynamic <<'EOF'
int main(void) { return 0; }
EOF
expect static 69 'statically linked; LD_PRELOAD cannot reach it' --check --lib "$LIB" -- "$T/bin/static"
check "static: the fix" grep -q 'fix: profile a dynamically linked build' "$T/static.err"
expect static-run 69 'not running' -q --lib "$LIB" -o "$T/static-out" -- "$T/bin/static"
run_jr static-force 5 -q --force --lib "$LIB" -o "$T/static-force" -- "$T/bin/static"
check "--force runs it anyway (the program's status, a summary)" test -s "$T/static-force/summary.txt"
printf '#!%s\n' "$T/bin/static" >"$T/static-script"
chmod +x "$T/static-script"
expect static-interp 69 'interpreter of .*static-script: .* is statically linked' --check --lib "$LIB" -- "$T/static-script"
printf '#!/usr/bin/env sh\nexit 0\n' >"$T/env-script"
chmod +x "$T/env-script"
expect env-script 0 'ok    interpreter of .*env-script' --check --lib "$LIB" -- "$T/env-script"

if [ "$(id -u)" -eq 0 ]; then
	cp "$T/bin/dynamic" "$T/setuid"
	chown nobody "$T/setuid" && chmod u+s "$T/setuid"
	expect setuid 69 'set-user-ID or set-group-ID; the dynamic loader ignores LD_PRELOAD' --check --lib "$LIB" -- "$T/setuid"
	check "setuid: the fix" grep -q 'fix: profile a copy without the bit' "$T/setuid.err"
	cp "$T/bin/dynamic" "$T/setuid-mine"
	chmod u+s "$T/setuid-mine"
	expect setuid-mine 0 'ok    program' --check --lib "$LIB" -- "$T/setuid-mine"
fi
cp "$T/bin/dynamic" "$T/setgid"
chgrp nogroup "$T/setgid" 2>/dev/null && chmod g+s "$T/setgid" &&
	expect setgid 69 'set-user-ID or set-group-ID' --check --lib "$LIB" -- "$T/setgid"

# ---- libjitperf.so missing or broken ----
expect lib-missing 69 'FAIL  libjitperf.so: /nonexistent/libjitperf.so does not exist' --check --lib /nonexistent/libjitperf.so
mkdir -p "$T/copy/scripts"
cp -r "$JR" "$REPO/scripts/jitperf" "$T/copy/scripts/"
JR=$T/copy/scripts/jitperf-run JITPERF_BUILD=$T/nothing-here expect lib-notfound 69 'FAIL  libjitperf.so not found' --check -- "$DEMO"
check "not found: the fix" grep -q "fix: build it with 'make', or point to it: --lib PATH or JITPERF_LIB=PATH" "$T/lib-notfound.err"
echo "not a library" >"$T/text.so"
expect lib-text 69 'is not an ELF shared object' --check --lib "$T/text.so"
# a library whose own dependency is gone (libunwind not installed, say)
cc_prog libdep.so -shared -fPIC <<'EOF'
int dep_fn(void) { return 1; }
EOF
cc_prog needy.so -shared -fPIC -L"$T/bin" -l:libdep.so <<'EOF'
int dep_fn(void);
int needy(void) { return dep_fn(); }
EOF
rm "$T/bin/libdep.so"
expect lib-deps 69 'libjitperf.so cannot be preloaded: .*libdep.so' --check --lib "$T/bin/needy.so"
finish
