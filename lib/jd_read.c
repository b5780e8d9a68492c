/* jd_read.c - bounds-checked jitdump iterator and validator (perf 6.1 rules). */
#include "jd_read.h"
#include "bytes.h" /* records are packed and a buffer may start anywhere: nothing is aligned */
#include "cfi.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void __attribute__((format(printf, 4, 5)))
set_err(char *dst, uint64_t *dst_off, uint64_t off, const char *fmt, ...)
{
	va_list ap;

	*dst_off = off;
	va_start(ap, fmt);
	vsnprintf(dst, JP_JDR_REASON_MAX, fmt, ap);
	va_end(ap);
}

const char *jp_jdr_type_name(uint32_t id)
{
	switch (id) {
	case JD_CODE_LOAD:
		return "LOAD";
	case JD_CODE_MOVE:
		return "MOVE";
	case JD_CODE_DEBUG_INFO:
		return "DEBUG_INFO";
	case JD_CODE_CLOSE:
		return "CLOSE";
	case JD_CODE_UNWINDING_INFO:
		return "UNWINDING_INFO";
	case JD_JP_PAGES:
		return "JP_PAGES";
	case JD_JP_CAPTURE:
		return "JP_CAPTURE";
	case JD_JP_REANNOUNCE:
		return "JP_REANNOUNCE";
	case JD_JP_FORGET:
		return "JP_FORGET";
	case JD_JP_DROP:
		return "JP_DROP";
	case JD_JP_MOVE:
		return "JP_MOVE";
	case JD_JP_KNOWN:
		return "JP_KNOWN";
	default:
		return "UNKNOWN";
	}
}

/* ---- iterator ------------------------------------------------------------ */

int jp_jdr_open(struct jp_jdr *r, const void *buf, size_t len)
{
	memset(r, 0, sizeof(*r));
	r->buf = buf;
	r->len = len;
	if (len == 0) {
		set_err(r->err, &r->err_off, 0, "empty file: no jitdump header");
		return -EBADMSG;
	}
	if (len < sizeof(struct jd_header)) {
		set_err(r->err, &r->err_off, 0, "file is %zu bytes, shorter than the 40-byte jitdump header",
			len);
		return -EBADMSG;
	}
	memcpy(&r->hdr, buf, sizeof(r->hdr));
	if (r->hdr.magic == JD_MAGIC_SWAPPED) {
		set_err(r->err, &r->err_off, 0,
			"byte-swapped magic 0x%08x: written on a machine of the other endianness (perf reads it, jitperf does not support it)",
			r->hdr.magic);
		return -EPROTONOSUPPORT;
	}
	if (r->hdr.magic != JD_MAGIC) {
		set_err(r->err, &r->err_off, 0, "bad magic 0x%08x (a jitdump starts with 0x%08x, \"DTiJ\")",
			r->hdr.magic, JD_MAGIC);
		return -EBADMSG;
	}
	if (r->hdr.total_size < sizeof(struct jd_header) || r->hdr.total_size > len) {
		set_err(r->err, &r->err_off, 8, "header total_size %u is outside [40, file size %zu]",
			r->hdr.total_size, len);
		return -EBADMSG;
	}
	r->off = r->hdr.total_size;
	return 0;
}

/* Fill the type-specific fields of rec from a record whose framing is sound
 * (total_size >= 16 and inside the buffer).  Only what is needed to hand out
 * pointers safely is demanded here; jp_jdr_check judges the rest. */
