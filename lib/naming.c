/* naming.c - published names first, else jit:<creator>:<fingerprint>. */
#include "naming.h"
#include "arena.h"
#include "fingerprint.h"
#include "known.h"
#include "names.h"
#include "split.h"
#include "str.h"


static struct jp_fp_work *fp_work;

/* Hooks may run on a JIT thread's small stack: the fingerprint's working
 * memory is ours (we run under the engine lock). */
static struct jp_fp_work *work(void)
{
	if (!fp_work)
		fp_work = jp_sys_alloc((jp_fp_work_size() + 4095) & ~(size_t)4095);
	return fp_work;
}

/* A published name is used only while the table still holds it. */
static const char *published(const struct jp_view_piece *p)
{
	return p->known ? jp_known_name(p->known - 1) : NULL;
}

uint32_t jp_naming_known_hash(const struct jp_view_piece *p)
{
	return p->known ? jp_known_nhash(p->known - 1) : 0;
}

uint64_t jp_naming_fingerprint(const struct jp_code_view *v, const struct jp_view_piece *p, uint64_t *shape)
{
	*shape = 0;
	if (published(p) || (p->flags & JP_PIECE_DATA))
		return 0;
	return work() ? jp_fingerprint_memo(fp_work, v->bytes + p->off, p->len, v->addr + p->off, shape, v->memo) : 0;
}

uint64_t jp_naming_shape(const struct jp_code_view *v, const struct jp_view_piece *p)
{
	if (published(p) || (p->flags & JP_PIECE_DATA))
		return 0;
	return work() ? jp_fingerprint_shape_only(fp_work, v->bytes + p->off, p->len, v->memo) : 0;
}

/* Who made the code at addr: the area the process named (QEMU's
 * code_gen_buffer) says more than the call that made it executable. */
static const char *creator_name(jp_creator_id creator, uint64_t addr)
{
	const char *cn = jp_known_area_name(addr);

	return cn ? cn : jp_creator_id_name(creator);
}

void jp_naming_replaced(char *buf, size_t size, jp_creator_id creator, uint64_t addr)
{
	jp_strlcpy(buf, "jit:", size);
	jp_strlcat(buf, creator_name(creator, addr), size);
	jp_strlcat(buf, ":replaced", size);
}

void jp_naming_name(char *buf, size_t size, jp_creator_id creator, const struct jp_code_view *v,
		    const struct jp_view_piece *p, uint32_t *nhash, uint64_t *fp, uint64_t *shape)
{
	const char *cn, *pub = published(p);

	*fp = *shape = 0;
	if (pub) {
		jp_strlcpy(buf, pub, size);
		*nhash = jp_known_nhash(p->known - 1);
		return;
	}
	cn = creator_name(creator, v->addr + p->off);
	if (p->flags & JP_PIECE_DATA) {
		/* Allocator headers and the like: never executed, and a pointer
		 * inside would change the name every run. */
		jp_strlcpy(buf, "jit:", size);
		jp_strlcat(buf, cn, size);
		jp_strlcat(buf, ":stub", size);
		*nhash = 0;
		return;
	}
	*fp = jp_naming_fingerprint(v, p, shape);
	if (jp_name_format(buf, size, cn, *fp) < 0)
		jp_strlcpy(buf, "jit:unknown", size);
	*nhash = 0;
}
