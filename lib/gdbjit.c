/* gdbjit.c - read __jit_debug_descriptor and its in-memory ELF objects safely. */
#include "gdbjit.h"

#include <errno.h>
#include <link.h>
#include <limits.h>
#include <pthread.h>
#include <string.h>

#include "arena.h"
#include "elfsym.h"
#include "sys.h"

struct jd_descriptor {
	uint32_t version;
	uint32_t action_flag;
	uint64_t relevant_entry;
	uint64_t first_entry;
};

struct jd_entry {
	uint64_t next_entry;
	uint64_t prev_entry;
	uint64_t symfile_addr;
	uint64_t symfile_size;
};

/* ---- finding descriptors ---- */

static pthread_mutex_t find_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t found[JP_GDBJIT_MAX_DESC];
static size_t nfound;
static unsigned long long seen_adds = ~0ull, seen_subs = ~0ull;

struct find_ctx {
	unsigned index;
	unsigned long long adds, subs;
};

/* Objects looked at already, and what each held.  Each change in the set
 * of loaded objects (each dlopen) used to read the symbols of every object
 * again: HotSpot dlopens its libraries one by one after start-up, and each
 * time libjvm.so's 2.6 MB string table was read anew (46 reads of objects
 * for one run, a quarter of the capture thread's work).  An object is the
 * same while it stays loaded at the same base with the same program
 * headers and name; once the table is full, objects past it are read each
 * time. */
#define SEEN_MAX 512u

struct seen_obj {
	uint64_t base, phdr, name_hash;
	uint64_t desc; /* the descriptor's address, 0 for none */
};

static struct seen_obj seen[SEEN_MAX];
static size_t nseen;
#define FIND_BUF (64u << 10)
static char *find_buf; /* jp_elf_file_find_buf's, FIND_BUF bytes, kept */

static uint64_t name_hash(const char *s)
{
	uint64_t h = 1469598103934665603ull; /* FNV-1a */

	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 1099511628211ull;
	return h;
}

static const struct seen_obj *seen_find(uint64_t base, uint64_t phdr, uint64_t nh)
{
	for (size_t i = 0; i < nseen; i++)
		if (seen[i].base == base && seen[i].phdr == phdr && seen[i].name_hash == nh)
			return &seen[i];
	return NULL;
}

static void add_found(uint64_t a)
{
	size_t i;

	for (i = 0; i < nfound; i++)
		if (found[i] == a)
			return;
	if (nfound < JP_GDBJIT_MAX_DESC)
		found[nfound++] = a;
}

static int counters_cb(struct dl_phdr_info *info, size_t sz, void *arg)
{
	struct find_ctx *c = arg;

	c->adds = info->dlpi_adds;
	c->subs = info->dlpi_subs;
	return 1;
}

static int find_cb(struct dl_phdr_info *info, size_t sz, void *arg)
{
	struct find_ctx *c = arg;
	int main_prog = c->index++ == 0;
	const char *path = info->dlpi_name;
	const struct seen_obj *so;
	uint64_t v, nh;
	int r;

	if (main_prog || !path || !path[0])
		path = main_prog ? "/proc/self/exe" : NULL;
	/* the vDSO has no file; objects without a path cannot be read */
	if (!path || path[0] != '/')
		return 0;
	nh = name_hash(path);
	so = seen_find(info->dlpi_addr, (uint64_t)(uintptr_t)info->dlpi_phdr, nh);
	if (so) {
		if (so->desc)
			add_found(so->desc);
		return 0;
	}
	/* Streamed: node's tables are 10 MB, and copying them for this look-up
	 * was 1% of a short node run.  Through one buffer kept for every file
	 * (under find_lock): the first look reads all the program's objects. */
	if (!find_buf)
		find_buf = jp_sys_alloc(FIND_BUF);
	r = find_buf ? jp_elf_file_find_buf(path, "__jit_debug_descriptor", &v, find_buf, FIND_BUF) : -ENOMEM;
	if (r == -E2BIG) {
		struct jp_elf_symtab t;

		if (jp_elf_file_symtab(path, NULL, 0, &t))
			return 0;
		r = jp_elf_find(&t, "__jit_debug_descriptor", &v);
		jp_elf_symtab_release(&t);
	}
	if (r == 0 && v)
		add_found(info->dlpi_addr + v);
	/* What could not be read (out of memory, descriptors) is tried again
	 * next time; a file with no such symbol, or none at all, is as it was. */
	if ((r == 0 || r == -ENOENT) && nseen < SEEN_MAX)
		seen[nseen++] = (struct seen_obj){ info->dlpi_addr, (uint64_t)(uintptr_t)info->dlpi_phdr, nh,
						   r == 0 && v ? info->dlpi_addr + v : 0 };
	return 0;
}

