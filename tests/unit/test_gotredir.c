/* test_gotredir.c - GOT slots that bind past the hooks are rewritten, and nothing else (lib/gotredir.c).
 *
 * The test binary itself is the object: it calls getsid through its PLT
 * (lazy binding; Check calls getpgrp in each test's child, so not that)
 * and takes getppid's address (a GLOB_DAT slot in its read-only RELRO
 * part).  Check runs each test in a child of its own,
 * so a redirected slot never leaks into another test. */
#include <check.h>
#include <dlfcn.h>
#include <link.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "gotredir.h"
#include "maps.h"

static pid_t fake_getppid(void)
{
	return 4242;
}

static pid_t fake_getsid(pid_t pid)
{
	(void)pid;
	return 4343;
}

/* A fresh load of getppid's GOT slot (the compiler treats GOT loads as
 * constant, and would fold calls to a function returning it). */
__attribute__((noipa)) static const void *addr_of_getppid(void)
{
	return (const void *)getppid;
}

static struct jp_got_sym sym(const char *name, const void *hook, int lazy)
{
	struct jp_got_sym s = { name, hook, dlsym(RTLD_NEXT, name), lazy };

	return s;
}

struct self {
	uint64_t base;
	const void *phdr;
	unsigned phnum;
};

static int self_cb(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct self *s = arg;

	(void)size;
	/* The first object is the program. */
	s->base = info->dlpi_addr;
	s->phdr = info->dlpi_phdr;
	s->phnum = info->dlpi_phnum;
	return 1;
}

static int first_map(const struct jp_map *m, void *arg)
{
	*(struct jp_map *)arg = *m;
	return 1;
}

START_TEST(bound_slots_redirected)
{
	struct jp_got_sym s = sym("getppid", (const void *)fake_getppid, 0);
	const void *skip[1] = { s.real }; /* libc itself */
	struct jp_got_stats st = { 0 };
	pid_t parent = getppid(); /* binds the slot */

	ck_assert_ptr_nonnull(s.real);
	ck_assert_int_ne(parent, 4242);
	ck_assert_int_ge(jp_got_redirect(&s, 1, skip, 1, NULL, &st), 1);
	ck_assert_int_eq(getppid(), 4242);
	ck_assert_uint_ge(st.objects, 2);
	/* And back: the same call with the roles swapped. */
	s.real = (const void *)fake_getppid;
	s.hook = dlsym(RTLD_NEXT, "getppid");
	ck_assert_int_ge(jp_got_redirect(&s, 1, skip, 1, NULL, NULL), 1);
	ck_assert_int_eq(getppid(), parent);
}
END_TEST

START_TEST(read_only_slot_lifted_and_restored)
{
	struct jp_got_sym s = sym("getppid", (const void *)fake_getppid, 0);
	const void *skip[1] = { s.real };
	struct jp_got_stats st = { 0 };
	struct jp_map after = { 0 };
	char buf[4096];
	const void *slot_page;

	/* getppid's address is taken: a GLOB_DAT slot, in RELRO. */
	ck_assert_ptr_eq(addr_of_getppid(), s.real);
	ck_assert_int_ge(jp_got_redirect(&s, 1, skip, 1, NULL, &st), 1);
	ck_assert_ptr_eq(addr_of_getppid(), (const void *)fake_getppid);
	ck_assert_uint_ge(st.lifted, 1);
	/* The RELRO page is read-only again: find it through the program's
	 * PT_GNU_RELRO. */
	{
		struct self me = { 0 };
		const ElfW(Phdr) *ph;

		dl_iterate_phdr(self_cb, &me);
		ph = me.phdr;
		slot_page = NULL;
		for (unsigned i = 0; i < me.phnum; i++)
			if (ph[i].p_type == PT_GNU_RELRO)
				slot_page = (const void *)(uintptr_t)(me.base + ph[i].p_vaddr);
		ck_assert_ptr_nonnull(slot_page);
	}
	ck_assert_int_eq(jp_maps_each((uint64_t)(uintptr_t)slot_page, (uint64_t)(uintptr_t)slot_page + 1, buf,
				      sizeof(buf), first_map, &after),
			 1);
	ck_assert_int_eq(after.prot & PROT_WRITE, 0);
}
END_TEST

START_TEST(lazy_slot_only_when_allowed)
{
	struct jp_got_sym s = sym("getsid", (const void *)fake_getsid, 1);
	struct jp_got_stats st = { 0 };
	struct self me = { 0 };

	dl_iterate_phdr(self_cb, &me);
	/* Never called yet: the slot still points into our PLT. */
	ck_assert_int_eq(jp_got_redirect_object(me.base, me.phdr, me.phnum, &s, 1, 0, &st), 0);
	ck_assert_int_eq(jp_got_redirect_object(me.base, me.phdr, me.phnum, &s, 1, 1, &st), 1);
	ck_assert_int_eq(getsid(0), 4343);
}
END_TEST

START_TEST(skipped_and_foreign_slots_untouched)
{
	struct jp_got_sym s = sym("getppid", (const void *)fake_getppid, 0);
	const void *skip[2] = { s.real, (const void *)fake_getppid }; /* libc, and this program */
	struct jp_got_stats st = { 0 };
	pid_t parent = getppid();

	ck_assert_int_eq(jp_got_redirect(&s, 1, skip, 2, NULL, &st), 0);
	ck_assert_int_eq(getppid(), parent);
	/* A slot bound to something else than libc's definition is not ours
	 * to change (another interposer, the object's own definition). */
	s.real = (const void *)fake_getsid;
	ck_assert_int_eq(jp_got_redirect(&s, 1, skip, 1, NULL, &st), 0);
	ck_assert_int_eq(getppid(), parent);
	ck_assert_uint_eq(st.slots, 0);
}
END_TEST

Suite *make_gotredir_suite(void)
{
	Suite *s = suite_create("gotredir");
	TCase *tc = tcase_create("redirect");

	tcase_add_test(tc, bound_slots_redirected);
	tcase_add_test(tc, read_only_slot_lifted_and_restored);
	tcase_add_test(tc, lazy_slot_only_when_allowed);
	tcase_add_test(tc, skipped_and_foreign_slots_untouched);
	suite_add_tcase(s, tc);
	return s;
}
