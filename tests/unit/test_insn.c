/* test_insn.c - the fast instruction decoder agrees with Zydis on real code and random bytes. */
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "insn.h"

static uint8_t *load(const char *path, size_t *len)
{
	struct stat st;
	uint8_t *b;
	int fd = open(path, O_RDONLY);

	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) || st.st_size <= 0) {
		close(fd);
		return NULL;
	}
	*len = (size_t)st.st_size;
	b = malloc(*len);
	if (b && read(fd, b, *len) != (ssize_t)*len) {
		free(b);
		b = NULL;
	}
	close(fd);
	return b;
}

struct tally {
	size_t offsets, fast, both, fast_only;
};

/* Decode at every offset (so every suffix of real instructions and all the
 * data between them is tried) with both decoders. */
static void compare(const uint8_t *b, size_t len, size_t step, struct tally *t)
{
	struct jp_decoder d;
	size_t i;

	jp_insn_init(&d);
	for (i = 0; i < len; i += step) {
		struct jp_insn f, z;
		unsigned lf = jp_insn_decode_fast(b + i, len - i, &f);
		unsigned lz = jp_insn_decode_zydis(&d, b + i, len - i, &z);

		t->offsets++;
		if (!lf)
			continue;
		t->fast++;
		if (!lz) {
			t->fast_only++;
			continue;
		}
		t->both++;
		ck_assert_msg(lf == lz && f.kind == z.kind && f.rel_off == z.rel_off &&
			      f.rel_size == z.rel_size && f.rel == z.rel &&
			      f.rel_is_branch == z.rel_is_branch && f.abs_off == z.abs_off &&
			      f.abs_size == z.abs_size,
			      "at %zu: %02x %02x %02x %02x %02x %02x: fast len %u kind %u rel %u/%u abs %u/%u, "
			      "zydis len %u kind %u rel %u/%u abs %u/%u",
			      i, b[i], i + 1 < len ? b[i + 1] : 0, i + 2 < len ? b[i + 2] : 0,
			      i + 3 < len ? b[i + 3] : 0, i + 4 < len ? b[i + 4] : 0,
			      i + 5 < len ? b[i + 5] : 0, lf, f.kind, f.rel_off, f.rel_size,
			      f.abs_off, f.abs_size, lz, z.kind, z.rel_off, z.rel_size, z.abs_off,
			      z.abs_size);
	}
}

START_TEST(test_agrees_on_real_code)
{
	static const char *files[] = { "/usr/lib/x86_64-linux-gnu/libc.so.6", "/proc/self/exe",
				       "/usr/lib/x86_64-linux-gnu/libZydis.so.4.0" };
	struct tally t = { 0 };
	unsigned k;

	for (k = 0; k < sizeof(files) / sizeof(files[0]); k++) {
		size_t len;
		uint8_t *b = load(files[k], &len);

		if (!b)
			continue;
		compare(b, len, 1, &t);
		free(b);
	}
	ck_assert_uint_gt(t.offsets, 100000);
	fprintf(stderr, "insn: %zu offsets, fast path %.1f%%, both %zu, fast-only %zu (%.2f%%)\n",
		t.offsets, 100.0 * (double)t.fast / (double)t.offsets, t.both, t.fast_only,
		100.0 * (double)t.fast_only / (double)t.offsets);
	ck_assert_uint_lt(t.fast_only * 100, t.offsets);
}
END_TEST

START_TEST(test_agrees_on_random_bytes)
{
	size_t len = 1 << 20, i;
	uint8_t *b = malloc(len);
	uint64_t x = 0x9e3779b97f4a7c15ull;
	struct tally t = { 0 };

	ck_assert_ptr_nonnull(b);
	for (i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		b[i] = (uint8_t)(x >> 32);
	}
	compare(b, len, 1, &t);
	/* and every prefix/opcode pair in front of a fixed tail */
	for (i = 0; i < 65536; i++) {
		uint8_t s[16] = { (uint8_t)(i >> 8), (uint8_t)i, 0x84, 0x24, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12 };

		compare(s, sizeof(s), 64, &t);
		s[2] = 0x05;
		compare(s, sizeof(s), 64, &t);
		s[2] = 0xc0;
		compare(s, sizeof(s), 64, &t);
	}
	fprintf(stderr, "insn random: %zu offsets, fast-only %zu\n", t.offsets, t.fast_only);
	free(b);
}
END_TEST

