/* jd_describe.c - replay a recorded capture through the reconciler, after the run. */
#include "jd_describe.h"
#include "arena.h"
#include "budget.h"
#include "creator.h"
#include "jd_format.h"
#include "jd_read.h"
#include "known.h"
#include "output.h"
#include "reconcile.h"
#include "region.h"
#include "sys.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PAGE 4096u

/* The program's memory as the capture read it: pages by number, in an
 * open-addressed table.  A page never read reads as zeros, as untouched
 * anonymous memory does. */
struct image {
	uint64_t *key; /* page number + 1; 0: empty slot */
	uint8_t **page; /* NULL: dropped */
	size_t cap, n;
};

static struct image img;

static size_t slot(const struct image *m, uint64_t key)
{
	size_t i = (size_t)((key * 0x9e3779b97f4a7c15ull) >> 20) & (m->cap - 1);

	while (m->key[i] && m->key[i] != key)
		i = (i + 1) & (m->cap - 1);
	return i;
}

static int grow(struct image *m)
{
	struct image g = { 0 };

	g.cap = m->cap ? m->cap * 2 : 4096;
	g.key = calloc(g.cap, sizeof(*g.key));
	g.page = calloc(g.cap, sizeof(*g.page));
	if (!g.key || !g.page) {
		free(g.key);
		free(g.page);
		return -ENOMEM;
	}
	for (size_t i = 0; i < m->cap; i++)
		if (m->key[i]) {
			size_t j = slot(&g, m->key[i]);

			g.key[j] = m->key[i];
			g.page[j] = m->page[i];
			g.n++;
		}
	free(m->key);
	free(m->page);
	*m = g;
	return 0;
}

/* The page holding addr; create: make it (zeroed) when missing. */
static uint8_t *img_page(uint64_t addr, int create)
{
	uint64_t key = addr / PAGE + 1;
	size_t i;

	if (!img.cap) {
		if (!create || grow(&img) < 0)
			return NULL;
	}
	i = slot(&img, key);
	if (img.key[i] && img.page[i])
		return img.page[i];
	if (!create)
		return NULL;
	if (!img.key[i]) {
		if ((img.n + 1) * 2 > img.cap) {
			if (grow(&img) < 0)
				return NULL;
			i = slot(&img, key);
		}
		img.key[i] = key;
		img.n++;
	}
	img.page[i] = calloc(1, PAGE);
	return img.page[i];
}

static int img_write(uint64_t addr, const uint8_t *p, uint64_t len)
{
	while (len) {
		uint64_t off = addr % PAGE, n = PAGE - off < len ? PAGE - off : len;
		uint8_t *pg = img_page(addr, 1);

		if (!pg)
			return -ENOMEM;
		memcpy(pg + off, p, n);
		addr += n;
		p += n;
		len -= n;
	}
	return 0;
}

/* Pages wholly within [start, end) are gone.  Counted in page numbers,
 * first..last-1, so a span that ends near the top of the address space
 * cannot wrap; a span with more pages than the image holds is walked
 * through the image, not page by page. */
static void img_drop(uint64_t start, uint64_t end)
{
	uint64_t first = start / PAGE + (start % PAGE != 0), last = end / PAGE;

	if (!img.cap || first >= last)
		return;
	if (last - first > img.cap) {
		for (size_t i = 0; i < img.cap; i++) {
			uint64_t p = img.key[i] - 1;

			if (img.key[i] && img.page[i] && p >= first && p < last) {
				free(img.page[i]);
				img.page[i] = NULL;
			}
		}
		return;
	}
	for (uint64_t p = first; p < last; p++) {
		size_t i = slot(&img, p + 1);

		if (img.key[i] && img.page[i]) {
			free(img.page[i]);
			img.page[i] = NULL;
		}
	}
}

/* [old, old+len) moved to new_start (page aligned, as mremap's are): the
 * kernel carried the pages along. */
static int img_move(uint64_t old, uint64_t new_start, uint64_t len)
{
	struct image from = img;
	int rc = 0;

	/* A new image: the pages that stay, then the moved ones over them (the
	 * destination's old contents are gone; source and destination may
	 * overlap). */
	memset(&img, 0, sizeof(img));
	for (int moved = 0; moved <= 1; moved++)
		for (size_t i = 0; i < from.cap && rc == 0; i++) {
			uint64_t a = (from.key[i] - 1) * PAGE;

			if (!from.key[i] || !from.page[i] || (a >= old && a - old < len) != moved)
				continue;
			rc = img_write(moved ? new_start + (a - old) : a, from.page[i], PAGE);
		}
	for (size_t i = 0; i < from.cap; i++)
		free(from.page[i]);
	free(from.key);
	free(from.page);
	return rc;
}

