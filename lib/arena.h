/* arena.h - jitperf's own memory: zeroed pages from an arena it reserves once.
 *
 * Contract: memory comes straight from the kernel (raw mmap system calls),
 * never from malloc or the interposed mmap, so these may be called from
 * hooks, before constructors and in fork children.  Thread-safe (a spin
 * lock around the page bitmap); errno is left untouched.
 *
 * Small requests (up to a quarter of the 64 MiB arena) are placed inside
 * the arena; larger ones, and all when the reservation was refused, come
 * from the kernel wherever it puts them.  The arena's first 8 MiB are a
 * zone mapped once and, when the engine has work, offered for huge pages
 * (page faults are dear on VMs): never given back, zeroed when reused.  A few small runs freed lately
 * (2 MiB in all) stay mapped, and a request of the same size gets one back
 * zeroed with no system call; the rest of what is freed goes back to the
 * kernel at once. */
#ifndef JITPERF_ARENA_H
#define JITPERF_ARENA_H

#include <stddef.h>

/* len bytes of zeroed read-write memory, page-aligned; NULL on failure.
 * (The jp_sys_ names predate this module; callers across lib/ use them.) */
void *jp_sys_alloc(size_t len);
/* The same, never in the arena's first pages (the zone held for huge
 * pages): for memory whose mapping will be changed (madvise), which would
 * split the zone's mapping and cost it its huge pages.  Freed with
 * jp_sys_free. */
void *jp_sys_alloc_apart(size_t len);
/* The engine has work: offer the zone to the kernel for huge pages, those
 * in place folded in.  Once; errno kept. */
void jp_sys_zone_huge(void);
/* Give back p, of the same len it was allocated with.  NULL is ignored. */
void jp_sys_free(void *p, size_t len);

#endif
