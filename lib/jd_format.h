/* jd_format.h - on-disk layout of perf's jitdump format, written from the
 * Linux tree's tools/perf/Documentation/jitdump-specification.txt and
 * tools/perf/util/jitdump.h, and checked against what perf 6.1 accepts
 * (tools/perf/util/jitdump.c and util/genelf.c read it; every layout below
 * was also run through perf inject).  Where perf and the specification
 * disagree, the field's comment says which one we follow.
 *
 * Contract: plain data definitions only; safe to include anywhere.  All fields
 * are little-endian on x86-64 and packed without padding between fields; the
 * _Static_asserts below pin every size perf depends on. */
#ifndef JITPERF_JD_FORMAT_H
#define JITPERF_JD_FORMAT_H

#include <stdint.h>

#define JD_MAGIC 0x4A695444u   /* "JiTD" read as a little-endian u32 */
#define JD_VERSION 1u
#define JD_ELF_MACH_X86_64 62u

enum jd_record_id {
	JD_CODE_LOAD = 0,
	JD_CODE_MOVE = 1,
	JD_CODE_DEBUG_INFO = 2,
	JD_CODE_CLOSE = 3,
	JD_CODE_UNWINDING_INFO = 4,
	JD_CODE_MAX
};

/* File header.  perf insists on total_size == 40: a larger value derails the
 * parse (checked), so we never write extra header bytes. */
struct jd_header {
	uint32_t magic;      /* JD_MAGIC */
	uint32_t version;    /* JD_VERSION */
	uint32_t total_size; /* sizeof(struct jd_header) */
	uint32_t elf_mach;   /* ELF e_machine of the code */
	uint32_t pad1;       /* zero */
	uint32_t pid;        /* process that wrote the dump */
	uint64_t timestamp;  /* CLOCK_MONOTONIC ns at creation */
	uint64_t flags;      /* zero: no arch timestamp */
};
_Static_assert(sizeof(struct jd_header) == 40, "jitdump header is 40 bytes");

/* Prefix of every record. */
struct jd_prefix {
	uint32_t id;         /* enum jd_record_id */
	uint32_t total_size; /* whole record, prefix included */
	uint64_t timestamp;  /* CLOCK_MONOTONIC ns; perf dates the symbol by it */
};
_Static_assert(sizeof(struct jd_prefix) == 16, "record prefix is 16 bytes");

/* JIT_CODE_LOAD: followed by the NUL-terminated name, then code_size bytes. */
struct jd_code_load {
	struct jd_prefix p;
	uint32_t pid;        /* perf matches it against the sample's pid */
	uint32_t tid;
	uint64_t vma;        /* address of the code (same as code_addr here) */
	uint64_t code_addr;
	uint64_t code_size;
	uint64_t code_index; /* unique within a dump: perf names the .so after it */
};
_Static_assert(sizeof(struct jd_code_load) == 56, "LOAD fixed part is 56 bytes");

/* JIT_CODE_MOVE: re-emits the .so of code_index at new_code_addr. */
struct jd_code_move {
	struct jd_prefix p;
	uint32_t pid;
	uint32_t tid;
	uint64_t vma;
	uint64_t old_code_addr;
	uint64_t new_code_addr;
	uint64_t code_size;
	uint64_t code_index;
};
_Static_assert(sizeof(struct jd_code_move) == 64, "MOVE is 64 bytes");

/* JIT_CODE_DEBUG_INFO: followed by nr_entry entries, each a jd_debug_entry
 * and a NUL-terminated file name. */
struct jd_code_debug_info {
	struct jd_prefix p;
	uint64_t code_addr;
	uint64_t nr_entry;
};
_Static_assert(sizeof(struct jd_code_debug_info) == 32, "DEBUG_INFO fixed part is 32 bytes");

struct jd_debug_entry {
	uint64_t addr;
	int32_t lineno;
	int32_t discrim;
};
_Static_assert(sizeof(struct jd_debug_entry) == 16, "debug entry fixed part is 16 bytes");

/* JIT_CODE_UNWINDING_INFO: followed by unwinding_size bytes: the .eh_frame
 * then the .eh_frame_hdr (perf's order, not the specification's), padded to a
 * multiple of 8.  It attaches to the next LOAD. */
