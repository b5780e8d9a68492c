/* fingerprint.c - position-independent code hash: Zydis decode, mask, XXH3. */
#include "fingerprint.h"

#include <string.h>

#include "insn.h"

/* Inlined rather than linked: one shared library fewer loaded into every
 * host, and the streaming functions get inlined into the loop below. */
#define XXH_INLINE_ALL
#include <xxhash.h>

int jp_fingerprint_looks_like_pointer(uint64_t v)
{
	uint64_t low = v & 0x0000ffffffffffffull;
	unsigned top = (unsigned)(v >> 48);

	if (low < 0x10000 || low >= 0x800000000000ull)
		return 0;
	/* Plain user pointers, and NaN-boxed ones (SpiderMonkey, JSC and
	 * LuaJIT tag pointers in the top 16 bits of a NaN).  0xffff is left
	 * alone: small negative numbers live there. */
	return top == 0 || (top >= 0xfff8 && top <= 0xfffe);
}

#define CHUNK 512

uint64_t jp_fingerprint(const uint8_t *code, size_t len, uint64_t addr)
{
	XXH3_state_t st;
	uint8_t buf[CHUNK + 16];
	size_t fill = 0, pos = 0;
	struct jp_decoder d;

	if (!code)
		return 0;
	jp_insn_init(&d);
	XXH3_64bits_reset(&st);
	while (pos < len) {
		struct jp_insn in;
		unsigned ilen = jp_insn_decode(&d, code + pos, len - pos, &in);

		if (!ilen) {
			buf[fill++] = code[pos++];
		} else {
			memcpy(buf + fill, code + pos, ilen);
			if (in.rel_size) {
				/* targets are computed on offsets so a piece
				 * near the top of the address space cannot wrap */
				int64_t t = (int64_t)(pos + ilen) + in.rel;

				if (t < 0 || (uint64_t)t >= len)
					memset(buf + fill + in.rel_off, 0, in.rel_size);
			}
			if (in.abs_size && jp_fingerprint_looks_like_pointer(in.abs))
				memset(buf + fill + in.abs_off, 0, in.abs_size);
			fill += ilen;
			pos += ilen;
		}
		if (fill >= CHUNK) {
			XXH3_64bits_update(&st, buf, fill);
			fill = 0;
		}
	}
	if (fill)
		XXH3_64bits_update(&st, buf, fill);
	return XXH3_64bits_digest(&st);
}