static void img_clear(void)
{
	for (size_t i = 0; i < img.cap; i++)
		free(img.page[i]);
	free(img.key);
	free(img.page);
	memset(&img, 0, sizeof(img));
}

/* The reconciler's reads: what the program's memory held at that pass. */
static ssize_t img_read(void *ctx, uint64_t addr, void *buf, size_t len)
{
	uint8_t *out = buf;
	size_t done = 0;

	(void)ctx;
	while (done < len) {
		uint64_t a = addr + done, off = a % PAGE;
		size_t n = PAGE - off < len - done ? (size_t)(PAGE - off) : len - done;
		const uint8_t *pg = img_page(a, 0);

		if (pg)
			memcpy(out + done, pg + off, n);
		else
			memset(out + done, 0, n);
		done += n;
	}
	return (ssize_t)len;
}

/* ---- regions ------------------------------------------------------------ */

static struct jp_regions regs;

/* Exactly one region [start, end), holding the pieces that lay there. */
static long region_for(uint64_t start, uint64_t end)
{
	uint64_t a = start;
	size_t i;

	if (start >= end || jp_regions_split(&regs, start) < 0 || jp_regions_split(&regs, end) < 0)
		return -ENOMEM;
	while (a < end) {
		uint64_t b = end;

		i = jp_regions_lower(&regs, a);
		if (i < regs.n && regs.r[i].start <= a) {
			a = regs.r[i].end;
			continue;
		}
		if (i < regs.n && regs.r[i].start < end)
			b = regs.r[i].start;
		if (jp_regions_insert(&regs, a, b, JP_RK_ANON) < 0)
			return -ENOMEM;
		a = b;
	}
	i = jp_regions_lower(&regs, start);
	while (i + 1 < regs.n && regs.r[i].end < end)
		if (jp_regions_join(&regs, i) < 0)
			return -ENOMEM;
	return (long)i;
}

static void forget(uint64_t start, uint64_t end)
{
	size_t i;

	if (jp_regions_split(&regs, start) < 0 || jp_regions_split(&regs, end) < 0)
		return;
	i = jp_regions_lower(&regs, start);
	while (i < regs.n && regs.r[i].start < end)
		jp_regions_delete(&regs, i);
	img_drop(start, end);
}

static void drop(uint64_t start, uint64_t end)
{
	for (size_t i = jp_regions_lower(&regs, start); i < regs.n && regs.r[i].start < end; i++)
		jp_desc_drop(&regs.r[i], start, end);
	img_drop(start, end);
}

/* ---- creators: the program's ids, ours -------------------------------- */

/* A program registers a handful of creating call sites (at most 1024,
 * lib/creator.c): a short list, searched. */
#define MAX_CREATORS 1024u
static struct {
	uint32_t theirs;
	jp_creator_id ours;
} creators[MAX_CREATORS];
static size_t ncreators;

static jp_creator_id creator_of(uint32_t theirs, const char *name)
{
	size_t i;

	for (i = 0; i < ncreators; i++)
		if (creators[i].theirs == theirs)
			break;
	if (i == ncreators) {
		if (ncreators == MAX_CREATORS)
			return 0; /* "unknown", as the program's registry when full */
		creators[ncreators].theirs = theirs;
		creators[ncreators++].ours = 0;
	}
	if (!creators[i].ours || strcmp(jp_creator_id_name(creators[i].ours), name))
		creators[i].ours = jp_creator_register_named(name);
	return creators[i].ours;
}

/* ---- the replay --------------------------------------------------------- */

struct replay {
	struct jp_reconciler rc; /* its workspace kept from one call to the next */
	int rc_ready;
	struct jp_output out;
	struct jp_config cfg;
	struct jp_jd_describe_stats *st;
	int both;                /* the program described everything itself too: its records are left out */
	struct {
		uint64_t old, now;   /* the program's code index of a LOAD kept, ours */
	} *index;
	size_t nindex, capindex;
};

/* The program described some code itself (a creator it stopped recording,
 * lib/deferlog.h): its LOADs, MOVEs and unwinding records stay where they
 * are, renumbered into the one sequence of code indexes perf inject needs.
 * The program numbers its LOADs upwards, so the pairs are kept in that
 * order and a MOVE finds its LOAD by bisection (a dump that numbers them
 * otherwise loses the MOVEs that cannot be found, nothing else). */
