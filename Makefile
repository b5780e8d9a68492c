# jitperf - LD_PRELOAD shim that makes JIT code visible to perf.
#
#   make            build libjitperf.so, jitperf-dump and the test programs
#   make demo       profile the bundled demo JIT end to end (installs deps)
#   make check      every test suite (installs deps)
#   make bench      benchmarks, as ratios against a baseline in the same run
#   make fuzz       longer fuzzing of the dump reader and of split/fingerprint
#   make stress     long stress tests
#   make install    PREFIX=/usr/local DESTDIR=
#
# BUILD=dir puts every output in dir (default: build), so several builds can
# share one tree.  WERROR=1 turns warnings into errors (CI sets it).

BUILD   ?= build
PREFIX  ?= /usr/local
DESTDIR ?=
CC      ?= gcc
CLANG   ?= clang
WERROR  ?=

SHELL := /bin/bash
.DEFAULT_GOAL := all

CHECK_CFLAGS = $(shell pkg-config --cflags check 2>/dev/null)
CHECK_LIBS   = $(shell pkg-config --libs check 2>/dev/null)
# Zydis 4 ships no pkg-config file on Debian 12.
ZYDIS_LIBS := -lZydis

WARN    := -Wall -Wextra -Wshadow -Wno-unused-parameter -Wstrict-prototypes -Wmissing-prototypes
ifneq ($(WERROR),)
WARN    += -Werror
endif
# Code that runs inside hosts: position independent, nothing exported but the
# hooks (version script), frame pointers so our own frames unwind cheaply.
BASE_CFLAGS := -std=gnu11 -O2 -g -fPIC -fvisibility=hidden -fno-omit-frame-pointer \
	-D_GNU_SOURCE $(WARN) -Ilib
CFLAGS  ?=
ALL_CFLAGS = $(BASE_CFLAGS) $(CFLAGS)
CORE_LIBS = $(ZYDIS_LIBS) -lpthread -ldl

