/* mapcalls.c - what each memory call the hooks report does to the region
 * table: mappings tracked and dropped, split, moved and resized, made
 * executable or dormant, and the capture each of them calls for. */
#include "capture.h"
#include "creator.h"
#include "deferlog.h"
#include "engine.h"
#include "filepriv.h"
#include "log.h"
#include "maps.h"
#include "memkind.h"
#include "unseen.h"

#include <sys/mman.h>

/* Track [start, end) as executable memory of kind; existing regions in it
 * are kept (their descriptions stay valid). */
static void track_range(uint64_t start, uint64_t end, int kind, jp_creator_id creator, uint64_t now)
{
	uint64_t a = start;

	while (a < end) {
		size_t i = jp_regions_lower(&jp_eng.regs, a);
		uint64_t b = end;

		if (i < jp_eng.regs.n && jp_eng.regs.r[i].start <= a) {
			/* Already tracked: becomes executable again. */
			struct jp_region *r = &jp_eng.regs.r[i];

			r->exec = 1;
			r->writable = (jp_eng.grant_prot & PROT_WRITE) != 0;
			r->last_event_ts = now;
			a = r->end;
			continue;
		}
		if (i < jp_eng.regs.n && jp_eng.regs.r[i].start < b)
			b = jp_eng.regs.r[i].start;
		{
			long k = jp_regions_insert(&jp_eng.regs, a, b, kind);

			if (k < 0) {
				jp_err("out of memory for the region table; jitperf is off");
				jp_engine_turn_off();
				return;
			}
			jp_eng.regs.r[k].exec = 1;
			jp_eng.regs.r[k].writable = (jp_eng.grant_prot & PROT_WRITE) != 0;
			jp_eng.regs.r[k].creator = creator;
			jp_eng.regs.r[k].last_event_ts = now;
			jp_eng.st.regions_total++;
		}
		a = b;
	}
	jp_engine_publish_bounds();
}

static void untrack_range(uint64_t start, uint64_t end)
{
	size_t i;

	/* When a region cannot be split, the whole of it is dropped (and
	 * announced again if it comes back). */
	jp_regions_split(&jp_eng.regs, start);
	jp_regions_split(&jp_eng.regs, end);
	i = jp_regions_lower(&jp_eng.regs, start);
	while (i < jp_eng.regs.n && jp_eng.regs.r[i].start < end) {
		jp_dirty_disarm(&jp_eng.dirty, &jp_eng.regs.r[i]);
		jp_engine_delete_region(i);
	}
	jp_engine_publish_bounds();
}

void jp_capture_mmap_done(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	uint64_t start = (uint64_t)(uintptr_t)addr, end = start + jp_engine_page_up(len), now;
	int kind;

	if (!(prot & PROT_EXEC) || !jp_engine_enter())
		return;
	kind = jp_memkind_of_fd(fd, flags, prot);
	if (kind >= 0) {
		jp_eng.child_pending = 0; /* JIT activity of its own: it announces what it inherited */
		now = jp_now_ns();
		/* Open the dump (and its marker) before any code exists, so
		 * every LOAD can be dated from the moment code appears. */
		jp_engine_ensure_output();
		/* A fresh mapping: whatever we tracked here is gone already
		 * (unmapped without a hook) and must not be mistaken for it. */
		untrack_range(start, end);
		jp_eng.grant_prot = prot;
		track_range(start, end, kind, jp_creator_register(), now);
		/* Fresh anonymous memory holds no code yet: arm tracking now
		 * so the first write is seen.  A file view may already hold
		 * code written through its other view: read it now. */
		if (kind == JP_RK_FILE || kind == JP_RK_SHMEM)
			jp_engine_capture_range(start, end, jp_now_ns(), 0);
		else
			for (size_t i = jp_regions_lower(&jp_eng.regs, start); i < jp_eng.regs.n && jp_eng.regs.r[i].start < end; i++) {
				jp_eng.regs.r[i].needs_full = 0;
				jp_dirty_arm(&jp_eng.dirty, &jp_eng.regs.r[i]);
				jp_eng.regs.r[i].last_scan_ts = now;
			}
		jp_engine_hook_flush();
		jp_engine_ensure_thread();
	}
	jp_engine_leave();
}

void jp_capture_unmap_before(uint64_t start, uint64_t len)
{
	if (!jp_engine_enter())
		return;
	jp_engine_capture_range(jp_engine_page_down(start), jp_engine_page_up(start + len), jp_now_ns(), 0);
	jp_engine_hook_flush();
	jp_engine_leave();
}

