/* gotredir.c - rewrite GOT slots of hooked symbols that bind past the hooks (RTLD_DEEPBIND). */
#include "gotredir.h"
#include "log.h"
#include "maps.h"
#include "sys.h"

#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <link.h>
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#define MAX_WRITES 64 /* slots rewritten per object at most (a few per hooked symbol) */
#define MAX_VMAS 16   /* mappings over one object's slots */
#define MAX_LAZY 256  /* objects a lazy redirect may cover */
#define MAX_DYN 4096  /* dynamic entries read at most */

/* glibc >= 2.35 knows an object once it is fully loaded and relocated. */
extern int _dl_find_object(void *, struct dl_find_object *) __attribute__((weak));

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int reported;

static void report_once(const char *what, uint64_t base)
{
	if (!__atomic_exchange_n(&reported, 1, __ATOMIC_RELAXED))
		jp_err("cannot redirect the memory calls of the object at %#lx (%s): they stay invisible to the hooks",
		       (unsigned long)base, what);
}

struct object {
	uint64_t base, lo, hi; /* load bias, mapped span */
	const ElfW(Sym) *symtab;
	const char *strtab;
	uint64_t strsz;
	const ElfW(Rela) *rel[2];
	uint64_t nrel[2];
};

/* glibc relocates the pointers of a writable .dynamic in place; the vdso's
 * (read-only) are still relative. */
static uint64_t dyn_addr(const struct object *o, uint64_t v)
{
	return v >= o->lo && v < o->hi ? v : v + o->base;
}

static int in_object(const struct object *o, uint64_t a, uint64_t len)
{
	return a >= o->lo && a <= o->hi && len <= o->hi - a;
}

/* The tables of one object from its program headers; 0 or -ENOENT. */
static int parse_object(struct object *o, uint64_t base, const ElfW(Phdr) *ph, unsigned phnum)
{
	const ElfW(Dyn) *dyn = NULL;
	uint64_t relasz = 0, jmprelsz = 0, rela = 0, jmprel = 0, pltrel = DT_RELA, relaent = sizeof(ElfW(Rela));
	uint64_t symtab = 0, strtab = 0;

	memset(o, 0, sizeof(*o));
	o->base = base;
	o->lo = UINT64_MAX;
	for (unsigned i = 0; i < phnum; i++) {
		if (ph[i].p_type == PT_LOAD) {
			uint64_t a = base + ph[i].p_vaddr, b = a + ph[i].p_memsz;

			o->lo = a < o->lo ? a : o->lo;
			o->hi = b > o->hi ? b : o->hi;
		} else if (ph[i].p_type == PT_DYNAMIC) {
			dyn = (const ElfW(Dyn) *)(uintptr_t)(base + ph[i].p_vaddr);
		}
	}
	if (!dyn || o->lo >= o->hi || !in_object(o, (uint64_t)(uintptr_t)dyn, sizeof(*dyn)))
		return -ENOENT;
	for (unsigned i = 0; i < MAX_DYN && dyn[i].d_tag != DT_NULL; i++) {
		uint64_t v = dyn[i].d_un.d_val;

		switch (dyn[i].d_tag) {
		case DT_SYMTAB: symtab = v; break;
		case DT_STRTAB: strtab = v; break;
		case DT_STRSZ: o->strsz = v; break;
		case DT_RELA: rela = v; break;
		case DT_RELASZ: relasz = v; break;
		case DT_RELAENT: relaent = v; break;
		case DT_JMPREL: jmprel = v; break;
		case DT_PLTRELSZ: jmprelsz = v; break;
		case DT_PLTREL: pltrel = v; break;
		}
	}
	if (!symtab || !strtab || relaent != sizeof(ElfW(Rela)) || pltrel != DT_RELA)
		return -ENOENT;
	symtab = dyn_addr(o, symtab);
	strtab = dyn_addr(o, strtab);
	if (!in_object(o, strtab, o->strsz) || !in_object(o, symtab, sizeof(ElfW(Sym))))
		return -ENOENT;
	o->symtab = (const ElfW(Sym) *)(uintptr_t)symtab;
	o->strtab = (const char *)(uintptr_t)strtab;
	if (rela && in_object(o, dyn_addr(o, rela), relasz)) {
		o->rel[0] = (const ElfW(Rela) *)(uintptr_t)dyn_addr(o, rela);
		o->nrel[0] = relasz / sizeof(ElfW(Rela));
	}
	if (jmprel && in_object(o, dyn_addr(o, jmprel), jmprelsz)) {
		o->rel[1] = (const ElfW(Rela) *)(uintptr_t)dyn_addr(o, jmprel);
		o->nrel[1] = jmprelsz / sizeof(ElfW(Rela));
	}
	return 0;
}

