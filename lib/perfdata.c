/* perfdata.c - walk the samples of a perf.data file (see perfdata.h).
 *
 * Layouts from the kernel's include/uapi/linux/perf_event.h (ABI) and
 * perf's tools/perf/util/header.h (file header), written from their
 * documentation; only the fields needed for a sample's addresses. */
#include "perfdata.h"

#include <errno.h>

#define PD_MAGIC 0x32454c4946524550ull /* "PERFILE2" */
#define PD_HEADER_SIZE 104u            /* struct perf_file_header */
#define PD_MAX_ATTRS 64u /* perf record makes one or two */

/* sample_type bits */
enum {
	S_IP = 1u << 0, S_TID = 1u << 1, S_TIME = 1u << 2, S_ADDR = 1u << 3, S_READ = 1u << 4,
	S_CALLCHAIN = 1u << 5, S_ID = 1u << 6, S_CPU = 1u << 7, S_PERIOD = 1u << 8,
	S_STREAM_ID = 1u << 9, S_RAW = 1u << 10, S_BRANCH_STACK = 1u << 11, S_REGS_USER = 1u << 12,
	S_STACK_USER = 1u << 13, S_IDENTIFIER = 1u << 16,
};
/* read_format bits */
enum { R_ENABLED = 1, R_RUNNING = 2, R_ID = 4, R_GROUP = 8, R_LOST = 16 };
#define BRANCH_HW_INDEX (1ull << 17)
/* record types */
enum { REC_SAMPLE = 9, REC_AUXTRACE = 71, REC_COMPRESSED = 81 };

struct pd_attr {
	uint64_t sample_type, read_format, branch_type, regs_mask;
	uint64_t ids_off, ids_n; /* the attribute's event ids, in the file */
};

struct cursor {
	const unsigned char *p, *end;
};

static int take(struct cursor *c, uint64_t n, const unsigned char **at)
{
	if (n > (uint64_t)(c->end - c->p))
		return -1;
	*at = c->p;
	c->p += n;
	return 0;
}

static int take_u64(struct cursor *c, uint64_t *v)
{
	const unsigned char *at;

	if (take(c, 8, &at) < 0)
		return -1;
	*v = jp_pd_u64(at, 0);
	return 0;
}

static uint64_t get_u64(const unsigned char *base, size_t len, size_t off)
{
	return off + 8 <= len ? jp_pd_u64(base + off, 0) : 0;
}

/* The value part of PERF_SAMPLE_READ. */
static int skip_read(struct cursor *c, uint64_t fmt)
{
	uint64_t per = 1 + !!(fmt & R_ID) + !!(fmt & R_LOST), nr = 1, head = 0;
	const unsigned char *at;

	if (fmt & R_GROUP) {
		if (take_u64(c, &nr) < 0)
			return -1;
		head = !!(fmt & R_ENABLED) + !!(fmt & R_RUNNING);
		if (nr > (uint64_t)(c->end - c->p) / 8)
			return -1;
	} else {
		per += !!(fmt & R_ENABLED) + !!(fmt & R_RUNNING);
	}
	return take(c, 8 * (head + nr * per), &at);
}

/* Decode one sample's body against its attribute. */
static int decode(struct cursor *c, const struct pd_attr *a, struct jp_pd_sample *s)
{
	uint64_t t = a->sample_type, v, skip;
	const unsigned char *at;

	memset(s, 0, sizeof(*s));
	skip = !!(t & S_IDENTIFIER);
	if (take(c, 8 * skip, &at) < 0)
		return -1;
	if (t & S_IP) {
		if (take_u64(c, &s->ip) < 0)
			return -1;
		s->has_ip = 1;
	}
	if (t & S_TID) {
		if (take(c, 8, &at) < 0)
			return -1;
		memcpy(&s->pid, at, 4);
		memcpy(&s->tid, at + 4, 4);
	}
	if (t & S_TIME) {
		if (take_u64(c, &s->time) < 0)
			return -1;
		s->has_time = 1;
	}
	/* ADDR, ID, STREAM_ID, CPU, PERIOD: one u64 each */
	skip = !!(t & S_ADDR) + !!(t & S_ID) + !!(t & S_STREAM_ID) + !!(t & S_CPU) + !!(t & S_PERIOD);
	if (take(c, 8 * skip, &at) < 0)
		return -1;
	if ((t & S_READ) && skip_read(c, a->read_format) < 0)
		return -1;
	if (t & S_CALLCHAIN) {
		if (take_u64(c, &s->chain_nr) < 0 || s->chain_nr > (uint64_t)(c->end - c->p) / 8 ||
		    take(c, 8 * s->chain_nr, &s->chain) < 0)
			return -1;
	}
	if (t & S_RAW) {
		uint32_t size;

		if (take(c, 4, &at) < 0)
			return -1;
		memcpy(&size, at, 4);
		if (take(c, size, &at) < 0)
			return -1;
	}
	if (t & S_BRANCH_STACK) {
		if (take_u64(c, &v) < 0 || ((a->branch_type & BRANCH_HW_INDEX) && take(c, 8, &at) < 0) ||
		    v > (uint64_t)(c->end - c->p) / 24 || take(c, 24 * v, &at) < 0)
			return -1;
	}
	if (t & S_REGS_USER) {
		if (take_u64(c, &v) < 0) /* abi: 0 when the task had no user registers */
			return -1;
		if (v) {
			s->regs_nr = (uint64_t)__builtin_popcountll(a->regs_mask);
			if (take(c, 8 * s->regs_nr, &s->regs) < 0)
				return -1;
		}
	}
	if (t & S_STACK_USER) {
		uint64_t dyn;

		if (take_u64(c, &v) < 0 || take(c, v, &s->stack) < 0)
			return -1;
		if (v) {
			if (take_u64(c, &dyn) < 0)
				return -1;
			s->stack_size = dyn < v ? dyn : v;
		}
	}
	return 0;
}

