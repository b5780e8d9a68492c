/* test_v8.c - V8's optimised functions named from its postmortem constants:
 * a fake V8 heap (maps, InstructionStreams in a code space, Code objects,
 * deoptimisation data, SharedFunctionInfos, ScopeInfos, strings, scripts)
 * laid out as node 20 lays it out; what is not an optimised function of a
 * named script, or cannot be read, yields no name, never a fault. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "v8.h"

/* ---- a fake address space ---- */

#define FAKE_BASE 0x7f0000000000ull
#define FAKE_SIZE (2u << 20)
#define CODE_SPACE (FAKE_BASE + (1u << 20)) /* the second half: code */

struct fake {
	unsigned long reads;
	unsigned char *mem;
	uint64_t brk, code_brk;
	uint64_t hole_start, hole_end; /* reads stop at an unreadable page there */
};

static ssize_t fake_read(void *ctx, uint64_t addr, void *buf, size_t len)
{
	struct fake *f = ctx;
	uint64_t end = FAKE_BASE + FAKE_SIZE;

	f->reads++;
	if (addr < FAKE_BASE || addr >= end || (addr >= f->hole_start && addr < f->hole_end))
		return -EFAULT;
	if (len > end - addr)
		len = (size_t)(end - addr);
	if (addr < f->hole_start && addr + len > f->hole_start)
		len = (size_t)(f->hole_start - addr);
	memcpy(buf, f->mem + (addr - FAKE_BASE), len);
	return (ssize_t)len;
}

static void *at(struct fake *f, uint64_t addr)
{
	ck_assert_uint_ge(addr, FAKE_BASE);
	ck_assert_uint_lt(addr, FAKE_BASE + FAKE_SIZE);
	return f->mem + (addr - FAKE_BASE);
}

static void w64(struct fake *f, uint64_t addr, uint64_t v) { memcpy(at(f, addr), &v, 8); }
static void w32(struct fake *f, uint64_t addr, uint32_t v) { memcpy(at(f, addr), &v, 4); }
static void w16(struct fake *f, uint64_t addr, uint16_t v) { memcpy(at(f, addr), &v, 2); }

/* node 20's constants (v8dbg_*, read on this machine). */
static const int32_t node20[JP_V8_NCONSTS] = {
	[JP_V8_TAGGED_SIZE] = 8, [JP_V8_HEAP_TAG] = 1, [JP_V8_HEAP_TAG_MASK] = 3, [JP_V8_SMI_TAG_MASK] = 1,
	[JP_V8_SMI_SHIFT] = 31, [JP_V8_OFF_MAP] = 0, [JP_V8_OFF_ITYPE] = 12, [JP_V8_IS_START] = 16,
	[JP_V8_CODE_DEOPT] = 16, [JP_V8_KIND_MASK] = 15, [JP_V8_KIND_SHIFT] = 0, [JP_V8_KIND_BASELINE] = 11,
	[JP_V8_FA_LENGTH] = 8, [JP_V8_FA_DATA] = 16, [JP_V8_DEOPT_SFI] = 6, [JP_V8_SFI_NAME] = 16,
	[JP_V8_SFI_SCRIPT] = 32, [JP_V8_SCRIPT_NAME] = 16, [JP_V8_SI_NLOCALS] = 2, [JP_V8_SI_FIRST] = 3,
	[JP_V8_STR_LENGTH] = 12, [JP_V8_STR_CHARS] = 16, [JP_V8_FIRST_NONSTRING] = 128, [JP_V8_STR_ENC_MASK] = 8,
	[JP_V8_ONE_BYTE_TAG] = 8, [JP_V8_STR_REPR_MASK] = 7, [JP_V8_SEQ_TAG] = 0, [JP_V8_T_IS] = 252,
	[JP_V8_T_CODE] = 245, [JP_V8_T_FIXED_ARRAY] = 175, [JP_V8_T_SFI] = 262, [JP_V8_T_SCOPE_INFO] = 261,
	[JP_V8_T_SCRIPT] = 167,
};

enum { T_ONE_BYTE_INTERNALIZED = 8, T_TWO_BYTE_INTERNALIZED = 0, T_CONS_ONE_BYTE = 41, T_ODDBALL = 131 };
enum { KIND_BASELINE = 11, KIND_TURBOFAN = 13 };

