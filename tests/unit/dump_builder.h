/* dump_builder.h - jitdump files built byte by byte in memory, independently
 * of the writer, for the reader's and the pruner's tests. */
#ifndef JITPERF_TEST_DUMP_BUILDER_H
#define JITPERF_TEST_DUMP_BUILDER_H

#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "jd_format.h"

struct dbuf {
	unsigned char *p;
	size_t len, cap;
};

static void put(struct dbuf *b, const void *src, size_t n)
{
	if (!n)
		return;
	if (b->len + n > b->cap) {
		b->cap = (b->len + n) * 2 + 64;
		b->p = realloc(b->p, b->cap);
		ck_assert_ptr_nonnull(b->p);
	}
	memcpy(b->p + b->len, src, n);
	b->len += n;
}

static void put32(struct dbuf *b, uint32_t v)
{
	put(b, &v, 4);
}

static void put64(struct dbuf *b, uint64_t v)
{
	put(b, &v, 8);
}

static void hdr_full(struct dbuf *b, uint32_t magic, uint32_t version, uint32_t size, uint32_t mach,
		     uint64_t flags)
{
	put32(b, magic);
	put32(b, version);
	put32(b, size);
	put32(b, mach);
	put32(b, 0);
	put32(b, 4242); /* pid */
	put64(b, 5);    /* timestamp */
	put64(b, flags);
}

static void hdr(struct dbuf *b)
{
	hdr_full(b, JD_MAGIC, 1, 40, 62, 0);
}

static void prefix(struct dbuf *b, uint32_t id, uint32_t total, uint64_t ts)
{
	put32(b, id);
	put32(b, total);
	put64(b, ts);
}

/* A well-formed LOAD of code at addr; returns its offset. */
static size_t load_addr(struct dbuf *b, uint64_t ts, uint64_t index, uint64_t addr, const char *name, const void *code,
			size_t size)
{
	size_t off = b->len, nl = strlen(name) + 1;

	prefix(b, JD_CODE_LOAD, (uint32_t)(56 + nl + size), ts);
	put32(b, 4242);
	put32(b, 4243);
	put64(b, addr); /* vma */
	put64(b, addr); /* code_addr */
	put64(b, size);
	put64(b, index);
	put(b, name, nl);
	put(b, code, size);
	return off;
}

/* The same at 0x1000 + 0x100 * index. */
static size_t load(struct dbuf *b, uint64_t ts, uint64_t index, const char *name, const void *code, size_t size)
{
	return load_addr(b, ts, index, 0x1000 + index * 0x100, name, code, size);
}

static size_t move(struct dbuf *b, uint64_t ts, uint64_t index, uint64_t from, uint64_t to, uint64_t size)
{
	size_t off = b->len;

	prefix(b, JD_CODE_MOVE, 64, ts);
	put32(b, 4242);
	put32(b, 4243);
	put64(b, to);
	put64(b, from);
	put64(b, to);
	put64(b, size);
	put64(b, index);
	return off;
}

/* UNWINDING_INFO with an empty eh_frame_hdr table (V8's and ours). */
static size_t unwind(struct dbuf *b, uint64_t ts, uint64_t usz, uint64_t hsz, uint64_t msz, uint32_t total)
{
	static const unsigned char eh[24] = { 1, 0x1b, 3, 0x3b };
	size_t off = b->len;

	prefix(b, JD_CODE_UNWINDING_INFO, total, ts);
	put64(b, usz);
	put64(b, hsz);
	put64(b, msz);
	for (uint32_t i = 40; i < total; i++) {
		unsigned char c = 0;

		put(b, &c, 1);
	}
	/* The eh_frame_hdr (version byte 1) ends the unwinding data. */
	if (usz >= hsz && hsz >= 4 && 40 + usz <= total)
		memcpy(b->p + off + 40 + usz - hsz, eh, 4);
	return off;
}

static size_t close_rec(struct dbuf *b, uint64_t ts)
{
	size_t off = b->len;

	prefix(b, JD_CODE_CLOSE, 16, ts);
	return off;
}

#endif