struct jd_code_unwinding_info {
	struct jd_prefix p;
	uint64_t unwinding_size;    /* eh_frame + eh_frame_hdr, unpadded */
	uint64_t eh_frame_hdr_size; /* size of the trailing .eh_frame_hdr */
	uint64_t mapped_size;       /* bytes perf maps after the code; 0 or unwinding_size */
};
_Static_assert(sizeof(struct jd_code_unwinding_info) == 40, "UNWINDING_INFO fixed part is 40 bytes");

struct jd_code_close {
	struct jd_prefix p;
};

/* Sizes of the two unwinding payloads jitperf writes (see jitdump.c). */
#define JD_EH_HDR_SIZE 20u          /* version, 3 encodings, eh_frame_ptr, fde_count, one entry */
#define JD_EMPTY_UNWIND_RECORD 64u  /* 40 + 20 rounded up to 8 */
#define JD_FDE_UNWIND_SIZE 80u      /* CIE 24 + FDE 32 + terminator 4 + header 20 */
#define JD_FDE_UNWIND_RECORD 120u   /* 40 + 80 */

/* jitperf's own records, written instead of LOADs with JITPERF_DESCRIBE=after
 * (or beside them with =both): what the capture read and what it would have
 * described, for jitperf-dump --describe (lib/jd_describe.c) to turn into
 * LOADs after the run, out of the program.  perf skips unknown ids. */
enum jd_jp_record_id {
	JD_JP_PAGES = 0x4a500001,      /* memory as read: addr, len, then len bytes */
	JD_JP_CAPTURE = 0x4a500002,    /* reconcile [a, b) of a region (timestamp: now) */
	JD_JP_REANNOUNCE = 0x4a500003, /* announce a region's pieces anew (timestamp: now) */
	JD_JP_FORGET = 0x4a500004,     /* regions within [start, end) are gone */
	JD_JP_DROP = 0x4a500005,       /* pieces within [start, end) are forgotten */
	JD_JP_MOVE = 0x4a500006,       /* a region moved (mremap) */
	JD_JP_KNOWN = 0x4a500007,      /* a name the process published */
};

struct jd_jp_pages {
	struct jd_prefix p;
	uint64_t addr, len; /* followed by len bytes */
};
_Static_assert(sizeof(struct jd_jp_pages) == 32, "PAGES fixed part is 32 bytes");

/* CAPTURE and REANNOUNCE: the region's state the reconciler reads, then
 * the creator's name (creator_len bytes, NUL included, padded to 8). */
struct jd_jp_capture {
	struct jd_prefix p;
	uint64_t start, end;   /* the region */
	uint64_t last_event_ts, last_scan_ts;
	uint64_t a, b;         /* CAPTURE: the span to reconcile */
	uint64_t ts_new;       /* CAPTURE: the date new code may carry */
	uint32_t tid;          /* the thread whose LOADs these would have been */
	uint32_t creator;      /* the region's creator id in the program */
	uint32_t creator_len;
	uint32_t flags;        /* JD_JP_F_* */
};
#define JD_JP_F_FDE 1u    /* unwinding data from the code (JITPERF_UNWIND=auto) */
#define JD_JP_F_BUDGET 2u /* within a region's pass: the creator's budget applies (lib/budget.h) */
#define JD_JP_F_BOTH 4u   /* the program described it too (JITPERF_DESCRIBE=both): its own LOADs are not kept */
_Static_assert(sizeof(struct jd_jp_capture) == 88, "CAPTURE fixed part is 88 bytes");

/* FORGET and DROP. */
struct jd_jp_span {
	struct jd_prefix p;
	uint64_t start, end;
};
_Static_assert(sizeof(struct jd_jp_span) == 32, "FORGET/DROP are 32 bytes");

/* The region [old_start, old_end) now lies at new_start (jp_regions_move:
 * its pieces within the first keep bytes go with it). */
struct jd_jp_move {
	struct jd_prefix p;
	uint64_t old_start, old_end, new_start, new_end, keep;
};
_Static_assert(sizeof(struct jd_jp_move) == 56, "MOVE (jitperf's) is 56 bytes");

/* KNOWN: followed by name_len bytes (NUL included), padded to 8. */
struct jd_jp_known {
	struct jd_prefix p;
	uint64_t addr, size;
	uint32_t name_len, flags; /* JP_KNOWN_* (lib/known.h) */
};
_Static_assert(sizeof(struct jd_jp_known) == 40, "KNOWN fixed part is 40 bytes");

#endif
