/* fuzz_dump.c - libFuzzer target: the jitdump reader, pruner, late-map renamer and describer (records for a description after the run), and the perf.data sample reader the pruner is fed by, must survive any bytes. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "jd_describe.h"
#include "jd_prune.h"
#include "jd_read.h"
#include "jd_rename.h"
#include "perfdata.h"
#include "sampled.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void count_warning(void *arg, uint64_t off, const char *reason)
{
	uint64_t *n = arg;

	/* A reason is always a terminated, non-empty string. */
	if (!reason[0] || strlen(reason) >= JP_JDR_REASON_MAX)
		__builtin_trap();
	(*n)++;
}

/* Read every byte a record hands out, so ASan sees any pointer or length
 * that strays outside the input. */
static uint64_t touch(const void *p, size_t len)
{
	const unsigned char *b = p;
	uint64_t h = 0;

	for (size_t i = 0; i < len; i++)
		h = h * 31 + b[i];
	return h;
}

static uint64_t walk_record(const struct jp_jdr_rec *rec)
{
	struct jp_jdr_debug_cursor cur = { 0, 0 };
	struct jp_jdr_debug_entry e;
	uint64_t h = touch(rec->raw, rec->total_size);

	switch (rec->id) {
	case JD_CODE_LOAD:
		if (strlen(rec->u.load.name) != rec->u.load.name_len)
			__builtin_trap();
		h += touch(rec->u.load.name, rec->u.load.name_len + 1);
		h += touch(rec->u.load.code, rec->u.load.code_size);
		break;
	case JD_CODE_DEBUG_INFO:
		while (jp_jdr_debug_next(rec, &cur, &e) > 0)
			h += e.addr + strlen(e.name);
		break;
	case JD_CODE_UNWINDING_INFO:
		h += touch(rec->u.unwind.data, rec->u.unwind.data_len);
		break;
	default:
		break;
	}
	return h;
}

/* Applying a late map to any input: no crash; on success the output
 * frames like a dump, and a dump the checker accepted stays acceptable.
 * The map names the first LOAD's code (whole, and a part of it, so both
 * the new-LOAD and older-copy paths run), plus fixed addresses. */
static void rename_any(const uint8_t *data, size_t size, uint64_t first_addr, uint64_t first_size, int valid_in)
{
	struct jp_map_entry map[] = {
		{ first_addr, first_size ? first_size : 1, "first whole" },
		{ first_addr + first_size / 4, first_size / 2, "first part" },
		{ 0x1000, 0x100, "fixed" },
		{ 0x7f0000001000, 0x40, "high" },
	};
	struct jp_rename_stats st;
	struct jp_jdr_summary s;
	char *out = NULL;
	size_t out_len = 0;
	FILE *f = open_memstream(&out, &out_len);
	int rc;

	if (!f)
		return;
	rc = jp_jd_apply_map(data, size, map, 4, 0, f, &st);
	fclose(f);
	if (rc == 0) {
		if (st.loads_added > st.entries || st.loads_dropped > st.loads_in || st.entries != 4)
			__builtin_trap();
		if (valid_in && jp_jdr_check(out, out_len, &s, NULL, NULL) != 0)
			__builtin_trap();
	}
	free(out);
}

