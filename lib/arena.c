/* arena.c - jitperf's own memory, in an address range it reserves once. */
#include "arena.h"
#include "sys.h"

#include <errno.h>
#include <sched.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>

/* jitperf's own memory lives in an arena it reserves once, not in free
 * gaps of the address space.  A program may munmap a range and later map
 * it again with MAP_FIXED, which is safe while it is single-threaded; the
 * epoch thread's temporary buffers, placed by the kernel in that gap in
 * between, were then replaced under it (SIGSEGV; jpbench mmap_near found
 * it).  The arena is PROT_NONE and NORESERVE until used; a page bitmap
 * finds first-fit runs; what does not fit goes to the kernel directly. */
#define ARENA_PAGES 16384u /* 64 MiB of address space */
#define ARENA_PG 4096u

static uint8_t *arena;
static int arena_state; /* 0: not yet, 1: reserved, -1: could not */
static int arena_busy;
static uint64_t arena_used[ARENA_PAGES / 64];

/* The first ZONE_PAGES of the arena are mapped read-write once, 2 MiB
 * aligned, and offered to the kernel for huge pages (MADV_HUGEPAGE) once
 * the engine has work (jp_sys_zone_huge; a process with no JIT keeps its
 * few touched pages small, not 2 MiB): the engine's working memory (a 1 MiB
 * read buffer, the decode memo, the dump's batch, tables) lands there first.  A page fault costs 15-22 us on the VMs
 * this runs on, and those first touches were 455 faults (about 9 ms) of a
 * 0.5 s HotSpot run; a huge page is one fault of 0.1-0.2 ms.  Pages of the
 * zone are never given back: freed, they are zeroed when taken again
 * (zone_dirty).  Where the kernel gives no huge pages, the zone is plain
 * memory faulted in page by page, as before. */
#define ZONE_PAGES 2048u /* 8 MiB */
#define HUGE_BYTES (2u << 20)
static size_t zone_pages; /* 0: no zone */
static uint64_t zone_dirty[ZONE_PAGES / 64];

/* Runs freed lately, still mapped read-write: the next request of the same
 * size takes one back and zeroes it, with no system call.  A W^X toggle
 * splits and joins regions, each a handful of table allocations and frees;
 * giving every run back (an mmap, and page faults to use it again, and a
 * TLB flush on every CPU to free it) was most of LuaJIT's capture work.
 * Their pages count as free in the bitmap: a request of another size may
 * take them (mapped over afresh, the entry forgotten).  At most CACHE_RUNS
 * runs of up to CACHE_RUN_PAGES each, CACHE_PAGES in all: the memory kept
 * is bounded. */
#define CACHE_RUNS 32u
#define CACHE_RUN_PAGES 64u
#define CACHE_PAGES 512u
static struct {
	uint32_t at, n;
} cache[CACHE_RUNS];
static unsigned ncache, cache_pages;

static void cache_drop(unsigned k)
{
	cache_pages -= cache[k].n;
	cache[k] = cache[--ncache];
}

/* A cached run of exactly n pages, taken out of the cache; -1 if none. */
static long cache_take(size_t n)
{
	for (unsigned k = ncache; k-- > 0;)
		if (cache[k].n == n) {
			long at = cache[k].at;

			cache_drop(k);
			return at;
		}
	return -1;
}

/* Forget cached runs overlapping [at, at + n): they are being mapped over. */
static void cache_forget(size_t at, size_t n)
{
	for (unsigned k = 0; k < ncache;)
		if (cache[k].at < at + n && at < cache[k].at + cache[k].n)
			cache_drop(k);
		else
			k++;
}

static void arena_lock(void)
{
	while (__atomic_exchange_n(&arena_busy, 1, __ATOMIC_ACQUIRE))
		sched_yield();
}

static void arena_unlock(void)
{
	__atomic_store_n(&arena_busy, 0, __ATOMIC_RELEASE);
}

static int page_used(size_t i)
{
	return (arena_used[i / 64] >> (i % 64)) & 1;
}

static void mark(size_t first, size_t n, int used)
{
	for (size_t i = first; i < first + n; i++) {
		if (used)
			arena_used[i / 64] |= 1ull << (i % 64);
		else
			arena_used[i / 64] &= ~(1ull << (i % 64));
	}
}

/* First run of n free pages from page from, or -1. */
static long find_run(size_t n, size_t from)
{
	size_t run = 0;

	for (size_t i = from; i < ARENA_PAGES; i++) {
		if (!(i % 64) && arena_used[i / 64] == ~0ull) {
			run = 0;
			i += 63;
			continue;
		}
		run = page_used(i) ? 0 : run + 1;
		if (run == n)
			return (long)(i + 1 - n);
	}
	return -1;
}

/* The pages of [at, at + n) inside the zone. */
static size_t in_zone(size_t at, size_t n)
{
	return at >= zone_pages ? 0 : n < zone_pages - at ? n : zone_pages - at;
}

