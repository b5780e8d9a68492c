/* arena.c - jitperf's own memory, in an address range it reserves once. */
#include "arena.h"
#include "sys.h"

#include <sched.h>
#include <stdint.h>
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
	if (arena_state == 1 && n && n <= ARENA_PAGES / 4 && (at = find_run(n)) >= 0) {
		/* Fresh zeroed pages over our own reservation. */
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
	/* Give the memory back, keep the address space. */
	if (jp_sys_mmap(b, n * ARENA_PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE, -1,
			0))
		mark((size_t)(b - arena) / ARENA_PG, n, 0);
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