static uint64_t own_index(const struct replay *R, uint64_t old)
{
	size_t lo = 0, hi = R->nindex;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (R->index[mid].old < old)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < R->nindex && R->index[lo].old == old ? R->index[lo].now : JP_NO_INDEX;
}

static int keep_own(struct replay *R, const struct jp_jdr_rec *rec)
{
	struct iovec iov[2];

	if (rec->id == JD_CODE_UNWINDING_INFO) {
		iov[0] = (struct iovec){ (void *)rec->raw, rec->total_size };
		return jp_dump_raw(&R->out.dump, iov, 1);
	}
	if (rec->id == JD_CODE_LOAD) {
		struct jd_code_load l;

		if (R->nindex == R->capindex) {
			size_t cap = R->capindex ? 2 * R->capindex : 256;
			void *v = realloc(R->index, cap * sizeof(*R->index));

			if (!v)
				return -ENOMEM;
			R->index = v;
			R->capindex = cap;
		}
		memcpy(&l, rec->raw, sizeof(l));
		R->index[R->nindex].old = l.code_index;
		l.code_index = R->out.dump.next_index++;
		R->index[R->nindex++].now = l.code_index;
		iov[0] = (struct iovec){ &l, sizeof(l) };
		iov[1] = (struct iovec){ (void *)(rec->raw + sizeof(l)), rec->total_size - sizeof(l) };
		R->st->kept++;
		return jp_dump_raw(&R->out.dump, iov, 2);
	}
	{
		/* A MOVE of a LOAD kept before it. */
		struct jd_code_move m;

		memcpy(&m, rec->raw, sizeof(m));
		m.code_index = own_index(R, m.code_index);
		if (m.code_index == JP_NO_INDEX)
			return 0;
		iov[0] = (struct iovec){ &m, sizeof(m) };
		R->st->kept++;
		return jp_dump_raw(&R->out.dump, iov, 1);
	}
}

static int fail(char *err, size_t errsz, int e, const char *why, uint64_t off)
{
	snprintf(err, errsz, "%s (record at byte %llu)", why, (unsigned long long)off);
	return e;
}

/* The record's creator name: NUL-terminated within it. */
static const char *creator_name(const struct jp_jdr_rec *rec, const struct jd_jp_capture *h)
{
	const char *n = (const char *)rec->raw + sizeof(*h);

	if (h->creator_len == 0 || sizeof(*h) + h->creator_len > rec->total_size || n[h->creator_len - 1])
		return NULL;
	return n;
}

static int replay_capture(struct replay *R, const struct jp_jdr_rec *rec, char *err, size_t errsz)
{
	struct jd_jp_capture h;
	const char *name;
	struct jp_region *r;
	long i;

	if (rec->total_size < sizeof(h))
		return fail(err, errsz, -EBADMSG, "a CAPTURE record too short", rec->offset);
	memcpy(&h, rec->raw, sizeof(h));
	name = creator_name(rec, &h);
	if (!name || h.start >= h.end || (rec->id == JD_JP_CAPTURE && (h.a >= h.b || h.a < h.start || h.b > h.end)))
		return fail(err, errsz, -EBADMSG, "a CAPTURE record that contradicts itself", rec->offset);
	/* The program records every page of a span before the span itself:
	 * a span larger than all it recorded is not one (and describing a
	 * span costs its size). */
	if (rec->id == JD_JP_CAPTURE && h.b - h.a > R->st->bytes + PAGE)
		return fail(err, errsz, -EBADMSG, "a CAPTURE record over more memory than the dump recorded", rec->offset);
	i = region_for(h.start, h.end);
	if (i < 0)
		return fail(err, errsz, -ENOMEM, "out of memory for the region table", rec->offset);
	r = &regs.r[i];
	r->creator = creator_of(h.creator, name);
	r->last_event_ts = h.last_event_ts;
	r->last_scan_ts = h.last_scan_ts;
	r->exec = 1;
	R->rc.fde = (h.flags & JD_JP_F_FDE) != 0;
	R->out.dump.tid = h.tid;
	if (rec->id == JD_JP_REANNOUNCE) {
		jp_reconcile_reannounce(&R->rc, r, rec->timestamp);
	} else {
		if (h.flags & JD_JP_F_BUDGET)
			jp_budget_begin(name);
		jp_reconcile(&R->rc, r, h.a, h.b, rec->timestamp, h.ts_new);
		if (h.flags & JD_JP_F_BUDGET)
			jp_budget_end();
	}
	R->st->captures++;
	return 0;
}

