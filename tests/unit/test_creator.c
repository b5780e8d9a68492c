/* test_creator.c - creating call sites: unwinding past libc, symbol names, fallbacks, ELF reading. */
#include <check.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "creator.h"

#include <Zydis/Zydis.h>
#include "elfsym.h"
#include "str.h"

/* Functions the test binary's .symtab names; noinline/noclone so they are
 * real frames with their own names (no .constprop suffixes). */
void *jp_test_make_code(struct jp_callsite *cs);
int jp_test_qsort_cmp(const void *a, const void *b);

static struct jp_callsite cmp_cs;
static int cmp_captured;

/* A JIT's "allocate code memory" function: maps RWX, and the hook (here a
 * direct call, as the preload hook would make) captures the creator. */
__attribute__((noinline, noclone)) void *jp_test_make_code(struct jp_callsite *cs)
{
	void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	jp_creator_capture(cs);
	__asm__ volatile("" ::: "memory"); /* not a tail call */
	return p;
}

__attribute__((noinline, noclone)) int jp_test_qsort_cmp(const void *a, const void *b)
{
	if (!cmp_captured) {
		jp_creator_capture(&cmp_cs);
		cmp_captured = 1;
	}
	return *(const int *)a - *(const int *)b;
}

START_TEST(test_creator_is_calling_function)
{
	struct jp_callsite cs;
	char name[JP_CREATOR_NAME_MAX];
	void *p;
	int errno_before;

	errno = 1234;
	errno_before = errno;
	p = jp_test_make_code(&cs);
	ck_assert_int_eq(errno, errno_before);
	ck_assert_ptr_ne(p, MAP_FAILED);
	ck_assert_uint_ge(cs.n, 1);
	ck_assert_int_gt(jp_creator_function_name(&cs, name, sizeof(name)), 0);
	ck_assert_str_eq(name, "jp_test_make_code");
	/* a second time: from the cache, the same */
	ck_assert_int_gt(jp_creator_function_name(&cs, name, sizeof(name)), 0);
	ck_assert_str_eq(name, "jp_test_make_code");
	munmap(p, 4096);
}
END_TEST

/* frames inside libc (qsort) are skipped; the callback and its caller
 * (this test, in the test binary) are kept */
START_TEST(test_libc_frames_skipped)
{
	int v[] = { 3, 1, 2 };
	char name[JP_CREATOR_NAME_MAX];
	uint32_t i;

	cmp_captured = 0;
	qsort(v, 3, sizeof(v[0]), jp_test_qsort_cmp);
	ck_assert(cmp_captured);
	ck_assert_uint_ge(cmp_cs.n, 2);
	for (i = 0; i < cmp_cs.n; i++)
		ck_assert(!jp_creator_skipped(cmp_cs.pc[i]));
	ck_assert(jp_creator_skipped((uint64_t)(uintptr_t)&qsort));
	jp_creator_function_name(&cmp_cs, name, sizeof(name));
	ck_assert_str_eq(name, "jp_test_qsort_cmp");
}
END_TEST

static const char some_data[64] = "not code";

