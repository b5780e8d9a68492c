/* churn.c - code churn at scale: many generated functions in a huge reservation, with GC-style reuse, reporting memory.
 *
 * Usage: churn FUNCTIONS RESERVE_MIB MODE [SECONDS]
 *
 * MODE wx:  V8/HotSpot: a PROT_NONE reservation; 64 KiB chunks spread over
 *           all of it are made RW, filled with functions, made RX, run;
 *           every third chunk is later freed (PROT_NONE + MADV_DONTNEED,
 *           "GC") and its address reused for new functions.
 * MODE rwx: QEMU TCG: the whole reservation made RWX with one mprotect and
 *           functions written into it with no call at all, some of them
 *           over older ones (cache flush).
 * SECONDS spreads the work over that long (default 0: as fast as it goes),
 * so jitperf's epochs see the code appear.
 * Every function is distinct (its own id) and checked after it is written.
 * Prints "functions N distinct-code-bytes B" and, from /proc/self/status,
 * the peak and final resident sizes and the number of mappings, so a run
 * with the shim can be compared with one without: the difference is
 * jitperf's own memory. */
#include <errno.h>

#include "hostlib.h"

#define CHUNK (64u << 10)

static size_t pg;
static double pace_s; /* seconds to sleep per chunk */

static void pace(void)
{
	if (pace_s > 0) {
		struct timespec ts = { (time_t)pace_s, (long)((pace_s - (double)(time_t)pace_s) * 1e9) };

		nanosleep(&ts, NULL);
	}
}

static long status_kb(const char *key)
{
	static char buf[8192];
	const char *p;

	hl_read_file("/proc/self/status", buf, sizeof(buf));
	p = strstr(buf, key);
	return p ? atol(p + strlen(key)) : -1;
}

static long count_maps(void)
{
	static char buf[1 << 22];
	long n = 0;

	hl_read_file("/proc/self/maps", buf, sizeof(buf));
	for (const char *p = buf; *p; p++)
		n += *p == '\n';
	return n;
}

/* Fill [w, w+len) with functions from id, 32-byte aligned; returns count. */
static unsigned fill(uint8_t *w, uintptr_t x, size_t len, uint32_t id, unsigned max, uint64_t *bytes)
{
	struct jl_buf b;
	unsigned n = 0;

	jl_buf_init(&b, w, x, len);
	while (n < max && b.len + JL_FN_MAX + JL_ALIGN <= len) {
		struct jl_func f = jl_add(&b, id + n, "churn");

		*bytes += f.size;
		n++;
	}
	return n;
}

static void check_some(uintptr_t x, unsigned n, uint32_t id)
{
	/* Functions sit at their 32-byte slots in order; check first and last. */
	struct jl_buf b;
	uint8_t tmp[JL_FN_MAX];
	size_t off = 0;

	for (unsigned k = 0; k < n; k++) {
		size_t sz = jl_emit(tmp, id + k);

		if (k == 0 || k + 1 == n) {
			struct jl_func f = { .id = id + k, .addr = x + off, .size = sz };

			snprintf(f.label, sizeof(f.label), "churn");
			jl_check(&f);
		}
		off = (off + sz + JL_ALIGN - 1) & ~(size_t)(JL_ALIGN - 1);
	}
	(void)b;
}

int main(int argc, char **argv)
{
	unsigned long want, made = 0;
	size_t reserve;
	uint64_t bytes = 0;
	uint8_t *r;
	uint32_t id = 1;
	int rwx;

	jl_init(argv[0]);
	pg = jl_page();
	if (argc != 4 && argc != 5)
		jl_die("usage: churn FUNCTIONS RESERVE_MIB wx|rwx [SECONDS]");
	want = strtoul(argv[1], NULL, 10);
	reserve = (size_t)strtoul(argv[2], NULL, 10) << 20;
	rwx = !strcmp(argv[3], "rwx");
	/* About 330 functions fit in a chunk. */
	if (argc == 5)
		pace_s = atof(argv[4]) / ((double)want / 330.0 + 1);
	r = jl_mmap(NULL, reserve, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	hl_ranges_open();
	if (rwx) {
		size_t nch = reserve / CHUNK, stride = 1;
		size_t slot = 0;

		hl_exec_range(r, reserve);
		jl_mprotect(r, reserve, PROT_READ | PROT_WRITE | PROT_EXEC);
		/* Spread over the whole space: chunks at a stride, wrapping and
		 * overwriting older code (a translation-cache flush). */
		while (nch / stride > 4096)
			stride *= 2;
		while (made < want) {
			uint8_t *c = r + (slot % nch) * CHUNK;
			unsigned n = fill(c, (uintptr_t)c, CHUNK, id, (unsigned)(want - made), &bytes);

			check_some((uintptr_t)c, n, id);
			id += n;
			made += n;
			pace();
			slot += stride;
			if (slot >= nch)
				slot = (slot % stride) + 1;
		}
	} else {
		size_t nch = reserve / CHUNK, stride = 1, slot = 0, live = 0;
		size_t *ring;
		size_t ring_n = 0;

		while (nch / stride > 8192)
			stride *= 2;
		ring = calloc(nch, sizeof(*ring));
		while (made < want) {
			uint8_t *c;
			unsigned n;

			/* GC: free a third of the chunks once 64 are live, and reuse. */
			if (live >= 64 && ring_n) {
				size_t victim = ring[--ring_n];

				c = r + victim * CHUNK;
				jl_mprotect(c, CHUNK, PROT_NONE);
				madvise(c, CHUNK, MADV_DONTNEED);
				live--;
				slot = victim;
			} else {
				slot = (slot + stride) % nch;
			}
			c = r + slot * CHUNK;
			jl_mprotect(c, CHUNK, PROT_READ | PROT_WRITE);
			n = fill(c, (uintptr_t)c, CHUNK, id, (unsigned)(want - made), &bytes);
			hl_exec_range(c, CHUNK);
			jl_mprotect(c, CHUNK, PROT_READ | PROT_EXEC);
			check_some((uintptr_t)c, n, id);
			id += n;
			made += n;
			live++;
			pace();
			if (made % 3 == 0 || ring_n < nch / 4)
				ring[ring_n++] = slot;
		}
		free(ring);
	}
	printf("churn: %lu functions, %lu distinct code bytes, %zu MiB reserved, mode %s\n", made, (unsigned long)bytes,
	       reserve >> 20, argv[3]);
	fflush(stdout);
	fprintf(stderr, "churn-mem: VmHWM %ld kB VmRSS %ld kB maps %ld\n", status_kb("VmHWM:"), status_kb("VmRSS:"),
		count_maps());
	return 0;
}
