/* test_jd_describe.c - a description after the run (JITPERF_DESCRIBE=after)
 * writes what describing in the program writes.
 *
 * Each test runs a small "program" twice over the same fake memory: once
 * describing as it goes (jp_reconcile into a dump, as lib/capture.c does
 * with JITPERF_DESCRIBE=now), once recording what it read and would have
 * asked (lib/deferlog.h) and describing that afterwards (lib/jd_describe.c).
 * The two dumps' LOAD, MOVE and unwinding records must be the same bytes. */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "budget.h"
#include "creator.h"
#include "deferlog.h"
#include "jd_describe.h"
#include "jd_format.h"
#include "jd_read.h"
#include "known.h"
#include "output.h"
#include "reconcile.h"
#include "region.h"

#define BASE 0x7f0000100000ull
#define SIZE (64u * 1024u)
#define PID 4242

static uint8_t mem[SIZE]; /* the fake program's memory at BASE */

/* ---- the fake program --------------------------------------------------- */

struct program {
	int defer;               /* record for after the run instead of describing */
	struct jp_config cfg;
	struct jp_output out;
	struct jp_regions regs;
	struct jp_reconciler rc;
	int fd;                  /* the dump */
};

static ssize_t mem_read(void *ctx, uint64_t addr, void *dst, size_t len)
{
	(void)ctx;
	if (addr < BASE || addr >= BASE + SIZE)
		return -1;
	if (addr + len > BASE + SIZE)
		len = BASE + SIZE - addr;
	memcpy(dst, mem + (addr - BASE), len);
	return (ssize_t)len;
}

/* The fake program's dump header. */
static struct jd_header header(void)
{
	struct jd_header h;

	memset(&h, 0, sizeof(h));
	h.magic = JD_MAGIC;
	h.version = JD_VERSION;
	h.total_size = sizeof(h);
	h.elf_mach = JD_ELF_MACH_X86_64;
	h.pid = PID;
	h.timestamp = 1000;
	return h;
}

static void start(struct program *p, int defer)
{
	struct jd_header h = header();

	memset(p, 0, sizeof(*p));
	p->defer = defer;
	p->fd = memfd_create("dump", 0);
	ck_assert_int_ge(p->fd, 0);
	ck_assert_int_eq(write(p->fd, &h, sizeof(h)), (ssize_t)sizeof(h));
	p->cfg.jitdump = 1;
	p->out.cfg = &p->cfg;
	p->out.pid = PID;
	ck_assert_int_eq(jp_dump_adopt(&p->out.dump, dup(p->fd), PID, sizeof(h)), 0);
	p->out.dump_state = JP_OUT_OPEN;
	ck_assert_int_eq(jp_reconciler_init(&p->rc, NULL, JP_RECONCILE_CHUNK, JP_RECONCILE_MAX_PIECES), 0);
	jp_output_sink(&p->out, &p->rc.sink);
	p->rc.sink.read = mem_read;
	p->rc.fde = 1;
	jp_known_reset();
	jp_budget_reset();
}

/* A region [BASE + off, BASE + off + len) made by creator. */
static size_t map(struct program *p, uint64_t off, uint64_t len, const char *creator, uint64_t now)
{
	long i = jp_regions_insert(&p->regs, BASE + off, BASE + off + len, JP_RK_ANON);

	ck_assert_int_ge(i, 0);
	p->regs.r[i].exec = 1;
	p->regs.r[i].creator = jp_creator_register_named(creator);
	p->regs.r[i].last_event_ts = now;
	return (size_t)i;
}

/* A pass over [a, b) of region i, as lib/capture.c makes it. */
static void pass(struct program *p, size_t i, uint64_t a, uint64_t b, uint64_t now)
{
	struct jp_region *r = &p->regs.r[i];
	uint64_t ts_new = r->last_scan_ts ? r->last_scan_ts + 1 : r->last_event_ts + 1;

	if (p->defer) {
		jp_deferlog_pages(&p->out, jp_creator_id_name(r->creator), a, mem + (a - BASE), b - a, now);
		jp_deferlog_capture(&p->out, JD_JP_CAPTURE, r, jp_creator_id_name(r->creator), a, b, now, ts_new,
				    JD_JP_F_FDE | JD_JP_F_BUDGET);
	} else {
		jp_budget_begin(jp_creator_id_name(r->creator));
		jp_reconcile(&p->rc, r, a, b, now, ts_new);
		jp_budget_end();
	}
	r->last_scan_ts = now;
}