LIB_SRC     := $(sort $(wildcard lib/*.c))
PRELOAD_SRC := $(sort $(wildcard preload/*.c))
UNIT_SRC    := $(sort $(wildcard tests/unit/test_*.c))
# *_plugin.c are shared objects a test program loads, not programs.
JIT_SRC     := $(sort $(filter-out %_plugin.c,$(wildcard tests/jit/*.c)))
JIT_PLUGIN_SRC := $(sort $(wildcard tests/jit/*_plugin.c))
BENCH_SRC   := $(sort $(wildcard tests/bench/*.c))
# The PCRE2 workloads need libpcre2-dev, which only the test set of
# scripts/setup-deps installs (make check does, before it builds): a plain
# build without it leaves them out rather than failing.
HAVE_PCRE2  := $(shell pkg-config --exists libpcre2-8 2>/dev/null && echo 1)
ifeq ($(HAVE_PCRE2),)
JIT_SRC     := $(filter-out %pcre2_bench.c,$(JIT_SRC))
BENCH_SRC   := $(filter-out %pcre2_work.c,$(BENCH_SRC))
endif
LIB_HDR     := $(wildcard lib/*.h)

CORE_A    := $(BUILD)/libjitperf-core.a
SO        := $(BUILD)/libjitperf.so
DUMP_TOOL := $(BUILD)/jitperf-dump
UNIT_BIN  := $(BUILD)/tests/unit-tests
ASAN_BIN  := $(BUILD)/asan/unit-tests
FUZZ_BIN  := $(BUILD)/fuzz/fuzz_dump
FUZZ_NAMING_BIN := $(BUILD)/fuzz/fuzz_naming
JIT_BINS  := $(patsubst tests/jit/%.c,$(BUILD)/tests/jit/%,$(JIT_SRC)) \
	$(patsubst tests/jit/%.c,$(BUILD)/tests/jit/%.so,$(JIT_PLUGIN_SRC)) \
	$(patsubst tests/jit/%.c,$(BUILD)/tests/jit/%_now.so,$(JIT_PLUGIN_SRC))
BENCH_BINS:= $(patsubst tests/bench/%.c,$(BUILD)/tests/bench/%,$(BENCH_SRC))

LIB_OBJ     := $(patsubst %.c,$(BUILD)/%.o,$(LIB_SRC))
PRELOAD_OBJ := $(patsubst %.c,$(BUILD)/%.o,$(PRELOAD_SRC))
ASAN_LIB_OBJ:= $(patsubst %.c,$(BUILD)/asan/%.o,$(LIB_SRC))

.PHONY: all deps depcheck depcheck-test check check-build unit unit-asan e2e fuzz-quick fuzz demo \
	bench stress install uninstall clean

all: $(SO) $(DUMP_TOOL) $(JIT_BINS) $(BENCH_BINS)

deps:
	@scripts/setup-deps

# Before the first compiler run, say which Debian packages are missing and
# how to get them, instead of stopping at the first missing header.  One
# preprocessor run when everything is there (a few milliseconds; no apt);
# one per header only to name what is missing.  make demo and make check
# install what is missing (scripts/setup-deps) before they get here.
#   header:package
BUILD_DEPS := Zydis/Zydis.h:libzydis-dev xxhash.h:libxxhash-dev
TEST_DEPS  := check.h:check

define probe_deps
	@missing=""; \
	command -v $(CC) >/dev/null 2>&1 || missing=" build-essential"; \
	command -v pkg-config >/dev/null 2>&1 || missing="$$missing pkg-config"; \
	if [ -z "$$missing" ] && printf '$(foreach d,$(1),#include <$(firstword $(subst :, ,$(d)))>\n)' | \
		$(CC) -E -x c - >/dev/null 2>&1; then exit 0; fi; \
	for d in $(1); do \
		echo "#include <$${d%%:*}>" | $(CC) -E -x c - >/dev/null 2>&1 || missing="$$missing $${d#*:}"; \
	done; \
	[ -n "$$missing" ] || exit 0; \
	echo "jitperf: cannot build $(2): missing Debian packages:$$missing" >&2; \
	echo "jitperf: install them with   $(3)" >&2; \
	echo "jitperf: or directly:        sudo apt-get install$$missing" >&2; \
	exit 1
endef

depcheck:
	$(call probe_deps,$(BUILD_DEPS),jitperf,make deps   (scripts/setup-deps; root or sudo))
ifeq ($(HAVE_PCRE2),)
	@echo "jitperf: libpcre2-dev is not installed: the PCRE2 test programs are left out (make check installs it)" >&2
endif

depcheck-test: depcheck
	$(call probe_deps,$(TEST_DEPS),the unit tests,scripts/setup-deps --test   (make check runs it))

$(BUILD)/%.o: %.c $(LIB_HDR) | $(BUILD)/.dirs
	$(CC) $(ALL_CFLAGS) -c $< -o $@

# XXH3 for AVX2: this one file only; lib/hash.c calls it when the CPU has it.
$(BUILD)/lib/hash_avx2.o $(BUILD)/asan/lib/hash_avx2.o: ALL_CFLAGS += -mavx2

$(BUILD)/.dirs: | depcheck
	@mkdir -p $(BUILD)/lib $(BUILD)/preload $(BUILD)/tools $(BUILD)/tests/unit \
		$(BUILD)/tests/jit $(BUILD)/tests/bench $(BUILD)/asan/lib $(BUILD)/asan/tests/unit \
		$(BUILD)/fuzz
	@touch $@

$(CORE_A): $(LIB_OBJ)
	rm -f $@ && ar rcs $@ $^

$(SO): $(PRELOAD_OBJ) $(CORE_A) preload/libjitperf.map
	$(CC) -shared -o $@ $(PRELOAD_OBJ) $(CORE_A) -Wl,--version-script=preload/libjitperf.map \
		-Wl,-z,defs -Wl,-z,now -Wl,-z,noexecstack $(CORE_LIBS)

$(DUMP_TOOL): tools/jitperf-dump.c $(CORE_A) $(LIB_HDR) | $(BUILD)/.dirs
	$(CC) $(ALL_CFLAGS) -fvisibility=default -o $@ $< $(CORE_A) $(CORE_LIBS)

# The Check runner is generated from the make_<area>_suite() functions found
# in tests/unit/test_*.c, so a new suite needs no edit here.
$(BUILD)/tests/suites.inc: $(UNIT_SRC) | $(BUILD)/.dirs
	@grep -ho 'Suite \*make_[a-z0-9_]*_suite(void)' $(UNIT_SRC) | \
		sed 's/Suite \*\(make_[a-z0-9_]*_suite\)(void)/SUITE(\1)/' > $@.tmp && mv $@.tmp $@

UNIT_CFLAGS = $(ALL_CFLAGS) $(CHECK_CFLAGS) -I$(BUILD)/tests -Itests/unit -fvisibility=default -Wno-missing-prototypes
$(UNIT_BIN): tests/unit/main.c $(UNIT_SRC) $(CORE_A) $(BUILD)/tests/suites.inc $(wildcard tests/unit/*.h) | depcheck-test
	$(CC) $(UNIT_CFLAGS) -o $@ tests/unit/main.c $(UNIT_SRC) $(CORE_A) $(CHECK_LIBS) $(CORE_LIBS)

# Sanitizers only for code that is not injected into hosts: the core linked
# into the unit tests.
SAN := -fsanitize=address,undefined -fno-sanitize-recover=undefined
$(BUILD)/asan/%.o: %.c $(LIB_HDR) | $(BUILD)/.dirs
	$(CC) $(ALL_CFLAGS) $(SAN) -O1 -c $< -o $@

$(ASAN_BIN): tests/unit/main.c $(UNIT_SRC) $(ASAN_LIB_OBJ) $(BUILD)/tests/suites.inc | depcheck-test
	$(CC) $(UNIT_CFLAGS) $(SAN) -O1 -o $@ tests/unit/main.c $(UNIT_SRC) $(ASAN_LIB_OBJ) \
		$(CHECK_LIBS) $(CORE_LIBS)

# Test JIT programs: plain C, frame pointers kept so call graphs work.
JIT_CFLAGS = -std=gnu11 -O2 -g -fno-omit-frame-pointer -D_GNU_SOURCE -Wall -Wextra \
	-Wno-unused-parameter $(if $(WERROR),-Werror) -Itests/jit
# They may call the core (e.g. the writer test drives lib/jitdump directly);
# --as-needed keeps the others free of its libraries.
$(BUILD)/tests/jit/%: tests/jit/%.c $(wildcard tests/jit/*.h) $(CORE_A) | $(BUILD)/.dirs
	$(CC) $(JIT_CFLAGS) -Ilib -o $@ $< $(CORE_A) -Wl,--as-needed -lpthread \
		$(if $(findstring pcre2,$*),$(shell pkg-config --libs libpcre2-8 2>/dev/null)) $(CORE_LIBS)

$(BUILD)/tests/jit/%_plugin.so: tests/jit/%_plugin.c $(wildcard tests/jit/*.h) | $(BUILD)/.dirs
	$(CC) $(JIT_CFLAGS) -fPIC -shared -o $@ $<

# The same bound at load time, its GOT read-only after relocation (RELRO).
$(BUILD)/tests/jit/%_plugin_now.so: tests/jit/%_plugin.c $(wildcard tests/jit/*.h) | $(BUILD)/.dirs
	$(CC) $(JIT_CFLAGS) -fPIC -shared -Wl,-z,now -Wl,-z,relro -o $@ $<

$(BUILD)/tests/bench/%: tests/bench/%.c $(CORE_A) | $(BUILD)/.dirs
	$(CC) $(JIT_CFLAGS) -Ilib -o $@ $< $(CORE_A) -Wl,--as-needed -lpthread \
		$(if $(findstring pcre2,$*),$(shell pkg-config --libs libpcre2-8 2>/dev/null)) $(CORE_LIBS)

# Host-safety programs (tests/e2e/host_*.sh, tests/stress/run): plain C hosts
# that the shim is preloaded into; the TSan driver of the core is built by
# tests/stress/run itself.
HOST_SRC  := $(sort $(filter-out tests/host/tsan_%.c,$(wildcard tests/host/*.c)))
HOST_BINS := $(patsubst tests/host/%.c,$(BUILD)/tests/host/%,$(HOST_SRC))
all: $(HOST_BINS)
$(BUILD)/tests/host/%: tests/host/%.c $(wildcard tests/host/*.h) tests/jit/jitlib.h | $(BUILD)/.dirs
	@mkdir -p $(@D)
	$(CC) $(JIT_CFLAGS) -Ilib -o $@ $< -lpthread

# The describer replays the whole capture core: all of lib/ (XXH3's AVX2
# file with its own flag, as in the shim).
$(BUILD)/fuzz/hash_avx2.o: lib/hash_avx2.c $(LIB_HDR) | $(BUILD)/.dirs
	$(CLANG) -std=gnu11 -g -O1 -D_GNU_SOURCE -Ilib -mavx2 -fsanitize=fuzzer-no-link,address,undefined -c -o $@ $<

$(FUZZ_BIN): tests/fuzz/fuzz_dump.c $(LIB_SRC) $(LIB_HDR) $(BUILD)/fuzz/hash_avx2.o | $(BUILD)/.dirs
	$(CLANG) -std=gnu11 -g -O1 -D_GNU_SOURCE -Ilib \
		-fsanitize=fuzzer,address,undefined -o $@ tests/fuzz/fuzz_dump.c \
		$(filter-out lib/hash_avx2.c,$(LIB_SRC)) $(BUILD)/fuzz/hash_avx2.o $(ZYDIS_LIBS) -lpthread

check:
	@scripts/setup-deps --test
	@$(MAKE) --no-print-directory check-build
	@tests/run-all $(BUILD)

# Split and fingerprint, with Zydis and xxHash as the shim has them.
$(FUZZ_NAMING_BIN): tests/fuzz/fuzz_naming.c $(LIB_SRC) $(LIB_HDR) | $(BUILD)/.dirs
	$(CLANG) -std=gnu11 -g -O1 -D_GNU_SOURCE -Ilib \
		-fsanitize=fuzzer,address,undefined -o $@ tests/fuzz/fuzz_naming.c \
		$(filter lib/split.c lib/fingerprint.c lib/insn.c lib/stackheight.c lib/cfi.c lib/arena.c lib/sys.c lib/log.c lib/codeplausible.c lib/budget.c,$(LIB_SRC)) $(ZYDIS_LIBS)

check-build: all $(UNIT_BIN) $(ASAN_BIN) $(FUZZ_BIN) $(FUZZ_NAMING_BIN)

unit: $(UNIT_BIN)
	$(UNIT_BIN)

unit-asan: $(ASAN_BIN)
	$(ASAN_BIN)

fuzz: $(FUZZ_BIN) $(FUZZ_NAMING_BIN)
	tests/fuzz/run $(BUILD) long dump
	tests/fuzz/run $(BUILD) long naming

demo:
	@scripts/setup-deps
	@$(MAKE) --no-print-directory all
	@scripts/demo $(BUILD)

bench:
	@scripts/setup-deps --test
	@$(MAKE) --no-print-directory all
	@tests/bench/run $(BUILD)
	@tests/bench/engines $(BUILD)
	@tests/bench/runtime_names $(BUILD)

stress:
	@scripts/setup-deps --test
	@$(MAKE) --no-print-directory all
	@tests/stress/run $(BUILD)

# jitperf-run's modules; installed jitperf-run finds them in ../lib/jitperf/.
RUN_MODULES := $(wildcard scripts/jitperf/*.py)

install: $(SO) $(DUMP_TOOL)
	install -d $(DESTDIR)$(PREFIX)/lib/jitperf $(DESTDIR)$(PREFIX)/bin
	install -m 0644 $(SO) $(DESTDIR)$(PREFIX)/lib/jitperf/libjitperf.so
	install -m 0755 $(DUMP_TOOL) $(DESTDIR)$(PREFIX)/bin/jitperf-dump
	install -m 0755 scripts/jitperf-run $(DESTDIR)$(PREFIX)/bin/jitperf-run
	install -d $(DESTDIR)$(PREFIX)/lib/jitperf/jitperf
	install -m 0644 $(RUN_MODULES) $(DESTDIR)$(PREFIX)/lib/jitperf/jitperf/

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/lib/jitperf/libjitperf.so $(DESTDIR)$(PREFIX)/bin/jitperf-dump \
		$(DESTDIR)$(PREFIX)/bin/jitperf-run
	rm -rf $(DESTDIR)$(PREFIX)/lib/jitperf/jitperf
	-rmdir $(DESTDIR)$(PREFIX)/lib/jitperf

clean:
	rm -rf $(BUILD)