static int replay_move(struct replay *R, const struct jp_jdr_rec *rec, char *err, size_t errsz)
{
	struct jd_jp_move h;
	struct jp_region *r;
	uint64_t delta, end;
	long i;

	if (rec->total_size < sizeof(h))
		return fail(err, errsz, -EBADMSG, "a MOVE record too short", rec->offset);
	memcpy(&h, rec->raw, sizeof(h));
	if (h.old_start >= h.old_end || h.new_start >= h.new_end || h.keep > h.old_end - h.old_start)
		return fail(err, errsz, -EBADMSG, "a MOVE record that contradicts itself", rec->offset);
	i = region_for(h.old_start, h.old_end);
	if (i < 0)
		return fail(err, errsz, -ENOMEM, "out of memory for the region table", rec->offset);
	r = &regs.r[i];
	delta = h.new_start - h.old_start;
	end = h.old_start + h.keep;
	/* As the program's engine does (lib/mapcalls.c): each piece that
	 * went along gets a MOVE, no new ELF. */
	for (uint32_t j = 0; j < r->nd; j++)
		if (r->d[j].addr + r->d[j].len <= end)
			jp_output_move(&R->out, r->d[j].index, r->d[j].addr, r->d[j].addr + delta, r->d[j].len,
				       rec->timestamp);
	forget(h.new_start, h.new_end); /* nothing may overlap the destination */
	i = region_for(h.old_start, h.old_end);
	if (i < 0 || jp_regions_move(&regs, (size_t)i, h.new_start, h.new_end, h.keep) < 0)
		return fail(err, errsz, -ENOMEM, "out of memory for the region table", rec->offset);
	if (img_move(h.old_start, h.new_start, h.keep) < 0)
		return fail(err, errsz, -ENOMEM, "out of memory for the image", rec->offset);
	return 0;
}

static int replay_one(struct replay *R, const struct jp_jdr_rec *rec, char *err, size_t errsz)
{
	switch (rec->id) {
	case JD_JP_PAGES: {
		struct jd_jp_pages h;

		if (rec->total_size < sizeof(h))
			return fail(err, errsz, -EBADMSG, "a PAGES record too short", rec->offset);
		memcpy(&h, rec->raw, sizeof(h));
		if (h.len > rec->total_size - sizeof(h) || h.addr + h.len < h.addr)
			return fail(err, errsz, -EBADMSG, "a PAGES record longer than its bytes", rec->offset);
		if (img_write(h.addr, rec->raw + sizeof(h), h.len) < 0)
			return fail(err, errsz, -ENOMEM, "out of memory for the image", rec->offset);
		R->st->bytes += h.len;
		return 0;
	}
	case JD_JP_CAPTURE:
	case JD_JP_REANNOUNCE:
		return replay_capture(R, rec, err, errsz);
	case JD_JP_FORGET:
	case JD_JP_DROP: {
		struct jd_jp_span h;

		if (rec->total_size < sizeof(h))
			return fail(err, errsz, -EBADMSG, "a FORGET/DROP record too short", rec->offset);
		memcpy(&h, rec->raw, sizeof(h));
		if (h.start < h.end) {
			if (rec->id == JD_JP_FORGET)
				forget(h.start, h.end);
			else
				drop(h.start, h.end);
		}
		return 0;
	}
	case JD_JP_MOVE:
		return replay_move(R, rec, err, errsz);
	case JD_JP_KNOWN: {
		struct jd_jp_known h;
		const char *name;

		if (rec->total_size < sizeof(h))
			return fail(err, errsz, -EBADMSG, "a KNOWN record too short", rec->offset);
		memcpy(&h, rec->raw, sizeof(h));
		name = (const char *)rec->raw + sizeof(h);
		if (!h.name_len || sizeof(h) + h.name_len > rec->total_size || name[h.name_len - 1])
			return fail(err, errsz, -EBADMSG, "a KNOWN record whose name runs past it", rec->offset);
		(void)jp_known_add_flags(h.addr, h.size, name, h.flags);
		return 0;
	}
	case JD_CODE_LOAD:
	case JD_CODE_MOVE:
	case JD_CODE_UNWINDING_INFO:
		if (R->both) {
			R->st->dropped++;
			return 0;
		}
		if (rec->total_size < (rec->id == JD_CODE_MOVE ? sizeof(struct jd_code_move) : sizeof(struct jd_code_load)) &&
		    rec->id != JD_CODE_UNWINDING_INFO)
			return 0;
		if (keep_own(R, rec) < 0 && jp_dump_ok(&R->out.dump))
			return fail(err, errsz, -ENOMEM, "out of memory for the code indexes", rec->offset);
		return 0;
	case JD_CODE_CLOSE:
		return 0;
	default: /* DEBUG_INFO, ids of other writers: as they come */
		jp_dump_raw(&R->out.dump, &(struct iovec){ (void *)rec->raw, rec->total_size }, 1);
		return 0;
	}
}

