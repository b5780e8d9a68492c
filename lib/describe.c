/* describe.c - cut captured code into pieces and name them. */
#include "describe.h"
#include "arena.h"
#include "creator.h"
#include "fingerprint.h"
#include "gdbjit.h"
#include "insn.h"
#include "log.h"
#include "names.h"
#include "perfmap_read.h"
#include "split.h"
#include "str.h"
#include "sys.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

/* ---- creators --------------------------------------------------------- */

#define MAX_CREATORS 1024u
#define CREATOR_NAME 112

struct creator {
	uint64_t key;                 /* hash of the call chain, 0 = free */
	struct jp_callsite cs;
	int resolved;
	char name[CREATOR_NAME];
};

static struct creator *creators; /* id = index + 1 */
static uint32_t ncreators;

static uint64_t callsite_key(const struct jp_callsite *cs)
{
	uint64_t k = XXH3_64bits(cs->pc, cs->n * sizeof(cs->pc[0]));

	return k ? k : 1;
}

uint32_t jp_describe_creator(void)
{
	struct jp_callsite cs;
	uint64_t key;
	uint32_t i;

	memset(&cs, 0, sizeof(cs));
	if (jp_creator_capture(&cs) < 0)
		cs.n = 0;
	key = callsite_key(&cs);
	if (!creators) {
		creators = jp_sys_alloc(MAX_CREATORS * sizeof(*creators));
		if (!creators)
			return 0;
	}
	/* Call sites are few (a JIT has a handful of places that make memory
	 * executable); a linear look-up beats a hash table's code. */
	for (i = 0; i < ncreators; i++)
		if (creators[i].key == key && creators[i].cs.n == cs.n &&
		    memcmp(creators[i].cs.pc, cs.pc, cs.n * sizeof(cs.pc[0])) == 0)
			return i + 1;
	if (ncreators == MAX_CREATORS)
		return 0; /* "unknown": still correct, just less informative */
	creators[ncreators].key = key;
	creators[ncreators].cs = cs;
	return ++ncreators;
}

static const char *creator_name(uint32_t id)
{
	struct creator *c;

	if (id == 0 || id > ncreators)
		return "unknown";
	c = &creators[id - 1];
	if (!c->resolved) {
		/* Once per call site: reads the object's symbol table with raw
		 * system calls (no malloc), then it is a string. */
		if (jp_creator_name(&c->cs, c->name, sizeof(c->name)) <= 0)
			jp_strlcpy(c->name, "unknown", sizeof(c->name));
		c->resolved = 1;
	}
	return c->name;
}

/* ---- names the process publishes ----------------------------------------- */

struct known {
	uint64_t addr, size;
	uint32_t name; /* offset in the string pool */
	uint32_t nhash;
};

static struct {
	struct known *k;
	size_t n, cap;
	char *pool;
	size_t pool_len, pool_cap;
	uint64_t *seen;           /* GDB JIT objects already parsed (addr ^ size) */
	size_t nseen, seen_cap;
	uint64_t descs[4];        /* __jit_debug_descriptor addresses */
	int ndescs;
	uint64_t pm_offset;       /* how much of the runtime's perf map we read */
	int full;                 /* tables full: said so once */
} K;

static int grow(void **arr, size_t elem, size_t have, size_t *cap, size_t want)
{
	size_t ncap = *cap ? *cap : 256, bytes;
	void *n;

	if (want <= *cap)
		return 0;
	while (ncap < want)
		ncap *= 2;
	bytes = (ncap * elem + 4095) & ~(size_t)4095;
	n = jp_sys_alloc(bytes);
	if (!n)
		return -ENOMEM;
	if (*arr) {
		memcpy(n, *arr, have * elem);
		jp_sys_free(*arr, (*cap * elem + 4095) & ~(size_t)4095);
	}
	*arr = n;
	*cap = bytes / elem;
	return 0;
}

