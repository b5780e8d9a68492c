/* test_mozjs.c - SpiderMonkey's code named from its JitcodeGlobalTable: a
 * fake context, runtime, JitRuntime and skip list of entries laid out as
 * mozjs 102 lays them out; baseline code by its label, Ion code by the
 * script it embeds or that enters it; what is not readable or not an
 * entry yields no name, never a fault. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "mozjs.h"

#define FAKE_BASE 0x7f0000000000ull
#define FAKE_SIZE (1u << 20)
#define CODE_BASE 0x5000000000ull /* code: read through its own reader */
#define CODE_SIZE (64u << 10)

static unsigned char mem[FAKE_SIZE], code[CODE_SIZE];
static uint64_t brk_at;

/* [addr, addr + len) of the window [base, base + size) held in at. */
static ssize_t window_read(const unsigned char *at, uint64_t base, size_t size, uint64_t addr, void *buf, size_t len)
{
	if (addr < base || addr >= base + size)
		return -EFAULT;
	if (len > base + size - addr)
		len = (size_t)(base + size - addr);
	memcpy(buf, at + (addr - base), len);
	return (ssize_t)len;
}

static ssize_t fake_read(void *ctx, uint64_t addr, void *buf, size_t len)
{
	(void)ctx;
	return window_read(mem, FAKE_BASE, FAKE_SIZE, addr, buf, len);
}

static ssize_t code_read(void *ctx, uint64_t addr, void *buf, size_t len)
{
	(void)ctx;
	return window_read(code, CODE_BASE, CODE_SIZE, addr, buf, len);
}

static uint64_t alloc(size_t n)
{
	uint64_t at = brk_at;

	brk_at += (n + 15) & ~(size_t)15;
	ck_assert_uint_le(brk_at, FAKE_BASE + FAKE_SIZE);
	return at;
}

static void put64(uint64_t addr, uint64_t v)
{
	memcpy(mem + (addr - FAKE_BASE), &v, 8);
}

static uint64_t put_str(const char *s)
{
	uint64_t at = alloc(strlen(s) + 1);

	memcpy(mem + (at - FAKE_BASE), s, strlen(s) + 1);
	return at;
}

struct fake {
	uint64_t cx, table, last_tower;
	int last_height;
};

/* A context whose runtime's JitRuntime has an empty table. */
static void fake_init(struct fake *f)
{
	uint64_t rt, jit;

	memset(mem, 0, sizeof(mem));
	memset(code, 0xcc, sizeof(code));
	brk_at = FAKE_BASE + 64;
	f->cx = alloc(0x100);
	rt = alloc(0x500);
	jit = alloc(0x210);
	f->table = alloc(JP_MOZJS_TABLE_TOWER + 8 * JP_MOZJS_LEVELS);
	put64(f->cx + JP_MOZJS_CX_RUNTIME, rt);
	put64(rt + JP_MOZJS_RT_JIT, jit);
	put64(jit + JP_MOZJS_JIT_TABLE, f->table);
	f->last_tower = 0;
}

/* Append an entry (in address order) of the given height to the skip list. */
static uint64_t add_entry(struct fake *f, uint64_t start, uint64_t end, unsigned kind, uint64_t script, uint64_t label,
			  int height)
{
	uint64_t e = alloc(JP_MOZJS_E_SIZE), tower = alloc(JP_MOZJS_TOWER_NEXT + 8 * JP_MOZJS_LEVELS);

	put64(e + JP_MOZJS_E_TOWER, tower);
	put64(e + 0x08, 0x1234000); /* its JitCode* */
	put64(e + JP_MOZJS_E_START, start);
	put64(e + JP_MOZJS_E_END, end);
	put64(e + 0x20, UINT64_MAX);
	mem[e + JP_MOZJS_E_KIND - FAKE_BASE] = (unsigned char)(0x80 | kind); /* the bit above is another field */
	put64(e + JP_MOZJS_E_SCRIPT, script);
	put64(e + JP_MOZJS_E_LABEL, label);
	/* Link it at every level of its height after the last entry that
	 * reaches that level (the table's start tower when none). */
	for (int lvl = 0; lvl < height; lvl++) {
		uint64_t base = f->table + JP_MOZJS_TABLE_TOWER;

		for (uint64_t x; (x = *(uint64_t *)(mem + (base + 8u * (unsigned)lvl - FAKE_BASE)));)
			base = *(uint64_t *)(mem + (x + JP_MOZJS_E_TOWER - FAKE_BASE)) + JP_MOZJS_TOWER_NEXT;
		put64(base + 8u * (unsigned)lvl, e);
	}
	return e;
}

