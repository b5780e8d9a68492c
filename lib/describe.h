/* describe.h - glue between capture and naming: how a span of captured code
 * is cut into pieces and what each piece is called.
 *
 * Names come, best first, from what the process itself publishes (symbols
 * registered through the GDB JIT interface, a runtime's own perf map), else
 * are made up as jit:<creator>:<fingerprint> (docs/naming.md).
 *
 * Contract: everything here is called by the capture engine with its lock
 * held (so it is single-threaded), possibly from a hook: no malloc, errno
 * preserved, deterministic output.  jp_describe_refresh_known() reads files
 * and other objects' memory and is meant for the epoch thread only. */
#ifndef JITPERF_DESCRIBE_H
#define JITPERF_DESCRIBE_H

#include <stddef.h>
#include <stdint.h>

struct jp_span_piece {
	uint64_t off;       /* from the start of the span */
	uint32_t len;
	uint32_t flags;     /* JP_SPAN_* */
	uint64_t gap_after; /* padding bytes known to follow (0 if unknown) */
	uint32_t known;     /* 1 + index of a published name, 0 for none */
};

#define JP_SPAN_FDE_FITS 1u /* a frame-pointer FDE describes it and fits before the next piece */
#define JP_SPAN_DATA 2u     /* tiny and without a terminator: data between code */
#define JP_SPAN_SAME_FP 4u  /* a described piece patched in place: its fingerprint is unchanged */
#define JP_SPAN_TRIMMED 8u  /* a described piece less its overwritten first instruction */

/* The buffer the next splits and fingerprints read, until the next call
 * (NULL: none): what the splitter decodes there is remembered, so each
 * instruction of new code is decoded once.  The caller must call it again
 * whenever it refills that buffer. */
void jp_describe_buffer(const uint8_t *buf, size_t len);

/* Cut buf (code at addr) into pieces: published symbols keep their own
 * boundaries, the rest is split on evidence (lib/split.c).  Padding is never
 * part of a piece.  Returns the number of pieces written to out. */
size_t jp_describe_split(const uint8_t *buf, size_t len, uint64_t addr, struct jp_span_piece *out, size_t max_out);

/* At a call that creates executable memory: record who made it (unwinding
 * once, cheap) and return a creator id; the name is resolved once per call
 * site, the first time a piece needs it. */
uint32_t jp_describe_creator(void);

/* Name a piece into buf; *nhash receives a hash of the name (so the engine
 * notices when a piece must be announced again under a better name). */
void jp_describe_name(char *buf, size_t size, uint32_t creator, const struct jp_span_piece *p, const uint8_t *code,
		      uint64_t addr, uint32_t *nhash, uint64_t *fp, uint64_t *shape);

/* The fingerprint a made-up name of piece p would come from, and its shape
 * (jp_fingerprint_shape_ws); both 0 for pieces with a published name, data,
 * or when they cannot be computed. */
uint64_t jp_describe_fingerprint(const struct jp_span_piece *p, const uint8_t *code, uint64_t addr, uint64_t *shape);

/* Its shape alone (0 where jp_describe_fingerprint gives 0), cheaper. */
uint64_t jp_describe_shape(const struct jp_span_piece *p, const uint8_t *code);

/* Does a published name overlap [addr, addr+len)? */
int jp_describe_known_overlap(uint64_t addr, uint64_t len);

/* Hash of a piece's published name (0 for made-up names), cheap: lets the
 * engine tell a renamed piece without naming unchanged ones. */
uint32_t jp_describe_known_hash(const struct jp_span_piece *p);

/* Start of a capture pass: duplicate-name numbering restarts. */
void jp_describe_pass(void);

/* Epoch thread: read newly published names (GDB JIT objects, the runtime's
 * own perf map unless skip_perfmap) and call changed(start, end, arg) for
 * each range that got a name it did not have. */
void jp_describe_refresh_known(int skip_perfmap, void (*changed)(uint64_t start, uint64_t end, void *arg), void *arg);

/* Fork child: call sites and names stay valid (same address space), so
 * nothing to do but forget the perf-map read position (a new pid, a new
 * map file). */
void jp_describe_fork_child(void);

#endif