static int decode(struct jp_jdr *r, struct jp_jdr_rec *rec)
{
	const unsigned char *p = rec->raw;
	size_t total = rec->total_size;

	switch (rec->id) {
	case JD_CODE_LOAD: {
		const unsigned char *nul;
		size_t name_len, rest;

		if (total < sizeof(struct jd_code_load)) {
			set_err(r->err, &r->err_off, rec->offset,
				"LOAD total_size %zu is smaller than its 56-byte fixed part", total);
			return -EBADMSG;
		}
		rec->u.load.pid = jp_get_u32(p + 16);
		rec->u.load.tid = jp_get_u32(p + 20);
		rec->u.load.vma = jp_get_u64(p + 24);
		rec->u.load.code_addr = jp_get_u64(p + 32);
		rec->u.load.code_size = jp_get_u64(p + 40);
		rec->u.load.code_index = jp_get_u64(p + 48);
		nul = memchr(p + 56, 0, total - 56);
		if (!nul) {
			set_err(r->err, &r->err_off, rec->offset,
				"LOAD name (index %llu) is not NUL-terminated inside the record",
				(unsigned long long)rec->u.load.code_index);
			return -EBADMSG;
		}
		name_len = (size_t)(nul - (p + 56));
		rest = total - 56 - name_len - 1;
		if (rec->u.load.code_size != rest) {
			/* perf takes the code from the end of the record and the
			 * name from the start: both cannot be right. */
			set_err(r->err, &r->err_off, rec->offset,
				"LOAD total_size %zu != 56 + name %zu + 1 + code_size %llu (index %llu)", total,
				name_len, (unsigned long long)rec->u.load.code_size,
				(unsigned long long)rec->u.load.code_index);
			return -EBADMSG;
		}
		rec->u.load.name = (const char *)(p + 56);
		rec->u.load.name_len = name_len;
		rec->u.load.code = nul + 1;
		return 0;
	}
	case JD_CODE_MOVE:
		if (total < sizeof(struct jd_code_move)) {
			set_err(r->err, &r->err_off, rec->offset,
				"MOVE total_size %zu is smaller than the 64-byte record", total);
			return -EBADMSG;
		}
		rec->u.move.pid = jp_get_u32(p + 16);
		rec->u.move.tid = jp_get_u32(p + 20);
		rec->u.move.vma = jp_get_u64(p + 24);
		rec->u.move.old_code_addr = jp_get_u64(p + 32);
		rec->u.move.new_code_addr = jp_get_u64(p + 40);
		rec->u.move.code_size = jp_get_u64(p + 48);
		rec->u.move.code_index = jp_get_u64(p + 56);
		return 0;
	case JD_CODE_DEBUG_INFO:
		if (total < sizeof(struct jd_code_debug_info)) {
			set_err(r->err, &r->err_off, rec->offset,
				"DEBUG_INFO total_size %zu is smaller than its 32-byte fixed part", total);
			return -EBADMSG;
		}
		rec->u.debug.code_addr = jp_get_u64(p + 16);
		rec->u.debug.nr_entry = jp_get_u64(p + 24);
		rec->u.debug.entries = p + 32;
		rec->u.debug.entries_len = total - 32;
		return 0;
	case JD_CODE_UNWINDING_INFO:
		if (total < sizeof(struct jd_code_unwinding_info)) {
			set_err(r->err, &r->err_off, rec->offset,
				"UNWINDING_INFO total_size %zu is smaller than its 40-byte fixed part", total);
			return -EBADMSG;
		}
		rec->u.unwind.unwinding_size = jp_get_u64(p + 16);
		rec->u.unwind.eh_frame_hdr_size = jp_get_u64(p + 24);
		rec->u.unwind.mapped_size = jp_get_u64(p + 32);
		rec->u.unwind.data = p + 40;
		rec->u.unwind.data_len = total - 40;
		return 0;
	default: /* CLOSE and unknown ids: the prefix is all there is */
		return 0;
	}
}