/* Does attribute a own event id? */
static int owns_id(const unsigned char *buf, const struct pd_attr *a, uint64_t id)
{
	for (uint64_t i = 0; i < a->ids_n; i++)
		if (jp_pd_u64(buf + a->ids_off, i) == id)
			return 1;
	return 0;
}

struct file {
	const unsigned char *buf;
	size_t len;
	struct pd_attr attrs[PD_MAX_ATTRS];
	size_t n_attrs;
	int by_id; /* attributes differ: each sample names its own by IDENTIFIER */
};

static int same_format(const struct pd_attr *a, const struct pd_attr *b)
{
	return a->sample_type == b->sample_type && a->read_format == b->read_format &&
	       a->branch_type == b->branch_type && a->regs_mask == b->regs_mask;
}

static int read_attrs(struct file *f, const char **why)
{
	uint64_t attr_size = get_u64(f->buf, f->len, 16), off = get_u64(f->buf, f->len, 24),
		 size = get_u64(f->buf, f->len, 32);

	if (attr_size < 16 + 64 || attr_size > 4096 || off > f->len || size > f->len - off || size % attr_size) {
		*why = "bad attribute section";
		return -EBADMSG;
	}
	if (size == 0 || size / attr_size > PD_MAX_ATTRS) {
		*why = size ? "too many attributes" : "no attributes";
		return -EBADMSG;
	}
	f->n_attrs = size / attr_size;
	for (size_t i = 0; i < f->n_attrs; i++) {
		const unsigned char *a = f->buf + off + i * attr_size;
		size_t alen = attr_size - 16; /* the ids section follows the attr */
		uint32_t declared;
		struct pd_attr *d = &f->attrs[i];

		memcpy(&declared, a + 4, 4);
		if (declared && declared < alen)
			alen = declared;
		d->sample_type = get_u64(a, alen, 24);
		d->read_format = get_u64(a, alen, 32);
		d->branch_type = get_u64(a, alen, 72);
		d->regs_mask = get_u64(a, alen, 80);
		d->ids_off = jp_pd_u64(a + attr_size - 16, 0);
		d->ids_n = jp_pd_u64(a + attr_size - 16, 1);
		if (d->ids_off > f->len || d->ids_n > (f->len - d->ids_off) / 8)
			d->ids_off = d->ids_n = 0; /* unusable: no sample will match it */
		else
			d->ids_n /= 8;
		if (!same_format(d, &f->attrs[0]))
			f->by_id = 1;
	}
	for (size_t i = 0; f->by_id && i < f->n_attrs; i++)
		if (!(f->attrs[i].sample_type & S_IDENTIFIER)) {
			*why = "events with different sample formats and no sample identifier";
			return -EBADMSG;
		}
	return 0;
}

static const struct pd_attr *attr_of(const struct file *f, const unsigned char *body, size_t len)
{
	uint64_t id;

	if (!f->by_id)
		return &f->attrs[0];
	if (len < 8)
		return NULL;
	id = jp_pd_u64(body, 0);
	for (size_t i = 0; i < f->n_attrs; i++)
		if (owns_id(f->buf, &f->attrs[i], id))
			return &f->attrs[i];
	return NULL;
}

int jp_pd_walk(const void *buf, size_t len, jp_pd_sample_fn fn, void *arg, const char **why)
{
	struct file file, *fp = &file;
	uint64_t off, size;
	const unsigned char *p, *end;
	int rc;

	*why = NULL;
	if (len < PD_HEADER_SIZE || get_u64(buf, len, 0) != PD_MAGIC) {
		*why = "not a perf.data file (or not in this machine's byte order)";
		return -EBADMSG;
	}
	if (get_u64(buf, len, 8) != PD_HEADER_SIZE) {
		*why = "perf.data header of another size (pipe mode?)";
		return -EBADMSG;
	}
	memset(fp, 0, sizeof(*fp));
	fp->buf = buf;
	fp->len = len;
	rc = read_attrs(fp, why);
	off = get_u64(buf, len, 40);
	size = get_u64(buf, len, 48);
	if (rc == 0 && (off > len || size > len - off)) {
		*why = "data section outside the file";
		rc = -EBADMSG;
	}
	if (rc != 0)
		return rc;
	p = fp->buf + off;
	end = p + size;
	while (rc == 0 && p < end) {
		uint32_t type;
		uint16_t rsize;
		struct cursor c;
		struct jp_pd_sample s;
		const struct pd_attr *a;

		if (end - p < 8) {
			*why = "record cut off";
			rc = -EBADMSG;
			break;
		}
		memcpy(&type, p, 4);
		memcpy(&rsize, p + 6, 2);
		if (rsize < 8 || rsize > end - p) {
			*why = "record of a bad size";
			rc = -EBADMSG;
			break;
		}
		if (type == REC_COMPRESSED || type == REC_AUXTRACE) {
			*why = "compressed or AUX trace records";
			rc = -EBADMSG;
			break;
		}
		if (type == REC_SAMPLE) {
			c.p = p + 8;
			c.end = p + rsize;
			a = attr_of(fp, c.p, (size_t)(c.end - c.p));
			if (!a || decode(&c, a, &s) < 0) {
				*why = a ? "a sample that does not decode" : "a sample of no known event";
				rc = -EBADMSG;
				break;
			}
			rc = fn(arg, &s);
		}
		p += rsize;
	}
	return rc;
}