START_TEST(test_symbolize_and_fallbacks)
{
	char name[JP_CREATOR_NAME_MAX], exe[256];
	struct jp_callsite cs;
	void *anon;
	ssize_t n;
	char *base;

	ck_assert_int_eq(jp_creator_symbolize((uint64_t)(uintptr_t)&jp_test_make_code + 3, name,
					      sizeof(name)), 1);
	ck_assert_str_eq(name, "jp_test_make_code");
	/* in the program but in no function: basename+offset, no absolute address */
	ck_assert_int_eq(jp_creator_symbolize((uint64_t)(uintptr_t)some_data, name, sizeof(name)), 0);
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	ck_assert_int_gt(n, 0);
	exe[n] = 0;
	base = strrchr(exe, '/') ? strrchr(exe, '/') + 1 : exe;
	ck_assert_msg(!strncmp(name, base, strlen(base)) && strstr(name, "+0x"), "got %s", name);
	/* an offset into the file (a few hex digits), never an absolute
	 * address (0x55... or 0x7f...: 12 digits) */
	ck_assert_msg(strlen(strstr(name, "+0x") + 3) < 9, "got %s", name);
	/* in no object at all */
	anon = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ck_assert_ptr_ne(anon, MAP_FAILED);
	ck_assert_int_eq(jp_creator_symbolize((uint64_t)(uintptr_t)anon + 16, name, sizeof(name)),
			 -ENOENT);
	ck_assert_str_eq(name, "unknown");
	/* a call site entirely in JIT code is "unknown"; an empty one too */
	memset(&cs, 0, sizeof(cs));
	cs.pc[0] = (uint64_t)(uintptr_t)anon + 32;
	cs.n = 1;
	jp_creator_function_name(&cs, name, sizeof(name));
	ck_assert_str_eq(name, "unknown");
	ck_assert_int_eq(jp_creator_function_name(NULL, name, sizeof(name)), 7);
	ck_assert_str_eq(name, "unknown");
	/* anonymous frames are passed over to the first named one */
	cs.pc[1] = (uint64_t)(uintptr_t)&jp_test_qsort_cmp + 5;
	cs.n = 2;
	jp_creator_function_name(&cs, name, sizeof(name));
	ck_assert_str_eq(name, "jp_test_qsort_cmp");
	munmap(anon, 4096);
	/* a name cut to the caller's buffer */
	ck_assert_int_eq(jp_creator_symbolize((uint64_t)(uintptr_t)&jp_test_make_code, name, 5), 1);
	ck_assert_str_eq(name, "jp_t");
}
END_TEST

/* The engine rule (docs/naming.md): the object's short name, or the
 * exported C entry point through which the main program called a JIT
 * library.  Synthetic call sites (return addresses, innermost first). */
START_TEST(test_creator_names_the_engine)
{
	char name[JP_CREATOR_NAME_MAX];
	struct jp_callsite cs;
	const uint64_t here = (uint64_t)(uintptr_t)&jp_test_make_code + 8;
	const uint64_t zydis = (uint64_t)(uintptr_t)&ZydisDecoderInit + 8;
	const uint64_t libm = (uint64_t)(uintptr_t)&cos + 8;
	void *anon;

	/* the program made it by itself: the program's name (unit-tests) */
	memset(&cs, 0, sizeof(cs));
	cs.pc[0] = here;
	cs.pc[1] = here;
	cs.n = 2;
	ck_assert_int_gt(jp_creator_name(&cs, name, sizeof(name)), 0);
	ck_assert_str_eq(name, "unit");
	/* a library the program called: the entry point it called */
	cs.pc[0] = zydis;
	cs.pc[1] = here;
	jp_creator_name(&cs, name, sizeof(name));
	ck_assert_str_eq(name, "ZydisDecoderInit");
	/* a library called from another library, or on its own thread (its
	 * frames only): the library's short name */
	cs.pc[1] = libm;
	cs.pc[2] = here;
	cs.n = 3;
	jp_creator_name(&cs, name, sizeof(name));
	ck_assert_str_eq(name, "Zydis");
	cs.n = 1;
	jp_creator_name(&cs, name, sizeof(name));
	ck_assert_str_eq(name, "Zydis");
	/* JIT frames (in no object) are passed over */
	anon = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ck_assert_ptr_ne(anon, MAP_FAILED);
	cs.pc[0] = (uint64_t)(uintptr_t)anon + 16;
	cs.pc[1] = zydis;
	cs.pc[2] = here;
	cs.n = 3;
	jp_creator_name(&cs, name, sizeof(name));
	ck_assert_str_eq(name, "ZydisDecoderInit");
	cs.n = 1;
	jp_creator_name(&cs, name, sizeof(name));
	ck_assert_str_eq(name, "unknown");
	munmap(anon, 4096);
	ck_assert_int_eq(jp_creator_name(NULL, name, sizeof(name)), 7);
	ck_assert_str_eq(name, "unknown");
}
END_TEST

