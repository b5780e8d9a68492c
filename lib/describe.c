/* describe.c - cut captured code into pieces and name them. */
#include "describe.h"
#include "region.h"
#include "sys.h"

#include <string.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

/* A run of this many int3 or zero bytes separates two pieces: JITs pad
 * between functions with int3 (V8, sljit, asmjit) or leave zero-filled
 * gaps; real code essentially never holds 16 of either in a row. */
#define MIN_PAD 16

static int is_pad(uint8_t b)
{
	return b == 0xcc || b == 0x00;
}

static size_t pad_run(const uint8_t *buf, size_t len, size_t i)
{
	size_t j = i;

	while (j < len && buf[j] == buf[i] && is_pad(buf[j]))
		j++;
	return j - i;
}

static int fp_prologue(const uint8_t *p, size_t n)
{
	return n >= 4 && p[0] == 0x55 && p[1] == 0x48 && p[2] == 0x89 && p[3] == 0xe5;
}

size_t jp_describe_split(const uint8_t *buf, size_t len, uint64_t addr, size_t max_piece, struct jp_span_piece *out,
			 size_t max_out)
{
	size_t i = 0, n = 0;

	(void)addr;
	while (i < len && n < max_out) {
		size_t start, end;

		/* Padding between pieces, of any length, belongs to no piece. */
		while (i < len && is_pad(buf[i]))
			i++;
		if (i >= len)
			break;
		start = end = i;
		/* A piece runs until a long padding run; short runs of int3 or
		 * zero bytes inside it are alignment or immediates. */
		while (end < len) {
			size_t run;

			if (!is_pad(buf[end])) {
				end++;
				continue;
			}
			run = pad_run(buf, len, end);
			if (run >= MIN_PAD || end + run == len)
				break;
			end += run;
		}
		i = end;
		/* Alignment int3s at the end are not code. */
		while (end > start + 1 && buf[end - 1] == 0xcc)
			end--;
		while (end - start > max_piece && n < max_out) {
			out[n].off = start;
			out[n].len = (uint32_t)max_piece;
			out[n].flags = fp_prologue(buf + start, max_piece) ? JP_SPAN_FP_PROLOGUE : 0;
			out[n].gap_after = 0;
			n++;
			start += max_piece;
		}
		if (n < max_out && end > start) {
			out[n].off = start;
			out[n].len = (uint32_t)(end - start);
			out[n].flags = fp_prologue(buf + start, end - start) ? JP_SPAN_FP_PROLOGUE : 0;
			out[n].gap_after = 0;
			n++;
		}
	}
	for (size_t k = 0; k + 1 < n; k++)
		out[k].gap_after = out[k + 1].off - (out[k].off + out[k].len);
	return n;
}

uint64_t jp_describe_creator(void *caller)
{
	return (uint64_t)(uintptr_t)caller;
}

static const char *kind_name(int kind)
{
	switch (kind) {
	case JP_RK_SHMEM:
		return "shmem";
	case JP_RK_HEAP:
		return "heap";
	case JP_RK_FILE:
		return "memfd";
	default:
		return "anon";
	}
}

void jp_describe_name(char *buf, size_t size, uint64_t creator, int kind, const uint8_t *code, size_t len,
		      uint64_t addr)
{
	char hex[24];
	uint64_t h = XXH3_64bits(code, len);
	size_t n;

	(void)creator;
	(void)addr;
	jp_strlcpy(buf, "jit:", size);
	jp_strlcat(buf, kind_name(kind), size);
	jp_strlcat(buf, ":", size);
	n = jp_utoa(hex, h >> 32, 16);
	hex[n] = 0;
	jp_strlcat(buf, hex, size);
}