struct heap {
	struct fake f;
	uint64_t is_map, code_map, fa_map, sfi_map, si_map, script_map, str_map, str2_map, cons_map, odd_map;
	uint64_t undefined;
};

static uint64_t tag(uint64_t a) { return a + 1; }
static uint64_t smi(int64_t v) { return (uint64_t)v << 32; }

static uint64_t alloc(struct heap *h, size_t size)
{
	uint64_t a = (h->f.brk + 7) & ~7ull;

	ck_assert_uint_le(a + size, CODE_SPACE);
	h->f.brk = a + size;
	return a;
}

static uint64_t map_of(struct heap *h, uint16_t itype)
{
	uint64_t m = alloc(h, 80);

	w16(&h->f, m + 12, itype);
	return tag(m);
}

static uint64_t object(struct heap *h, uint64_t map, size_t size)
{
	uint64_t a = alloc(h, size);

	w64(&h->f, a, map);
	return a;
}

static uint64_t string_of(struct heap *h, uint64_t map, const char *s)
{
	uint64_t a = object(h, map, 16 + strlen(s) + 8);

	w32(&h->f, a + 12, (uint32_t)strlen(s));
	memcpy(at(&h->f, a + 16), s, strlen(s));
	return tag(a);
}

static uint64_t str(struct heap *h, const char *s)
{
	return string_of(h, h->str_map, s);
}

static void heap_init(struct heap *h)
{
	memset(h, 0, sizeof(*h));
	h->f.mem = calloc(1, FAKE_SIZE);
	ck_assert_ptr_nonnull(h->f.mem);
	h->f.brk = FAKE_BASE + 64;
	h->f.code_brk = CODE_SPACE;
	h->is_map = map_of(h, 252);
	h->code_map = map_of(h, 245);
	h->fa_map = map_of(h, 175);
	h->sfi_map = map_of(h, 262);
	h->si_map = map_of(h, 261);
	h->script_map = map_of(h, 167);
	h->str_map = map_of(h, T_ONE_BYTE_INTERNALIZED);
	h->str2_map = map_of(h, T_TWO_BYTE_INTERNALIZED);
	h->cons_map = map_of(h, T_CONS_ONE_BYTE);
	h->odd_map = map_of(h, T_ODDBALL);
	h->undefined = tag(object(h, h->odd_map, 48));
}

static uint64_t script(struct heap *h, uint64_t name)
{
	uint64_t s = object(h, h->script_map, 104);

	w64(&h->f, s + 16, name);
	return tag(s);
}

/* A ScopeInfo: nlocals context locals, then what follows them (Smis and
 * objects, as given: tail[i] is written as is). */
static uint64_t scope_info(struct heap *h, int nlocals, const uint64_t *tail, size_t ntail)
{
	uint64_t s = object(h, h->si_map, 8 * (4 + 2 * (size_t)nlocals + ntail + 4));
	size_t i = 1;

	w64(&h->f, s + 8 * i++, smi(94658)); /* flags */
	w64(&h->f, s + 8 * i++, smi(1));     /* parameters */
	w64(&h->f, s + 8 * i++, smi(nlocals));
	for (int k = 0; k < nlocals; k++)
		w64(&h->f, s + 8 * i++, str(h, "local"));
	for (int k = 0; k < nlocals; k++)
		w64(&h->f, s + 8 * i++, smi(k));
	for (size_t k = 0; k < ntail; k++)
		w64(&h->f, s + 8 * i++, tail[k]);
	return tag(s);
}

/* The usual ScopeInfo of a function named name (node 20: the function
 * variable's name and slot, the inferred name, the position). */
static uint64_t named_scope(struct heap *h, const char *name, int nlocals)
{
	uint64_t tail[] = { str(h, name), smi(-1), h->undefined, smi(12), smi(63), h->undefined };

	return scope_info(h, nlocals, tail, 6);
}

static uint64_t sfi(struct heap *h, uint64_t name_or_scope, uint64_t scr)
{
	uint64_t s = object(h, h->sfi_map, 56);

	w64(&h->f, s + 16, name_or_scope);
	w64(&h->f, s + 32, scr);
	return tag(s);
}

/* A Code object for the instructions at x (tagged), its deopt data
 * pointing at shared (0: none). */
