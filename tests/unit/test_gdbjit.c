/* test_gdbjit.c - GDB JIT interface: a registered in-memory ELF gives names and ranges; bad lists never fault. */
#include <check.h>
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "gdbjit.h"

#include "../jit/gdbjit_elf.h"

/* The protocol's symbols, defined by "the JIT" -- this test binary.  Not
 * exported (no -rdynamic): jitperf must find them in .symtab. */
struct jit_descriptor __jit_debug_descriptor = { 1, JIT_NOACTION, NULL, NULL };
void __jit_debug_register_code(void);
__attribute__((noinline, used)) void __jit_debug_register_code(void)
{
	__asm__ volatile("" ::: "memory");
}

struct found {
	unsigned n;
	uint64_t addr[16], size[16];
	char name[16][32];
	unsigned entries_seen;
	int skip_all;
};

static int on_sym(void *arg, uint64_t addr, uint64_t size, const char *name)
{
	struct found *f = arg;

	if (f->n < 16) {
		f->addr[f->n] = addr;
		f->size[f->n] = size;
		snprintf(f->name[f->n], sizeof(f->name[0]), "%s", name);
	}
	f->n++;
	return 0;
}

static int on_entry(void *arg, uint64_t symfile_addr, uint64_t symfile_size)
{
	struct found *f = arg;

	f->entries_seen++;
	return f->skip_all;
}

static uint8_t *code_area(void)
{
	uint8_t *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	ck_assert_ptr_ne(p, MAP_FAILED);
	memset(p, 0xc3, 4096);
	return p;
}

START_TEST(test_find_descriptor)
{
	uint64_t d[JP_GDBJIT_MAX_DESC];

	ck_assert_int_eq(jp_gdbjit_find(d, JP_GDBJIT_MAX_DESC), 1);
	ck_assert_uint_eq(d[0], (uint64_t)(uintptr_t)&__jit_debug_descriptor);
	/* cached: the same answer */
	ck_assert_int_eq(jp_gdbjit_find(d, 1), 1);
	ck_assert_uint_eq(d[0], (uint64_t)(uintptr_t)&__jit_debug_descriptor);
	ck_assert_int_eq(jp_gdbjit_find(d, 0), 0);
}
END_TEST

/* A dlopen changes the set of objects: the objects looked at before keep
 * their answer (remembered, not read again), the new one is looked at,
 * and after its dlclose the answer is what it was. */
START_TEST(test_find_after_dlopen)
{
	uint64_t d[JP_GDBJIT_MAX_DESC];
	void *h;

	ck_assert_int_eq(jp_gdbjit_find(d, JP_GDBJIT_MAX_DESC), 1);
	h = dlopen("libz.so.1", RTLD_NOW | RTLD_LOCAL);
	if (!h)
		h = dlopen("libpcre2-8.so.0", RTLD_NOW | RTLD_LOCAL);
	ck_assert_ptr_nonnull(h);
	ck_assert_int_eq(jp_gdbjit_find(d, JP_GDBJIT_MAX_DESC), 1);
	ck_assert_uint_eq(d[0], (uint64_t)(uintptr_t)&__jit_debug_descriptor);
	ck_assert_int_eq(dlclose(h), 0);
	ck_assert_int_eq(jp_gdbjit_find(d, JP_GDBJIT_MAX_DESC), 1);
	ck_assert_uint_eq(d[0], (uint64_t)(uintptr_t)&__jit_debug_descriptor);
}
END_TEST