int jp_gdbjit_find(uint64_t *descs, size_t max)
{
	struct find_ctx c = { 0, 0, 0 };
	int saved = errno;
	size_t i, n;

	pthread_mutex_lock(&find_lock);
	dl_iterate_phdr(counters_cb, &c);
	if (c.adds != seen_adds || c.subs != seen_subs) {
		nfound = 0;
		c.index = 0;
		dl_iterate_phdr(find_cb, &c);
		seen_adds = c.adds;
		seen_subs = c.subs;
	}
	n = nfound < max ? nfound : max;
	for (i = 0; i < n; i++)
		descs[i] = found[i];
	pthread_mutex_unlock(&find_lock);
	errno = saved;
	return (int)n;
}

/* ---- parsing one object ---- */

struct parse_ctx {
	jp_gdbjit_sym_cb cb;
	void *arg;
};

static int func_cb(void *arg, const struct jp_elf_func *f)
{
	struct parse_ctx *p = arg;

	/* sections a JIT did not place keep sh_addr 0: not code we can name */
	if (f->addr < 0x1000)
		return 0;
	return p->cb(p->arg, f->addr, f->size, f->name) ? 1 : 0;
}

int jp_gdbjit_parse_object(const void *elf, size_t size, jp_gdbjit_sym_cb sym_cb, void *arg)
{
	struct jp_elf_symtab t;
	struct parse_ctx p = { sym_cb, arg };
	int r;

	r = jp_elf_mem_symtab(elf, size, &t);
	if (r)
		return r;
	return jp_elf_for_each_func(&t, func_cb, &p) ? -ECANCELED : 0;
}

/* ---- walking the list ---- */

static int read_struct(void *dst, uint64_t src, size_t len)
{
	ssize_t n;

	if (!src)
		return -EFAULT;
	n = jp_safe_copy(dst, (const void *)(uintptr_t)src, len);
	return n == (ssize_t)len ? 0 : -EFAULT;
}

/* Objects are copied into one kept buffer (up to COPY_KEEP bytes): BEAM
 * registers a hundred objects of up to 130 KB, and a fresh mapping for each
 * (its page faults, zeroing and unmap) was half the cost of reading them. */
#define COPY_KEEP (4u << 20)
static pthread_mutex_t copy_lock = PTHREAD_MUTEX_INITIALIZER;
static void *copy_keep;
static size_t copy_cap;

/* A buffer of len bytes: the kept one (locked until copy_done), or a
 * mapping of its own for a larger object. */
static void *copy_buf(size_t len)
{
	if (len > COPY_KEEP)
		return jp_sys_alloc(len);
	pthread_mutex_lock(&copy_lock);
	if (len > copy_cap) {
		size_t cap = (len + 0xffff) & ~(size_t)0xffff;
		void *b = jp_sys_alloc(cap);

		if (!b) {
			pthread_mutex_unlock(&copy_lock);
			return NULL;
		}
		if (copy_keep)
			jp_sys_free(copy_keep, copy_cap);
		copy_keep = b;
		copy_cap = cap;
	}
	return copy_keep;
}

static void copy_done(void *b, size_t len)
{
	if (len > COPY_KEEP)
		jp_sys_free(b, len);
	else
		pthread_mutex_unlock(&copy_lock);
}

/* The walk of jp_gdbjit_scan_descriptor; *whole is set when it reached the
 * end of the list (not stopped by a list edited under us or the bound). */
