/* arena.c - jitperf's own memory, in an address range it reserves once. */
#include "arena.h"
#include "sys.h"

#include <sched.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

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

/* First run of n free pages, or -1. */
static long find_run(size_t n)
{
	size_t run = 0;

	for (size_t i = 0; i < ARENA_PAGES; i++) {
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

static void *arena_alloc(size_t len)
{
	size_t n = (len + ARENA_PG - 1) / ARENA_PG;
	void *p = NULL;
	long at;

	arena_lock();
	if (!arena_state) {
		arena = jp_sys_mmap(NULL, (size_t)ARENA_PAGES * ARENA_PG, PROT_NONE,
				    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		arena_state = arena ? 1 : -1;
	}
	if (arena_state == 1 && n && (at = cache_take(n)) >= 0) {
		mark((size_t)at, n, 1);
		arena_unlock();
		/* Ours alone now: zeroed outside the lock. */
		p = arena + (size_t)at * ARENA_PG;
		memset(p, 0, n * ARENA_PG);
		return p;
	}
	if (arena_state == 1 && n && n <= ARENA_PAGES / 4 && (at = find_run(n)) >= 0) {
		/* Fresh zeroed pages over our own reservation. */
		cache_forget((size_t)at, n);
		p = jp_sys_mmap(arena + (size_t)at * ARENA_PG, n * ARENA_PG, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
		if (p)
			mark((size_t)at, n, 1);
	}
	arena_unlock();
	return p;
}

static int arena_free(void *p, size_t len)
{
	uint8_t *b = p;
	size_t n = (len + ARENA_PG - 1) / ARENA_PG;

	if (arena_state != 1 || b < arena || b >= arena + (size_t)ARENA_PAGES * ARENA_PG)
		return 0;
	arena_lock();
	if (n && n <= CACHE_RUN_PAGES && ncache < CACHE_RUNS && cache_pages + n <= CACHE_PAGES) {
		/* Kept mapped for the next request of this size. */
		cache[ncache].at = (uint32_t)((size_t)(b - arena) / ARENA_PG);
		cache[ncache++].n = (uint32_t)n;
		cache_pages += (unsigned)n;
		mark((size_t)(b - arena) / ARENA_PG, n, 0);
	} else if (jp_sys_mmap(b, n * ARENA_PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE,
			       -1, 0)) {
		/* Give the memory back, keep the address space. */
		mark((size_t)(b - arena) / ARENA_PG, n, 0);
	}
	arena_unlock();
	return 1;
}

void *jp_sys_alloc(size_t len)
{
	void *p = arena_alloc(len);

	return p ? p : jp_sys_mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
}

void jp_sys_free(void *p, size_t len)
{
	if (p && !arena_free(p, len))
		jp_sys_munmap(p, len);
}