START_TEST(test_object_short_names)
{
	static const char *const cases[][2] = {
		{ "/usr/bin/node", "node" },
		{ "/usr/lib/jvm/java-17-openjdk-amd64/lib/server/libjvm.so", "jvm" },
		{ "/usr/bin/mono-sgen", "mono" },
		{ "/usr/lib/erlang/erts-13.1.5/bin/beam.smp", "beam" },
		{ "/usr/lib/x86_64-linux-gnu/libmozjs-102.so.0", "mozjs" },
		{ "/usr/lib/x86_64-linux-gnu/libpcre2-8.so.0.11.2", "pcre2" },
		{ "/usr/bin/qemu-x86_64", "qemu" },
		{ "libLLVM-14.so.1", "LLVM" },
		{ "rwx_late", "rwx_late" },
		{ "lib", "lib" },
		{ "lib.so", "lib" },
		{ "/x/.hidden", ".hidden" },
		{ "", "unknown" },
	};
	char buf[64];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		jp_creator_object_short(cases[i][0], buf, sizeof(buf));
		ck_assert_str_eq(buf, cases[i][1]);
	}
	jp_creator_object_short("/usr/bin/node", buf, 3);
	ck_assert_str_eq(buf, "no");
	ck_assert(jp_creator_is_api_name("pcre2_jit_compile_8"));
	ck_assert(jp_creator_is_api_name("JNI_CreateJavaVM"));
	ck_assert(!jp_creator_is_api_name("_ZN2os16pd_commit_memoryEPcmmb"));
	ck_assert(!jp_creator_is_api_name("__libc_start_main"));
	ck_assert(!jp_creator_is_api_name("8bit"));
	ck_assert(!jp_creator_is_api_name("a.b"));
	ck_assert(!jp_creator_is_api_name(""));
}
END_TEST

/* a function of a shared library without .symtab: named from .dynsym */
START_TEST(test_shared_library_dynsym)
{
	char name[JP_CREATOR_NAME_MAX];

	/* getpid lives in libc; taking its address from a PIE gives libc's */
	ck_assert_int_eq(jp_creator_symbolize((uint64_t)(uintptr_t)&getpid, name, sizeof(name)), 1);
	ck_assert_msg(strstr(name, "getpid") != NULL, "got %s", name);
}
END_TEST

START_TEST(test_elf_file_checks)
{
	struct jp_elf_symtab t;
	struct jp_elf_func f;
	uint8_t wrong_id[20];
	uint64_t v;

	ck_assert_int_eq(jp_elf_file_symtab("/proc/self/exe", NULL, 0, &t), 0);
	ck_assert(!t.is_dyn);
	ck_assert_int_eq(jp_elf_find(&t, "jp_test_make_code", &v), 0);
	ck_assert_int_eq(jp_elf_func_at(&t, v + 1, &f), 0);
	ck_assert_str_eq(f.name, "jp_test_make_code");
	jp_elf_symtab_release(&t);
	memset(wrong_id, 0xab, sizeof(wrong_id));
	ck_assert_int_eq(jp_elf_file_symtab("/proc/self/exe", wrong_id, sizeof(wrong_id), &t),
			 -ESTALE);
	ck_assert_int_eq(jp_elf_file_symtab("/nonexistent/x.so", NULL, 0, &t), -ENOENT);
	ck_assert_int_eq(jp_elf_file_symtab("/proc/self/status", NULL, 0, &t), -EINVAL);
	ck_assert_int_eq(jp_elf_file_symtab("/tmp", NULL, 0, &t), -EINVAL);
}
END_TEST

/* The streaming look-up gives jp_elf_func_at's answer: at the start, inside
 * and at the end of every function of this program and of libc, where no
 * function is, and with the same file checks. */
struct stream_ctx {
	const char *path;
	const struct jp_elf_symtab *t;
	size_t checked;
};

static void stream_agrees(struct stream_ctx *c, uint64_t a)
{
	struct jp_elf_func f;
	char got[JP_ELF_NAME_MAX], want[JP_ELF_NAME_MAX];
	int r1 = jp_elf_func_at(c->t, a, &f);
	int r2 = jp_elf_file_func_name(c->path, NULL, 0, a, got, sizeof(got));

	ck_assert_int_eq(r1 == 0, r2 == 0);
	if (r1 == 0) {
		jp_strlcpy(want, f.name, sizeof(want));
		ck_assert_str_eq(got, want);
	} else {
		ck_assert_int_eq(r2, -ENOENT);
		ck_assert_str_eq(got, "");
	}
	c->checked++;
}