/* Does buf hold records to describe?  *both: did the program describe
 * everything itself too (JITPERF_DESCRIBE=both)? */
static int has_records(const void *buf, size_t len, int *both)
{
	struct jp_jdr r;
	struct jp_jdr_rec rec;
	int any = 0;

	*both = 0;
	if (jp_jdr_open(&r, buf, len) < 0)
		return 0;
	while (jp_jdr_next(&r, &rec) > 0) {
		if (rec.id >= JD_JP_PAGES && rec.id <= JD_JP_KNOWN)
			any = 1;
		if (rec.id == JD_JP_CAPTURE && rec.total_size >= sizeof(struct jd_jp_capture)) {
			struct jd_jp_capture h;

			memcpy(&h, rec.raw, sizeof(h));
			*both |= (h.flags & JD_JP_F_BOTH) != 0;
		}
	}
	return any;
}

int jp_jd_describe(const void *buf, size_t len, int fd, struct jp_jd_describe_stats *st, char *err, size_t errsz)
{
	static struct replay R;
	struct jp_jdr r;
	struct jp_jdr_rec rec;
	int rc = 0, got;

	memset(st, 0, sizeof(*st));
	if (jp_jdr_open(&r, buf, len) < 0) {
		snprintf(err, errsz, "%s", r.err);
		close(fd);
		return -EBADMSG;
	}
	memset(&R.out, 0, sizeof(R.out));
	memset(&R.cfg, 0, sizeof(R.cfg));
	if (!has_records(buf, len, &R.both))
		return 1;
	R.st = st;
	R.nindex = 0;
	R.cfg.jitdump = 1;
	R.out.cfg = &R.cfg;
	R.out.pid = (pid_t)r.hdr.pid;
	if ((got = jp_write_all(fd, buf, r.hdr.total_size)) < 0 ||
	    (got = jp_dump_adopt(&R.out.dump, fd, (pid_t)r.hdr.pid, r.hdr.total_size)) < 0) {
		snprintf(err, errsz, "cannot write the described dump: %s", strerror(-got));
		close(fd);
		return -EIO;
	}
	R.out.dump_state = JP_OUT_OPEN;
	if (!R.rc_ready && jp_reconciler_init(&R.rc, NULL, JP_RECONCILE_CHUNK, JP_RECONCILE_MAX_PIECES) < 0) {
		snprintf(err, errsz, "out of memory");
		jp_output_close(&R.out);
		jp_sys_free(R.out.dump.buf, R.out.dump.buf_cap);
		return -ENOMEM;
	}
	R.rc_ready = 1;
	R.rc.patched = R.rc.rewritten = R.rc.replaced = 0;
	jp_output_sink(&R.out, &R.rc.sink);
	R.rc.sink.read = img_read;
	jp_known_reset();
	jp_budget_reset();
	ncreators = 0;
	while ((got = jp_jdr_next(&r, &rec)) != 0) {
		if (got < 0)
			continue; /* a record that contradicts itself: skipped, as perf does */
		rc = replay_one(&R, &rec, err, errsz);
		if (rc < 0)
			break;
		if (!jp_dump_ok(&R.out.dump)) {
			snprintf(err, errsz, "cannot write the described dump");
			rc = -EIO;
			break;
		}
	}
	st->loads = R.out.loads;
	st->load_bytes = R.out.load_bytes;
	st->moves = R.out.moves;
	jp_output_close(&R.out);
	jp_cfi_work_free(R.out.cfi);
	if (R.out.dump.buf)
		jp_sys_free(R.out.dump.buf, R.out.dump.buf_cap);
	jp_regions_clear(&regs);
	img_clear();
	return rc;
}