int jp_jdr_next(struct jp_jdr *r, struct jp_jdr_rec *rec)
{
	size_t left;

	if (r->off >= r->len)
		return 0;
	memset(rec, 0, sizeof(*rec));
	left = r->len - r->off;
	rec->offset = r->off;
	rec->raw = r->buf + r->off;
	if (left < sizeof(struct jd_prefix)) {
		set_err(r->err, &r->err_off, r->off,
			"truncated record: %zu bytes left, less than a 16-byte record prefix (perf drops it)", left);
		r->off = r->len;
		return -EBADMSG;
	}
	rec->id = jp_get_u32(rec->raw);
	rec->total_size = jp_get_u32(rec->raw + 4);
	rec->timestamp = jp_get_u64(rec->raw + 8);
	if (rec->total_size < sizeof(struct jd_prefix)) {
		set_err(r->err, &r->err_off, r->off, "%s record total_size %u < 16 (perf stops reading here)",
			jp_jdr_type_name(rec->id), rec->total_size);
		r->off = r->len;
		return -EBADMSG;
	}
	if (rec->total_size > left) {
		set_err(r->err, &r->err_off, r->off,
			"truncated %s record: total_size %u but only %zu bytes left in the file (perf drops it)",
			jp_jdr_type_name(rec->id), rec->total_size, left);
		r->off = r->len;
		return -EBADMSG;
	}
	r->off += rec->total_size;
	return decode(r, rec) < 0 ? -EBADMSG : 1;
}

int jp_jdr_debug_next(const struct jp_jdr_rec *rec, struct jp_jdr_debug_cursor *c,
		      struct jp_jdr_debug_entry *e)
{
	const unsigned char *p = rec->u.debug.entries, *nul;
	size_t len = rec->u.debug.entries_len, at = c->pos;

	if (rec->id != JD_CODE_DEBUG_INFO)
		return -EINVAL;
	if (c->n >= rec->u.debug.nr_entry)
		return 0;
	if (at > len || len - at < sizeof(struct jd_debug_entry))
		return -EBADMSG;
	e->addr = jp_get_u64(p + at);
	memcpy(&e->lineno, p + at + 8, 4);
	memcpy(&e->discrim, p + at + 12, 4);
	nul = memchr(p + at + 16, 0, len - at - 16);
	if (!nul)
		return -EBADMSG;
	e->name = (const char *)(p + at + 16);
	c->pos = (size_t)(nul + 1 - p);
	c->n++;
	return 1;
}

/* ---- validator ----------------------------------------------------------- */

/* Open-addressing hash set of 64-bit keys, each with a buffer offset: the
 * code_index set maps an index to its LOAD, the name set a name hash to
 * the name itself (so equal hashes are told apart by the strings). */
struct slot {
	uint64_t key;
	uint64_t off;
	int used;
};

struct set {
	struct slot *s;
	size_t cap, n;
};

static uint64_t mix64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ull;
	return x ^ (x >> 33);
}

static uint64_t hash_str(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a */

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
	return h;
}

static int set_grow(struct set *st)
{
	size_t ncap = st->cap ? st->cap * 2 : 256;
	struct slot *ns = calloc(ncap, sizeof(*ns));

	if (!ns)
		return -ENOMEM;
	for (size_t i = 0; i < st->cap; i++) {
		size_t j;

		if (!st->s[i].used)
			continue;
		for (j = mix64(st->s[i].key) & (ncap - 1); ns[j].used; j = (j + 1) & (ncap - 1))
			;
		ns[j] = st->s[i];
	}
	free(st->s);
	st->s = ns;
	st->cap = ncap;
	return 0;
}

/* Find key (and, when names is non-NULL, the string names + off); if absent
 * insert it with off.  Returns 1 found (*found_off set), 0 inserted, -ENOMEM. */
static int set_add(struct set *st, uint64_t key, uint64_t off, const unsigned char *names, uint64_t *found_off)
{
	size_t j;

	if ((st->n + 1) * 2 > st->cap && set_grow(st) < 0)
		return -ENOMEM;
	for (j = mix64(key) & (st->cap - 1); st->s[j].used; j = (j + 1) & (st->cap - 1)) {
		if (st->s[j].key != key)
			continue;
		if (names && strcmp((const char *)names + st->s[j].off, (const char *)names + off))
			continue;
		*found_off = st->s[j].off;
		return 1;
	}
	st->s[j].used = 1;
	st->s[j].key = key;
	st->s[j].off = off;
	st->n++;
	return 0;
}