static void unmap(struct program *p, size_t i, uint64_t now)
{
	if (p->defer)
		jp_deferlog_span(&p->out, JD_JP_FORGET, p->regs.r[i].start, p->regs.r[i].end, now);
	jp_regions_delete(&p->regs, i);
}

/* mremap of region i by delta, as lib/mapcalls.c's move_region does it:
 * each piece gets a MOVE, the region goes along, the memory too. */
static size_t move(struct program *p, size_t i, uint64_t delta, uint64_t now)
{
	struct jp_region *r = &p->regs.r[i];
	uint64_t start = r->start, end = r->end;
	long k;

	if (p->defer)
		jp_deferlog_move(&p->out, start, end, start + delta, end + delta, end - start, now);
	else
		for (uint32_t j = 0; j < r->nd; j++)
			jp_output_move(&p->out, r->d[j].index, r->d[j].addr, r->d[j].addr + delta, r->d[j].len, now);
	k = jp_regions_move(&p->regs, i, start + delta, end + delta, end - start);
	ck_assert_int_ge(k, 0);
	memmove(mem + (start + delta - BASE), mem + (start - BASE), end - start);
	memset(mem + (start - BASE), 0xcc, delta < end - start ? delta : end - start);
	p->regs.r[k].last_event_ts = now;
	p->regs.r[k].last_scan_ts = now;
	return (size_t)k;
}

static void publish(struct program *p, uint64_t addr, uint64_t size, const char *name, uint32_t flags,
		    uint64_t now)
{
	if (p->defer)
		jp_deferlog_known(&p->out, addr, size, name, flags, now);
	ck_assert_int_eq(jp_known_add_flags(addr, size, name, flags), 1);
}

/* buf[0, *len) described after the run: the new dump replaces it. */
static char *described(char *buf, size_t *len, struct jp_jd_describe_stats *st)
{
	char err[256] = "";
	int fd = memfd_create("described", 0);
	off_t m;

	ck_assert_int_ge(fd, 0);
	ck_assert_msg(jp_jd_describe(buf, *len, dup(fd), st, err, sizeof(err)) == 0, "%s", err);
	free(buf);
	m = lseek(fd, 0, SEEK_END);
	buf = malloc((size_t)m);
	ck_assert_int_eq(pread(fd, buf, (size_t)m, 0), m);
	close(fd);
	*len = (size_t)m;
	return buf;
}

/* The dump as it ends: described after the run when deferred. */
static char *finish(struct program *p, size_t *len)
{
	char *buf;
	off_t n;

	jp_output_close(&p->out);
	jp_regions_clear(&p->regs);
	n = lseek(p->fd, 0, SEEK_END);
	ck_assert_int_gt(n, 0);
	buf = malloc((size_t)n);
	ck_assert_int_eq(pread(p->fd, buf, (size_t)n, 0), n);
	close(p->fd);
	*len = (size_t)n;
	if (p->defer) {
		struct jp_jd_describe_stats st;

		buf = described(buf, len, &st);
		ck_assert_uint_gt(st.captures, 0);
	}
	return buf;
}

/* The records perf turns into symbols, one after the other. */
static size_t records(const char *buf, size_t len, char *out, size_t cap, unsigned *loads, unsigned *moves)
{
	struct jp_jdr r;
	struct jp_jdr_rec rec;
	size_t n = 0;

	*loads = *moves = 0;
	ck_assert_int_eq(jp_jdr_open(&r, buf, len), 0);
	while (jp_jdr_next(&r, &rec) > 0) {
		if (rec.id != JD_CODE_LOAD && rec.id != JD_CODE_MOVE && rec.id != JD_CODE_UNWINDING_INFO)
			continue;
		*loads += rec.id == JD_CODE_LOAD;
		*moves += rec.id == JD_CODE_MOVE;
		ck_assert_uint_le(n + rec.total_size, cap);
		memcpy(out + n, rec.raw, rec.total_size);
		n += rec.total_size;
	}
	return n;
}

typedef void (*scenario_fn)(struct program *p);

/* Run the scenario both ways; the records must be the same bytes.
 * Returns the number of LOADs. */
