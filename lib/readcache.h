/* readcache.h - live memory read once per pass: the bytes the dirty-page pass read are the bytes the reconciler describes.
 *
 * A capture pass read each changed page two or three times, each time with
 * a process_vm_readv: to hash it (hashed regions, lib/dirty.c), to see
 * whether it is one byte repeated (lib/dirty.c), and to describe it
 * (lib/reconcile.c).  On this machine kind a system call costs more than
 * copying a page (LuaJIT, a W^X JIT capturing at each exec grant: the
 * reads were a quarter of its capture work, the second and third of them
 * a third of that).  The cache keeps what the first read copied, in the
 * order read, in one buffer; a later read of bytes it holds is a memcpy.
 *
 * The bytes served are those of the first read, a moment earlier in the
 * same pass: a write in between is found by the next pass, as one after
 * the last read is (write tracking is armed, page hashes taken, before
 * any read).  Only bytes that were read are held: an unreadable page is
 * read live again, so a short read stays short.
 *
 * Contract: no malloc, no lock, errno preserved.  The buffer is the
 * owner's; whoever writes into it otherwise must call jp_readcache_reset
 * first (lib/dirty.c resets it before every /proc/self/maps read and at
 * the start of every collection, the capture engine at the end of every
 * pass).  Unit suite: tests/unit/test_readcache.c. */
#ifndef JITPERF_READCACHE_H
#define JITPERF_READCACHE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Held ranges per pass: more start the cache over (reads more, never
 * serves wrong bytes). */
#define JP_READCACHE_SEGS 64u

struct jp_readcache_seg {
	uint64_t addr;
	size_t off, len; /* where in buf, how many bytes */
};

struct jp_readcache {
	uint8_t *buf; /* NULL: the cache is off, every read is live */
	size_t cap;
	size_t used;
	uint32_t n, max;
	struct jp_readcache_seg *seg; /* own, or the table given at init */
	struct jp_readcache_seg own[JP_READCACHE_SEGS];
	uint64_t live, served; /* bytes read live, bytes served from the cache */
};

/* Over buf[0, cap) of the owner's (NULL: off).  The calls that read live
 * take our pid (jp_safe_copy_self): a fork child reads with its own. */
void jp_readcache_init(struct jp_readcache *c, uint8_t *buf, size_t cap);

/* The same, holding up to max ranges in the caller's table seg[max]. */
void jp_readcache_init_table(struct jp_readcache *c, uint8_t *buf, size_t cap, struct jp_readcache_seg *seg,
			     uint32_t max);

/* Forget what is held (the buffer is about to be used otherwise). */
void jp_readcache_reset(struct jp_readcache *c);

/* Read [addr, addr + len) live (len <= cap) and keep it; returns where the
 * bytes are (in the cache's buffer, valid until the next fill or reset)
 * and sets *got to their count: short at an unreadable page, <= 0 none.
 * A read that goes on where the last one ended extends its range.  When
 * the buffer or the table is full, it starts over. */
const uint8_t *jp_readcache_fill(struct jp_readcache *c, pid_t pid, uint64_t addr, size_t len, ssize_t *got);

/* [addr, addr + len) when one held range has all of it, else NULL. */
const uint8_t *jp_readcache_get(const struct jp_readcache *c, uint64_t addr, size_t len);

/* Copy [addr, addr + len) into dst (not the cache's buffer): held bytes
 * from the cache, the rest live.  Returns the bytes copied, short at an
 * unreadable page; <= 0 when none. */
ssize_t jp_readcache_read(struct jp_readcache *c, pid_t pid, uint64_t addr, void *dst, size_t len);

#endif