struct check {
	const unsigned char *buf;
	struct jp_jdr_summary *s;
	jp_jdr_warn_fn warn;
	void *arg;
	struct set index, names;
	struct jp_jdr_rec unw; /* an UNWINDING_INFO with CFI, waiting for its LOAD */
	int have_unw;
};

static void __attribute__((format(printf, 3, 4))) warn(struct check *c, uint64_t off, const char *fmt, ...)
{
	char why[JP_JDR_REASON_MAX];
	va_list ap;

	c->s->warnings++;
	if (!c->warn)
		return;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	c->warn(c->arg, off, why);
}

#define FAIL(c, off, ...)                                                    \
	do {                                                                 \
		set_err((c)->s->err, &(c)->s->err_off, (off), __VA_ARGS__);  \
		(c)->s->valid = 0;                                           \
		return -EBADMSG;                                             \
	} while (0)

static int check_header(struct check *c, const struct jd_header *h)
{
	if (h->version != JD_VERSION)
		FAIL(c, 4, "version %u (perf reads version %u)", h->version, JD_VERSION);
	if (h->total_size != sizeof(*h))
		FAIL(c, 8, "header total_size %u, not 40 (perf 6.1 fails on a larger header)", h->total_size);
	if (JP_JDR_HOST_MACH && h->elf_mach != JP_JDR_HOST_MACH)
		FAIL(c, 12, "elf_mach %u, but perf here builds its ELF images for machine %u", h->elf_mach,
		     JP_JDR_HOST_MACH);
	if (h->flags & ~JD_FLAG_ARCH_TIMESTAMP)
		FAIL(c, 32, "reserved header flags 0x%llx set (perf refuses the dump)",
		     (unsigned long long)(h->flags & ~JD_FLAG_ARCH_TIMESTAMP));
	if (h->flags & JD_FLAG_ARCH_TIMESTAMP)
		warn(c, 32, "arch timestamp flag set: perf needs the TSC conversion from perf record");
	return 0;
}

static int check_load(struct check *c, const struct jp_jdr_rec *rec)
{
	uint64_t prev;
	int r;

	r = set_add(&c->index, rec->u.load.code_index, rec->offset, NULL, &prev);
	if (r < 0)
		return r;
	if (r > 0)
		FAIL(c, rec->offset,
		     "LOAD code_index %llu already used by the LOAD at offset %llu (perf overwrites jitted-%u-%llu.so)",
		     (unsigned long long)rec->u.load.code_index, (unsigned long long)prev, rec->u.load.pid,
		     (unsigned long long)rec->u.load.code_index);
	r = set_add(&c->names, hash_str(rec->u.load.name), (uint64_t)(rec->u.load.name - (const char *)c->buf),
		    c->buf, &prev);
	if (r < 0)
		return r;
	if (r == 0)
		c->s->distinct_names++;
	c->s->code_bytes += rec->u.load.code_size;
	if (rec->u.load.pid != c->s->hdr.pid)
		warn(c, rec->offset, "LOAD pid %u differs from the header's pid %u (perf maps the code into pid %u)",
		     rec->u.load.pid, c->s->hdr.pid, rec->u.load.pid);
	if (rec->u.load.code_size == 0)
		warn(c, rec->offset, "LOAD of '%.60s' has code_size 0: perf makes an empty symbol", rec->u.load.name);
	if (rec->u.load.name_len == 0)
		warn(c, rec->offset, "LOAD index %llu has an empty name",
		     (unsigned long long)rec->u.load.code_index);
	return 0;
}

static const struct slot *set_find(const struct set *st, uint64_t key)
{
	if (!st->cap)
		return NULL;
	for (size_t j = mix64(key) & (st->cap - 1); st->s[j].used; j = (j + 1) & (st->cap - 1))
		if (st->s[j].key == key)
			return &st->s[j];
	return NULL;
}

