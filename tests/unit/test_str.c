/* test_str.c - the bounded string helpers: truncation that always terminates
 * and reports what it needed, numbers without a NUL, errno left alone. */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "str.h"

START_TEST(strlcpy_truncates_and_terminates)
{
	char buf[8];

	memset(buf, 'x', sizeof(buf));
	ck_assert_uint_eq(jp_strlcpy(buf, "abc", sizeof(buf)), 3);
	ck_assert_str_eq(buf, "abc");
	/* Too long: as much as fits, terminated, and the length it wanted so
	 * the caller can tell (result >= size). */
	ck_assert_uint_eq(jp_strlcpy(buf, "0123456789", sizeof(buf)), 10);
	ck_assert_str_eq(buf, "0123456");
	ck_assert_uint_eq(jp_strlcpy(buf, "", sizeof(buf)), 0);
	ck_assert_str_eq(buf, "");
	/* Size 0 writes nothing at all. */
	buf[0] = 'q';
	ck_assert_uint_eq(jp_strlcpy(buf, "abc", 0), 3);
	ck_assert_int_eq(buf[0], 'q');
}
END_TEST

START_TEST(strlcat_appends_within_size)
{
	char buf[8] = "ab";

	ck_assert_uint_eq(jp_strlcat(buf, "cd", sizeof(buf)), 4);
	ck_assert_str_eq(buf, "abcd");
	ck_assert_uint_eq(jp_strlcat(buf, "efghij", sizeof(buf)), 10);
	ck_assert_str_eq(buf, "abcdefg");
	/* Full already: nothing written, still reports the wanted length. */
	ck_assert_uint_eq(jp_strlcat(buf, "z", sizeof(buf)), 8);
	ck_assert_str_eq(buf, "abcdefg");
	/* dst not terminated within size: left untouched (no read past it). */
	memset(buf, 'x', sizeof(buf));
	ck_assert_uint_eq(jp_strlcat(buf, "yz", sizeof(buf)), sizeof(buf) + 2);
	for (size_t i = 0; i < sizeof(buf); i++)
		ck_assert_int_eq(buf[i], 'x');
}
END_TEST

START_TEST(utoa_bases_and_extremes)
{
	char buf[32];

	memset(buf, '#', sizeof(buf));
	ck_assert_uint_eq(jp_utoa(buf, 0, 10), 1);
	ck_assert_int_eq(buf[0], '0');
	ck_assert_int_eq(buf[1], '#'); /* no NUL: callers place it */
	ck_assert_uint_eq(jp_utoa(buf, 1234567, 10), 7);
	ck_assert_mem_eq(buf, "1234567", 7);
	ck_assert_uint_eq(jp_utoa(buf, UINT64_MAX, 10), 20);
	ck_assert_mem_eq(buf, "18446744073709551615", 20);
	ck_assert_uint_eq(jp_utoa(buf, UINT64_MAX, 16), 16);
	ck_assert_mem_eq(buf, "ffffffffffffffff", 16);
	ck_assert_uint_eq(jp_utoa(buf, 0x7f00dead1000ull, 16), 12);
	ck_assert_mem_eq(buf, "7f00dead1000", 12);
}
END_TEST

START_TEST(strerror_any_sign_errno_kept)
{
	errno = 4321;
	ck_assert_str_eq(jp_strerror(ENOENT), "No such file or directory");
	ck_assert_str_eq(jp_strerror(-ENOSPC), "No space left on device");
	ck_assert_str_eq(jp_strerror(100000), "unknown error");
	ck_assert_int_eq(errno, 4321);
}
END_TEST

Suite *make_str_suite(void)
{
	Suite *s = suite_create("str");
	TCase *tc = tcase_create("str");

	tcase_add_test(tc, strlcpy_truncates_and_terminates);
	tcase_add_test(tc, strlcat_appends_within_size);
	tcase_add_test(tc, utoa_bases_and_extremes);
	tcase_add_test(tc, strerror_any_sign_errno_kept);
	suite_add_tcase(s, tc);
	return s;
}