struct write {
	uint64_t *slot;
	const void *value;
};

/* Should this relocation's slot hold the hook?  Returns the symbol or NULL. */
static const struct jp_got_sym *wants(const struct object *o, const ElfW(Rela) *r, const struct jp_got_sym *syms,
				      size_t n, int lazy_ok)
{
	uint32_t type = ELF64_R_TYPE(r->r_info), si = ELF64_R_SYM(r->r_info);
	uint64_t slot = o->base + r->r_offset, v, name;
	const char *s;

	if (si == 0 || (type != R_X86_64_JUMP_SLOT && type != R_X86_64_GLOB_DAT && type != R_X86_64_64) ||
	    (type == R_X86_64_64 && r->r_addend != 0) || !in_object(o, slot, 8))
		return NULL;
	name = o->symtab[si].st_name;
	if (name >= o->strsz)
		return NULL;
	s = o->strtab + name;
	for (size_t k = 0; k < n; k++) {
		if (s[0] != syms[k].name[0] || strncmp(s, syms[k].name, o->strsz - name) != 0)
			continue;
		v = *(const uint64_t *)(uintptr_t)slot;
		if (v == (uint64_t)(uintptr_t)syms[k].real)
			return &syms[k];
		/* Not bound yet: the PLT stub of the object itself. */
		if (type == R_X86_64_JUMP_SLOT && lazy_ok && syms[k].lazy && v >= o->lo && v < o->hi)
			return &syms[k];
		return NULL;
	}
	return NULL;
}

struct vmas {
	struct jp_map m[MAX_VMAS];
	unsigned n;
};

static int vma_cb(const struct jp_map *m, void *arg)
{
	struct vmas *v = arg;

	if (v->n >= MAX_VMAS)
		return 1;
	v->m[v->n++] = *m;
	return 0;
}

static int prot_of(const struct vmas *v, uint64_t page)
{
	for (unsigned i = 0; i < v->n; i++)
		if (page >= v->m[i].start && page < v->m[i].end)
			return v->m[i].prot;
	return -1;
}

/* Apply the writes, lifting read-only pages one at a time and giving them
 * back their protection.  All or nothing per page. */
static int apply(struct write *w, unsigned nw, uint64_t base, struct jp_got_stats *st)
{
	uint64_t pg = 4096, lo = UINT64_MAX, hi = 0;
	char buf[4096];
	struct vmas v = { .n = 0 };
	int done = 0;

	for (unsigned i = 0; i < nw; i++) {
		uint64_t a = (uint64_t)(uintptr_t)w[i].slot & ~(pg - 1);

		lo = a < lo ? a : lo;
		hi = a + pg > hi ? a + pg : hi;
	}
	if (jp_maps_each(lo, hi, buf, sizeof(buf), vma_cb, &v) < 0) {
		report_once("its mappings cannot be read", base);
		return -EIO;
	}
	for (unsigned i = 0; i < nw; i++) {
		uint64_t page = (uint64_t)(uintptr_t)w[i].slot & ~(pg - 1);
		int prot = prot_of(&v, page), lifted = 0;

		if (prot < 0 || !(prot & PROT_READ))
			continue;
		if (!(prot & PROT_WRITE)) {
			if (jp_syscall(SYS_mprotect, page, pg, prot | PROT_WRITE) != 0) {
				report_once("its read-only GOT cannot be made writable", base);
				continue;
			}
			lifted = 1;
			st->lifted++;
		}
		/* Every slot on this page while it is writable. */
		for (unsigned j = i; j < nw; j++) {
			if (((uint64_t)(uintptr_t)w[j].slot & ~(pg - 1)) != page || !w[j].slot)
				continue;
			__atomic_store_n(w[j].slot, (uint64_t)(uintptr_t)w[j].value, __ATOMIC_RELEASE);
			done++;
			if (j > i)
				w[j].slot = NULL;
		}
		if (lifted && jp_syscall(SYS_mprotect, page, pg, prot) != 0)
			report_once("its GOT page cannot be made read-only again", base);
	}
	return done;
}