static void scan_registered(int rel)
{
	uint8_t *code = code_area();
	struct gj_sym syms[2] = {
		{ "jit_fn_alpha", (uint64_t)(uintptr_t)code + 0x40, 0x30 },
		{ "jit_fn_beta", (uint64_t)(uintptr_t)code + 0x100, 0x80 },
	};
	struct jit_code_entry e;
	struct found f;
	size_t size;
	void *img = gj_build_elf(syms, 2, (uint64_t)(uintptr_t)code, 4096, rel, &size);

	ck_assert_ptr_nonnull(img);
	gj_register(&__jit_debug_descriptor, __jit_debug_register_code, &e, img, size);
	memset(&f, 0, sizeof(f));
	ck_assert_int_eq(jp_gdbjit_scan(on_entry, on_sym, &f), 1);
	ck_assert_uint_eq(f.entries_seen, 1);
	ck_assert_uint_eq(f.n, 2);
	ck_assert_str_eq(f.name[0], "jit_fn_alpha");
	ck_assert_uint_eq(f.addr[0], syms[0].addr);
	ck_assert_uint_eq(f.size[0], 0x30);
	ck_assert_str_eq(f.name[1], "jit_fn_beta");
	ck_assert_uint_eq(f.addr[1], syms[1].addr);
	ck_assert_uint_eq(f.size[1], 0x80);

	/* an entry the caller already knows is not read again */
	memset(&f, 0, sizeof(f));
	f.skip_all = 1;
	ck_assert_int_eq(jp_gdbjit_scan(on_entry, on_sym, &f), 1);
	ck_assert_uint_eq(f.n, 0);

	gj_unregister(&__jit_debug_descriptor, __jit_debug_register_code, &e);
	memset(&f, 0, sizeof(f));
	ck_assert_int_eq(jp_gdbjit_scan(NULL, on_sym, &f), 0);
	ck_assert_uint_eq(f.n, 0);
	free(img);
	munmap(code, 4096);
}

START_TEST(test_scan_relocatable_object)
{
	scan_registered(1);
}
END_TEST

START_TEST(test_scan_executable_object)
{
	scan_registered(0);
}
END_TEST

/* several objects, newest first, and sizes guessed when a JIT omits them */
START_TEST(test_two_objects_and_size_guess)
{
	uint8_t *code = code_area();
	struct gj_sym s1[1] = { { "first", (uint64_t)(uintptr_t)code + 0x10, 0x10 } };
	struct gj_sym s2[2] = { { "second_a", (uint64_t)(uintptr_t)code + 0x200, 0 },
				{ "second_b", (uint64_t)(uintptr_t)code + 0x280, 0 } };
	struct jit_code_entry e1, e2;
	struct found f;
	size_t z1, z2;
	void *i1 = gj_build_elf(s1, 1, (uint64_t)(uintptr_t)code, 4096, 1, &z1);
	void *i2 = gj_build_elf(s2, 2, (uint64_t)(uintptr_t)code + 0x200, 0x100, 1, &z2);

	gj_register(&__jit_debug_descriptor, __jit_debug_register_code, &e1, i1, z1);
	gj_register(&__jit_debug_descriptor, __jit_debug_register_code, &e2, i2, z2);
	memset(&f, 0, sizeof(f));
	ck_assert_int_eq(jp_gdbjit_scan(NULL, on_sym, &f), 2);
	ck_assert_uint_eq(f.n, 3);
	ck_assert_str_eq(f.name[0], "second_a");
	ck_assert_uint_eq(f.size[0], 0x80);      /* up to second_b */
	ck_assert_str_eq(f.name[1], "second_b");
	ck_assert_uint_eq(f.size[1], 0x80);      /* up to the section's end */
	ck_assert_str_eq(f.name[2], "first");
	gj_unregister(&__jit_debug_descriptor, __jit_debug_register_code, &e2);
	gj_unregister(&__jit_debug_descriptor, __jit_debug_register_code, &e1);
	free(i1);
	free(i2);
	munmap(code, 4096);
}
END_TEST

/* jp_gdbjit_scan_changed walks a list again only when a (un)registration
 * changed the descriptor, including an entry re-registered in place with
 * another object */