/* What the fast path calls no instruction by itself (ff /7, ff /3 and /5
 * on a register, fe /2-/7), Zydis rejects too: behind the prefixes the
 * fast path takes and a REX, with any bytes after and any length. */
START_TEST(test_invalid_as_zydis)
{
	static const uint8_t pf[] = { 0, 0x66, 0x67, 0xf2, 0xf3, 0x2e, 0x3e, 0x26, 0x36, 0x64, 0x65 };
	static const uint8_t rexes[] = { 0, 0x40, 0x41, 0x48, 0x4c, 0x4f };
	uint64_t x = 0x9e3779b97f4a7c15ull;
	struct jp_decoder d;
	size_t fast = 0;

	jp_insn_init(&d);
	for (unsigned a = 0; a < sizeof(pf); a++)
		for (unsigned b = 0; b < sizeof(pf); b++)
			for (unsigned r = 0; r < sizeof(rexes); r++)
				for (unsigned op = 0xfe; op <= 0xff; op++)
					for (unsigned m = 0; m < 256; m++) {
						unsigned reg = (m >> 3) & 7, k = 0;
						uint8_t s[16];
						struct jp_insn in;

						if ((op == 0xff && reg != 7 && !((reg == 3 || reg == 5) && m >= 0xc0)) ||
						    (op == 0xfe && reg < 2) || (b && !a))
							continue;
						if (a)
							s[k++] = pf[a];
						if (b)
							s[k++] = pf[b];
						if (rexes[r])
							s[k++] = rexes[r];
						s[k++] = (uint8_t)op;
						s[k++] = (uint8_t)m;
						for (unsigned i = k; i < sizeof(s); i++) {
							x ^= x << 13;
							x ^= x >> 7;
							x ^= x << 17;
							s[i] = (uint8_t)(x >> 32);
						}
						ck_assert(jp_insn_fast_invalid(s, 15));
						for (size_t n = 1; n <= 15; n++) {
							if (!jp_insn_fast_invalid(s, n))
								continue;
							fast++;
							ck_assert_msg(!jp_insn_decode_zydis(&d, s, n, &in),
								      "zydis decodes %02x %02x %02x %02x %02x (n %zu)", s[0],
								      s[1], s[2], s[3], s[4], n);
							memset(&in, 0xa5, sizeof(in));
							ck_assert_uint_eq(jp_insn_decode(&d, s, n, &in), 0);
							ck_assert_uint_eq(in.len, 0);
							ck_assert_uint_eq(in.modrm_off, 0);
						}
					}
	ck_assert_uint_gt(fast, 100000);
}
END_TEST

/* The memo answers exactly what a fresh decode answers: at every offset of
 * real code and random bytes, with the reader's byte budget both larger and
 * smaller than the instruction (a piece that ends inside it). */