int jp_got_redirect_object(uint64_t base, const void *phdr, unsigned phnum, const struct jp_got_sym *syms,
			   size_t n, int lazy_ok, struct jp_got_stats *st)
{
	struct write w[MAX_WRITES];
	struct object o;
	unsigned nw = 0;
	int r;

	st->objects++;
	if (parse_object(&o, base, phdr, phnum) < 0)
		return 0;
	for (int t = 0; t < 2; t++)
		for (uint64_t i = 0; i < o.nrel[t]; i++) {
			const struct jp_got_sym *s = wants(&o, &o.rel[t][i], syms, n, lazy_ok);

			if (!s)
				continue;
			if (nw == MAX_WRITES) {
				st->skipped++;
				report_once("too many slots", base);
				return 0;
			}
			w[nw].slot = (uint64_t *)(uintptr_t)(base + o.rel[t][i].r_offset);
			w[nw++].value = s->hook;
		}
	if (!nw)
		return 0;
	r = apply(w, nw, base, st);
	if (r < 0) {
		st->skipped++;
		return 0;
	}
	st->slots += (unsigned)r;
	return r;
}

struct walk {
	const struct jp_got_sym *syms;
	size_t n;
	const void *const *skip;
	size_t nskip;
	const struct link_map *from;
	const void *lazy[MAX_LAZY]; /* l_ld of the objects the lazy rule covers */
	size_t nlazy;
	int started, rewritten;
	struct jp_got_stats *st;
};

static int contains(const struct dl_phdr_info *info, const void *addr)
{
	uint64_t a = (uint64_t)(uintptr_t)addr;

	for (unsigned i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *p = &info->dlpi_phdr[i];

		if (p->p_type == PT_LOAD && a >= info->dlpi_addr + p->p_vaddr &&
		    a < info->dlpi_addr + p->p_vaddr + p->p_memsz)
			return 1;
	}
	return 0;
}

static int walk_cb(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct walk *wk = arg;
	const void *dyn = NULL;
	int lazy_ok = 0;

	(void)size;
	/* The loader's write lock is held here: the chain cannot change. */
	if (!wk->started) {
		wk->started = 1;
		for (const struct link_map *l = wk->from; l && wk->nlazy < MAX_LAZY; l = l->l_next)
			wk->lazy[wk->nlazy++] = l->l_ld;
	}
	for (size_t k = 0; k < wk->nskip; k++)
		if (wk->skip[k] && contains(info, wk->skip[k]))
			return 0;
	for (unsigned i = 0; i < info->dlpi_phnum; i++)
		if (info->dlpi_phdr[i].p_type == PT_DYNAMIC)
			dyn = (const void *)(uintptr_t)(info->dlpi_addr + info->dlpi_phdr[i].p_vaddr);
	if (!dyn)
		return 0;
	/* Still being loaded by another thread: its slots are not final. */
	if (_dl_find_object) {
		struct dl_find_object f;

		if (_dl_find_object((void *)dyn, &f) != 0) {
			wk->st->skipped++;
			return 0;
		}
	}
	for (size_t k = 0; k < wk->nlazy; k++)
		if (wk->lazy[k] == dyn)
			lazy_ok = 1;
	wk->rewritten += jp_got_redirect_object(info->dlpi_addr, info->dlpi_phdr, info->dlpi_phnum, wk->syms,
						wk->n, lazy_ok, wk->st);
	return 0;
}

int jp_got_redirect(const struct jp_got_sym *syms, size_t n, const void *const *skip, size_t nskip,
		    const void *from, struct jp_got_stats *st)
{
	struct jp_got_stats local = { 0 };
	struct walk wk;
	int saved = errno;

	memset(&wk, 0, sizeof(wk));
	wk.syms = syms;
	wk.n = n;
	wk.skip = skip;
	wk.nskip = nskip;
	wk.from = from;
	wk.st = st ? st : &local;
	pthread_mutex_lock(&lock);
	dl_iterate_phdr(walk_cb, &wk);
	pthread_mutex_unlock(&lock);
	errno = saved;
	return wk.rewritten;
}