START_TEST(test_scan_only_when_changed)
{
	uint8_t *code = code_area();
	struct gj_sym s1[1] = { { "one", (uint64_t)(uintptr_t)code + 0x10, 0x10 } };
	struct gj_sym s2[1] = { { "two", (uint64_t)(uintptr_t)code + 0x40, 0x10 } };
	uint64_t desc = (uint64_t)(uintptr_t)&__jit_debug_descriptor, sig[JP_GDBJIT_SIG_WORDS] = { 0 };
	struct jit_code_entry e1, e2;
	struct found f;
	size_t z1, z2;
	void *i1 = gj_build_elf(s1, 1, (uint64_t)(uintptr_t)code, 4096, 1, &z1);
	void *i2 = gj_build_elf(s2, 1, (uint64_t)(uintptr_t)code, 4096, 1, &z2);

	memset(&f, 0, sizeof(f));
	gj_register(&__jit_debug_descriptor, __jit_debug_register_code, &e1, i1, z1);
	ck_assert_int_eq(jp_gdbjit_scan_changed(desc, sig, on_entry, on_sym, &f), 1);
	ck_assert_uint_eq(f.entries_seen, 1);
	ck_assert_uint_eq(f.n, 1);
	/* nothing registered since: no walk */
	ck_assert_int_eq(jp_gdbjit_scan_changed(desc, sig, on_entry, on_sym, &f), 0);
	ck_assert_uint_eq(f.entries_seen, 1);
	gj_register(&__jit_debug_descriptor, __jit_debug_register_code, &e2, i2, z2);
	ck_assert_int_eq(jp_gdbjit_scan_changed(desc, sig, on_entry, on_sym, &f), 2);
	ck_assert_uint_eq(f.entries_seen, 3);
	ck_assert_uint_eq(f.n, 3);
	ck_assert_int_eq(jp_gdbjit_scan_changed(desc, sig, on_entry, on_sym, &f), 0);
	/* e2 removed, then registered again in the same place with e1's object */
	gj_unregister(&__jit_debug_descriptor, __jit_debug_register_code, &e2);
	ck_assert_int_eq(jp_gdbjit_scan_changed(desc, sig, on_entry, on_sym, &f), 1);
	ck_assert_int_eq(jp_gdbjit_scan_changed(desc, sig, on_entry, on_sym, &f), 0);
	gj_register(&__jit_debug_descriptor, __jit_debug_register_code, &e2, i1, z1);
	ck_assert_int_eq(jp_gdbjit_scan_changed(desc, sig, on_entry, on_sym, &f), 2);
	ck_assert_uint_eq(f.entries_seen, 6);
	gj_unregister(&__jit_debug_descriptor, __jit_debug_register_code, &e2);
	gj_unregister(&__jit_debug_descriptor, __jit_debug_register_code, &e1);
	/* an empty list reads as a change too, then as none */
	ck_assert_int_eq(jp_gdbjit_scan_changed(desc, sig, on_entry, on_sym, &f), 0);
	ck_assert_uint_eq(f.entries_seen, 6);
	free(i1);
	free(i2);
	munmap(code, 4096);
}
END_TEST

/* a list edited or freed under us: unreadable objects and links, loops,
 * absurd sizes -- skipped or stopped, never a fault */