static void memo_matches(const uint8_t *b, size_t len)
{
	struct jp_decoder d;
	struct jp_insn_memo m = { 0 };
	size_t i, hits = 0, bad_hits = 0, cut = 0;
	void *mem = malloc(jp_insn_memo_size(UINT16_MAX, len));

	jp_insn_init(&d);
	ck_assert_ptr_nonnull(mem);
	jp_insn_memo_init(&m, mem, UINT16_MAX, len);
	ck_assert_uint_eq(m.cap, UINT16_MAX);
	/* filled the way the splitter walks: a linear decode, bytes that
	 * are no instruction noted too */
	jp_insn_memo_reset(&m, b, len);
	for (i = 0; i < len;) {
		struct jp_insn in;
		unsigned l = jp_insn_decode(&d, b + i, len - i, &in);

		if (l)
			jp_insn_memo_put(&m, b + i, &in);
		else
			jp_insn_memo_put_bad(&m, b + i, len - i);
		i += l ? l : 1;
	}
	ck_assert_uint_gt(m.n, 0);
	/* out-of-order and repeated puts are ignored */
	{
		uint32_t n = m.n, k = 0;
		struct jp_insn in;

		while (k < n && !m.in[k].len)
			k++;
		ck_assert_uint_lt(k, n);
		ck_assert_uint_ne(jp_insn_decode(&d, b + m.off[k], len - m.off[k], &in), 0);
		jp_insn_memo_put(&m, b + m.off[k], &in);
		ck_assert_uint_eq(m.n, n);
	}
	/* read back at every offset, in order and out of order */
	for (size_t pass = 0; pass < 2; pass++) {
		for (size_t k = 0; k < len; k++) {
			size_t at = pass ? (k * 7919) % len : k;
			size_t budgets[3] = { len - at, 3, 1 };

			for (unsigned j = 0; j < 3; j++) {
				struct jp_insn a, z;
				size_t n = budgets[j] < len - at ? budgets[j] : len - at;
				unsigned la, lz;

				const struct jp_insn *e = jp_insn_memo_get(&m, b + at, n);

				memset(&z, 0xa5, sizeof(z));
				la = jp_insn_decode(&d, b + at, n, &a);
				lz = jp_insn_decode_memo(&m, &d, b + at, n, &z);
				ck_assert_uint_eq(la, lz);
				/* a failed decode leaves the instruction zeroed,
				 * and so does the memo's answer */
				ck_assert_msg(memcmp(&a, &z, sizeof(a)) == 0, "memo differs at %zu (budget %zu)", at, n);
				if (!la)
					cut++;
				hits += e != NULL;
				bad_hits += e && !e->len;
			}
		}
	}
	ck_assert_uint_gt(hits, 0);
	fprintf(stderr, "insn memo: %zu answers, %zu of them no instruction\n", hits, bad_hits);
	/* a cursor answers what the memo does: walking the splitter's way,
	 * walking out of step with it (every byte), and jumping about */
	for (size_t pass = 0; pass < 3; pass++) {
		struct jp_insn_cursor c;

		jp_insn_cursor_init(&c, &m);
		for (size_t k = 0, at = 0; k < len && at < len; k++) {
			const struct jp_insn *e = jp_insn_memo_get(&m, b + at, len - at);
			const struct jp_insn *f = jp_insn_cursor_get(&c, b + at, len - at);

			ck_assert_ptr_eq(e, f);
			if (pass == 0)
				at += e && e->len ? e->len : 1;
			else if (pass == 1)
				at++;
			else
				at = (k * 7919) % len;
		}
	}
	{
		struct jp_insn_cursor c;

		jp_insn_cursor_init(&c, NULL);
		ck_assert_ptr_null(jp_insn_cursor_get(&c, b, len));
	}
	/* a decoder that keeps Zydis's answers in the memo answers as one
	 * that does not: at every offset, then again (from the table) with
	 * all the bytes and with fewer than some instructions need */
	{
		struct jp_decoder dz;

		jp_insn_init_memo(&dz, &m);
		ck_assert_ptr_nonnull(dz.zc);
		for (unsigned pass = 0; pass < 3; pass++)
			for (size_t at = 0; at < len; at++) {
				size_t n = pass < 2 || len - at < 5 ? len - at : 5;
				struct jp_insn a, z;
				unsigned la = jp_insn_decode_zydis(&d, b + at, n, &a), lz;

				memset(&z, 0xa5, sizeof(z));
				lz = jp_insn_decode_zydis(&dz, b + at, n, &z);
				ck_assert_uint_eq(la, lz);
				ck_assert_msg(memcmp(&a, &z, sizeof(a)) == 0, "remembered decode differs at %zu", at);
			}
	}
	/* a reset forgets everything; a NULL buffer turns the memo off */
	jp_insn_memo_reset(&m, b, len);
	ck_assert_uint_eq(m.n, 0);
	jp_insn_memo_reset(&m, NULL, 0);
	{
		struct jp_insn in = { .len = 1 };

		jp_insn_memo_put(&m, b, &in);
		ck_assert_uint_eq(m.n, 0);
	}
	(void)cut;
	free(mem);
}

START_TEST(test_memo_matches_decoding)
{
	size_t len;
	uint8_t *b = load("/usr/lib/x86_64-linux-gnu/libc.so.6", &len);
	uint8_t r[8192];
	uint64_t x = 0x2545f4914f6cdd1dull;

	ck_assert_ptr_nonnull(b);
	/* 64 KiB from the middle of libc's text */
	ck_assert_uint_gt(len, (1u << 20) + 65536);
	memo_matches(b + (1u << 20), 65536);
	free(b);
	for (size_t i = 0; i < sizeof(r); i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		r[i] = (uint8_t)(x >> 24);
	}
	memo_matches(r, sizeof(r));
}
END_TEST

Suite *make_insn_suite(void)
{
	Suite *s = suite_create("insn");
	TCase *t = tcase_create("core");

	tcase_add_test(t, test_agrees_on_real_code);
	tcase_add_test(t, test_agrees_on_random_bytes);
	tcase_add_test(t, test_invalid_as_zydis);
	tcase_add_test(t, test_memo_matches_decoding);
	tcase_set_timeout(t, 120);
	suite_add_tcase(s, t);
	return s;
}