/* A script: its first word is where a call enters it. */
static uint64_t add_script(uint64_t entry)
{
	uint64_t s = alloc(0x40);

	put64(s + JP_MOZJS_SCRIPT_CODE, entry);
	return s;
}

/* Ion code at off that embeds script n times (mov rax/r11, imm64). */
static void embed(size_t off, uint64_t script, int n)
{
	for (int i = 0; i < n; i++) {
		code[off + 20 * (size_t)i] = i % 2 ? 0x49 : 0x48;
		code[off + 20 * (size_t)i + 1] = i % 2 ? 0xbb : 0xb8;
		memcpy(code + off + 20 * (size_t)i + 2, &script, 8);
	}
}

struct seen {
	int n;
	uint64_t addr[16], size[16];
	char name[16][JP_MOZJS_NAME];
};

static void record(void *arg, uint64_t addr, uint64_t size, const char *name)
{
	struct seen *s = arg;

	ck_assert_int_lt(s->n, 16);
	s->addr[s->n] = addr;
	s->size[s->n] = size;
	snprintf(s->name[s->n], sizeof(s->name[0]), "%s", name);
	s->n++;
}

static struct jp_mozjs m;

START_TEST(baseline_ion_and_the_interpreter_are_named)
{
	struct fake f;
	struct seen s = { 0 };
	uint64_t fib, mm, top, other;

	fake_init(&f);
	ck_assert_int_eq(jp_mozjs_init(&m, fake_read, NULL, f.cx), 0);
	fib = add_script(CODE_BASE + 0x100);
	mm = add_script(CODE_BASE + 0x2000);
	top = add_script(CODE_BASE + 0x3010); /* entered in its Ion code */
	other = alloc(0x40); /* a heap pointer that is no script */
	add_entry(&f, CODE_BASE + 0x0, CODE_BASE + 0x80, JP_MOZJS_INTERPRETER, 0, 0, 3);
	add_entry(&f, CODE_BASE + 0x100, CODE_BASE + 0x300, JP_MOZJS_BASELINE, fib, put_str("fib (app.js:10:12)"), 1);
	add_entry(&f, CODE_BASE + 0x400, CODE_BASE + 0x600, JP_MOZJS_BASELINE, mm, put_str("matmul (app.js:27:15)"), 2);
	add_entry(&f, CODE_BASE + 0x800, CODE_BASE + 0x900, JP_MOZJS_BASELINE, top, put_str("/srv/app.js"), 1);
	/* Ion code of matmul with fib inlined (matmul embedded more often),
	 * of the top-level script (no script embedded, but entered there),
	 * and a stub (neither). */
	embed(0x1000, fib, 1);
	embed(0x1040, other, 3);
	embed(0x1100, mm, 2);
	add_entry(&f, CODE_BASE + 0x1000, CODE_BASE + 0x1200, JP_MOZJS_DUMMY, 0, 0, 4);
	add_entry(&f, CODE_BASE + 0x3000, CODE_BASE + 0x3100, JP_MOZJS_DUMMY, 0, 0, 1);
	add_entry(&f, CODE_BASE + 0x4000, CODE_BASE + 0x4040, JP_MOZJS_DUMMY, 0, 0, 2);
	m.read_code = code_read;
	ck_assert_int_eq(jp_mozjs_code_in(&m, CODE_BASE, CODE_BASE + CODE_SIZE, record, &s), 6);
	ck_assert_str_eq(s.name[0], "JS:(baseline interpreter)");
	ck_assert_str_eq(s.name[1], "JS:fib (app.js:10:12)");
	ck_assert_uint_eq(s.addr[1], CODE_BASE + 0x100);
	ck_assert_uint_eq(s.size[1], 0x200);
	ck_assert_str_eq(s.name[2], "JS:matmul (app.js:27:15)");
	ck_assert_str_eq(s.name[3], "JS:/srv/app.js");
	ck_assert_str_eq(s.name[4], "JS:matmul (app.js:27:15)"); /* the Ion code: one name for both tiers */
	ck_assert_uint_eq(s.addr[4], CODE_BASE + 0x1000);
	ck_assert_str_eq(s.name[5], "JS:/srv/app.js");
	ck_assert_uint_eq(s.addr[5], CODE_BASE + 0x3000);
	/* Only what overlaps the range asked for, found down the levels. */
	memset(&s, 0, sizeof(s));
	ck_assert_int_eq(jp_mozjs_code_in(&m, CODE_BASE + 0x500, CODE_BASE + 0x1001, record, &s), 3);
	ck_assert_str_eq(s.name[0], "JS:matmul (app.js:27:15)");
	ck_assert_uint_eq(s.addr[2], CODE_BASE + 0x1000);
	/* The stub: one table walk for it, then none. */
	memset(&s, 0, sizeof(s));
	{
		unsigned long walks = m.walks;

		ck_assert_int_eq(jp_mozjs_code_in(&m, CODE_BASE + 0x4000, CODE_BASE + 0x4040, record, &s), 0);
		ck_assert_int_eq(jp_mozjs_code_in(&m, CODE_BASE + 0x4000, CODE_BASE + 0x4040, record, &s), 0);
		ck_assert_uint_eq(m.walks, walks); /* the first call's walk found it to be no script's */
	}
}
END_TEST