static int check_move(struct check *c, const struct jp_jdr_rec *rec)
{
	const struct slot *load = set_find(&c->index, rec->u.move.code_index);
	uint64_t load_off, load_size;

	/* A MOVE makes perf map jitted-<pid>-<index>.so at the new address;
	 * without an earlier LOAD that file does not exist, so the range
	 * would show as an unreadable DSO, hiding whatever is there: an
	 * error, not a warning. */
	if (!load)
		FAIL(c, rec->offset, "MOVE of code_index %llu, which no earlier LOAD created",
		     (unsigned long long)rec->u.move.code_index);
	load_off = load->off;
	load_size = jp_get_u64(c->buf + load_off + 40);
	if (load_size != rec->u.move.code_size)
		warn(c, rec->offset, "MOVE code_size %llu differs from the LOAD's %llu (index %llu)",
		     (unsigned long long)rec->u.move.code_size, (unsigned long long)load_size,
		     (unsigned long long)rec->u.move.code_index);
	if (rec->u.move.pid != c->s->hdr.pid)
		warn(c, rec->offset, "MOVE pid %u differs from the header's pid %u", rec->u.move.pid,
		     c->s->hdr.pid);
	return 0;
}

static int check_unwind(struct check *c, const struct jp_jdr_rec *rec)
{
	uint64_t usz = rec->u.unwind.unwinding_size, hsz = rec->u.unwind.eh_frame_hdr_size;
	uint64_t msz = rec->u.unwind.mapped_size;

	/* perf keeps only the latest UNWINDING_INFO for the next LOAD: this
	 * one replaces any still pending, even when it brings no CFI (the
	 * empty table jd_rename writes before a renamed LOAD). */
	c->have_unw = 0;
	if (usz > rec->u.unwind.data_len)
		FAIL(c, rec->offset, "UNWINDING_INFO unwinding_size %llu + 40 > total_size %u",
		     (unsigned long long)usz, rec->total_size);
	if (hsz > usz)
		FAIL(c, rec->offset, "UNWINDING_INFO eh_frame_hdr_size %llu > unwinding_size %llu",
		     (unsigned long long)hsz, (unsigned long long)usz);
	/* perf places the data as .eh_frame followed by .eh_frame_hdr and
	 * maps mapped_size bytes of it after the (8-aligned) code. */
	if (msz && (msz < usz || msz > ((usz + 15) & ~15ull)))
		FAIL(c, rec->offset,
		     "UNWINDING_INFO mapped_size %llu is neither 0 nor unwinding_size %llu (rounded up to 16 at most)",
		     (unsigned long long)msz, (unsigned long long)usz);
	if (hsz == 0) {
		warn(c, rec->offset,
		     "UNWINDING_INFO with eh_frame_hdr_size 0: perf never clears it, it sticks to every later LOAD");
		return 0;
	}
	if (rec->u.unwind.data[usz - hsz] != 1)
		FAIL(c, rec->offset, "UNWINDING_INFO eh_frame_hdr version byte is %u, not 1",
		     rec->u.unwind.data[usz - hsz]);
	if (msz == 0 && usz > hsz)
		warn(c, rec->offset,
		     "UNWINDING_INFO has a %llu-byte .eh_frame but mapped_size 0: perf's unwinder ignores it",
		     (unsigned long long)(usz - hsz));
	if (msz && usz > hsz) {
		c->s->unwind_cfi++;
		c->unw = *rec;
		c->have_unw = 1;
	}
	return 0;
}

/* jitperf's CFI (lib/cfi.h: its CIE opens the data) checked against the
 * size of the code it describes, which only the LOAD after it tells. */
static int check_cfi(struct check *c, const struct jp_jdr_rec *load)
{
	const struct jp_jdr_rec *u = &c->unw;
	const char *why = "";
	size_t usz = u->u.unwind.unwinding_size, hsz = u->u.unwind.eh_frame_hdr_size;

	c->have_unw = 0;
	if (!jp_cfi_is_ours(u->u.unwind.data, usz - hsz))
		return 0; /* another writer's (V8, CPython): their CIEs differ */
	if (jp_cfi_check(u->u.unwind.data, usz, hsz, load->u.load.code_size, &why) < 0)
		FAIL(c, u->offset, "UNWINDING_INFO before the LOAD at %#llx: %s",
		     (unsigned long long)load->u.load.code_addr, why);
	c->s->unwind_fdes += jp_cfi_fde_count(u->u.unwind.data, usz, hsz);
	return 0;
}