static int scan_walk(uint64_t desc, jp_gdbjit_entry_cb entry_cb, jp_gdbjit_sym_cb sym_cb, void *arg, int *whole)
{
	int saved = errno;
	struct jd_descriptor d;
	uint64_t e, prev = 0;
	unsigned walked = 0;
	int r = 0;

	*whole = 0;

	if (read_struct(&d, desc, sizeof(d))) {
		errno = saved;
		return -EFAULT;
	}
	if (d.version != 1) {
		errno = saved;
		return -EINVAL;
	}
	for (e = d.first_entry; e && walked < JP_GDBJIT_MAX_ENTRIES; walked++) {
		struct jd_entry ent;
		void *copy;
		size_t len;

		if (read_struct(&ent, e, sizeof(ent)))
			break;
		/* A list being edited under us: a back link that does not
		 * point where we came from means we are off the list. */
		if (walked && ent.prev_entry && ent.prev_entry != prev)
			break;
		prev = e;
		e = ent.next_entry;
		if (!ent.symfile_addr || ent.symfile_size < sizeof(Elf64_Ehdr) ||
		    ent.symfile_size > JP_GDBJIT_SYMFILE_MAX)
			continue;
		if (entry_cb && entry_cb(arg, ent.symfile_addr, ent.symfile_size))
			continue;
		len = (size_t)ent.symfile_size;
		copy = copy_buf(len);
		if (!copy)
			continue;
		if (jp_safe_copy(copy, (const void *)(uintptr_t)ent.symfile_addr, len) == (ssize_t)len)
			r = jp_gdbjit_parse_object(copy, len, sym_cb, arg);
		copy_done(copy, len);
		if (r == -ECANCELED) {
			errno = saved;
			return r;
		}
		r = 0;
	}
	*whole = e == 0;
	errno = saved;
	return (int)walked;
}

int jp_gdbjit_scan_descriptor(uint64_t desc, jp_gdbjit_entry_cb entry_cb,
			      jp_gdbjit_sym_cb sym_cb, void *arg)
{
	int whole;

	return scan_walk(desc, entry_cb, sym_cb, arg, &whole);
}

/* What a (un)registration changes: the list head, the entry acted on and
 * the action, and that entry's object (so that an entry freed and another
 * registered at its address still reads as a change). */
static int descriptor_sig(uint64_t desc, uint64_t sig[JP_GDBJIT_SIG_WORDS])
{
	struct jd_descriptor d;
	struct jd_entry ent = { 0, 0, 0, 0 };

	if (read_struct(&d, desc, sizeof(d)))
		return -EFAULT;
	if (d.relevant_entry && read_struct(&ent, d.relevant_entry, sizeof(ent)))
		return -EFAULT;
	sig[0] = d.first_entry;
	sig[1] = d.relevant_entry;
	sig[2] = (uint64_t)d.version << 32 | d.action_flag;
	sig[3] = ent.symfile_addr;
	sig[4] = ent.symfile_size;
	return 0;
}

int jp_gdbjit_scan_changed(uint64_t desc, uint64_t sig[JP_GDBJIT_SIG_WORDS], jp_gdbjit_entry_cb entry_cb,
			   jp_gdbjit_sym_cb sym_cb, void *arg)
{
	uint64_t now[JP_GDBJIT_SIG_WORDS];
	int saved = errno, have = descriptor_sig(desc, now) == 0, whole, r;

	errno = saved;
	if (have && memcmp(now, sig, sizeof(now)) == 0)
		return 0;
	/* Read before the walk: an edit during the walk changes it again. */
	r = scan_walk(desc, entry_cb, sym_cb, arg, &whole);
	if (have && whole && r >= 0)
		memcpy(sig, now, sizeof(now));
	else
		memset(sig, 0, sizeof(now));
	return r;
}

int jp_gdbjit_scan(jp_gdbjit_entry_cb entry_cb, jp_gdbjit_sym_cb sym_cb, void *arg)
{
	uint64_t descs[JP_GDBJIT_MAX_DESC];
	int n = jp_gdbjit_find(descs, JP_GDBJIT_MAX_DESC), i, total = 0;

	for (i = 0; i < n; i++) {
		int r = jp_gdbjit_scan_descriptor(descs[i], entry_cb, sym_cb, arg);

		if (r == -ECANCELED)
			return r;
		if (r > 0)
			total += r;
	}
	return total;
}
