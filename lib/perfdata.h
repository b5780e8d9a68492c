/* perfdata.h - walk the samples of a perf.data file (perf record's file
 * format) from a memory buffer, without perf.
 *
 * Why: before perf inject, jitperf-run keeps only the jitdump LOADs some
 * sample can fall in (jd_prune.h).  Finding the sampled addresses with
 * `perf script` cost a perf process (0.2-0.7 s here) plus parsing its text;
 * the addresses are plain fields of PERF_RECORD_SAMPLE, so reading them
 * here costs milliseconds.
 *
 * What is decoded: the file header, the attributes (sample_type,
 * read_format, sample_regs_user, branch_sample_type) and, of the data
 * section, PERF_RECORD_SAMPLE up to and including PERF_SAMPLE_STACK_USER:
 * pid/tid, ip, the call chain, the user registers and the user stack.  Every
 * other record is stepped over by its size.  Samples are raw virtual
 * addresses: also in dual-mapped (memfd) code, where perf script prints
 * file offsets.
 *
 * Contract
 * - Any bytes: nothing is read outside [buf, buf+len), no size field is
 *   trusted, every loop ends.  The fuzzer holds us to this.
 * - Returns 0 when every record was walked, or -EBADMSG with *why set
 *   (a static string) when the file is not one this reader can read whole:
 *   not a perf.data file, pipe mode, another byte order, several
 *   attributes with different sample formats and no PERF_SAMPLE_IDENTIFIER,
 *   a sample it cannot decode, a record that runs past the data section,
 *   compressed records.  A caller that prunes must then keep everything:
 *   a sample it did not see could be the one a LOAD was needed for.
 * - A callback returning nonzero stops the walk; jp_pd_walk returns that.
 * - libc only, no allocation; thread-safe (no state outside the call).
 *   For tools only, never inside a host. */
#ifndef JITPERF_PERFDATA_H
#define JITPERF_PERFDATA_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* One sample.  Arrays point into the caller's buffer, not necessarily
 * aligned: read their elements with jp_pd_u64(). */
struct jp_pd_sample {
	uint32_t pid, tid;         /* 0 without PERF_SAMPLE_TID */
	int has_ip, has_time;
	uint64_t ip;
	uint64_t time;             /* perf's clock (CLOCK_MONOTONIC with -k 1), when has_time */
	const unsigned char *chain; /* chain_nr u64s, PERF_CONTEXT_* markers included */
	uint64_t chain_nr;
	const unsigned char *regs;  /* regs_nr u64s (user registers, in mask order) */
	uint64_t regs_nr;
	const unsigned char *stack; /* stack_size bytes copied from the user stack at sp */
	uint64_t stack_size;
};

typedef int (*jp_pd_sample_fn)(void *arg, const struct jp_pd_sample *s);

static inline uint64_t jp_pd_u64(const unsigned char *p, uint64_t i)
{
	uint64_t v;

	memcpy(&v, p + 8 * i, sizeof(v));
	return v;
}

/* Call fn for each PERF_RECORD_SAMPLE of the perf.data file in [buf,
 * buf+len), in file order.  Returns 0, the callback's nonzero value, or
 * -EBADMSG (see the contract; *why says what, never NULL then). */
int jp_pd_walk(const void *buf, size_t len, jp_pd_sample_fn fn, void *arg, const char **why);

#endif
