# engines.bash - how each real engine's workload is built and run: sourced by
# tests/e2e/engine_*.sh and tests/bench/engines (bash; defines functions only).
# shellcheck shell=bash disable=SC2034 # ENGINE_NAMES, ENGINE_CMD: for the callers
#
#   ENGINE_NAMES              erlang hotspot mono gjs qemu
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
ENGINE_NAMES=(erlang hotspot mono gjs qemu)
ENGINE_CMD=()

# Debian package that brings each program, for the skip message.
engine_need() { # PROGRAM PACKAGE
	command -v "$1" >/dev/null 2>&1 || printf '%s (apt-get install %s) ' "$1" "$2"
}

engine_missing() {
	local m
	case $1 in
	erlang) m=$(engine_need erl erlang-base; engine_need erlc erlang-base) ;;
	hotspot) m=$(engine_need java openjdk-17-jdk-headless; engine_need javac openjdk-17-jdk-headless) ;;
	mono) m=$(engine_need mono mono-runtime; engine_need mcs mono-mcs) ;;
	gjs) m=$(engine_need gjs gjs) ;;
	qemu) m=$(engine_need qemu-x86_64 qemu-user; engine_need gcc build-essential) ;;
	*) m="unknown engine $1" ;;
	esac
	[ -n "$m" ] || return 1
	printf 'no %s\n' "$m"
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
	*) echo "unknown engine $1" >&2; return 2 ;;
	esac
}