static uint64_t code_object(struct heap *h, uint32_t kind, uint64_t shared, uint64_t x, uint32_t size)
{
	uint64_t code = object(h, h->code_map, 128), dd = object(h, h->fa_map, 16 + 8 * 8);

	w64(&h->f, code + 16, tag(dd));
	w64(&h->f, code + 32, tag(x - 16));
	w64(&h->f, code + 40, x);
	w32(&h->f, code + 48, 0xffff0000u | kind);
	w32(&h->f, code + 56, size);
	w64(&h->f, dd + 8, smi(shared ? 8 : 0));
	w64(&h->f, dd + 16 + 8 * 6, shared);
	return tag(code);
}

/* An InstructionStream in the code space and its Code object: the
 * function's first instruction. */
static uint64_t function(struct heap *h, uint32_t kind, uint64_t shared, uint32_t size)
{
	uint64_t hdr = ((h->f.code_brk + 16 + 63) & ~63ull) - 16, x = hdr + 16;
	uint64_t code = code_object(h, kind, shared, x, size) - 1;

	ck_assert_uint_le(x + size + 64, FAKE_BASE + FAKE_SIZE);
	w64(&h->f, hdr, h->is_map);
	w64(&h->f, hdr + 8, tag(code));
	memset(at(&h->f, x), 0xcc, size);
	h->f.code_brk = x + size + 32; /* metadata after the instructions */
	return x;
}

struct seen {
	unsigned n;
	uint64_t addr[512], size[512];
	char name[512][JP_V8_NAME];
};

static void found(void *arg, uint64_t addr, uint64_t size, const char *name)
{
	struct seen *s = arg;

	ck_assert_uint_lt(s->n, 512);
	ck_assert_uint_lt(strlen(name), JP_V8_NAME);
	s->addr[s->n] = addr;
	s->size[s->n] = size;
	snprintf(s->name[s->n], JP_V8_NAME, "%s", name);
	s->n++;
}

static void init(struct jp_v8 *v, struct heap *h)
{
	char why[128] = "";

	ck_assert_int_eq(jp_v8_init(v, fake_read, &h->f, node20, why, sizeof(why)), 0);
}

static struct jp_v8 v8; /* 350 KB: not on the stack */

START_TEST(optimised_functions_get_v8_s_names)
{
	struct heap h;
	struct seen s = { 0 };
	uint64_t work, fib, anon, inferred, bare, locals, base, evald, many, moved;

	heap_init(&h);
	work = script(&h, str(&h, "/srv/app/work.js"));
	/* junk before the first function: words that look tagged */
	for (uint64_t a = CODE_SPACE; a < CODE_SPACE + 256; a += 8)
		w64(&h.f, a, tag(FAKE_BASE + a % 4096));
	h.f.code_brk = CODE_SPACE + 256;
	base = function(&h, KIND_BASELINE, sfi(&h, named_scope(&h, "fib", 0), work), 300);
	fib = function(&h, KIND_TURBOFAN, sfi(&h, named_scope(&h, "fib", 0), work), 384);
	{ /* anonymous: an empty name; its position tells it apart */
		uint64_t tail[] = { str(&h, ""), smi(-1), h.undefined, smi(412), smi(500) };

		anon = function(&h, KIND_TURBOFAN, sfi(&h, scope_info(&h, 0, tail, 5), work), 200);
	}
	{ /* no function variable: the inferred name */
		uint64_t tail[] = { str(&h, "obj.method"), smi(30), smi(90) };

		inferred = function(&h, KIND_TURBOFAN, sfi(&h, scope_info(&h, 0, tail, 3), work), 100);
	}
	{ /* neither: anonymous, its position */
		uint64_t tail[] = { h.undefined, smi(30), smi(90) };

		bare = function(&h, KIND_TURBOFAN, sfi(&h, scope_info(&h, 0, tail, 3), work), 100);
	}
	locals = function(&h, KIND_TURBOFAN, sfi(&h, named_scope(&h, "withLocals", 3), work), 640);
	/* a name without a ScopeInfo (a SharedFunctionInfo not compiled with one) */
	moved = function(&h, KIND_TURBOFAN, sfi(&h, str(&h, "plain"), work), 96);
	/* new Function: its script has no name */
	evald = function(&h, KIND_TURBOFAN, sfi(&h, named_scope(&h, "anonymous", 0), script(&h, h.undefined)), 150);
	/* more context locals than V8 keeps in the ScopeInfo itself */
	many = function(&h, KIND_TURBOFAN, sfi(&h, named_scope(&h, "huge", 80), work), 150);

	init(&v8, &h);
	ck_assert_int_eq(jp_v8_functions_in(&v8, CODE_SPACE, h.f.code_brk, found, &s), 6);
	ck_assert_uint_eq(s.addr[0], fib);
	ck_assert_uint_eq(s.size[0], 384);
	ck_assert_str_eq(s.name[0], "JS:fib /srv/app/work.js");
	ck_assert_uint_eq(s.addr[1], anon);
	ck_assert_str_eq(s.name[1], "JS:(anonymous) /srv/app/work.js@412");
	ck_assert_uint_eq(s.addr[2], inferred);
	ck_assert_str_eq(s.name[2], "JS:obj.method /srv/app/work.js");
	ck_assert_uint_eq(s.addr[3], bare);
	ck_assert_str_eq(s.name[3], "JS:(anonymous) /srv/app/work.js@30");
	ck_assert_uint_eq(s.addr[4], locals);
	ck_assert_uint_eq(s.size[4], 640);
	ck_assert_str_eq(s.name[4], "JS:withLocals /srv/app/work.js");
	ck_assert_uint_eq(s.addr[5], moved);
	ck_assert_str_eq(s.name[5], "JS:plain /srv/app/work.js");
	(void)base;
	(void)evald;
	(void)many;
	free(h.f.mem);
}
END_TEST

