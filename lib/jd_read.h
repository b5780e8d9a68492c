/* jd_read.h - read and validate jitdump files from a memory buffer.
 *
 * Contract
 * - Input is any byte buffer (usually a read-only mmap of jit-<pid>.dump).
 *   Nothing here reads outside [buf, buf+len), loops forever, or trusts a
 *   size field: every input, however corrupt, yields records, an end, or an
 *   error with a byte offset and a reason.  The fuzzer holds us to this.
 * - Functions return 0 (or 1 where documented) on success and -errno on
 *   failure; errno is not used.
 * - For tools and tests only: the checker allocates with malloc and formats
 *   with snprintf, so it must not be called from a hook inside a host.  It
 *   depends on nothing but libc (the fuzz build links it alone).
 * - Only native-endian (little-endian on x86-64) dumps are decoded.  perf
 *   also reads byte-swapped dumps; we recognise and report them instead.
 * - Thread-safe as long as each reader/summary is used by one thread.
 *
 * Offsets in reports: header problems point at the offending header field,
 * record problems at the first byte of the record. */
#ifndef JITPERF_JD_READ_H
#define JITPERF_JD_READ_H

#include <stddef.h>
#include <stdint.h>

#include "jd_format.h"

#define JP_JDR_REASON_MAX 200
#define JD_MAGIC_SWAPPED 0x4454694Au  /* JD_MAGIC written by a big-endian machine */
#define JD_FLAG_ARCH_TIMESTAMP 1ull   /* the only header flag perf defines */

/* The ELF machine perf on this host writes its jitted-*.so files for:
 * perf ignores elf_mach and builds every ELF image for its own machine. */
#if defined(__x86_64__)
#define JP_JDR_HOST_MACH 62u
#elif defined(__aarch64__)
#define JP_JDR_HOST_MACH 183u
#elif defined(__i386__)
#define JP_JDR_HOST_MACH 3u
#elif defined(__riscv)
#define JP_JDR_HOST_MACH 243u
#else
#define JP_JDR_HOST_MACH 0u /* unknown host: not checked */
#endif

/* One record, decoded.  Pointers point into the caller's buffer; strings are
 * NUL-terminated inside it. */
struct jp_jdr_rec {
	uint32_t id;              /* enum jd_record_id, or any unknown value */
	uint32_t total_size;
	uint64_t offset;          /* of the record's first byte in the buffer */
	uint64_t timestamp;
	const unsigned char *raw; /* the whole record, total_size bytes */
	union {
		struct {
			uint32_t pid, tid;
			uint64_t vma, code_addr, code_size, code_index;
			const char *name;
			size_t name_len;  /* strlen(name) */
			const unsigned char *code; /* code_size bytes */
		} load;
		struct {
			uint32_t pid, tid;
			uint64_t vma, old_code_addr, new_code_addr, code_size, code_index;
		} move;
		struct {
			uint64_t code_addr, nr_entry;
			const unsigned char *entries; /* see jp_jdr_debug_next() */
			size_t entries_len;
		} debug;
		struct {
			uint64_t unwinding_size, eh_frame_hdr_size, mapped_size;
			const unsigned char *data; /* total_size - 40 bytes: eh_frame,
						    * eh_frame_hdr, padding */
			size_t data_len;
		} unwind;
	} u;
};

/* Iterator over the records of a dump. */
struct jp_jdr {
	const unsigned char *buf;
	size_t len;
	size_t off;               /* offset of the next record */
	struct jd_header hdr;     /* copied out (the buffer may be unaligned) */
	uint64_t err_off;         /* where the last error was found */
	char err[JP_JDR_REASON_MAX]; /* why */
};

/* Start reading buf.  Needs a whole 40-byte header with the native magic
 * and a header total_size in [40, len]; records start after total_size
 * bytes, as the specification says.  Version, elf_mach and flags are not
 * judged here (see jp_jdr_check).  Returns 0, or -EBADMSG with r->err_off
 * and r->err set (-EPROTONOSUPPORT for a byte-swapped dump). */
int jp_jdr_open(struct jp_jdr *r, const void *buf, size_t len);

/* Decode the next record into *rec.  Returns 1 with a record, 0 at the end
 * of the buffer, or a negative error with r->err_off/r->err set:
 * - framing errors (total_size < 16, a record running past the end of the
 *   buffer) end the iteration: perf stops there too, so later calls return 0;
 * - a record whose framing is sound but whose fields contradict each other
 *   (e.g. a LOAD whose name, code_size and total_size do not add up) is
 *   skipped: the next call continues with the following record.
 * Unknown record ids are returned (only the prefix fields are filled) so
 * callers can show them; skip them, as perf does. */
