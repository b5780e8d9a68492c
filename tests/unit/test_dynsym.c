/* test_dynsym.c - exported symbols of loaded objects, read in place: they
 * agree with the loader's own lookup, and a corrupt hash table yields
 * -ENOENT, never a read outside the object. */
#include <check.h>
#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "dynsym.h"

static int is_libc(const char *name, const struct jp_dynobj *o, void *arg)
{
	(void)o;
	(void)arg;
	return strstr(name, "/libc.so.6") != NULL;
}

static int exports(const char *name, const struct jp_dynobj *o, void *arg)
{
	uint64_t v;

	(void)name;
	return jp_dynobj_lookup(o, arg, &v) == 0;
}

static int nothing(const char *name, const struct jp_dynobj *o, void *arg)
{
	(void)name;
	(void)o;
	(void)arg;
	return 0;
}

START_TEST(lookups_agree_with_the_loader)
{
	/* no IFUNCs: dlsym gives their resolver's choice, the table the resolver */
	static const char *const names[] = { "malloc", "fopen", "dl_iterate_phdr", "environ", "qsort" };
	struct jp_dynobj libc;
	uint64_t v;

	ck_assert_int_eq(jp_dynobj_find(&libc, is_libc, NULL), 0);
	ck_assert_int_eq(libc.main_prog, 0);
	ck_assert_uint_gt(libc.nseg, 1);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		void *h = dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD);

		ck_assert_ptr_nonnull(h);
		ck_assert_int_eq(jp_dynobj_lookup(&libc, names[i], &v), 0);
		ck_assert_msg(v == (uint64_t)(uintptr_t)dlsym(h, names[i]), "%s", names[i]);
		dlclose(h);
	}
	ck_assert_int_eq(jp_dynobj_lookup(&libc, "no_such_symbol_here", &v), -ENOENT);
	ck_assert_int_eq(jp_dynobj_lookup(&libc, "", &v), -ENOENT);
}
END_TEST

START_TEST(objects_are_found_by_what_they_export)
{
	struct jp_dynobj o;
	uint64_t v;

	/* the object exporting dlopen is libc (glibc 2.34 and later) */
	ck_assert_int_eq(jp_dynobj_find(&o, exports, "dl_iterate_phdr"), 0);
	ck_assert_int_eq(jp_dynobj_lookup(&o, "dl_iterate_phdr", &v), 0);
	ck_assert_int_eq(jp_dynobj_find(&o, nothing, NULL), -ENOENT);
	ck_assert_uint_eq(o.nseg, 0);
	ck_assert_int_eq(jp_dynobj_lookup(&o, "malloc", &v), -ENOENT);
}
END_TEST

/* A fake object in a buffer: its hash table's bucket and chain indexes are
 * garbage. */
START_TEST(a_corrupt_hash_table_is_no_symbol)
{
	static uint32_t img[256];
	static Elf64_Sym syms[4];
	static char strs[] = "\0malloc\0";
	struct jp_dynobj o;
	uint64_t v;

	memset(&o, 0, sizeof(o));
	o.seg[0].start = (uint64_t)(uintptr_t)img;
	o.seg[0].end = o.seg[0].start + sizeof(img);
	o.seg[1].start = (uint64_t)(uintptr_t)syms;
	o.seg[1].end = o.seg[1].start + sizeof(syms);
	o.seg[2].start = (uint64_t)(uintptr_t)strs;
	o.seg[2].end = o.seg[2].start + sizeof(strs);
	o.nseg = 3;
	o.gnu_hash = o.seg[0].start;
	o.symtab = o.seg[1].start;
	o.strtab = o.seg[2].start;
	o.strsz = sizeof(strs);
	for (uint32_t seed = 1; seed < 2000; seed++) {
		for (size_t i = 0; i < 256; i++)
			img[i] = (uint32_t)(seed * 2654435761u + i * 40503u) % (seed % 7 ? 300 : 0xffffffffu);
		img[0] = seed % 5 + 1;  /* buckets */
		img[2] = seed % 3;      /* bloom words: the buckets stay inside */
		(void)jp_dynobj_lookup(&o, "malloc", &v);
	}
	img[0] = 0; /* no buckets at all */
	ck_assert_int_eq(jp_dynobj_lookup(&o, "malloc", &v), -ENOENT);
	img[0] = 1;
	img[2] = 0x7fffffff; /* buckets far past the object */
	ck_assert_int_eq(jp_dynobj_lookup(&o, "malloc", &v), -ENOENT);
}
END_TEST

Suite *make_dynsym_suite(void)
{
	Suite *s = suite_create("dynsym");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, lookups_agree_with_the_loader);
	tcase_add_test(tc, objects_are_found_by_what_they_export);
	tcase_add_test(tc, a_corrupt_hash_table_is_no_symbol);
	suite_add_tcase(s, tc);
	return s;
}