/* A range that starts inside a function, ends inside another, and spans
 * more than one window: every function whose header lies in it, once. */
START_TEST(every_function_once_across_windows)
{
	struct heap h;
	struct seen s = { 0 };
	uint64_t work, first = 0, x[300];
	char name[32];

	heap_init(&h);
	work = script(&h, str(&h, "w.js"));
	for (int i = 0; i < 300; i++) {
		snprintf(name, sizeof(name), "f%d", i);
		x[i] = function(&h, i % 7 ? KIND_TURBOFAN : KIND_BASELINE, sfi(&h, named_scope(&h, name, i % 3), work),
				(uint32_t)(200 + 37 * (i % 19)));
		if (!first)
			first = x[i];
	}
	init(&v8, &h);
	/* from the middle of function 10 to the middle of function 290 */
	ck_assert_int_gt(jp_v8_functions_in(&v8, x[10] + 40, x[290] + 40, found, &s), 0);
	for (unsigned k = 0, i = 11; i <= 290; i++) {
		if (i % 7 == 0)
			continue;
		snprintf(name, sizeof(name), "JS:f%u w.js", i);
		ck_assert_uint_lt(k, s.n);
		ck_assert_uint_eq(s.addr[k], x[i]);
		ck_assert_str_eq(s.name[k], name);
		k++;
		if (i == 290)
			ck_assert_uint_eq(k, s.n);
	}
	(void)first;
	free(h.f.mem);
}
END_TEST

START_TEST(names_are_kept_per_function)
{
	struct heap h;
	struct seen s = { 0 };
	uint64_t work, shared, x;
	unsigned long first;

	heap_init(&h);
	work = script(&h, str(&h, "w.js"));
	shared = sfi(&h, named_scope(&h, "hot", 0), work);
	x = function(&h, KIND_TURBOFAN, shared, 128);
	(void)function(&h, KIND_TURBOFAN, shared, 128); /* optimised again: the same function */
	init(&v8, &h);
	h.f.reads = 0;
	ck_assert_int_eq(jp_v8_functions_in(&v8, CODE_SPACE, h.f.code_brk, found, &s), 2);
	first = h.f.reads;
	ck_assert_str_eq(s.name[0], "JS:hot w.js");
	ck_assert_str_eq(s.name[1], "JS:hot w.js");
	h.f.reads = 0;
	ck_assert_int_eq(jp_v8_functions_in(&v8, CODE_SPACE, h.f.code_brk, found, &s), 2);
	ck_assert_uint_lt(h.f.reads, first);
	/* The code at x replaced by another function's: a new Code object,
	 * and the SharedFunctionInfo's address reused for that function,
	 * whose other ScopeInfo gives the other name. */
	w64(&h.f, shared - 1 + 16, named_scope(&h, "other", 0));
	w64(&h.f, x - 8, code_object(&h, KIND_TURBOFAN, shared, x, 128));
	ck_assert_int_eq(jp_v8_functions_in(&v8, x - 16, x + 1, found, &s), 1);
	ck_assert_str_eq(s.name[4], "JS:other w.js");
	/* the same Code, other first instructions: looked at again */
	w64(&h.f, shared - 1 + 16, named_scope(&h, "third", 0));
	w64(&h.f, x, 0x9090909090909090ull);
	ck_assert_int_eq(jp_v8_functions_in(&v8, x - 16, x + 1, found, &s), 1);
	ck_assert_str_eq(s.name[5], "JS:third w.js");
	/* nothing changed: the same verdict, no look at the heap */
	h.f.reads = 0;
	ck_assert_int_eq(jp_v8_functions_in(&v8, x - 16, x + 1, found, &s), 1);
	ck_assert_str_eq(s.name[6], "JS:third w.js");
	ck_assert_uint_eq(h.f.reads, 1); /* the code's window */
	free(h.f.mem);
}
END_TEST