START_TEST(test_hostile_lists)
{
	uint8_t *code = code_area();
	struct gj_sym s[1] = { { "ok", (uint64_t)(uintptr_t)code + 0x10, 0x10 } };
	struct jit_code_entry *e;
	struct jit_descriptor d = { 1, 0, NULL, NULL };
	struct found f;
	size_t z;
	void *img = gj_build_elf(s, 1, (uint64_t)(uintptr_t)code, 4096, 1, &z);
	uint8_t *gone = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	ck_assert_ptr_ne(gone, MAP_FAILED);
	munmap(gone, 8192);
	e = calloc(4, sizeof(*e));
	ck_assert_ptr_nonnull(e);
	/* 0: object unmapped; 1: absurd size; 2: fine; 3: next is unmapped */
	e[0] = (struct jit_code_entry){ &e[1], NULL, (const char *)gone, 4096 };
	e[1] = (struct jit_code_entry){ &e[2], &e[0], img, (uint64_t)1 << 40 };
	e[2] = (struct jit_code_entry){ &e[3], &e[1], img, z };
	e[3] = (struct jit_code_entry){ (struct jit_code_entry *)gone, &e[2], img, z };
	d.first_entry = &e[0];
	memset(&f, 0, sizeof(f));
	ck_assert_int_eq(jp_gdbjit_scan_descriptor((uint64_t)(uintptr_t)&d, NULL, on_sym, &f), 4);
	ck_assert_uint_eq(f.n, 2);
	ck_assert_str_eq(f.name[0], "ok");

	/* a loop: the back link check ends it */
	e[3].next_entry = &e[1];
	memset(&f, 0, sizeof(f));
	ck_assert_int_le(jp_gdbjit_scan_descriptor((uint64_t)(uintptr_t)&d, NULL, on_sym, &f), 5);
	/* a loop without back links: the walk bound ends it */
	e[0].prev_entry = e[1].prev_entry = e[2].prev_entry = e[3].prev_entry = NULL;
	e[0].symfile_addr = NULL;
	e[2].symfile_addr = NULL;
	e[3].symfile_addr = NULL;
	ck_assert_int_eq(jp_gdbjit_scan_descriptor((uint64_t)(uintptr_t)&d, NULL, NULL, NULL),
			 (int)JP_GDBJIT_MAX_ENTRIES);

	/* bad descriptors */
	d.version = 2;
	ck_assert_int_eq(jp_gdbjit_scan_descriptor((uint64_t)(uintptr_t)&d, NULL, on_sym, &f),
			 -EINVAL);
	ck_assert_int_eq(jp_gdbjit_scan_descriptor((uint64_t)(uintptr_t)gone, NULL, on_sym, &f),
			 -EFAULT);
	ck_assert_int_eq(jp_gdbjit_scan_descriptor(0, NULL, on_sym, &f), -EFAULT);
	free(e);
	free(img);
	munmap(code, 4096);
}
END_TEST

static int count_only(void *arg, uint64_t addr, uint64_t size, const char *name)
{
	(*(unsigned *)arg) += (unsigned)strlen(name) > 0;
	return 0;
}

/* mutated images: the parser stays in bounds (ASan checks the reads) */
START_TEST(test_mutated_images)
{
	struct gj_sym s[3] = { { "a", 0x10000, 0x10 }, { "bb", 0x10010, 0 }, { "ccc", 0x10100, 8 } };
	size_t z, i;
	uint8_t *img = gj_build_elf(s, 3, 0x10000, 0x1000, 1, &z);
	uint8_t *m = malloc(z);
	uint64_t x = 88172645463325252ull;
	unsigned n = 0;

	ck_assert_ptr_nonnull(m);
	ck_assert_int_eq(jp_gdbjit_parse_object(img, z, count_only, &n), 0);
	ck_assert_uint_eq(n, 3);
	for (i = 0; i < 20000; i++) {
		unsigned k, flips = 1 + (unsigned)(i % 4);

		memcpy(m, img, z);
		for (k = 0; k < flips; k++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			m[(x >> 8) % z] = (uint8_t)x;
		}
		jp_gdbjit_parse_object(m, z, count_only, &n);
		/* and every truncation */
		jp_gdbjit_parse_object(m, (size_t)(x % z), count_only, &n);
	}
	ck_assert_int_eq(jp_gdbjit_parse_object(img, 10, count_only, &n), -EINVAL);
	ck_assert_int_eq(jp_gdbjit_parse_object(NULL, 0, count_only, &n), -EINVAL);
	free(m);
	free(img);
}
END_TEST

Suite *make_gdbjit_suite(void)
{
	Suite *s = suite_create("gdbjit");
	TCase *t = tcase_create("core");

	tcase_add_test(t, test_find_descriptor);
	tcase_add_test(t, test_find_after_dlopen);
	tcase_add_test(t, test_scan_relocatable_object);
	tcase_add_test(t, test_scan_executable_object);
	tcase_add_test(t, test_two_objects_and_size_guess);
	tcase_add_test(t, test_hostile_lists);
	tcase_add_test(t, test_scan_only_when_changed);
	tcase_add_test(t, test_mutated_images);
	tcase_set_timeout(t, 60);
	suite_add_tcase(s, t);
	return s;
}
