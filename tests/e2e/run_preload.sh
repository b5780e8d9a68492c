#!/usr/bin/env bash
# run_preload.sh - jitperf-run adds libjitperf.so to the user's LD_PRELOAD for the program only: the user's preload still runs in the program, never in perf or the helper, nothing is loaded twice, JITPERF_* settings pass through.
# shellcheck source=../lib/jitperf_run.sh source-path=SCRIPTDIR
. "$(dirname "$0")/../lib/jitperf_run.sh"
need_perf
need_build
cd "$T" || exit 1
export JIT_SECONDS=0.3

# A user's preload library that logs every process it is loaded into.
cc_prog userpre.so -shared -fPIC <<'EOF'
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
__attribute__((constructor)) static void userpre_init(void)
{
	const char *log = getenv("USERPRE_LOG");
	char exe[512];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	FILE *f;
	if (!log || n < 0 || !(f = fopen(log, "a")))
		return;
	exe[n] = 0;
	fprintf(f, "%d %s\n", (int)getpid(), exe);
	fclose(f);
}
EOF
UP=$T/bin/userpre.so
# shellcheck disable=SC2016 # the probe expands them
printf '#!/bin/sh\nprintf "%%s\\n" "$LD_PRELOAD" > "%s/$1.preload"; env > "%s/$1.env"\n' "$T" "$T" >"$T/probe"
chmod +x "$T/probe"

# The user's preload and ours both run in the program; ours first.
export USERPRE_LOG=$T/userpre.log
LD_PRELOAD=$UP run_jr both 0 -q --lib "$LIB" -o "$T/both" -- "$DEMO"
pid=$(awk '/^pid:/ { print $2 }' "$T/both/run.txt")
check "the user's preload ran in the program" grep -q "^$pid .*/demo\$" "$T/userpre.log"
# (jitperf-run itself starts with the user's environment, so it appears too)
check "... but not in perf or the helper" bash -c "! grep -Eq ' .*/(perf|perl[0-9.]*)\$' '$T/userpre.log'"
check "... and once in the program's pid (after the exec)" test "$(grep -c "^$pid " "$T/userpre.log")" -eq 1
check "libjitperf.so ran in the program too (JIT code named)" \
	test "$(summary_num "$T/both/summary.txt" named)" -gt 0
check "only the program wrote a dump" \
	test "$(find "$T/both/dumps" -name 'jit-*.dump' | wc -l)" -eq 1

LD_PRELOAD=$UP run_jr order 0 -q --lib "$LIB" -o "$T/order" -- "$T/probe" order
has_line "LD_PRELOAD is libjitperf.so, then the user's" "$LIB:$UP" "$T/order.preload"
cp "$UP" "$T/bin/other.so"
LD_PRELOAD="$UP $T/bin/other.so" run_jr spaces 0 -q --lib "$LIB" -o "$T/spaces" -- "$T/probe" spaces
has_line "a space-separated LD_PRELOAD is kept as it is" "$LIB:$UP $T/bin/other.so" "$T/spaces.preload"
LD_PRELOAD="$UP:$LIB" run_jr twice 0 -q --lib "$LIB" -o "$T/twice" -- "$T/probe" twice
has_line "libjitperf.so already in LD_PRELOAD is not added again" "$UP:$LIB" "$T/twice.preload"
run_jr alone 0 -q --lib "$LIB" -o "$T/alone" -- "$T/probe" alone
has_line "without a user LD_PRELOAD it is just libjitperf.so" "$LIB" "$T/alone.preload"

# JITPERF_* settings reach the program; JITPERF_DIR is the run's dumps/.
JITPERF_VERBOSE=1 JITPERF_DIR=/somewhere/else run_jr settings 0 -q --lib "$LIB" -o "$T/settings" -- "$T/probe" settings
check "JITPERF_VERBOSE passed through" grep -qx 'JITPERF_VERBOSE=1' "$T/settings.env"
check "JITPERF_DIR points into the run" grep -qx "JITPERF_DIR=$T/settings/dumps" "$T/settings.env"
check "no helper variables leak into the program" bash -c "! grep -q '^JITPERF_RUN' '$T/settings.env'"
finish
