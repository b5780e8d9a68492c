# engines.bash - how each real engine's workload is built and run: sourced by
# tests/e2e/engine_*.sh and tests/bench/engines (bash; defines functions only).
# shellcheck shell=bash disable=SC2034 # ENGINE_NAMES, ENGINE_CMD: for the callers
#
#   ENGINE_NAMES              erlang hotspot mono gjs qemu node luajit pcre2
#   engine_needs NAME         the programs NAME needs, as PROGRAM:PACKAGE words
#   engine_missing NAME       prints what is missing to run NAME's workload
#                             (status 0) or nothing (status 1): the caller skips
#   engine_prepare NAME DIR   compiles the workload into DIR (created); on
#                             failure prints why and returns non-zero
#   engine_cmd NAME DIR       sets the array ENGINE_CMD: the command that runs
#                             the workload prepared in DIR
#
# Every workload is CPU-bound for about 1-1.5 s of CPU on this project's
# machines, prints one deterministic result line on stdout and exits 0.

ENGINES_SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ENGINE_NAMES=(erlang hotspot mono gjs qemu node luajit pcre2)
# node's, LuaJIT's and PCRE2's workloads are the benchmarks' (tests/bench/),
# at a scale that takes about as long as the others.
ENGINE_BENCH=$(cd "$ENGINES_SRC/../bench" && pwd)
ENGINE_CMD=()

# Programs NAME's workload needs, each with the Debian package that brings it.
engine_needs() {
	case $1 in
	erlang) echo "erl:erlang-base erlc:erlang-base" ;;
	hotspot) echo "java:openjdk-17-jdk-headless javac:openjdk-17-jdk-headless" ;;
	mono) echo "mono:mono-runtime mcs:mono-mcs" ;;
	gjs) echo "gjs:gjs" ;;
	qemu) echo "qemu-x86_64:qemu-user gcc:build-essential" ;;
	node) echo "node:nodejs" ;;
	luajit) echo "luajit:luajit" ;;
	pcre2) echo "pkg-config:pkg-config gcc:build-essential" ;;
	esac
}

engine_missing() {
	local need progs="" pkgs=""
	for need in $(engine_needs "$1"); do
		if ! command -v "${need%%:*}" >/dev/null 2>&1; then
			progs+="${progs:+, }${need%%:*}"
			case " $pkgs " in *" ${need#*:} "*) ;; *) pkgs+="${pkgs:+ }${need#*:}" ;; esac
		fi
	done
	[ -n "$(engine_needs "$1")" ] || { echo "unknown engine $1"; return 0; }
	[ -n "$progs" ] || return 1
	printf 'no %s (apt-get install %s)\n' "$progs" "$pkgs"
}

engine_prepare() { # NAME DIR
	local dir=$2
	mkdir -p "$dir"
	case $1 in
	erlang) erlc -o "$dir" "$ENGINES_SRC/erl_work.erl" ;;
	hotspot) javac -d "$dir" "$ENGINES_SRC/JavaWork.java" ;;
	mono) mcs -out:"$dir/MonoWork.exe" "$ENGINES_SRC/MonoWork.cs" >/dev/null ;;
	gjs) cp "$ENGINES_SRC/gjs_work.js" "$dir/" ;;
	qemu) gcc -O2 -o "$dir/qemu_work" "$ENGINES_SRC/qemu_work.c" ;;
	node | luajit) ;;
	pcre2)
		pkg-config --exists libpcre2-8 || { echo "no libpcre2-8 (apt-get install libpcre2-dev)"; return 1; }
		# shellcheck disable=SC2046 # pkg-config's words
		gcc -O2 -o "$dir/pcre2_work" "$ENGINE_BENCH/pcre2_work.c" $(pkg-config --cflags --libs libpcre2-8)
		;;
	*) echo "unknown engine $1" >&2; return 2 ;;
	esac
}

engine_cmd() { # NAME DIR
	local dir=$2
	case $1 in
	# Through the erl script: erl (sh) -> erlexec -> beam.smp, one pid.
	erlang) ENGINE_CMD=(erl -noshell -pa "$dir" -run erl_work main) ;;
	hotspot) ENGINE_CMD=(java -cp "$dir" JavaWork) ;;
	mono) ENGINE_CMD=(mono "$dir/MonoWork.exe") ;;
	gjs) ENGINE_CMD=(gjs "$dir/gjs_work.js") ;;
	# -U LD_PRELOAD: the shim is for QEMU, not for the emulated guest (QEMU
	# passes its environment on, and the guest's ld.so would load it too).
	qemu) ENGINE_CMD=(qemu-x86_64 -U LD_PRELOAD "$dir/qemu_work") ;;
	node) ENGINE_CMD=(node "$ENGINE_BENCH/node_cpu.js" 0.6) ;;
	luajit) ENGINE_CMD=(luajit "$ENGINE_BENCH/luajit_work.lua" 0.6) ;;
	pcre2) ENGINE_CMD=("$dir/pcre2_work" 0.6) ;;
	*) echo "unknown engine $1" >&2; return 2 ;;
	esac
}