/* Reserve the arena, 2 MiB aligned, and map its zone. */
static void reserve(void)
{
	size_t len = (size_t)ARENA_PAGES * ARENA_PG;
	uint8_t *r = jp_sys_mmap(NULL, len + HUGE_BYTES, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
				 -1, 0);
	uint8_t *a;

	arena_state = r ? 1 : -1;
	if (!r)
		return;
	a = (uint8_t *)(((uintptr_t)r + HUGE_BYTES - 1) & ~(uintptr_t)(HUGE_BYTES - 1));
	if (a > r)
		jp_sys_munmap(r, (size_t)(a - r));
	if (a + len < r + len + HUGE_BYTES)
		jp_sys_munmap(a + len, (size_t)(r + len + HUGE_BYTES - (a + len)));
	arena = a;
	if (jp_sys_mmap(a, (size_t)ZONE_PAGES * ARENA_PG, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0))
		zone_pages = ZONE_PAGES;
}

void jp_sys_zone_huge(void)
{
	static int done;
	int saved = errno;

	if (!__atomic_load_n(&zone_pages, __ATOMIC_ACQUIRE) || __atomic_exchange_n(&done, 1, __ATOMIC_ACQ_REL))
		return;
	/* Hints: what is already in place is folded into huge pages
	 * (MADV_COLLAPSE, Linux 6.1), the rest comes as huge pages. */
	jp_syscall(SYS_madvise, arena, (size_t)ZONE_PAGES * ARENA_PG, MADV_HUGEPAGE);
	jp_syscall(SYS_madvise, arena, (size_t)ZONE_PAGES * ARENA_PG, 25 /* MADV_COLLAPSE */);
	errno = saved;
}

/* Zeroed read-write pages at [at, at + n): in the zone, those used before
 * are cleared; past it, fresh pages are mapped over our reservation. */
static void *place(size_t at, size_t n)
{
	uint8_t *p = arena + at * ARENA_PG;
	size_t in = in_zone(at, n);

	if (n > in && !jp_sys_mmap(p + in * ARENA_PG, (n - in) * ARENA_PG, PROT_READ | PROT_WRITE,
				   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0))
		return NULL;
	for (size_t i = at; i < at + in; i++)
		if ((zone_dirty[i / 64] >> (i % 64)) & 1) {
			memset(arena + i * ARENA_PG, 0, ARENA_PG);
			zone_dirty[i / 64] &= ~(1ull << (i % 64));
		}
	return p;
}

static void *arena_alloc(size_t len, int apart)
{
	size_t n = (len + ARENA_PG - 1) / ARENA_PG;
	void *p = NULL;
	long at;

	arena_lock();
	if (!arena_state)
		reserve();
	if (arena_state == 1 && n && (at = cache_take(n)) >= 0) { /* never in the zone */
		mark((size_t)at, n, 1);
		arena_unlock();
		/* Ours alone now: zeroed outside the lock. */
		p = arena + (size_t)at * ARENA_PG;
		memset(p, 0, n * ARENA_PG);
		return p;
	}
	if (arena_state == 1 && n && n <= ARENA_PAGES / 4 && (at = find_run(n, apart ? zone_pages : 0)) >= 0) {
		cache_forget((size_t)at, n);
		p = place((size_t)at, n);
		if (p)
			mark((size_t)at, n, 1);
	}
	arena_unlock();
	return p;
}

static int arena_free(void *p, size_t len)
{
	uint8_t *b = p;
	size_t n = (len + ARENA_PG - 1) / ARENA_PG, at, in;

	if (arena_state != 1 || b < arena || b >= arena + (size_t)ARENA_PAGES * ARENA_PG)
		return 0;
	arena_lock();
	at = (size_t)(b - arena) / ARENA_PG;
	in = in_zone(at, n);
	/* The zone's pages stay, to be zeroed when taken again. */
	for (size_t i = at; i < at + in; i++)
		zone_dirty[i / 64] |= 1ull << (i % 64);
	mark(at, in, 0);
	b += in * ARENA_PG;
	n -= in;
	if (n && !in && n <= CACHE_RUN_PAGES && ncache < CACHE_RUNS && cache_pages + n <= CACHE_PAGES) {
		/* Kept mapped for the next request of this size. */
		cache[ncache].at = (uint32_t)((size_t)(b - arena) / ARENA_PG);
		cache[ncache++].n = (uint32_t)n;
		cache_pages += (unsigned)n;
		mark((size_t)(b - arena) / ARENA_PG, n, 0);
	} else if (n && jp_sys_mmap(b, n * ARENA_PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE,
			       -1, 0)) {
		/* Give the memory back, keep the address space. */
		mark((size_t)(b - arena) / ARENA_PG, n, 0);
	}
	arena_unlock();
	return 1;
}

void *jp_sys_alloc(size_t len)
{
	void *p = arena_alloc(len, 0);

	return p ? p : jp_sys_mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
}

void *jp_sys_alloc_apart(size_t len)
{
	void *p = arena_alloc(len, 1);

	return p ? p : jp_sys_mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
}

void jp_sys_free(void *p, size_t len)
{
	if (p && !arena_free(p, len))
		jp_sys_munmap(p, len);
}
