/* bytes.h - little-endian integers read from a byte buffer at any alignment
 * (memcpy: no unaligned access, no strict-aliasing trouble; compilers make
 * one load of it). */
#ifndef JITPERF_BYTES_H
#define JITPERF_BYTES_H

#include <stdint.h>
#include <string.h>

static inline uint64_t jp_get_u64(const unsigned char *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static inline uint32_t jp_get_u32(const unsigned char *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static inline uint16_t jp_get_u16(const unsigned char *p)
{
	uint16_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

#endif