START_TEST(ion_code_of_a_script_seen_later_is_named_after_a_walk)
{
	struct fake f;
	struct seen s = { 0 };
	uint64_t w;

	fake_init(&f);
	memset(&m, 0, sizeof(m));
	ck_assert_int_eq(jp_mozjs_init(&m, fake_read, NULL, f.cx), 0);
	m.read_code = code_read;
	w = add_script(CODE_BASE + 0x100);
	add_entry(&f, CODE_BASE + 0x100, CODE_BASE + 0x200, JP_MOZJS_BASELINE, w, put_str("words (app.js:48:14)"), 1);
	embed(0x2000, w, 1);
	add_entry(&f, CODE_BASE + 0x2000, CODE_BASE + 0x2100, JP_MOZJS_DUMMY, 0, 0, 1);
	/* Asked for the Ion code alone: its script's label is learned by
	 * walking the whole table. */
	ck_assert_int_eq(jp_mozjs_code_in(&m, CODE_BASE + 0x2000, CODE_BASE + 0x2100, record, &s), 1);
	ck_assert_str_eq(s.name[0], "JS:words (app.js:48:14)");
	ck_assert_uint_eq(m.walks, 1);
}
END_TEST

START_TEST(what_is_not_an_entry_names_nothing)
{
	struct fake f;
	struct seen s = { 0 };
	uint64_t sc, e;

	fake_init(&f);
	memset(&m, 0, sizeof(m));
	/* No JIT yet, then a table. */
	{
		uint64_t rt;

		memcpy(&rt, mem + (f.cx + JP_MOZJS_CX_RUNTIME - FAKE_BASE), 8);
		put64(rt + JP_MOZJS_RT_JIT, 0);
		ck_assert_int_eq(jp_mozjs_init(&m, fake_read, NULL, f.cx), -EAGAIN);
		ck_assert_int_eq(jp_mozjs_code_in(&m, CODE_BASE, CODE_BASE + 0x1000, record, &s), 0);
		fake_init(&f);
	}
	ck_assert_int_eq(jp_mozjs_init(&m, fake_read, NULL, FAKE_BASE + FAKE_SIZE), -EFAULT);
	ck_assert_int_eq(jp_mozjs_init(&m, fake_read, NULL, f.cx), 0);
	m.read_code = code_read;
	sc = add_script(0);
	/* A label that is not text, one that cannot be read, then an unknown
	 * kind, which ends the walk. */
	add_entry(&f, CODE_BASE + 0x100, CODE_BASE + 0x200, JP_MOZJS_BASELINE, sc, put_str("bad\x01label"), 1);
	add_entry(&f, CODE_BASE + 0x300, CODE_BASE + 0x400, JP_MOZJS_BASELINE, sc, 0x10, 1);
	add_entry(&f, CODE_BASE + 0x500, CODE_BASE + 0x600, 6, sc, put_str("x (a.js:1:1)"), 1);
	ck_assert_int_eq(jp_mozjs_code_in(&m, CODE_BASE, CODE_BASE + 0x1000, record, &s), 0);
	/* Entries out of address order end the walk (a table being changed). */
	fake_init(&f);
	ck_assert_int_eq(jp_mozjs_init(&m, fake_read, NULL, f.cx), 0);
	sc = add_script(0);
	add_entry(&f, CODE_BASE + 0x500, CODE_BASE + 0x600, JP_MOZJS_BASELINE, sc, put_str("b (a.js:2:1)"), 1);
	e = add_entry(&f, CODE_BASE + 0x700, CODE_BASE + 0x800, JP_MOZJS_BASELINE, sc, put_str("c (a.js:3:1)"), 1);
	put64(e + JP_MOZJS_E_START, CODE_BASE + 0x100);
	memset(&s, 0, sizeof(s));
	ck_assert_int_eq(jp_mozjs_code_in(&m, CODE_BASE, CODE_BASE + 0x1000, record, &s), 1);
	ck_assert_str_eq(s.name[0], "JS:b (a.js:2:1)");
}
END_TEST