static unsigned both_ways(scenario_fn run, unsigned *moves_out)
{
	static char a[1 << 20], b[1 << 20];
	struct program now, after;
	size_t la, lb, na, nb;
	unsigned loads_a, loads_b, moves_a, moves_b;
	char *da, *db;

	memset(mem, 0xcc, sizeof(mem));
	start(&now, 0);
	run(&now);
	da = finish(&now, &la);
	memset(mem, 0xcc, sizeof(mem));
	start(&after, 1);
	run(&after);
	db = finish(&after, &lb);
	na = records(da, la, a, sizeof(a), &loads_a, &moves_a);
	nb = records(db, lb, b, sizeof(b), &loads_b, &moves_b);
	ck_assert_uint_eq(loads_a, loads_b);
	ck_assert_uint_eq(moves_a, moves_b);
	ck_assert_uint_eq(na, nb);
	ck_assert_msg(memcmp(a, b, na) == 0, "the description after the run differs from the one made while it ran");
	free(da);
	free(db);
	if (moves_out)
		*moves_out = moves_a;
	return loads_a;
}

/* ---- code to put in memory ---------------------------------------------- */

/* A small function returning k, with a frame. */
static size_t put_fn(size_t off, uint32_t k)
{
	static const uint8_t f[] = { 0x55, 0x48, 0x89, 0xe5, 0xb8, 0, 0, 0, 0, 0x48, 0x83, 0xc0, 0x01,
				     0x48, 0x01, 0xc0, 0x5d, 0xc3 };

	memcpy(mem + off, f, sizeof(f));
	memcpy(mem + off + 5, &k, 4);
	return off + sizeof(f);
}

/* ---- scenarios ----------------------------------------------------------- */

/* Code written in three passes; the second rewrites a function in place. */
static void written_and_rewritten(struct program *p)
{
	size_t i = map(p, 0, SIZE, "testjit", 100);

	for (uint32_t k = 0; k < 8; k++)
		put_fn(64u * k, k);
	pass(p, i, BASE, BASE + 4096, 200);
	for (uint32_t k = 0; k < 4; k++)
		put_fn(4096 + 64u * k, 100 + k);
	put_fn(64, 77); /* another function where one was */
	pass(p, i, BASE, BASE + 8192, 300);
	put_fn(8192 - 32, 5); /* runs into the next page */
	put_fn(8192 + 32, 6);
	pass(p, i, BASE + 4096, BASE + 12288, 400);
}

START_TEST(replay_writes_what_describing_writes)
{
	ck_assert_uint_ge(both_ways(written_and_rewritten, NULL), 12);
}
END_TEST

/* Two pages of testjit's, two functions written in the first. */
static size_t two_functions(struct program *p)
{
	size_t i = map(p, 0, 8192, "testjit", 100);

	put_fn(0, 1);
	put_fn(64, 2);
	return i;
}

/* A region unmapped and mapped again with other code: new code, not code
 * rewritten, both ways. */
static void unmapped_and_reused(struct program *p)
{
	size_t i = two_functions(p);

	pass(p, i, BASE, BASE + 4096, 200);
	unmap(p, i, 250);
	memset(mem, 0xcc, 8192);
	i = map(p, 0, 8192, "otherjit", 300);
	put_fn(0, 9);
	put_fn(128, 10);
	pass(p, i, BASE, BASE + 4096, 400);
}

/* Code moved by mremap: MOVEs, no new LOAD for it; then new code there. */
static void moved(struct program *p)
{
	size_t i = two_functions(p);

	put_fn(4096 + 16, 3);
	pass(p, i, BASE, BASE + 8192, 200);
	i = move(p, i, 16384, 300); /* mremap never overlaps source and destination */
	put_fn(16384 + 256, 4);
	pass(p, i, BASE + 16384, BASE + 16384 + 8192, 400);
}

START_TEST(replay_moves_what_mremap_moved)
{
	unsigned moves = 0;

	ck_assert_uint_ge(both_ways(moved, &moves), 4);
	ck_assert_uint_eq(moves, 3);
}
END_TEST

START_TEST(replay_forgets_unmapped_regions)
{
	ck_assert_uint_ge(both_ways(unmapped_and_reused, NULL), 4);
}
END_TEST

/* A name the program publishes (a runtime's perf map) names its piece. */
static void published(struct program *p)
{
	size_t i = two_functions(p);

	publish(p, BASE + 64, 18, "lua:work.lua:12 loop", 0, 150);
	pass(p, i, BASE, BASE + 4096, 200);
}

/* A published name whose piece gets the empty unwinding table (HotSpot's
 * on-stack-replacement methods): the flag travels in the KNOWN record, so
 * the description after the run writes the same empty table. */
