/* hostlib.h - shared helpers for the host-safety test programs: exec-range logs, data patterns, arena maps.
 *
 * The programs in tests/host/ play the host: they call mmap and friends the
 * way JITs and ordinary programs do, with and without libjitperf.so, and
 * leave evidence the scripts compare.  Code is generated with the emitter of
 * tests/jit/jitlib.h so every function can be run and checked.
 *
 * Two kinds of evidence about the dump:
 * - exec-range logs: every range the program ever made executable is
 *   appended (binary struct hl_range) to $HOST_RANGES_DIR/ranges-<pid>; the
 *   checker (dumpscan) verifies that every LOAD lies inside one of them.
 * - data pattern: memory that is never executable is filled with HL_DATA;
 *   no LOAD may contain it. */
#ifndef JITPERF_TESTS_HOSTLIB_H
#define JITPERF_TESTS_HOSTLIB_H

#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../jit/jitlib.h"

/* 16 bytes that no generated function contains (no 0xcc/0x00 padding). */
#define HL_DATA "HOSTDATA-NOTCODE"
#define HL_DATA_LEN 16

struct hl_range {
	uint64_t start, end;
};

static int hl_ranges_fd = -1;

/* Open this process's exec-range log (after fork, call again). */
static inline void hl_ranges_open(void)
{
	const char *dir = getenv("HOST_RANGES_DIR");
	char path[4096];

	if (hl_ranges_fd >= 0)
		close(hl_ranges_fd);
	hl_ranges_fd = -1;
	if (!dir || !*dir)
		return;
	snprintf(path, sizeof(path), "%s/ranges-%d", dir, (int)getpid());
	hl_ranges_fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (hl_ranges_fd < 0)
		jl_die("open %s: %s", path, strerror(errno));
}

/* Record that [p, p+len) is (about to be) executable. */
static inline void hl_exec_range(const void *p, size_t len)
{
	struct hl_range r = { (uint64_t)(uintptr_t)p, (uint64_t)(uintptr_t)p + len };

	if (hl_ranges_fd >= 0 && write(hl_ranges_fd, &r, sizeof(r)) != (ssize_t)sizeof(r))
		jl_die("range log: %s", strerror(errno));
}

static inline void hl_fill_data(void *p, size_t len)
{
	uint8_t *b = p;

	for (size_t i = 0; i + HL_DATA_LEN <= len; i += HL_DATA_LEN)
		memcpy(b + i, HL_DATA, HL_DATA_LEN);
}

/* xorshift64*: deterministic pseudo-random numbers for reproducible runs. */
static inline uint64_t hl_rand(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545f4914f6cdd1dull;
}

static inline uint64_t hl_fnv(uint64_t h, const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 0x100000001b3ull;
	return h;
}

/* Read a whole /proc file with plain read() (no stdio buffers to differ). */
static inline ssize_t hl_read_file(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t n = 0;

	if (fd < 0)
		return -1;
	while (n + 1 < size) {
		ssize_t r = read(fd, buf + n, size - 1 - n);

		if (r <= 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	buf[n] = 0;
	return (ssize_t)n;
}

#endif