/* Index of the first known symbol ending above addr. */
static size_t known_lower(uint64_t addr)
{
	size_t lo = 0, hi = K.n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (K.k[mid].addr + K.k[mid].size <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

struct refresh_ctx {
	void (*changed)(uint64_t, uint64_t, void *);
	void *arg;
};

/* Add (or rename) a published symbol; overlapping older ones are dropped
 * (the runtime reused the address). */
static int add_known(void *arg, uint64_t addr, uint64_t size, const char *name)
{
	struct refresh_ctx *rc = arg;
	char clean[256];
	size_t len, i, j;
	uint32_t nh;

	if (size == 0 || addr + size < addr || size > (1u << 30))
		return 0;
	len = jp_name_sanitize(clean, sizeof(clean), name, 1);
	if (!len)
		return 0;
	nh = (uint32_t)XXH3_64bits(clean, len) | 1;
	i = known_lower(addr);
	if (i < K.n && K.k[i].addr == addr && K.k[i].size == size && K.k[i].nhash == nh)
		return 0; /* already known */
	for (j = i; j < K.n && K.k[j].addr < addr + size; j++)
		;
	if (grow((void **)&K.k, sizeof(*K.k), K.n, &K.cap, K.n - (j - i) + 1) < 0 ||
	    grow((void **)&K.pool, 1, K.pool_len, &K.pool_cap, K.pool_len + len + 1) < 0 || K.pool_len > UINT32_MAX / 2) {
		if (!K.full++)
			jp_info("too many published names; later ones are ignored");
		return 1;
	}
	memmove(&K.k[i + 1], &K.k[j], (K.n - j) * sizeof(*K.k));
	K.n = K.n - (j - i) + 1;
	K.k[i].addr = addr;
	K.k[i].size = size;
	K.k[i].name = (uint32_t)K.pool_len;
	K.k[i].nhash = nh;
	memcpy(K.pool + K.pool_len, clean, len + 1);
	K.pool_len += len + 1;
	if (rc && rc->changed)
		rc->changed(addr, addr + size, rc->arg);
	return 0;
}

/* Parse each registered GDB JIT object once. */
static int gdbjit_entry(void *arg, uint64_t symfile, uint64_t size)
{
	uint64_t key = symfile ^ (size << 1);

	(void)arg;
	for (size_t i = 0; i < K.nseen; i++)
		if (K.seen[i] == key)
			return 1; /* skip: parsed before */
	if (grow((void **)&K.seen, sizeof(*K.seen), K.nseen, &K.seen_cap, K.nseen + 1) == 0)
		K.seen[K.nseen++] = key;
	return 0; /* parse it */
}

void jp_describe_refresh_known(int skip_perfmap, void (*changed)(uint64_t, uint64_t, void *), void *arg)
{
	struct refresh_ctx rc = { changed, arg };
	char path[64];

	/* jp_gdbjit_find caches its answer until the set of loaded objects
	 * changes, so asking every pass costs one dl_iterate_phdr. */
	{
		int n = jp_gdbjit_find(K.descs, sizeof(K.descs) / sizeof(K.descs[0]));

		K.ndescs = n > 0 ? n : 0;
	}
	for (int i = 0; i < K.ndescs; i++)
		jp_gdbjit_scan_descriptor(K.descs[i], gdbjit_entry, add_known, &rc);
	/* A runtime's own /tmp/perf-<pid>.map (node --perf-basic-prof, the
	 * JVM's perf-map-agent): read what was appended since last time. */
	if (!skip_perfmap && jp_perfmap_path(path, sizeof(path), jp_sys_getpid()) > 0)
		jp_perfmap_read(path, &K.pm_offset, 4u << 20, add_known, &rc);
}

void jp_describe_fork_child(void)
{
	K.pm_offset = 0;
}

/* ---- pieces ------------------------------------------------------------ */

/* What the splitter decoded, for the fingerprints of the same buffer:
 * room for 32 Ki instructions (about 128 KiB of code; past that, the
 * fingerprints decode for themselves). */
#define MEMO_ENTRIES (32u * 1024u)
static struct jp_insn_memo memo;
static int memo_tried;

void jp_describe_buffer(const uint8_t *buf, size_t len)
{
	/* Allocated once, on first use; without it (out of memory) the
	 * fingerprints decode for themselves, with no retry per span. */
	if (buf && !memo_tried) {
		memo_tried = 1;
		memo.off = jp_sys_alloc(MEMO_ENTRIES * sizeof(*memo.off));
		memo.in = jp_sys_alloc(MEMO_ENTRIES * sizeof(*memo.in));
		if (memo.off && memo.in) {
			memo.cap = MEMO_ENTRIES;
		} else {
			if (memo.off)
				jp_sys_free(memo.off, MEMO_ENTRIES * sizeof(*memo.off));
			if (memo.in)
				jp_sys_free(memo.in, MEMO_ENTRIES * sizeof(*memo.in));
			memo.off = NULL;
			memo.in = NULL;
		}
	}
	jp_insn_memo_reset(&memo, buf, len);
}

static size_t split_gap(const uint8_t *buf, size_t from, size_t to, uint64_t addr, struct jp_span_piece *out,
			size_t n, size_t max_out)
{
	/* Not on the stack (hooks may run on small JIT thread stacks); one
	 * caller at a time, under the engine lock. */
	static struct jp_piece ps[256];

	while (from < to && n < max_out) {
		size_t k = jp_split_memo(buf + from, to - from, addr + from, ps, sizeof(ps) / sizeof(ps[0]), &memo);
		size_t next = to;

		if (k == 0)
			break;
		for (size_t i = 0; i < k && n < max_out; i++, n++) {
			out[n].off = from + ps[i].offset;
			out[n].len = (uint32_t)ps[i].length;
			out[n].gap_after = ps[i].gap_after;
			out[n].flags = (jp_piece_fde_fits(&ps[i]) ? JP_SPAN_FDE_FITS : 0) |
				       ((ps[i].flags & JP_PIECE_DATA) ? JP_SPAN_DATA : 0);
			out[n].known = 0;
		}
		if (k < sizeof(ps) / sizeof(ps[0]))
			break;
		/* More than fit: continue after the last piece. */
		next = from + ps[k - 1].offset + ps[k - 1].length + ps[k - 1].gap_after;
		if (next <= from)
			break;
		from = next;
	}
	return n;
}

size_t jp_describe_split(const uint8_t *buf, size_t len, uint64_t addr, struct jp_span_piece *out, size_t max_out)
{
	size_t n = 0, cur = 0;

	/* Published symbols keep the runtime's own boundaries; the code
	 * between them is split on evidence. */
	for (size_t i = known_lower(addr); i < K.n && K.k[i].addr < addr + len && n < max_out; i++) {
		uint64_t s = K.k[i].addr < addr ? 0 : K.k[i].addr - addr;
		uint64_t e = K.k[i].addr + K.k[i].size - addr;

		if (e > len)
			e = len;
		if (s < cur)
			s = cur;
		if (s >= e)
			continue;
		n = split_gap(buf, cur, (size_t)s, addr, out, n, max_out);
		if (n >= max_out)
			break;
		out[n].off = s;
		out[n].len = (uint32_t)(e - s);
		out[n].gap_after = 0;
		out[n].flags = 0;
		out[n].known = (uint32_t)i + 1;
		n++;
		cur = (size_t)e;
	}
	return split_gap(buf, cur, len, addr, out, n, max_out);
}

int jp_describe_known_overlap(uint64_t addr, uint64_t len)
{
	size_t i = known_lower(addr);

	return i < K.n && K.k[i].addr < addr + len;
}

uint32_t jp_describe_known_hash(const struct jp_span_piece *p)
{
	return p->known && p->known <= K.n ? K.k[p->known - 1].nhash : 0;
}

/* ---- names --------------------------------------------------------------- */

static struct jp_fp_work *fp_work;

/* Hooks may run on a JIT thread's small stack: the fingerprint's working
 * memory is ours (we run under the engine lock). */
static struct jp_fp_work *work(void)
{
	if (!fp_work)
		fp_work = jp_sys_alloc((jp_fp_work_size() + 4095) & ~(size_t)4095);
	return fp_work;
}

/* Duplicate numbering within one pass, in address order, so it is the same
 * from run to run.  Most passes name nothing (a W^X toggle over unchanged
 * code): the table is cleared when a pass first uses it, not at every
 * pass. */
static struct {
	uint64_t key[256];
	uint16_t count[256];
	int used; /* since the last jp_describe_pass */
} dups;

void jp_describe_pass(void)
{
	dups.used = 0;
}

static unsigned dup_index(uint64_t key)
{
	unsigned slot = (unsigned)(key * 0x9e3779b97f4a7c15ull >> 56);

	if (!dups.used) {
		memset(dups.key, 0, sizeof(dups.key));
		dups.used = 1;
	}
	for (unsigned probe = 0; probe < 256; probe++, slot = (slot + 1) & 255) {
		if (dups.key[slot] == key)
			return ++dups.count[slot];
		if (dups.key[slot] == 0) {
			dups.key[slot] = key;
			dups.count[slot] = 1;
			return 1;
		}
	}
	return 1;
}

uint64_t jp_describe_fingerprint(const struct jp_span_piece *p, const uint8_t *code, uint64_t addr, uint64_t *shape)
{
	*shape = 0;
	if ((p->known && p->known <= K.n) || (p->flags & JP_SPAN_DATA))
		return 0;
	return work() ? jp_fingerprint_memo(fp_work, code, p->len, addr, shape, &memo) : 0;
}

uint64_t jp_describe_shape(const struct jp_span_piece *p, const uint8_t *code)
{
	if ((p->known && p->known <= K.n) || (p->flags & JP_SPAN_DATA))
		return 0;
	return work() ? jp_fingerprint_shape_only(fp_work, code, p->len, &memo) : 0;
}

void jp_describe_name(char *buf, size_t size, uint32_t creator, const struct jp_span_piece *p, const uint8_t *code,
		      uint64_t addr, uint32_t *nhash, uint64_t *fp, uint64_t *shape)
{
	const char *cn;
	unsigned d;

	*fp = *shape = 0;
	if (p->known && p->known <= K.n) {
		jp_strlcpy(buf, K.pool + K.k[p->known - 1].name, size);
		*nhash = K.k[p->known - 1].nhash;
		return;
	}
	cn = creator_name(creator);
	if (p->flags & JP_SPAN_DATA) {
		/* Allocator headers and the like: never executed, and a pointer
		 * inside would change the name every run. */
		jp_strlcpy(buf, "jit:", size);
		jp_strlcat(buf, cn, size);
		jp_strlcat(buf, ":stub", size);
		*nhash = 0;
		return;
	}
	*fp = jp_describe_fingerprint(p, code, addr, shape);
	d = dup_index(*fp ^ ((uint64_t)creator << 48) ^ 1);
	if (jp_name_format(buf, size, cn, *fp, d > 1 ? d : 0) < 0)
		jp_strlcpy(buf, "jit:unknown", size);
	*nhash = 0;
}