/* A sample's arrays end inside the input (arg: its end). */
static int check_sample(void *arg, const struct jp_pd_sample *smp)
{
	const unsigned char *end = arg;

	if ((smp->chain && smp->chain + 8 * smp->chain_nr > end) || (smp->regs && smp->regs + 8 * smp->regs_nr > end) ||
	    (smp->stack && smp->stack + smp->stack_size > end))
		__builtin_trap();
	return (int)(touch(smp->stack, smp->stack_size) & 0); /* ASan checks each byte */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint64_t first_addr = 0, first_size = 0;
	struct jp_jdr_summary s;
	struct jp_jdr_rec rec;
	struct jp_jdr r;
	uint64_t warnings = 0, records = 0, errors = 0;
	volatile uint64_t sink = 0;
	int n, v;

	if (jp_jdr_open(&r, data, size) == 0) {
		while ((n = jp_jdr_next(&r, &rec)) != 0) {
			if (n < 0) {
				if (!r.err[0] || r.err_off > size)
					__builtin_trap();
				errors++;
				continue;
			}
			if (rec.offset + rec.total_size > size || rec.total_size < 16)
				__builtin_trap();
			records++;
			if (rec.id == JD_CODE_LOAD && !first_size) {
				first_addr = rec.u.load.code_addr;
				first_size = rec.u.load.code_size;
			}
			sink += walk_record(&rec);
		}
	}

	v = jp_jdr_check(data, size, &s, count_warning, &warnings);
	/* The two modes must agree: a dump the checker accepts iterates
	 * without a single error, and every verdict comes with a reason. */
	if (v == 0 && (!s.valid || errors || s.records != records))
		__builtin_trap();
	if (v < 0 && (s.valid || !s.err[0] || s.err_off > size))
		__builtin_trap();
	if (s.warnings != warnings || s.bytes > size)
		__builtin_trap();

	/* Pruning any input: no crash, never more out than in, and what it
	 * writes reads back without framing errors. */
	{
		static const struct jp_sample_at addrs[] = { { 0x1000, 0 }, { 0x1100, 7 }, { 0x7f0000001000, 9 } };
		struct jp_prune_stats ps;
		char *out = NULL;
		size_t out_len = 0;
		FILE *f = open_memstream(&out, &out_len);

		if (f) {
			int rc = jp_jd_prune(data, size, addrs, 3, f, &ps);

			fclose(f);
			if (rc == 0 && (out_len > size || ps.bytes_out != out_len || ps.loads_kept > ps.loads_in))
				__builtin_trap();
			if (rc == 0 && jp_jdr_open(&r, out, out_len) == 0)
				while ((n = jp_jdr_next(&r, &rec)) != 0)
					if (n < 0 && r.off > out_len)
						__builtin_trap();
			free(out);
		}
	}
	/* The same bytes as a perf.data file: every sample's arrays lie inside
	 * the input, and a refusal says why. */
	{
		struct jp_sampled set;
		const char *why = NULL;
		int rc;

		jp_sampled_open(&set, 0, 0, UINT64_MAX);
		rc = jp_sampled_read(&set, data, size, &why);
		if (rc < 0 && rc != -ENOMEM && !why)
			__builtin_trap();
		free(jp_sampled_sorted(&set, &(size_t){ 0 }));
		jp_sampled_close(&set);
		sink += (uint64_t)jp_pd_walk(data, size, check_sample, (void *)data + size, &why);
	}
	rename_any(data, size, first_addr, first_size, v == 0);
	/* Describing any input: no crash, a reason for every refusal, and what
	 * it writes reads back as a dump the checker accepts. */
	{
		struct jp_jd_describe_stats ds;
		char err[256] = "";
		int fd = memfd_create("described", 0), out_fd = fd >= 0 ? dup(fd) : -1, rc;

		if (out_fd >= 0) {
			rc = jp_jd_describe(data, size, out_fd, &ds, err, sizeof(err));
			if (rc == 1)
				close(out_fd); /* nothing to describe: left to the caller */
			if (rc < 0 && rc != -ENOMEM && !err[0])
				__builtin_trap();
			if (rc == 0) {
				off_t n = lseek(fd, 0, SEEK_END);
				char *out = n > 0 ? malloc((size_t)n) : NULL;

				if (out && pread(fd, out, (size_t)n, 0) == n &&
				    jp_jdr_check(out, (size_t)n, &s, NULL, NULL) != 0 && v == 0)
					__builtin_trap();
				free(out);
			}
		}
		if (fd >= 0)
			close(fd);
	}
	(void)sink;
	return 0;
}