static void published_without_unwinding(struct program *p)
{
	size_t i = two_functions(p);

	publish(p, BASE, 18, "int W.loop(int)", JP_KNOWN_NO_UNWIND, 150);
	publish(p, BASE + 64, 18, "int W.run(int)", 0, 150);
	pass(p, i, BASE, BASE + 4096, 200);
}

START_TEST(replay_keeps_a_published_name_s_flags)
{
	struct program p;
	size_t len;
	char *d;

	/* byte for byte the same LOADs and unwinding records both ways */
	ck_assert_uint_ge(both_ways(published_without_unwinding, NULL), 2);
	/* and the describer's table has the flag from the KNOWN record */
	memset(mem, 0xcc, sizeof(mem));
	jp_known_reset();
	start(&p, 1);
	published_without_unwinding(&p);
	jp_known_reset();
	d = finish(&p, &len);
	ck_assert_uint_eq(jp_known_flags(jp_known_lower(BASE)), JP_KNOWN_NO_UNWIND);
	ck_assert_uint_eq(jp_known_flags(jp_known_lower(BASE + 64)), 0);
	free(d);
}
END_TEST

START_TEST(replay_uses_published_names)
{
	struct program p;
	struct jp_jdr r;
	struct jp_jdr_rec rec;
	size_t len;
	char *d;
	int named = 0;

	ck_assert_uint_ge(both_ways(published, NULL), 2);
	memset(mem, 0xcc, sizeof(mem));
	start(&p, 1);
	published(&p);
	d = finish(&p, &len);
	ck_assert_int_eq(jp_jdr_open(&r, d, len), 0);
	while (jp_jdr_next(&r, &rec) > 0)
		named |= rec.id == JD_CODE_LOAD && strstr(rec.u.load.name, "work.lua:12") != NULL;
	ck_assert(named);
	free(d);
}
END_TEST

/* A creator recorded first, then described in the program (it recorded
 * too much, lib/deferlog.h): one dump with both kinds; described, every
 * LOAD has its own code index, and the MOVE follows its LOAD's new one. */
START_TEST(replay_keeps_what_the_program_described)
{
	struct program p;
	struct jp_jdr r;
	struct jp_jdr_rec rec;
	uint64_t seen[16], moved_index = UINT64_MAX, own_index = UINT64_MAX;
	unsigned n = 0;
	size_t i, len;
	char *d;

	memset(mem, 0xcc, sizeof(mem));
	start(&p, 1);
	i = two_functions(&p);
	pass(&p, i, BASE, BASE + 4096, 200);
	/* From here on the program describes this region itself. */
	p.defer = 0;
	put_fn(128, 3);
	pass(&p, i, BASE, BASE + 4096, 300);
	i = move(&p, i, 16384, 400); /* its own MOVEs, of its own indexes */
	d = finish(&p, &len);
	/* finish() described nothing: the dump is the program's; describe it. */
	{
		struct jp_jd_describe_stats st;

		d = described(d, &len, &st);
		ck_assert_uint_ge(st.kept, 2);
		ck_assert_uint_eq(st.dropped, 0);
	}
	ck_assert_int_eq(jp_jdr_open(&r, d, len), 0);
	while (jp_jdr_next(&r, &rec) > 0) {
		if (rec.id == JD_CODE_LOAD) {
			for (unsigned k = 0; k < n; k++)
				ck_assert_uint_ne(seen[k], rec.u.load.code_index);
			ck_assert_uint_lt(n, 16);
			seen[n++] = rec.u.load.code_index;
			if (rec.u.load.code_addr == BASE + 128)
				own_index = rec.u.load.code_index;
		}
		if (rec.id == JD_CODE_MOVE && rec.u.move.old_code_addr == BASE + 128)
			moved_index = rec.u.move.code_index;
	}
	ck_assert_uint_ge(n, 3);
	ck_assert_uint_ne(own_index, UINT64_MAX);
	ck_assert_uint_eq(moved_index, own_index);
	free(d);
}
END_TEST

/* ---- what is not a record to describe ----------------------------------- */

static int describe_buf(const void *buf, size_t len, char *err, size_t errsz)
{
	struct jp_jd_describe_stats st;
	int fd = memfd_create("out", 0), rc;

	ck_assert_int_ge(fd, 0);
	rc = jp_jd_describe(buf, len, fd, &st, err, errsz);
	if (rc == 1)
		close(fd);
	return rc;
}

