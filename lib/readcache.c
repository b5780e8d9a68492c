/* readcache.c - what a pass read of live memory, served again without a system call. */
#include "readcache.h"
#include "sys.h"

#include <errno.h>
#include <string.h>

void jp_readcache_init_table(struct jp_readcache *c, uint8_t *buf, size_t cap, struct jp_readcache_seg *seg,
			     uint32_t max)
{
	memset(c, 0, sizeof(*c));
	c->buf = buf;
	c->cap = cap;
	c->seg = seg;
	c->max = max;
}

void jp_readcache_init(struct jp_readcache *c, uint8_t *buf, size_t cap)
{
	jp_readcache_init_table(c, buf, cap, NULL, JP_READCACHE_SEGS);
	c->seg = c->own;
}

void jp_readcache_reset(struct jp_readcache *c)
{
	c->used = 0;
	c->n = 0;
}

static ssize_t live_copy(struct jp_readcache *c, pid_t pid, void *dst, uint64_t addr, size_t len)
{
	ssize_t got = jp_safe_copy_self(pid, dst, (const void *)(uintptr_t)addr, len);

	if (got > 0)
		c->live += (uint64_t)got;
	return got;
}

const uint8_t *jp_readcache_fill(struct jp_readcache *c, pid_t pid, uint64_t addr, size_t len, ssize_t *got)
{
	uint8_t *at;

	if (!c->buf || len > c->cap) {
		*got = -EINVAL;
		return NULL;
	}
	if (c->cap - c->used < len || c->n >= c->max)
		jp_readcache_reset(c);
	at = c->buf + c->used;
	*got = live_copy(c, pid, at, addr, len);
	if (*got > 0 && c->n && c->seg[c->n - 1].addr + c->seg[c->n - 1].len == addr &&
	    c->seg[c->n - 1].off + c->seg[c->n - 1].len == c->used) {
		c->seg[c->n - 1].len += (size_t)*got; /* goes on from the last read */
		c->used += (size_t)*got;
	} else if (*got > 0) {
		c->seg[c->n].addr = addr;
		c->seg[c->n].off = c->used;
		c->seg[c->n].len = (size_t)*got;
		c->n++;
		c->used += (size_t)*got;
	}
	return at;
}

/* The held range with addr in it (the latest read wins: it is the newer
 * copy), or NULL; else *next is the start of the first held range above
 * addr (UINT64_MAX: none). */
static const struct jp_readcache_seg *holding(const struct jp_readcache *c, uint64_t addr, uint64_t *next)
{
	*next = UINT64_MAX;
	for (uint32_t k = c->n; k-- > 0;) {
		const struct jp_readcache_seg *s = &c->seg[k];

		if (addr >= s->addr && addr - s->addr < s->len)
			return s;
		if (s->addr > addr && s->addr < *next)
			*next = s->addr;
	}
	return NULL;
}

const uint8_t *jp_readcache_get(const struct jp_readcache *c, uint64_t addr, size_t len)
{
	uint64_t next;
	const struct jp_readcache_seg *s = c->buf ? holding(c, addr, &next) : NULL;

	return s && s->len - (addr - s->addr) >= len ? c->buf + s->off + (addr - s->addr) : NULL;
}

ssize_t jp_readcache_read(struct jp_readcache *c, pid_t pid, uint64_t addr, void *dst, size_t len)
{
	uint8_t *out = dst;
	size_t done = 0;

	while (done < len) {
		uint64_t at = addr + done, next;
		const struct jp_readcache_seg *s = c->buf ? holding(c, at, &next) : NULL;
		size_t want = len - done;
		ssize_t got;

		if (s) {
			size_t in = (size_t)(at - s->addr), n = s->len - in < want ? s->len - in : want;

			memcpy(out + done, c->buf + s->off + in, n);
			c->served += n;
			done += n;
			continue;
		}
		/* Live up to the next held range. */
		if (c->buf && next - at < want)
			want = (size_t)(next - at);
		got = live_copy(c, pid, out + done, at, want);
		if (got <= 0)
			return done ? (ssize_t)done : got;
		done += (size_t)got;
		if ((size_t)got < want)
			break;
	}
	return (ssize_t)done;
}