START_TEST(what_is_not_believed)
{
	struct heap h;
	struct seen s = { 0 };
	uint64_t work, good, wrong_start, zero, huge, two_byte, control, cons, code;

	heap_init(&h);
	work = script(&h, str(&h, "w.js"));
	good = function(&h, KIND_TURBOFAN, sfi(&h, named_scope(&h, "good", 0), work), 64);
	wrong_start = function(&h, KIND_TURBOFAN, sfi(&h, named_scope(&h, "moved", 0), work), 64);
	code = *(uint64_t *)at(&h.f, wrong_start - 8) - 1;
	w64(&h.f, code + 40, wrong_start + 64); /* not this function's Code */
	zero = function(&h, KIND_TURBOFAN, sfi(&h, named_scope(&h, "empty", 0), work), 64);
	code = *(uint64_t *)at(&h.f, zero - 8) - 1;
	w32(&h.f, code + 56, 0);
	huge = function(&h, KIND_TURBOFAN, sfi(&h, named_scope(&h, "huge", 0), work), 64);
	code = *(uint64_t *)at(&h.f, huge - 8) - 1;
	w32(&h.f, code + 56, 64u << 20);
	{
		uint64_t tail[] = { string_of(&h, h.str2_map, "two"), smi(-1), h.undefined, smi(1), smi(2) };

		two_byte = function(&h, KIND_TURBOFAN, sfi(&h, scope_info(&h, 0, tail, 5), work), 64);
	}
	control = function(&h, KIND_TURBOFAN, sfi(&h, named_scope(&h, "bad\nname", 0), work), 64);
	{
		uint64_t tail[] = { string_of(&h, h.cons_map, "cons"), smi(-1), h.undefined, smi(1), smi(2) };

		cons = function(&h, KIND_TURBOFAN, sfi(&h, scope_info(&h, 0, tail, 5), work), 64);
	}
	(void)function(&h, KIND_TURBOFAN, 0, 64); /* deopt data without a function */
	init(&v8, &h);
	ck_assert_int_eq(jp_v8_functions_in(&v8, CODE_SPACE, h.f.code_brk, found, &s), 4);
	ck_assert_uint_eq(s.addr[0], good);
	ck_assert_str_eq(s.name[0], "JS:good w.js");
	/* a name not read (two bytes a character, not flat, control
	 * characters) is no name: the function is told apart by its
	 * position, as an anonymous one */
	ck_assert_uint_eq(s.addr[1], two_byte);
	ck_assert_str_eq(s.name[1], "JS:(anonymous) w.js@1");
	ck_assert_uint_eq(s.addr[2], control);
	ck_assert_str_eq(s.name[2], "JS:(anonymous) w.js@12");
	ck_assert_uint_eq(s.addr[3], cons);
	ck_assert_str_eq(s.name[3], "JS:(anonymous) w.js@1");
	free(h.f.mem);
}
END_TEST