START_TEST(the_layout_is_believed_only_from_the_library_s_code)
{
	/* The loads JS::GetProfiledFrames makes in mozjs 102, in order, with
	 * other instructions between them. */
	static const unsigned char good[] = {
		0x41, 0x55,                                     /* push r13 */
		0x48, 0x8b, 0x86, 0xc8, 0x00, 0x00, 0x00,       /* mov rax,[rsi+0xc8] */
		0x48, 0x89, 0xd6,                               /* mov rsi,rdx */
		0x48, 0x8b, 0x80, 0xe8, 0x04, 0x00, 0x00,       /* mov rax,[rax+0x4e8] */
		0x48, 0x8b, 0xb8, 0x00, 0x02, 0x00, 0x00,       /* mov rdi,[rax+0x200] */
		0x0f, 0xb6, 0x40, 0x28,                         /* movzx eax,byte [rax+0x28] */
		0x83, 0xe0, 0x7f,                               /* and eax,0x7f */
		0x48, 0x8b, 0x45, 0x38,                         /* mov rax,[rbp+0x38] */
		0xc3,
	};
	unsigned char bad[sizeof(good)];

	ck_assert_int_eq(jp_mozjs_layout_check(good, sizeof(good)), 0);
	/* The runtime's JIT somewhere else: another build. */
	memcpy(bad, good, sizeof(good));
	bad[15] = 0xf0;
	ck_assert_int_eq(jp_mozjs_layout_check(bad, sizeof(bad)), -ENOENT);
	ck_assert_int_eq(jp_mozjs_layout_check(good, 20), -ENOENT);
}
END_TEST

Suite *make_mozjs_suite(void)
{
	Suite *s = suite_create("mozjs");
	TCase *tc = tcase_create("mozjs");

	tcase_add_test(tc, baseline_ion_and_the_interpreter_are_named);
	tcase_add_test(tc, ion_code_of_a_script_seen_later_is_named_after_a_walk);
	tcase_add_test(tc, what_is_not_an_entry_names_nothing);
	tcase_add_test(tc, the_layout_is_believed_only_from_the_library_s_code);
	suite_add_tcase(s, tc);
	return s;
}
