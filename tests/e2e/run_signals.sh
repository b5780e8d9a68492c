#!/usr/bin/env bash
# run_signals.sh - jitperf-run passes the program's exit status through and gets signals to it: SIGTERM, Ctrl-C on a terminal, a program that ignores them, inherited dispositions, and the path without perl.
# shellcheck source=../lib/jitperf_run.sh source-path=SCRIPTDIR
. "$(dirname "$0")/../lib/jitperf_run.sh"
need_perf
need_build
cd "$T" || exit 1

cc_prog sigprog <<'EOF'
/* sigprog MODE LOG: "graceful" counts SIGINT/SIGTERM, then spends 0.4 s of CPU
 * in cleanup_work() and exits 42; "ignore" ignores both and spins;
 * "sigign" writes its ignored-signal mask and exits. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t nint, nterm;
static void on_int(int s) { (void)s; nint++; }
static void on_term(int s) { (void)s; nterm++; }

static double cpu(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}
static void __attribute__((noinline)) busy_work(void) { while (!nint && !nterm) ; }
static void __attribute__((noinline)) cleanup_work(double s)
{
	double end = cpu() + s;
	volatile unsigned long x = 0;
	unsigned long i;
	while (cpu() < end)
		for (i = 0; i < 1000000; i++)
			x += i * i;
}
int main(int argc, char **argv)
{
	FILE *log = fopen(argv[2], "a");
	char line[256];
	if (!log) return 2;
	setvbuf(log, NULL, _IOLBF, 0);
	if (!strcmp(argv[1], "sigign")) {
		FILE *st = fopen("/proc/self/status", "r");
		while (st && fgets(line, sizeof line, st))
			if (!strncmp(line, "SigIgn:", 7)) fputs(line, log);
		return 0;
	}
	if (!strcmp(argv[1], "ignore")) {
		signal(SIGINT, SIG_IGN);
		signal(SIGTERM, SIG_IGN);
		fprintf(log, "started %d\n", (int)getpid());
		for (;;) ;
	}
	signal(SIGINT, on_int);
	signal(SIGTERM, on_term);
	fprintf(log, "started %d\n", (int)getpid());
	busy_work();
	cleanup_work(0.4);
	fprintf(log, "INT %d TERM %d\ncleanup done\n", (int)nint, (int)nterm);
	return 42;
}
EOF
SP=$T/bin/sigprog
samples_in() { # dir symbol: samples whose leaf is the symbol
	perf script -i "$1/perf.data" -F ip,sym -G 2>/dev/null | awk -v s="$2" '$2 == s { n++ } END { print n + 0 }'
}

# ---- exit status ----
run_jr exit0 0 -q --lib "$LIB" -o "$T/e0" -- sh -c 'exit 0'
run_jr exit3 3 -q --lib "$LIB" -o "$T/e3" -- sh -c 'exit 3'
run_jr exit255 255 -q --lib "$LIB" -o "$T/e255" -- sh -c 'exit 255'
check "exit status in run.txt" grep -qx 'status: 3' "$T/e3/run.txt"
run_jr exit64 64 -q --lib "$LIB" -o "$T/e64" -- sh -c 'exit 64'
check "a program's own 64 still ran and was profiled" test -s "$T/e64/summary.txt"
run_jr segv 139 -q --lib "$LIB" -o "$T/segv" -- sh -c 'kill -SEGV $$'
check "killed by a signal: 128+N, and the summary says so" grep -q 'killed by SIGSEGV' "$T/segv/summary.txt"
run_jr notfound 127 -q --lib "$LIB" -- no-such-program-here
check "not found: says so" grep -q 'no-such-program-here: command not found' "$T/notfound.err"
printf '#!/bin/sh\n' >"$T/noexec-file"
run_jr notexec 126 -q --lib "$LIB" -- "$T/noexec-file"
run_jr isdir 126 -q --lib "$LIB" -- "$T"
check "no output directory is made for a program that cannot run" test ! -e "$T/jitperf-noexec-file-1"

# ---- SIGTERM to jitperf-run reaches the program; perf keeps recording ----
"$JR" -q --lib "$LIB" -o "$T/term" -- "$SP" graceful "$T/term.log" >/dev/null 2>"$T/term.err" &
jr=$!
wait_for "$T/term.log" || fail "sigprog did not start"
sleep 0.3
kill -TERM "$jr"
rc=0; wait "$jr" || rc=$?
check "SIGTERM: the program's own exit status (42, got $rc)" test "$rc" -eq 42
check "SIGTERM: the program got exactly one SIGTERM and no SIGINT" grep -qx 'INT 0 TERM 1' "$T/term.log"
check "SIGTERM: the program finished its clean-up" grep -qx 'cleanup done' "$T/term.log"
n=$(samples_in "$T/term" cleanup_work)
check "SIGTERM: perf recorded the clean-up after the signal ($n samples)" test "$n" -ge 100
check "SIGTERM: the summary was written" grep -q 'exit status 42' "$T/term/summary.txt"

# ---- Ctrl-C on a terminal: the program gets SIGINT, perf does not ----
if command -v script >/dev/null 2>&1; then
	# script(1) gives the command a terminal; ^C typed into it makes the
	# kernel signal the terminal's foreground process group. That group also
	# holds the shell script(1) starts ($SHELL -c): bash waits for a child
	# that survives SIGINT and goes on, dash dies of it at once, and the exit
	# status would be lost. So the shell is bash whatever the caller's is.
	{
		wait_for "$T/int.log"
		sleep 0.3
		printf '\003'
		wait_for "$T/int.rc" 60
	} | SHELL=/bin/bash script -qec "'$JR' -q --lib '$LIB' -o '$T/int' -- '$SP' graceful '$T/int.log'; echo \$? > '$T/int.rc'" /dev/null \
		>"$T/int.tty" 2>&1
	rc=$(cat "$T/int.rc" 2>/dev/null)
	check "Ctrl-C: the program's own exit status (42, got ${rc:-none})" test "${rc:-0}" -eq 42
	check "Ctrl-C: the program got exactly one SIGINT and no SIGTERM" grep -qx 'INT 1 TERM 0' "$T/int.log"
	check "Ctrl-C: the program finished its clean-up" grep -qx 'cleanup done' "$T/int.log"
	n=$(samples_in "$T/int" cleanup_work)
	check "Ctrl-C: perf went on recording during the clean-up ($n samples)" test "$n" -ge 100
	check "Ctrl-C: inject and summary ran" test -s "$T/int/summary.txt"
else
	echo "note: script(1) missing, Ctrl-C on a terminal not tested"
fi

# ---- a program that ignores the signal: a second one kills it ----
"$JR" -q --lib "$LIB" -o "$T/ign" -- "$SP" ignore "$T/ign.log" >/dev/null 2>"$T/ign.err" &
jr=$!
wait_for "$T/ign.log" || fail "sigprog (ignore) did not start"
kill -TERM "$jr"
sleep 0.5
check "one SIGTERM: a program that ignores it keeps running" kill -0 "$jr"
kill -TERM "$jr"
rc=0; wait "$jr" || rc=$?
check "second SIGTERM: the program is killed (137, got $rc)" test "$rc" -eq 137
check "second signal: says so" grep -q 'killing the program' "$T/ign.err"
check "second signal: the summary was still written" grep -q 'killed by SIGKILL' "$T/ign/summary.txt"

# ---- the program starts with default dispositions, unless ignored by the user ----
# (from default dispositions: the shell running this test may have been
# started with some ignored, by nohup or as a background job)
rc=0
env --default-signal=HUP,INT,QUIT,TERM,USR2 "$JR" -q --lib "$LIB" -o "$T/sigign" -- "$SP" sigign "$T/sigign.log" \
	>"$T/sigign.out" 2>"$T/sigign.err" </dev/null || rc=$?
check "sigign: exit status 0 (got $rc)" test "$rc" -eq 0
mask=$(awk '{ print $2 }' "$T/sigign.log")
# HUP 1, INT 2, QUIT 3, USR2 12, TERM 15 -> bits 0, 1, 2, 11, 14 (perf
# record alone leaves USR2 ignored)
check "INT, QUIT, HUP, USR2, TERM not ignored in the program (SigIgn $mask)" test $(( 16#${mask:-ffff} & 0x4807 )) -eq 0
( trap '' HUP; exec "$JR" -q --lib "$LIB" -o "$T/nohup" -- "$SP" sigign "$T/nohup.log" ) </dev/null >/dev/null 2>&1
mask=$(awk '{ print $2 }' "$T/nohup.log")
check "a SIGHUP ignored by the user (nohup) stays ignored (SigIgn $mask)" test $(( 16#${mask:-0} & 1 )) -eq 1
# perf record handles INT and TERM (exec makes them defaults): ignored by
# the user, they stay ignored all the same
( trap '' INT TERM; exec "$JR" -q --lib "$LIB" -o "$T/bgjob" -- "$SP" sigign "$T/bgjob.log" ) </dev/null >/dev/null 2>&1
mask=$(awk '{ print $2 }' "$T/bgjob.log")
check "SIGINT and SIGTERM ignored by the user stay ignored (SigIgn $mask)" test $(( 16#${mask:-0} & 0x4002 )) -eq $((0x4002))

# ---- without perl (no process-group helper): status and SIGTERM still work ----
mkdir "$T/noperl"
for d in /usr/local/bin /usr/bin /bin /usr/local/sbin /usr/sbin /sbin; do
	for f in "$d"/*; do
		b=${f##*/}
		case $b in perl | perl5*) continue ;; esac
		[ -e "$T/noperl/$b" ] || ln -s "$f" "$T/noperl/$b"
	done
done
PATH=$T/noperl run_jr noperl3 3 -q --lib "$LIB" -o "$T/np3" -- sh -c 'exit 3'
PATH=$T/noperl "$JR" -q --lib "$LIB" -o "$T/npterm" -- "$SP" graceful "$T/npterm.log" >/dev/null 2>"$T/npterm.err" &
jr=$!
wait_for "$T/npterm.log" || fail "sigprog (no perl) did not start"
sleep 0.3
kill -TERM "$jr"
rc=0; wait "$jr" || rc=$?
check "no perl: SIGTERM reaches the program once (status 42, got $rc)" \
	bash -c "test $rc -eq 42 && grep -qx 'INT 0 TERM 1' '$T/npterm.log'"
check "no perl: the summary was written" test -s "$T/npterm/summary.txt"
finish