void jp_capture_mremap_before(uint64_t start, uint64_t len)
{
	uint64_t end;

	if (!jp_engine_enter())
		return;
	start = jp_engine_page_down(start);
	end = jp_engine_page_up(start + len);
	jp_engine_capture_range(start, end, jp_now_ns(), 0);
	jp_engine_hook_flush();
	/* Since Linux 6.17 mremap moves a range spanning several mappings,
	 * but refuses (EFAULT) when any of them is registered with a
	 * userfaultfd: drop our registration first (what was pending is
	 * captured), and arm again after the call, wherever the code is. */
	for (size_t i = jp_regions_lower(&jp_eng.regs, start); i < jp_eng.regs.n && jp_eng.regs.r[i].start < end; i++)
		jp_dirty_disarm(&jp_eng.dirty, &jp_eng.regs.r[i]);
	jp_engine_leave();
}

void jp_capture_unmap_done(uint64_t start, uint64_t len)
{
	if (!jp_engine_enter())
		return;
	untrack_range(jp_engine_page_down(start), jp_engine_page_up(start + len));
	jp_engine_leave();
}

/* mprotect(PROT_GROWSDOWN) changes a stack-like mapping from its start,
 * wherever that is: a boundary a registration made would stop it short.
 * Give back every registration (the call is rare: executable stacks), let
 * the kernel merge, and return where the mapping holding start begins. */
static void growsdown_before(uint64_t *start, uint64_t *len, int prot)
{
	uint64_t vs = jp_engine_page_down(*start), end = jp_engine_page_up(*start + *len);

	if (!jp_engine_enter())
		return;
	jp_engine_release_range(0, UINT64_MAX);
	vs = jp_maps_vma_start(vs, (char *)jp_eng.scratch, JP_ENGINE_CHUNK);
	if (vs < *start) {
		*len = end - vs;
		*start = vs;
	}
	if (!(prot & PROT_EXEC)) {
		jp_eng.dirty.arm_suspended = 1;
		jp_engine_capture_range(vs, end, jp_now_ns(), 0);
		jp_engine_hook_flush();
		jp_eng.dirty.arm_suspended = 0;
	}
	jp_engine_leave();
}

void jp_capture_mprotect_before(uint64_t *start, uint64_t *len, int prot)
{
	if (prot & PROT_GROWSDOWN)
		growsdown_before(start, len, prot);
	else if (!(prot & PROT_EXEC)) /* granting exec: captured after the call */
		jp_capture_unmap_before(*start, *len);
}

void jp_capture_mprotect_done(uint64_t start, uint64_t len, int prot)
{
	uint64_t end, now;

	if (!jp_engine_enter())
		return;
	start = jp_engine_page_down(start);
	end = jp_engine_page_up(start + len);
	now = jp_now_ns();
	jp_regions_split(&jp_eng.regs, start);
	jp_regions_split(&jp_eng.regs, end);
	if (!(prot & PROT_EXEC)) {
		/* Dormant: keep the descriptions (their hashes spare unchanged
		 * code a new LOAD when it becomes executable again); what
		 * happens to write tracking is dirty.h's call. */
		for (size_t i = jp_regions_lower(&jp_eng.regs, start); i < jp_eng.regs.n && jp_eng.regs.r[i].start < end; i++) {
			jp_eng.regs.r[i].exec = 0;
			jp_dirty_dormant(&jp_eng.dirty, &jp_eng.regs.r[i]);
		}
		jp_engine_leave();
		return;
	}
	jp_eng.child_pending = 0;
	jp_eng.grant_prot = prot;
	/* Gaps not yet tracked: ask the kernel what they are. */
	if (!jp_regions_cover(&jp_eng.regs, start, end)) {
		struct jp_unseen_hit h[JP_UNSEEN_MAX];
		long n = jp_unseen_find(&jp_eng.regs, start, end, (char *)jp_eng.scratch, JP_ENGINE_CHUNK, h, JP_UNSEEN_MAX);
		jp_creator_id creator = jp_creator_register();

		jp_engine_ensure_output();
		for (long k = 0; k < n; k++)
			track_range(h[k].start, h[k].end, h[k].kind, creator, now);
	}
	for (size_t i = jp_regions_lower(&jp_eng.regs, start); i < jp_eng.regs.n && jp_eng.regs.r[i].start < end; i++) {
		struct jp_region *r = &jp_eng.regs.r[i];

		r->exec = 1;
		r->writable = (prot & PROT_WRITE) != 0;
		r->vouched = 1;
		r->last_event_ts = now;
	}
	jp_dirty_join(&jp_eng.dirty, &jp_eng.regs, start, end);
	/* The W^X moment (and any exec grant): read the code now (and filepriv.h's part). */
	jp_engine_capture_range(start, end, now, 1);
	jp_filepriv_reannounce(&jp_eng.regs, start, end, &jp_eng.rec, now);
	for (size_t i = jp_regions_lower(&jp_eng.regs, start); i < jp_eng.regs.n && jp_eng.regs.r[i].start < end; i++)
		jp_eng.regs.r[i].vouched = 0;
	jp_engine_hook_flush();
	if (jp_eng.regs.n)
		jp_engine_ensure_thread();
	jp_engine_leave();
}

