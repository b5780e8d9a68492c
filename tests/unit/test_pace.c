/* test_pace.c - a look that keeps finding nothing is made every 2nd, then every 4th epoch, and finding anything brings it back to every epoch. */
#include <check.h>

#include "pace.h"

/* Bit e set: the look of epoch e was due (and made, finding hits). */
static unsigned pattern(struct jp_pace *p, unsigned after, unsigned epochs, unsigned hits)
{
	unsigned bits = 0;

	ck_assert_uint_le(epochs, 32);
	for (unsigned e = 0; e < epochs; e++)
		if (jp_pace_due(p, after)) {
			bits |= 1u << e;
			jp_pace_looked(p, hits);
		}
	return bits;
}

START_TEST(empty_looks_back_off_to_every_4th)
{
	struct jp_pace p = { 0, 0 };

	ck_assert_uint_eq(pattern(&p, 2, 2, 0), 0x3);  /* 2 empty looks... */
	ck_assert_uint_eq(pattern(&p, 2, 4, 0), 0xa);  /* ...every 2nd: 4 empty... */
	ck_assert_uint_eq(pattern(&p, 2, 12, 0), 0x888); /* ...every 4th */
	ck_assert_uint_eq(pattern(&p, 2, 12, 0), 0x888);
}
END_TEST

START_TEST(a_find_brings_every_epoch_back)
{
	struct jp_pace p = { 0, 0 };

	for (int i = 0; i < 40; i++)
		if (jp_pace_due(&p, 1))
			jp_pace_looked(&p, 0);
	ck_assert_uint_eq(p.quiet, 11); /* looks at epochs 0, 2, then 6, 10 ... 38 */
	/* A look made outside the periodic ones (a hook's) that finds
	 * something counts too. */
	jp_pace_looked(&p, 3);
	ck_assert_uint_eq(pattern(&p, 1, 3, 5), 0x7);
	ck_assert_uint_eq(p.quiet, 0);
}
END_TEST

START_TEST(quiet_saturates)
{
	struct jp_pace p = { 0, 0 };

	for (int i = 0; i < 1000; i++)
		jp_pace_looked(&p, 0);
	ck_assert_uint_eq(p.quiet, UINT8_MAX);
	ck_assert_uint_eq(pattern(&p, 4, 8, 0), 0x88); /* not wrapped back to every epoch */
}
END_TEST

Suite *make_pace_suite(void)
{
	Suite *s = suite_create("pace");
	TCase *tc = tcase_create("pace");

	tcase_add_test(tc, empty_looks_back_off_to_every_4th);
	tcase_add_test(tc, a_find_brings_every_epoch_back);
	tcase_add_test(tc, quiet_saturates);
	suite_add_tcase(s, tc);
	return s;
}