/* A dump of the program's own: header, a CAPTURE record given by raw. */
static size_t dump_with(char *out, const void *raw, size_t n)
{
	struct jd_header h = header();

	memcpy(out, &h, sizeof(h));
	memcpy(out + sizeof(h), raw, n);
	return sizeof(h) + n;
}

START_TEST(nothing_to_describe_is_left_alone)
{
	char buf[256], err[256] = "";
	struct jd_code_close c;

	memset(&c, 0, sizeof(c));
	c.p.id = JD_CODE_CLOSE;
	c.p.total_size = sizeof(c);
	ck_assert_int_eq(describe_buf(buf, dump_with(buf, &c, sizeof(c)), err, sizeof(err)), 1);
	ck_assert_int_eq(describe_buf("not a dump at all, not even close....", 38, err, sizeof(err)), -EBADMSG);
}
END_TEST

START_TEST(contradictions_are_errors)
{
	struct {
		struct jd_jp_capture h;
		char name[8];
	} c;
	char buf[512], err[256] = "";

	memset(&c, 0, sizeof(c));
	c.h.p.id = JD_JP_CAPTURE;
	c.h.p.total_size = sizeof(c);
	c.h.start = BASE;
	c.h.end = BASE + 4096;
	c.h.a = BASE + 4096; /* the span to reconcile is empty */
	c.h.b = BASE;
	c.h.creator_len = 5;
	memcpy(c.name, "test", 5);
	ck_assert_int_eq(describe_buf(buf, dump_with(buf, &c, sizeof(c)), err, sizeof(err)), -EBADMSG);
	ck_assert_ptr_nonnull(strstr(err, "contradicts itself"));

	c.h.a = BASE;
	c.h.b = BASE + 4096;
	c.h.creator_len = 9; /* the name runs past the record */
	ck_assert_int_eq(describe_buf(buf, dump_with(buf, &c, sizeof(c)), err, sizeof(err)), -EBADMSG);

	{
		struct jd_jp_pages pg;

		memset(&pg, 0, sizeof(pg));
		pg.p.id = JD_JP_PAGES;
		pg.p.total_size = sizeof(pg);
		pg.addr = BASE;
		pg.len = 4096; /* more bytes than the record holds */
		ck_assert_int_eq(describe_buf(buf, dump_with(buf, &pg, sizeof(pg)), err, sizeof(err)), -EBADMSG);
		ck_assert_ptr_nonnull(strstr(err, "longer than its bytes"));
	}
}
END_TEST

/* A DROP whose span ends near the top of the address space: the walk over
 * its pages must end (it once wrapped to page 0 and went on forever). */
START_TEST(a_drop_at_the_top_of_memory_ends)
{
	struct {
		struct jd_jp_pages pg;
		uint8_t bytes[64];
		struct jd_jp_span drop;
	} r;
	char buf[512], err[256] = "";

	memset(&r, 0, sizeof(r));
	r.pg.p.id = JD_JP_PAGES;
	r.pg.p.total_size = sizeof(r.pg) + sizeof(r.bytes);
	r.pg.addr = BASE;
	r.pg.len = sizeof(r.bytes);
	r.drop.p.id = JD_JP_DROP;
	r.drop.p.total_size = sizeof(r.drop);
	r.drop.start = UINT64_MAX - 2 * 4096 + 2;
	r.drop.end = UINT64_MAX;
	ck_assert_int_eq(describe_buf(buf, dump_with(buf, &r, sizeof(r)), err, sizeof(err)), 0);
	r.drop.start = 0;
	ck_assert_int_eq(describe_buf(buf, dump_with(buf, &r, sizeof(r)), err, sizeof(err)), 0);
}
END_TEST

Suite *make_jd_describe_suite(void)
{
	Suite *s = suite_create("jd_describe");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, replay_writes_what_describing_writes);
	tcase_add_test(tc, replay_forgets_unmapped_regions);
	tcase_add_test(tc, replay_moves_what_mremap_moved);
	tcase_add_test(tc, replay_keeps_what_the_program_described);
	tcase_add_test(tc, replay_uses_published_names);
	tcase_add_test(tc, replay_keeps_a_published_name_s_flags);
	tcase_add_test(tc, nothing_to_describe_is_left_alone);
	tcase_add_test(tc, contradictions_are_errors);
	tcase_add_test(tc, a_drop_at_the_top_of_memory_ends);
	suite_add_tcase(s, tc);
	return s;
}
