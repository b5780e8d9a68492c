/* describe.h - glue between capture and naming: how a span of captured code
 * is cut into pieces and what each piece is called.
 *
 * Contract: called by the capture engine under its lock, possibly from a
 * hook: no malloc on these paths, errno preserved, deterministic output. */
#ifndef JITPERF_DESCRIBE_H
#define JITPERF_DESCRIBE_H

#include <stddef.h>
#include <stdint.h>

struct jp_span_piece {
	uint64_t off;       /* from the start of the span */
	uint32_t len;
	uint32_t flags;     /* JP_SPAN_* */
	uint64_t gap_after; /* padding bytes known to follow (0 if unknown) */
};

#define JP_SPAN_FP_PROLOGUE 1u /* starts with push rbp; mov rbp,rsp */

/* Cut buf (code at addr) into pieces of at most max_piece bytes; padding is
 * never part of a piece.  Returns the number of pieces written to out. */
size_t jp_describe_split(const uint8_t *buf, size_t len, uint64_t addr, size_t max_piece, struct jp_span_piece *out,
			 size_t max_out);

/* Creator id for the code made executable by a call returning to caller
 * (cheap: the heavy work is done once per call site). */
uint64_t jp_describe_creator(void *caller);

/* The name of a piece: "jit:<creator>:<fingerprint>". */
void jp_describe_name(char *buf, size_t size, uint64_t creator, int kind, const uint8_t *code, size_t len,
		      uint64_t addr);

#endif