static int stream_cb(void *arg, const struct jp_elf_func *f)
{
	struct stream_ctx *c = arg;

	/* every 7th function: the whole table is read per look-up */
	if (c->checked++ % 7)
		return 0;
	stream_agrees(c, f->addr);
	if (f->size > 1) {
		stream_agrees(c, f->addr + f->size / 2);
		stream_agrees(c, f->addr + f->size - 1);
	}
	stream_agrees(c, f->addr + (f->size ? f->size : 1)); /* just past it */
	return 0;
}

START_TEST(test_elf_stream_lookup)
{
	static const char *files[] = { "/proc/self/exe", "/usr/lib/x86_64-linux-gnu/libc.so.6" };
	uint8_t wrong_id[20];
	char name[8];

	for (unsigned k = 0; k < 2; k++) {
		struct jp_elf_symtab t;
		struct stream_ctx c = { files[k], &t, 0 };

		ck_assert_int_eq(jp_elf_file_symtab(files[k], NULL, 0, &t), 0);
		jp_elf_for_each_func(&t, stream_cb, &c);
		stream_agrees(&c, 0);
		stream_agrees(&c, 1);
		ck_assert_uint_gt(c.checked, 100);
		jp_elf_symtab_release(&t);
	}
	/* cut to the buffer */
	{
		struct jp_elf_symtab t;
		uint64_t v;

		ck_assert_int_eq(jp_elf_file_symtab("/proc/self/exe", NULL, 0, &t), 0);
		ck_assert_int_eq(jp_elf_find(&t, "jp_test_make_code", &v), 0);
		jp_elf_symtab_release(&t);
		ck_assert_int_eq(jp_elf_file_func_name("/proc/self/exe", NULL, 0, v + 1, name, sizeof(name)), 0);
		ck_assert_str_eq(name, "jp_test");
	}
	memset(wrong_id, 0xab, sizeof(wrong_id));
	ck_assert_int_eq(jp_elf_file_func_name("/proc/self/exe", wrong_id, sizeof(wrong_id), 1, name, sizeof(name)),
			 -ESTALE);
	ck_assert_int_eq(jp_elf_file_func_name("/nonexistent/x.so", NULL, 0, 1, name, sizeof(name)), -ENOENT);
	ck_assert_int_eq(jp_elf_file_func_name("/proc/self/status", NULL, 0, 1, name, sizeof(name)), -EINVAL);
	ck_assert_int_eq(jp_elf_file_func_name("/tmp", NULL, 0, 1, name, sizeof(name)), -EINVAL);
}
END_TEST

/* The streamed find is jp_elf_find: names at the start of the string
 * table's strings, names that are the tail of a longer one (linkers share
 * tails), missing names, and the file checks. */
START_TEST(test_elf_stream_find)
{
	static const char *files[] = { "/proc/self/exe", "/usr/lib/x86_64-linux-gnu/libc.so.6" };
	static const char *names[] = { "jp_test_make_code", "main", "make_code", "code", "getpid", "malloc",
				       "__libc_start_main", "jp_elf_file_find", "no_such_symbol_at_all", "_init" };
	unsigned found = 0;

	for (unsigned k = 0; k < 2; k++) {
		struct jp_elf_symtab t;

		ck_assert_int_eq(jp_elf_file_symtab(files[k], NULL, 0, &t), 0);
		for (unsigned i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
			uint64_t a = 0, b = 0;
			int ra = jp_elf_find(&t, names[i], &a);
			int rb = jp_elf_file_find(files[k], names[i], &b);
			/* The caller's buffer, kept between files (gdbjit), and
			 * a small one: many steps, names across step edges. */
			char small[64 + 32], big[128 << 10];
			uint64_t c = 0, e = 0;
			int rc = jp_elf_file_find_buf(files[k], names[i], &c, big, sizeof(big));
			int re = jp_elf_file_find_buf(files[k], names[i], &e, small, sizeof(small));

			if (rb == -E2BIG)
				continue; /* allowed: the caller falls back to the full table */
			ck_assert_msg(ra == rb, "%s in %s: %d vs %d", names[i], files[k], ra, rb);
			ck_assert_msg(rc == rb && re == rb, "%s in %s: buffers: %d %d vs %d", names[i], files[k], rc, re, rb);
			if (ra == 0) {
				ck_assert_uint_eq(a, b);
				ck_assert_uint_eq(b, c);
				ck_assert_uint_eq(b, e);
				found++;
			}
		}
		jp_elf_symtab_release(&t);
	}
	ck_assert_uint_ge(found, 4);
	{
		uint64_t v;

		ck_assert_int_eq(jp_elf_file_find("/nonexistent/x.so", "main", &v), -ENOENT);
		ck_assert_int_eq(jp_elf_file_find("/proc/self/status", "main", &v), -EINVAL);
		ck_assert_int_eq(jp_elf_file_find("/proc/self/exe", "", &v), -EINVAL);
		{
			char tiny[5]; /* no room for "main" and its NUL past a step */

			ck_assert_int_eq(jp_elf_file_find_buf("/proc/self/exe", "main", &v, tiny, sizeof(tiny)), -EINVAL);
		}
	}
}
END_TEST

