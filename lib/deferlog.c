/* deferlog.c - jitperf's own records for a description after the run. */
#include "deferlog.h"
#include "hash.h"
#include "jd_format.h"
#include "log.h"
#include "sys.h"

#include <errno.h>
#include <string.h>
#include <sys/uio.h>

/* Bytes recorded per creator name; a full table counts the rest as one. */
#define CREATORS 64u
static struct {
	uint64_t key, bytes;
	int said;
} acc[CREATORS];

static unsigned account(const char *creator)
{
	uint64_t key = jp_hash(creator, strlen(creator)) | 1;
	unsigned i;

	for (i = 0; i < CREATORS - 1; i++) {
		if (acc[i].key == key || !acc[i].key) {
			acc[i].key = key;
			return i;
		}
	}
	return CREATORS - 1;
}

int jp_deferlog_over(const char *creator)
{
	unsigned i = account(creator);

	if (acc[i].bytes <= JP_DEFERLOG_CREATOR_MAX)
		return 0;
	if (!acc[i].said++)
		jp_info("%s rewrote %lu MiB of executable memory: recording it for a description after the run would cost more than describing it; described in the program from now on",
			creator, (unsigned long)(acc[i].bytes >> 20));
	return 1;
}

/* Write when the dump can take it; a dump that fails for good shuts the
 * engine down as a failed LOAD does. */
static void put(struct jp_output *o, struct iovec *iov, int n)
{
	int r = jp_output_ready(o);

	if (r < 0) {
		if (r == -ESHUTDOWN)
			o->shutdown = 1;
		return;
	}
	if (o->dump_state == JP_OUT_OPEN)
		(void)jp_dump_raw(&o->dump, iov, n);
}

/* A record: its fixed part hdr (size bytes, the prefix filled here), then
 * len bytes of data, zeros to a multiple of 8. */
static void put_var(struct jp_output *o, void *hdr, uint32_t size, uint32_t id, uint64_t ts, const void *data,
		    size_t len)
{
	static const uint8_t zeros[8];
	struct jd_prefix *p = hdr;
	uint32_t pad = (uint32_t)((8 - len % 8) % 8);
	struct iovec iov[3] = { { hdr, size }, { (void *)data, len }, { (void *)zeros, pad } };

	p->id = id;
	p->total_size = (uint32_t)(size + len + pad);
	p->timestamp = ts;
	put(o, iov, pad ? 3 : 2);
}

void jp_deferlog_pages(struct jp_output *o, const char *creator, uint64_t addr, const void *bytes, uint64_t len,
		       uint64_t ts)
{
	struct jd_jp_pages h = { .addr = addr, .len = len };

	if (!len || len > UINT32_MAX - sizeof(h) - 8)
		return;
	put_var(o, &h, sizeof(h), JD_JP_PAGES, ts, bytes, len);
	o->deferred_bytes += len;
	acc[account(creator)].bytes += len;
}

void jp_deferlog_capture(struct jp_output *o, uint32_t id, const struct jp_region *r, const char *creator,
			 uint64_t a, uint64_t b, uint64_t now, uint64_t ts_new, uint32_t flags)
{
	struct jd_jp_capture h = {
		.start = r->start, .end = r->end, .last_event_ts = r->last_event_ts, .last_scan_ts = r->last_scan_ts,
		.a = a, .b = b, .ts_new = ts_new, .tid = (uint32_t)jp_sys_gettid(), .creator = r->creator,
		.flags = flags,
	};
	size_t len = strlen(creator) + 1;

	if (len > JP_CREATOR_NAME_MAX) {
		creator = "unknown";
		len = sizeof("unknown");
	}
	h.creator_len = (uint32_t)len;
	put_var(o, &h, sizeof(h), id, now, creator, len);
}

/* A record of fixed size, its prefix filled here; nothing when no dump is
 * open (there is nothing to forget or move yet). */
static void put_fixed(struct jp_output *o, void *rec, uint32_t id, uint32_t size, uint64_t ts)
{
	struct jd_prefix *p = rec;
	struct iovec iov[1] = { { rec, size } };

	if (o->dump_state != JP_OUT_OPEN)
		return;
	p->id = id;
	p->total_size = size;
	p->timestamp = ts;
	put(o, iov, 1);
}

void jp_deferlog_span(struct jp_output *o, uint32_t id, uint64_t start, uint64_t end, uint64_t ts)
{
	struct jd_jp_span h = { .start = start, .end = end };

	put_fixed(o, &h, id, sizeof(h), ts);
}

void jp_deferlog_move(struct jp_output *o, uint64_t old_start, uint64_t old_end, uint64_t new_start,
		      uint64_t new_end, uint64_t keep, uint64_t ts)
{
	struct jd_jp_move h = {
		.old_start = old_start, .old_end = old_end, .new_start = new_start, .new_end = new_end, .keep = keep
	};

	put_fixed(o, &h, JD_JP_MOVE, sizeof(h), ts);
}

void jp_deferlog_known(struct jp_output *o, uint64_t addr, uint64_t size, const char *name, uint32_t flags,
		       uint64_t ts)
{
	struct jd_jp_known h = { .addr = addr, .size = size, .flags = flags };
	size_t len = strlen(name) + 1;

	if (len > 4096)
		return;
	h.name_len = (uint32_t)len;
	put_var(o, &h, sizeof(h), JD_JP_KNOWN, ts, name, len);
}
