/* test_hash.c - the AVX2 and SSE2 builds of the change-detection hash agree
 * (hashes stored by one are compared by the other), on every length that
 * takes a different path through XXH3, and the dispatched one never says 0. */
#include <check.h>
#include <stdint.h>
#include <string.h>

#include "hash.h"

START_TEST(implementations_agree)
{
	static unsigned char buf[3 * 4096 + 17];
	static const size_t lens[] = { 0, 1, 3, 4, 8, 9, 16, 17, 128, 129, 240, 241, 1024, 4095, 4096, 4097, sizeof(buf) };

	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (unsigned char)(i * 2654435761u >> 13);
	jp_hash_init();
	for (size_t k = 0; k < sizeof(lens) / sizeof(lens[0]); k++) {
		uint64_t a = jp_hash_sse2(buf, lens[k]);

		ck_assert_uint_ne(a, 0);
		ck_assert_uint_eq(jp_hash(buf, lens[k]), a);
		if (jp_hash_have_avx2())
			ck_assert_uint_eq(jp_hash_avx2(buf, lens[k]), a);
		/* Offsets that are not 32-byte aligned take unaligned loads. */
		ck_assert_uint_eq(jp_hash(buf + 3, lens[k] > 3 ? lens[k] - 3 : 0),
				  jp_hash_sse2(buf + 3, lens[k] > 3 ? lens[k] - 3 : 0));
	}
}
END_TEST

START_TEST(one_changed_byte_changes_the_hash)
{
	static unsigned char page[4096];
	uint64_t h0 = jp_hash(page, sizeof(page));

	for (size_t i = 0; i < sizeof(page); i += 511) {
		page[i] ^= 0x40;
		ck_assert_uint_ne(jp_hash(page, sizeof(page)), h0);
		page[i] ^= 0x40;
	}
	ck_assert_uint_eq(jp_hash(page, sizeof(page)), h0);
}
END_TEST

Suite *make_hash_suite(void)
{
	Suite *s = suite_create("hash");
	TCase *tc = tcase_create("xxh3");

	tcase_add_test(tc, implementations_agree);
	tcase_add_test(tc, one_changed_byte_changes_the_hash);
	suite_add_tcase(s, tc);
	return s;
}