/* Region i, moved by delta with the rest of an mremap'd range whose first
 * cut bytes end at keep_end (a shrinking move): what lies beyond is gone. */
static void move_region(size_t i, uint64_t delta, uint64_t keep_end, uint64_t now)
{
	struct jp_region *r = &jp_eng.regs.r[i];
	uint64_t end = r->end < keep_end ? r->end : keep_end;
	long k;

	if (r->start >= end) {
		jp_dirty_disarm(&jp_eng.dirty, r);
		jp_engine_delete_region(i);
		return;
	}
	for (uint32_t j = 0; j < r->nd; j++)
		if (r->d[j].addr + r->d[j].len <= end)
			jp_output_move(&jp_eng.out, r->d[j].index, r->d[j].addr, r->d[j].addr + delta, r->d[j].len, now);
	if (jp_engine_describe_after(NULL))
		jp_deferlog_move(&jp_eng.out, r->start, r->end, r->start + delta, end + delta, end - r->start, now);
	/* The moved mapping lost its userfaultfd registration. */
	k = jp_regions_move(&jp_eng.regs, i, r->start + delta, end + delta, end - r->start);
	if (k >= 0) {
		struct jp_region *n = &jp_eng.regs.r[k];

		n->exec = 1;
		n->last_event_ts = now;
		n->last_scan_ts = now;
		jp_eng.st.regions_total++;
		/* Re-arm, and read once in case it was written between our
		 * last pass and the move. */
		n->needs_full = 1;
		jp_engine_capture_region((size_t)k, now, 0, 0, UINT64_MAX);
	}
}

void jp_capture_mremap_done(uint64_t old_addr, uint64_t old_len, uint64_t new_addr, uint64_t new_len)
{
	uint64_t oend, nend, now;
	size_t i;

	if (!jp_engine_enter())
		return;
	old_addr = jp_engine_page_down(old_addr);
	oend = jp_engine_page_up(old_addr + old_len);
	nend = new_addr + jp_engine_page_up(new_len);
	now = jp_now_ns();
	jp_regions_split(&jp_eng.regs, old_addr);
	jp_regions_split(&jp_eng.regs, oend);
	i = jp_regions_lower(&jp_eng.regs, old_addr);
	if (i >= jp_eng.regs.n || jp_eng.regs.r[i].start >= oend) {
		jp_engine_leave();
		return;
	}
	if (new_addr == old_addr) {
		/* Resized in place: what lies beyond a shrunk end is gone; the
		 * last mapping grows into free space. */
		if (nend < oend) {
			untrack_range(nend, oend);
			i = jp_regions_lower(&jp_eng.regs, nend - 1);
			if (i < jp_eng.regs.n && jp_eng.regs.r[i].start < nend) /* a piece may have run past the new end */
				jp_engine_drop_pieces(i, nend, oend);
		}
		i = jp_regions_lower(&jp_eng.regs, oend - 1);
		if (nend > oend && i < jp_eng.regs.n && jp_eng.regs.r[i].end == oend &&
		    (i + 1 >= jp_eng.regs.n || jp_eng.regs.r[i + 1].start >= nend)) {
			struct jp_region *r = &jp_eng.regs.r[i];

			if (r->track == JP_RT_WP)
				jp_wtrack_add(&jp_eng.wt, r->end, nend);
			r->end = nend;
			if (r->phash)
				r->needs_full = 1;
		}
		jp_engine_publish_bounds();
		jp_engine_leave();
		return;
	}
	/* Moved: the kernel carried the code along, every mapping of the old
	 * range (one or, since Linux 6.17, several).  Re-announce each piece at
	 * its new address (MOVE: no new ELF for perf inject to write) and
	 * track the new range; the old one is gone. */
	untrack_range(new_addr, nend); /* what MREMAP_FIXED replaced; never the old range (no overlapping moves) */
	while ((i = jp_regions_lower(&jp_eng.regs, old_addr)) < jp_eng.regs.n && jp_eng.regs.r[i].start < oend)
		move_region(i, new_addr - old_addr, old_addr + jp_engine_page_up(new_len), now);
	jp_engine_publish_bounds();
	jp_engine_hook_flush();
	jp_engine_leave();
}

void jp_capture_discard_done(uint64_t start, uint64_t len)
{
	uint64_t end;

	if (!jp_engine_enter())
		return;
	start = jp_engine_page_down(start);
	end = jp_engine_page_up(start + len);
	for (size_t i = jp_regions_lower(&jp_eng.regs, start); i < jp_eng.regs.n && jp_eng.regs.r[i].start < end; i++) {
		struct jp_region *r = &jp_eng.regs.r[i];

		jp_engine_drop_pieces(i, start, end);
		if (r->phash)
			r->needs_full = 1;
	}
	jp_engine_leave();
}