START_TEST(long_names_are_cut)
{
	struct heap h;
	struct seen s = { 0 };
	char fn[181], path[181];

	heap_init(&h);
	memset(fn, 'f', sizeof(fn) - 1);
	fn[sizeof(fn) - 1] = 0;
	memset(path, 'p', sizeof(path) - 1);
	path[0] = '/';
	path[sizeof(path) - 1] = 0;
	(void)function(&h, KIND_TURBOFAN, sfi(&h, named_scope(&h, fn, 0), script(&h, str(&h, path))), 64);
	init(&v8, &h);
	ck_assert_int_eq(jp_v8_functions_in(&v8, CODE_SPACE, h.f.code_brk, found, &s), 1);
	ck_assert_uint_eq(strlen(s.name[0]), JP_V8_NAME - 1);
	ck_assert_int_eq(strncmp(s.name[0], "JS:fff", 6), 0);
	ck_assert_int_eq(s.name[0][3 + 180], ' ');
	ck_assert_int_eq(s.name[0][3 + 181], '/');
	free(h.f.mem);
}
END_TEST

START_TEST(other_heaps_are_refused)
{
	int32_t c[JP_V8_NCONSTS];
	char why[128] = "";

	memcpy(c, node20, sizeof(c));
	c[JP_V8_TAGGED_SIZE] = 4; /* pointer compression */
	c[JP_V8_SMI_SHIFT] = 0;
	ck_assert_int_eq(jp_v8_init(&v8, fake_read, NULL, c, why, sizeof(why)), -ENOTSUP);
	ck_assert_ptr_nonnull(strstr(why, "pointer compression"));
	memcpy(c, node20, sizeof(c));
	c[JP_V8_IS_START] = 64;
	ck_assert_int_eq(jp_v8_init(&v8, fake_read, NULL, c, why, sizeof(why)), -ENOTSUP);
	memcpy(c, node20, sizeof(c));
	c[JP_V8_CODE_DEOPT] = 4096;
	ck_assert_int_eq(jp_v8_init(&v8, fake_read, NULL, c, why, sizeof(why)), -ENOTSUP);
}
END_TEST

/* Unreadable pages, garbage and random bytes: no fault, no name that was
 * not put there. */
START_TEST(hostile_memory)
{
	struct heap h;
	struct seen s = { 0 };
	uint64_t work, x;
	unsigned seed = 12345;

	heap_init(&h);
	work = script(&h, str(&h, "w.js"));
	x = function(&h, KIND_TURBOFAN, sfi(&h, named_scope(&h, "ok", 0), work), 5000);
	init(&v8, &h);
	/* the page after the function's header unreadable: the scan goes on
	 * past it */
	h.f.hole_start = (x + 4096) & ~4095ull;
	h.f.hole_end = h.f.hole_start + 4096;
	ck_assert_int_eq(jp_v8_functions_in(&v8, CODE_SPACE, h.f.code_brk, found, &s), 1);
	ck_assert_str_eq(s.name[0], "JS:ok w.js");
	h.f.hole_start = h.f.hole_end = 0;
	ck_assert_int_eq(jp_v8_functions_in(&v8, 8, 16, found, &s), 0); /* below the header */
	ck_assert_int_eq(jp_v8_functions_in(&v8, CODE_SPACE + 64, CODE_SPACE, found, &s), 0);
	for (int round = 0; round < 100; round++) {
		s.n = 0;
		for (size_t i = 0; i < FAKE_SIZE; i += 4) {
			uint32_t w;

			seed = seed * 1103515245u + 12345u;
			/* mostly tagged-looking words into the fake space */
			if (round % 3)
				w = i % 8 ? (uint32_t)(FAKE_BASE >> 32) : ((seed & 0x1ffff8u) | 1u);
			else
				w = seed;
			memcpy(h.f.mem + i, &w, 4);
		}
		init(&v8, &h);
		(void)jp_v8_functions_in(&v8, FAKE_BASE + 16, FAKE_BASE + FAKE_SIZE, found, &s);
	}
	free(h.f.mem);
}
END_TEST

Suite *make_v8_suite(void)
{
	Suite *s = suite_create("v8");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, optimised_functions_get_v8_s_names);
	tcase_add_test(tc, every_function_once_across_windows);
	tcase_add_test(tc, names_are_kept_per_function);
	tcase_add_test(tc, what_is_not_believed);
	tcase_add_test(tc, long_names_are_cut);
	tcase_add_test(tc, other_heaps_are_refused);
	tcase_add_test(tc, hostile_memory);
	suite_add_tcase(s, tc);
	return s;
}
