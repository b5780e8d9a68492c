/* test_names.c - the jit:<creator>:<fingerprint> format and sanitising. */
#include <check.h>
#include <errno.h>
#include <string.h>

#include "names.h"

START_TEST(test_format)
{
	char buf[JP_NAME_MAX];

	ck_assert_int_eq(jp_name_format(buf, sizeof(buf), "pcre2_jit_compile_8", 0x3f9a1c2e4b5dull),
			 (int)strlen("jit:pcre2_jit_compile_8:3f9a1c2e4b5d"));
	ck_assert_str_eq(buf, "jit:pcre2_jit_compile_8:3f9a1c2e4b5d");
	/* only the low 12 digits; zero padded */
	jp_name_format(buf, sizeof(buf), "main", 0xabcd000000000001ull);
	ck_assert_str_eq(buf, "jit:main:000000000001");
	jp_name_format(buf, sizeof(buf), NULL, 0);
	ck_assert_str_eq(buf, "jit:unknown:000000000000");
	jp_name_format(buf, sizeof(buf), "", 0);
	ck_assert_str_eq(buf, "jit:unknown:000000000000");
	jp_name_format(buf, sizeof(buf), "libfoo.so+0x1234", 0xff);
	ck_assert_str_eq(buf, "jit:libfoo.so+0x1234:0000000000ff");
}
END_TEST

START_TEST(test_sanitise)
{
	char buf[JP_NAME_MAX], out[32];

	jp_name_format(buf, sizeof(buf), "a b\nc\td:e#f\x7f\xc3\xa9", 1);
	ck_assert_str_eq(buf, "jit:a_b_c_d_e_f___:000000000001");
	ck_assert_uint_eq(jp_name_sanitize(out, sizeof(out), "LazyCompile:~f a.js:1", 1), 21);
	ck_assert_str_eq(out, "LazyCompile:~f a.js:1");
	/* runtime names keep spaces and UTF-8, lose control bytes and
	 * broken UTF-8, and are never cut inside a character */
	jp_name_sanitize(out, sizeof(out), "W:Fib (int)\n\t", 1);
	ck_assert_str_eq(out, "W:Fib (int)__");
	jp_name_sanitize(out, sizeof(out), "caf\xc3\xa9 \xff\xc3", 1);
	ck_assert_str_eq(out, "caf\xc3\xa9 __");
	ck_assert_uint_eq(jp_name_sanitize(out, 5, "caf\xc3\xa9", 1), 3);
	ck_assert_str_eq(out, "caf");
	ck_assert_uint_eq(jp_name_sanitize(out, 4, "abcdef", 1), 3);
	ck_assert_str_eq(out, "abc");
	ck_assert_uint_eq(jp_name_sanitize(out, 0, "abcdef", 1), 0);
}
END_TEST

START_TEST(test_long_creator_and_small_buffer)
{
	char creator[300], buf[JP_NAME_MAX], small[10];
	int n;

	memset(creator, 'x', sizeof(creator) - 1);
	creator[sizeof(creator) - 1] = 0;
	n = jp_name_format(buf, sizeof(buf), creator, 0x42);
	ck_assert_int_eq(n, 4 + JP_NAME_CREATOR_MAX + 1 + JP_NAME_FP_DIGITS);
	ck_assert_uint_eq(strlen(buf), (size_t)n);
	ck_assert_int_eq(n, JP_NAME_MAX - 1);
	ck_assert_int_eq(jp_name_format(small, sizeof(small), "main", 1), -ENOSPC);
	ck_assert_str_eq(small, "jit:main:");
	ck_assert_int_eq(jp_name_format(NULL, 0, "main", 1), -ENOSPC);
}
END_TEST

Suite *make_names_suite(void)
{
	Suite *s = suite_create("names");
	TCase *t = tcase_create("core");

	tcase_add_test(t, test_format);
	tcase_add_test(t, test_sanitise);
	tcase_add_test(t, test_long_creator_and_small_buffer);
	suite_add_tcase(s, t);
	return s;
}
