/* region.h - the table of executable JIT memory jitperf tracks, and the
 * pieces of code it has announced to perf inside each region.
 *
 * Contract: a plain data structure with no locking of its own (the capture
 * engine holds its lock around every call) and no malloc: all memory comes
 * from jp_sys_alloc.  Functions that grow storage return 0 or -ENOMEM and
 * leave the table unchanged on failure.  Region pointers are invalidated by
 * any call that inserts or deletes; hold indexes across such calls. */
#ifndef JITPERF_REGION_H
#define JITPERF_REGION_H

#include <stddef.h>
#include <stdint.h>

#include "creator.h"
#include "pace.h"

enum jp_region_kind {
	JP_RK_ANON = 0,  /* private anonymous memory (//anon) */
	JP_RK_SHMEM = 1, /* MAP_SHARED|MAP_ANONYMOUS (/dev/zero (deleted)) */
	JP_RK_HEAP = 2,  /* [heap]: perf keeps its kernel mmap events */
	JP_RK_FILE = 3,  /* memfd or unlinked file: dual-mapped code */
	JP_RK_FPRIV = 4, /* private mapping of a real file: only its written pages (filepriv.h) */
};

enum jp_region_track {
	JP_RT_NONE = 0, /* not armed yet */
	JP_RT_WP = 1,   /* kernel write tracking */
	JP_RT_HASH = 2, /* resident-page hashing */
};

#define JP_NO_INDEX UINT64_MAX

/* One piece of code announced to perf (one LOAD). */
struct jp_desc {
	uint64_t addr;
	uint32_t len;
	uint32_t flags;  /* JP_PIECE_FDE_FITS (split.h) when its LOAD carried a real CIE+FDE */
	uint64_t hash;   /* content hash of the bytes announced */
	uint64_t index;  /* code_index in the current dump, JP_NO_INDEX if none */
	uint64_t ts;     /* timestamp of its LOAD */
	uint32_t nhash;  /* hash of a published name, 0 for a made-up one */
	uint32_t pad;
	uint64_t fp;     /* fingerprint its made-up name came from, 0 if none */
	uint64_t shape;  /* its bytes with branch targets zeroed (jp_fingerprint_shape_ws) */
	uint64_t tail_hash; /* content hash of the bytes after its first instruction */
	uint32_t tail_off;  /* length of its first instruction; 0: no tail hash */
	uint32_t head_len;  /* bytes hashed into head_hash */
	uint64_t head_hash; /* content hash of its first JP_HEAD_BYTES bytes */
};

struct jp_region {
	uint64_t start, end;     /* page aligned */
	uint64_t last_event_ts;  /* last exec-granting call (a kernel mmap event) */
	uint64_t last_scan_ts;   /* when the previous capture collected its dirty pages */
	jp_creator_id creator;   /* who made it (creator.h) */
	uint8_t kind;            /* enum jp_region_kind */
	uint8_t exec;            /* currently PROT_EXEC */
	uint8_t track;           /* enum jp_region_track */
	uint8_t needs_full;      /* next capture reads every resident page */
	uint8_t dead;            /* found unmapped behind our back: to be deleted */
	uint8_t writable;        /* PROT_WRITE with PROT_EXEC: code appears with no call */
	uint8_t vouched;         /* a hook just saw it made executable: no maps check */
	uint8_t kprot;           /* JP_RK_FPRIV: protection the kernel showed at the last pass */
	uint8_t regrant;         /* JP_RK_FPRIV: made executable again by calls no hook saw */
	uint8_t heap;            /* its creator writes far more data than code (budget.h): hashed */
	struct jp_pace pace;     /* how often periodic passes look (dirty.h: jp_dirty_due) */
	struct jp_desc *d;       /* sorted by addr, non-overlapping */
	uint32_t nd, capd;
	uint64_t *phash;         /* JP_RT_HASH: one hash per page, 0 = never seen */
	uint32_t npages;
};

struct jp_regions {
	struct jp_region *r;
	size_t n, cap;
};

/* Regions ------------------------------------------------------------- */

/* Index of the first region whose end is above addr (n when none). */
size_t jp_regions_lower(const struct jp_regions *t, uint64_t addr);
/* Region containing addr, or NULL. */
struct jp_region *jp_regions_find(struct jp_regions *t, uint64_t addr);
/* Insert a region that overlaps none; returns its index or -ENOMEM. */
long jp_regions_insert(struct jp_regions *t, uint64_t start, uint64_t end, int kind);
/* Make addr a region boundary (split the region containing it). */
int jp_regions_split(struct jp_regions *t, uint64_t addr);
/* Make regions i and i+1 (adjacent: r[i].end == r[i+1].start) one, with
 * region i's kind, creator and state: pieces and page hashes are put end
 * to end, dates kept conservative (the latest exec grant, the earliest
 * pass).  Which regions may be joined is the caller's call.  Returns 0 or
 * -ENOMEM (both left as they were). */
int jp_regions_join(struct jp_regions *t, size_t i);
/* Delete region i and free its storage. */
void jp_regions_delete(struct jp_regions *t, size_t i);
/* Lowest start and highest end of all regions (0,0 when empty). */
void jp_regions_bounds(const struct jp_regions *t, uint64_t *lo, uint64_t *hi);
/* Region i moved to [start, end) (mremap): a fresh region there of the same
 * kind, writability and creator, holding the pieces that lay within the
 * first keep bytes of the old one, shifted.  Returns its index, or -ENOMEM
 * (region i is gone either way).  [start, end) must overlap no region. */
long jp_regions_move(struct jp_regions *t, size_t i, uint64_t start, uint64_t end, uint64_t keep);
/* Is every byte of [start, end) in some region? */
int jp_regions_cover(const struct jp_regions *t, uint64_t start, uint64_t end);
/* Free everything. */
void jp_regions_clear(struct jp_regions *t);

/* Descriptions inside a region --------------------------------------- */

/* Descs overlapping [start, end): first index into r->d and count. */
void jp_desc_overlap(const struct jp_region *r, uint64_t start, uint64_t end, uint32_t *first, uint32_t *count);
/* Replace descs [first, first+count) by the n descs in nd (sorted, within
 * the replaced span's neighbours).  Returns 0 or -ENOMEM. */
int jp_desc_replace(struct jp_region *r, uint32_t first, uint32_t count, const struct jp_desc *nd, uint32_t n);
/* Drop descs overlapping [start, end). */
void jp_desc_drop(struct jp_region *r, uint64_t start, uint64_t end);

/* Page hashes (JP_RT_HASH) ------------------------------------------- */

/* Allocate the page-hash array if missing; 0 or -ENOMEM. */
int jp_region_phash(struct jp_region *r, uint64_t pagesz);

#endif
