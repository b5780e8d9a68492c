/* dynsym.c - the exported symbols of an object loaded in this process, read in place. */
#include "dynsym.h"

#include <errno.h>
#include <link.h>
#include <string.h>

int jp_dynobj_contains(const struct jp_dynobj *o, uint64_t a, uint64_t len)
{
	for (size_t i = 0; i < o->nseg; i++)
		if (a >= o->seg[i].start && a < o->seg[i].end && len <= o->seg[i].end - a)
			return 1;
	return 0;
}

/* ld.so relocates the dynamic section's addresses in place on x86-64; left
 * as they are in the file (the vDSO's), they are offsets from the base. */
static uint64_t dyn_addr(const struct jp_dynobj *o, uint64_t v)
{
	return jp_dynobj_contains(o, v, 1) ? v : v + o->base;
}

static void read_object(const struct dl_phdr_info *info, struct jp_dynobj *o)
{
	const ElfW(Dyn) *dyn = NULL;

	memset(o, 0, sizeof(*o));
	o->base = info->dlpi_addr;
	for (size_t i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];

		if (ph->p_type == PT_LOAD && (ph->p_flags & PF_R) && o->nseg < JP_DYNOBJ_SEGMENTS) {
			o->seg[o->nseg].start = info->dlpi_addr + ph->p_vaddr;
			o->seg[o->nseg].end = info->dlpi_addr + ph->p_vaddr + ph->p_memsz;
			o->nseg++;
		} else if (ph->p_type == PT_DYNAMIC) {
			dyn = (const ElfW(Dyn) *)(uintptr_t)(info->dlpi_addr + ph->p_vaddr);
		}
	}
	for (unsigned i = 0; dyn && i < 1024 && jp_dynobj_contains(o, (uint64_t)(uintptr_t)&dyn[i], sizeof(dyn[i])) &&
			     dyn[i].d_tag != DT_NULL;
	     i++) {
		uint64_t v = dyn[i].d_un.d_val;

		switch (dyn[i].d_tag) {
		case DT_SYMTAB: o->symtab = dyn_addr(o, v); break;
		case DT_STRTAB: o->strtab = dyn_addr(o, v); break;
		case DT_STRSZ: o->strsz = v; break;
		case DT_GNU_HASH: o->gnu_hash = dyn_addr(o, v); break;
		}
	}
}

int jp_dynobj_lookup(const struct jp_dynobj *o, const char *name, uint64_t *value)
{
	const uint32_t *hdr = (const uint32_t *)(uintptr_t)o->gnu_hash, *buckets, *chain;
	const ElfW(Sym) *sym = (const ElfW(Sym) *)(uintptr_t)o->symtab;
	uint32_t h = 5381, idx;
	size_t len = strlen(name);

	if (!hdr || !sym || !o->strtab || !jp_dynobj_contains(o, o->gnu_hash, 16) || !hdr[0] ||
	    !jp_dynobj_contains(o, o->strtab, o->strsz))
		return -ENOENT;
	/* header: nbuckets, symoffset, bloom words, bloom shift; then the
	 * bloom filter, the buckets and the hash chain */
	buckets = (const uint32_t *)(uintptr_t)(o->gnu_hash + 16 + 8 * (uint64_t)hdr[2]);
	chain = buckets + hdr[0];
	if (!jp_dynobj_contains(o, (uint64_t)(uintptr_t)buckets, 4 * (uint64_t)hdr[0]))
		return -ENOENT;
	for (const char *c = name; *c; c++)
		h = h * 33 + (uint8_t)*c;
	idx = buckets[h % hdr[0]];
	if (idx < hdr[1])
		return -ENOENT;
	for (unsigned k = 0; k < (1u << 20); k++, idx++) {
		uint32_t c;

		if (!jp_dynobj_contains(o, (uint64_t)(uintptr_t)&chain[idx - hdr[1]], 4) ||
		    !jp_dynobj_contains(o, (uint64_t)(uintptr_t)&sym[idx], sizeof(sym[idx])))
			return -ENOENT;
		c = chain[idx - hdr[1]];
		if ((c | 1) == (h | 1) && sym[idx].st_shndx != SHN_UNDEF && sym[idx].st_name < o->strsz &&
		    o->strsz - sym[idx].st_name > len &&
		    !memcmp((const char *)(uintptr_t)o->strtab + sym[idx].st_name, name, len + 1)) {
			*value = o->base + sym[idx].st_value;
			return 0;
		}
		if (c & 1) /* the chain's last entry */
			return -ENOENT;
	}
	return -ENOENT;
}

struct finding {
	struct jp_dynobj *o;
	int (*match)(const char *name, const struct jp_dynobj *o, void *arg);
	void *arg;
	unsigned index;
	int found;
};

static int find_cb(struct dl_phdr_info *info, size_t sz, void *arg)
{
	struct finding *f = arg;
	int main_prog = f->index++ == 0;

	(void)sz;
	read_object(info, f->o);
	f->o->main_prog = main_prog;
	if (!f->match(info->dlpi_name ? info->dlpi_name : "", f->o, f->arg))
		return 0;
	f->found = 1;
	return 1;
}

int jp_dynobj_find(struct jp_dynobj *o, int (*match)(const char *name, const struct jp_dynobj *o, void *arg),
		   void *arg)
{
	int saved = errno;
	struct finding f = { o, match, arg, 0, 0 };

	dl_iterate_phdr(find_cb, &f);
	if (!f.found)
		memset(o, 0, sizeof(*o));
	errno = saved;
	return f.found ? 0 : -ENOENT;
}