int jp_jdr_next(struct jp_jdr *r, struct jp_jdr_rec *rec);

/* One DEBUG_INFO line-table entry. */
struct jp_jdr_debug_entry {
	uint64_t addr;
	int32_t lineno, discrim;
	const char *name;         /* NUL-terminated in the buffer */
};

/* Walk the entries of a DEBUG_INFO record with a zeroed cursor.  Returns 1
 * with an entry, 0 after nr_entry entries, or -EBADMSG when an entry or its
 * name does not fit in the record (-EINVAL: not a DEBUG_INFO record).  Each
 * entry takes at least 17 bytes, so a huge nr_entry ends at the data's end. */
struct jp_jdr_debug_cursor {
	size_t pos;               /* byte offset in entries */
	uint64_t n;               /* entries returned so far */
};
int jp_jdr_debug_next(const struct jp_jdr_rec *rec, struct jp_jdr_debug_cursor *c,
		      struct jp_jdr_debug_entry *e);

/* Result of jp_jdr_check(): the first error, warnings, statistics. */
struct jp_jdr_summary {
	int valid;                /* no error found */
	uint64_t err_off;
	char err[JP_JDR_REASON_MAX];
	uint64_t warnings;        /* count; each one also goes to the callback */
	/* statistics over the records read before the first error */
	struct jd_header hdr;     /* valid when have_header */
	int have_header;
	uint64_t records;
	uint64_t by_id[JD_CODE_MAX];
	uint64_t unknown;         /* records with an id perf does not know */
	uint64_t undescribed;     /* of them, jitperf's own for jitperf-dump --describe (jd_format.h: JD_JP_*) */
	uint64_t code_bytes;      /* sum of LOAD code_size */
	uint64_t distinct_names;  /* of LOADs */
	uint64_t ts_backwards;    /* records older than the record before */
	uint64_t unwind_cfi;      /* UNWINDING_INFO with a mapped .eh_frame (real rules) */
	uint64_t unwind_fdes;     /* FDEs in jitperf's own (lib/cfi.h) */
	uint64_t bytes;           /* of the buffer covered by whole records */
};

/* Called for each warning: something perf accepts but that is probably not
 * what the writer meant (an empty symbol, an unknown record id, ...). */
typedef void (*jp_jdr_warn_fn)(void *arg, uint64_t off, const char *reason);

/* Validate a whole dump against the format and against what perf 6.1 does
 * with it, stopping at the first error.  Errors (perf rejects the dump,
 * loses records, or shows wrong symbols):
 * - header: shorter than 40 bytes, bad or byte-swapped magic, version other
 *   than 1, total_size other than 40, elf_mach other than this host's,
 *   reserved flag bits;
 * - framing: total_size < 16, a record (or record prefix) cut off by the end
 *   of the file;
 * - LOAD: total_size != 56 + strlen(name) + 1 + code_size, name not
 *   terminated inside the record, code_index used before in this dump;
 * - MOVE: shorter than 64 bytes, or naming a code_index no earlier LOAD
 *   created (perf would map a jitted-<pid>-<index>.so that does not exist);
 * - UNWINDING_INFO: shorter than 40 bytes, unwinding_size + 40 > total_size,
 *   eh_frame_hdr_size > unwinding_size, eh_frame_hdr version byte not 1,
 *   mapped_size neither 0 nor in [unwinding_size, unwinding_size rounded up
 *   to 16] (CPython rounds it up; more would hide neighbouring code); for
 *   jitperf's own CFI (its CIE), checked against the next LOAD's code size
 *   (lib/cfi.h jp_cfi_check): header encodings and table, every FDE inside
 *   the data and its range inside the code, table sorted, known opcodes;
 * - DEBUG_INFO: shorter than 32 bytes, entries or names not fitting.
 * Warnings: LOAD or MOVE pid other than the header's, code_size 0, MOVE
 * code_size differing from its LOAD, an UNWINDING_INFO with
 * eh_frame_hdr_size 0 (perf never clears it: it sticks to every later LOAD),
 * unknown record ids, the arch-timestamp flag.  Timestamps going backwards
 * are legal for perf and only counted.
 * Returns 0 when valid, -EBADMSG when not (s->err_off, s->err say why),
 * -ENOMEM.  warn may be NULL. */
int jp_jdr_check(const void *buf, size_t len, struct jp_jdr_summary *s, jp_jdr_warn_fn warn, void *arg);

/* "LOAD", "MOVE", "DEBUG_INFO", "CLOSE", "UNWINDING_INFO" or "UNKNOWN". */
const char *jp_jdr_type_name(uint32_t id);

#endif
