/* output.c - the jitdump and the perf map, opened on first need, given up on failure. */
#include "output.h"
#include "arena.h"

#include <errno.h>
#include <string.h>

int jp_output_ready(struct jp_output *o)
{
	if (o->dump_state == JP_OUT_NONE) {
		if (!o->cfg->jitdump) {
			o->dump_state = JP_OUT_FAILED;
		} else if (jp_dump_open(&o->dump, o->cfg->dir, o->pid) == 0) {
			o->dump_state = JP_OUT_OPEN;
			/* There is JIT code to describe: working memory in huge pages. */
			jp_sys_zone_huge();
		} else {
			/* jp_dump_open said why. */
			o->dump_state = JP_OUT_FAILED;
			if (!o->cfg->perfmap)
				return -ESHUTDOWN;
		}
		if (o->cfg->perfmap)
			o->pmap_state = jp_perfmap_open(&o->pmap, o->cfg->perfmap_dir, o->pid) == 0 ? JP_OUT_OPEN
												     : JP_OUT_FAILED;
	}
	if (o->dump_state == JP_OUT_OPEN && !jp_dump_ok(&o->dump)) {
		/* The writer reported the failure; nothing else to do. */
		o->dump_state = JP_OUT_FAILED;
		if (o->pmap_state != JP_OUT_OPEN)
			return -ESHUTDOWN;
	}
	return o->dump_state == JP_OUT_OPEN || o->pmap_state == JP_OUT_OPEN ? 0 : -EIO;
}

int jp_output_flush(struct jp_output *o)
{
	if (o->dump_state == JP_OUT_OPEN && jp_dump_flush(&o->dump) < 0)
		return jp_output_ready(o);
	return 0;
}

uint64_t jp_output_load(struct jp_output *o, const struct jp_load_rec *l)
{
	uint64_t index = JP_NO_INDEX;
	struct jp_code c;
	int r = jp_output_ready(o);

	if (r < 0) {
		if (r == -ESHUTDOWN)
			o->shutdown = 1;
		return JP_NO_INDEX;
	}
	if (o->dump_state == JP_OUT_OPEN) {
		memset(&c, 0, sizeof(c));
		c.addr = l->addr;
		c.code = l->code;
		c.size = l->len;
		c.name = l->name;
		c.timestamp = l->ts;
		c.unwind = l->unwind;
		if (l->unwind == JP_UNWIND_AUTO) {
			/* Built from the code (lib/stackheight.c, lib/cfi.c);
			 * the workspace comes once, on first need. */
			if (!o->cfi && !o->cfi_failed && !(o->cfi = jp_cfi_work_new()))
				o->cfi_failed = 1;
			if (o->cfi) {
				jp_sh_set_memo(o->cfi->sh, l->memo);
				o->cfi->jit = l->creator;
			}
			c.unwind = o->cfi && jp_cfi_describe(o->cfi, l->code, l->len, l->room, &c.cfi, &c.cfi_size,
							     &c.cfi_hdr_size)
					   ? JP_UNWIND_CFI
					   : JP_UNWIND_EMPTY;
			if (o->cfi)
				jp_sh_set_memo(o->cfi->sh, NULL);
		}
		if (jp_dump_load(&o->dump, &c, &index) < 0)
			index = JP_NO_INDEX;
	}
	if (o->pmap_state == JP_OUT_OPEN) {
		jp_perfmap_add(&o->pmap, l->addr, l->len, l->name);
		if (index == JP_NO_INDEX)
			index = 0; /* announced through the map */
	}
	if (index != JP_NO_INDEX) {
		o->loads++;
		o->load_bytes += l->len;
	}
	return index;
}

void jp_output_move(struct jp_output *o, uint64_t index, uint64_t addr, uint64_t new_addr, uint32_t len, uint64_t ts)
{
	if (o->dump_state != JP_OUT_OPEN || index == JP_NO_INDEX)
		return;
	if (jp_dump_move(&o->dump, index, addr, new_addr, len, ts) == 0)
		o->moves++;
}

static uint64_t sink_load(void *ctx, const struct jp_load_rec *l)
{
	return jp_output_load(ctx, l);
}

static void sink_move(void *ctx, uint64_t index, uint64_t addr, uint64_t new_addr, uint32_t len, uint64_t ts)
{
	jp_output_move(ctx, index, addr, new_addr, len, ts);
}

void jp_output_sink(struct jp_output *o, struct jp_reconcile_sink *s)
{
	s->ctx = o;
	s->load = sink_load;
	s->move = sink_move;
}

uint64_t jp_output_open_ts(const struct jp_output *o)
{
	return o->dump_state == JP_OUT_OPEN ? o->dump.open_ts : 0;
}

const char *jp_output_dump_path(const struct jp_output *o)
{
	return o->dump_state == JP_OUT_OPEN ? o->dump.path : NULL;
}

void jp_output_close(struct jp_output *o)
{
	if (o->dump_state == JP_OUT_OPEN)
		jp_dump_close(&o->dump);
	if (o->pmap_state == JP_OUT_OPEN)
		jp_perfmap_close(&o->pmap);
}

void jp_output_forget(struct jp_output *o)
{
	if (o->dump_state == JP_OUT_OPEN)
		jp_dump_abandon(&o->dump);
	o->dump_state = JP_OUT_NONE;
	if (o->pmap_state == JP_OUT_OPEN)
		jp_perfmap_close(&o->pmap);
	o->pmap_state = JP_OUT_NONE;
	o->loads = o->load_bytes = o->moves = 0;
}