START_TEST(test_capture_cost)
{
	struct jp_callsite cs;
	struct timespec t0, t1;
	double us;
	int i;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < 1000; i++)
		jp_creator_capture(&cs);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	us = ((double)(t1.tv_sec - t0.tv_sec) * 1e9 + (double)(t1.tv_nsec - t0.tv_nsec)) / 1000 / 1e3;
	fprintf(stderr, "creator capture: %.1f us per call (%u frames)\n", us, cs.n);
	ck_assert_uint_ge(cs.n, 1);
}
END_TEST

/* GCC clone suffixes are not part of a creator's name */


/* a function whose symbol is what GCC calls a clone */
__attribute__((noinline, used)) int jp_test_cloned(int x) __asm__("jp_test_cloned.constprop.0");
__attribute__((noinline, used)) int jp_test_cloned(int x)
{
	return x * 3 + 1;
}

START_TEST(test_clone_suffix_stripped)
{
	static const char *const cases[][2] = {
		{ "foo.constprop.0", "foo" },
		{ "foo.isra.12", "foo" },
		{ "foo.part.3", "foo" },
		{ "foo.cold", "foo" },
		{ "foo.cold.7", "foo" },
		{ "foo.isra.0.constprop.1", "foo" },
		{ "foo.part.0.cold", "foo" },
		{ "_ZN3bar3bazEv.constprop.0", "_ZN3bar3bazEv" },
		/* not (only) clone suffixes: kept */
		{ "foo", "foo" },
		{ "foo.constprop", "foo.constprop" },
		{ "foo.constprop.x", "foo.constprop.x" },
		{ "foo.part.1.bar", "foo.part.1.bar" },
		{ "foo.coldness", "foo.coldness" },
		{ "foo.lto_priv.0", "foo.lto_priv.0" },
		{ ".cold", ".cold" },
		{ "", "" },
	};
	char name[JP_CREATOR_NAME_MAX];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		strcpy(name, cases[i][0]);
		ck_assert_int_eq(jp_creator_strip_clone_suffix(name), (int)strlen(cases[i][1]));
		ck_assert_msg(!strcmp(name, cases[i][1]), "%s -> %s, want %s", cases[i][0], name,
			      cases[i][1]);
	}
	/* and on the real path: symbolizing the clone gives the plain name */
	ck_assert_int_eq(jp_creator_symbolize((uint64_t)(uintptr_t)&jp_test_cloned + 2, name,
					      sizeof(name)), 1);
	ck_assert_str_eq(name, "jp_test_cloned");
	ck_assert_int_eq(jp_test_cloned(2), 7);
}
END_TEST

Suite *make_creator_suite(void)
{
	Suite *s = suite_create("creator");
	TCase *t = tcase_create("core");

	tcase_add_test(t, test_creator_is_calling_function);
	tcase_add_test(t, test_libc_frames_skipped);
	tcase_add_test(t, test_symbolize_and_fallbacks);
	tcase_add_test(t, test_creator_names_the_engine);
	tcase_add_test(t, test_object_short_names);
	tcase_add_test(t, test_shared_library_dynsym);
	tcase_add_test(t, test_elf_file_checks);
	tcase_add_test(t, test_elf_stream_lookup);
	tcase_add_test(t, test_elf_stream_find);
	tcase_add_test(t, test_capture_cost);
	tcase_add_test(t, test_clone_suffix_stripped);
	tcase_set_timeout(t, 30);
	suite_add_tcase(s, t);
	return s;
}