static int check_debug(struct check *c, const struct jp_jdr_rec *rec)
{
	struct jp_jdr_debug_cursor cur = { 0, 0 };
	struct jp_jdr_debug_entry e;
	int r;

	while ((r = jp_jdr_debug_next(rec, &cur, &e)) > 0)
		;
	if (r < 0)
		FAIL(c, rec->offset, "DEBUG_INFO entry %llu of nr_entry %llu does not fit in the record",
		     (unsigned long long)cur.n, (unsigned long long)rec->u.debug.nr_entry);
	return 0;
}

static int check_records(struct check *c, struct jp_jdr *it)
{
	struct jp_jdr_summary *s = c->s;
	struct jp_jdr_rec rec;
	uint64_t last_ts = 0;
	int r;

	while ((r = jp_jdr_next(it, &rec)) != 0) {
		if (r < 0)
			FAIL(c, it->err_off, "%s", it->err);
		if (s->records && rec.timestamp < last_ts)
			s->ts_backwards++;
		last_ts = rec.timestamp;
		switch (rec.id) {
		case JD_CODE_LOAD:
			r = c->have_unw ? check_cfi(c, &rec) : 0;
			if (r == 0)
				r = check_load(c, &rec);
			break;
		case JD_CODE_MOVE:
			r = check_move(c, &rec);
			break;
		case JD_CODE_DEBUG_INFO:
			r = check_debug(c, &rec);
			break;
		case JD_CODE_UNWINDING_INFO:
			r = check_unwind(c, &rec);
			break;
		case JD_CODE_CLOSE:
			r = 0;
			break;
		default:
			if (rec.id >= JD_JP_PAGES && rec.id <= JD_JP_KNOWN) {
				/* Said once: a dump recorded for a description after the run. */
				if (!s->undescribed++)
					warn(c, rec.offset,
					     "records of code not described yet (JITPERF_DESCRIBE=after): perf skips them; describe them first: jitperf-dump --describe");
			} else {
				warn(c, rec.offset, "unknown record id %u (%u bytes) skipped, as perf does", rec.id,
				     rec.total_size);
			}
			r = 0;
			break;
		}
		if (r < 0)
			return r;
		s->records++;
		if (rec.id < JD_CODE_MAX)
			s->by_id[rec.id]++;
		else
			s->unknown++;
		s->bytes = rec.offset + rec.total_size;
	}
	return 0;
}

int jp_jdr_check(const void *buf, size_t len, struct jp_jdr_summary *s, jp_jdr_warn_fn warn_fn, void *arg)
{
	struct check c;
	struct jp_jdr it;
	int r;

	memset(s, 0, sizeof(*s));
	memset(&c, 0, sizeof(c));
	c.buf = buf;
	c.s = s;
	c.warn = warn_fn;
	c.arg = arg;
	s->valid = 1;
	r = jp_jdr_open(&it, buf, len);
	/* Judge the header fields in file order before the framing of the
	 * records: a version 2 dump is reported as such even if its
	 * total_size is also nonsense. */
	if (len >= sizeof(struct jd_header) && it.hdr.magic == JD_MAGIC) {
		s->hdr = it.hdr;
		s->have_header = 1;
		if (check_header(&c, &it.hdr) < 0)
			return -EBADMSG;
	}
	if (r < 0) {
		s->valid = 0;
		s->err_off = it.err_off;
		memcpy(s->err, it.err, sizeof(s->err));
		return -EBADMSG;
	}
	s->bytes = it.off;
	r = check_records(&c, &it);
	free(c.index.s);
	free(c.names.s);
	if (r == -ENOMEM) {
		s->valid = 0;
		set_err(s->err, &s->err_off, it.off, "out of memory");
	}
	return r;
}
