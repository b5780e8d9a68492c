/* elfsym.c - ELF64 symbol tables from memory or from a file, bounds-checked. */
#include "elfsym.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "arena.h"
#include "str.h"
#include "sys.h"

/* A file's symbol and string tables together may not exceed this: bigger
 * ones belong to objects no JIT allocates code from, and reading them would
 * cost more than the name is worth. */
#define FILE_TABLES_MAX (256u << 20)

static int in_bounds(uint64_t off, uint64_t len, uint64_t size)
{
	return off <= size && len <= size - off;
}

static void get_sym(const struct jp_elf_symtab *t, size_t i, Elf64_Sym *s)
{
	/* memcpy: an in-memory image may put its tables anywhere */
	memcpy(s, (const char *)t->sym + i * sizeof(*s), sizeof(*s));
}

static void get_shdr(const Elf64_Shdr *sh, size_t i, Elf64_Shdr *out)
{
	memcpy(out, (const char *)sh + i * sizeof(*out), sizeof(*out));
}

static const char *sym_name(const struct jp_elf_symtab *t, uint32_t off)
{
	if (off >= t->strsz || !memchr(t->str + off, 0, t->strsz - off))
		return NULL;
	return t->str + off;
}

static int check_ehdr(const Elf64_Ehdr *eh)
{
	if (memcmp(eh->e_ident, ELFMAG, SELFMAG) || eh->e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh->e_ident[EI_DATA] != ELFDATA2LSB)
		return -EINVAL;
	if (eh->e_shoff && eh->e_shentsize != sizeof(Elf64_Shdr))
		return -EINVAL;
	return 0;
}

/* Pick the symbol table section (index) among n headers; -1 if none. */
static long pick_symtab(const Elf64_Shdr *sh, size_t n, int *is_dyn)
{
	long dyn = -1;
	size_t i;

	for (i = 0; i < n; i++) {
		Elf64_Shdr s;

		get_shdr(sh, i, &s);
		if (s.sh_type == SHT_SYMTAB) {
			*is_dyn = 0;
			return (long)i;
		}
		if (s.sh_type == SHT_DYNSYM && dyn < 0)
			dyn = (long)i;
	}
	*is_dyn = 1;
	return dyn;
}

static int check_tables(const Elf64_Shdr *sh, size_t shnum, long si, Elf64_Shdr *sym,
			Elf64_Shdr *str)
{
	get_shdr(sh, (size_t)si, sym);
	if (sym->sh_entsize && sym->sh_entsize != sizeof(Elf64_Sym))
		return -EINVAL;
	if (sym->sh_link == 0 || sym->sh_link >= shnum)
		return -EINVAL;
	get_shdr(sh, sym->sh_link, str);
	if (str->sh_type != SHT_STRTAB)
		return -EINVAL;
	return 0;
}

static size_t section_count(const Elf64_Ehdr *eh, const void *first_shdr)
{
	Elf64_Shdr s0;

	if (eh->e_shnum || !first_shdr)
		return eh->e_shnum;
	/* more than 0xff00 sections: the count lives in section 0 */
	get_shdr(first_shdr, 0, &s0);
	return (size_t)s0.sh_size;
}

int jp_elf_mem_symtab(const void *buf, size_t size, struct jp_elf_symtab *t)
{
	const uint8_t *b = buf;
	Elf64_Ehdr eh;
	Elf64_Shdr sym, str;
	size_t shnum;
	long si;
	int r;

	memset(t, 0, sizeof(*t));
	if (!buf || size < sizeof(eh))
		return -EINVAL;
	memcpy(&eh, b, sizeof(eh));
	r = check_ehdr(&eh);
	if (r)
		return r;
	if (!eh.e_shoff || !in_bounds(eh.e_shoff, sizeof(Elf64_Shdr), size))
		return -ENOENT;
	shnum = section_count(&eh, b + eh.e_shoff);
	if (shnum == 0 || shnum > (size - eh.e_shoff) / sizeof(Elf64_Shdr))
		return -EINVAL;
	si = pick_symtab((const Elf64_Shdr *)(b + eh.e_shoff), shnum, &t->is_dyn);
	if (si < 0)
		return -ENOENT;
	r = check_tables((const Elf64_Shdr *)(b + eh.e_shoff), shnum, si, &sym, &str);
	if (r)
		return r;
	if (!in_bounds(sym.sh_offset, sym.sh_size, size) ||
	    !in_bounds(str.sh_offset, str.sh_size, size))
		return -EINVAL;
	t->sym = (const Elf64_Sym *)(b + sym.sh_offset);
	t->nsym = sym.sh_size / sizeof(Elf64_Sym);
	t->str = (const char *)b + str.sh_offset;
	t->strsz = str.sh_size;
	t->sh = (const Elf64_Shdr *)(b + eh.e_shoff);
	t->shnum = shnum;
	t->is_rel = eh.e_type == ET_REL;
	return 0;
}

size_t jp_elf_note_build_id(const void *notes, size_t size, const uint8_t **id)
{
	const uint8_t *p = notes;
	size_t off = 0;

	while (notes && size >= 12 && off <= size - 12) {
		Elf64_Nhdr nh;
		size_t name_sz, desc_sz;

		memcpy(&nh, p + off, sizeof(nh));
		name_sz = ((size_t)nh.n_namesz + 3) & ~(size_t)3;
		desc_sz = ((size_t)nh.n_descsz + 3) & ~(size_t)3;
		off += 12;
		if (!in_bounds(off, name_sz, size) || !in_bounds(off + name_sz, desc_sz, size))
			break;
		if (nh.n_type == NT_GNU_BUILD_ID && nh.n_namesz == 4 &&
		    !memcmp(p + off, "GNU", 4) && nh.n_descsz > 0) {
			*id = p + off + name_sz;
			return nh.n_descsz;
		}
		off += name_sz + desc_sz;
	}
	return 0;
}

static int sys_open_ro(const char *path)
{
	return jp_open_follow(path, O_RDONLY, 0);
}

/* pread exactly len bytes at off; -EIO on a short file. */
static int read_at(int fd, void *buf, size_t len, uint64_t off)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = pread(fd, (char *)buf + done, len - done, (off_t)(off + done));

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EIO;
		done += (size_t)n;
	}
	return 0;
}

/* Does any SHT_NOTE section of the file carry this build-id? */
static int file_build_id_matches(int fd, uint64_t fsize, const Elf64_Shdr *sh, size_t shnum,
				 const uint8_t *want, size_t want_len)
{
	uint8_t note[512];
	size_t i;

	for (i = 0; i < shnum; i++) {
		Elf64_Shdr s;
		const uint8_t *id;
		size_t n;

		get_shdr(sh, i, &s);
		if (s.sh_type != SHT_NOTE || s.sh_size > sizeof(note) ||
		    !in_bounds(s.sh_offset, s.sh_size, fsize))
			continue;
		if (read_at(fd, note, s.sh_size, s.sh_offset))
			continue;
		n = jp_elf_note_build_id(note, s.sh_size, &id);
		if (n)
			return n == want_len && !memcmp(id, want, n);
	}
	return 0;
}

/* An ELF file opened for its symbol table: the section headers read, the
 * symbol and string tables located and checked against the file's size. */
struct file_tables {
	int fd;
	uint64_t fsize;
	Elf64_Ehdr eh;
	char *mem; /* section headers (jp_sys_alloc'd, mem_len bytes) */
	size_t mem_len, shnum;
	Elf64_Shdr sym, str;
	int is_dyn;
};

static void close_tables(struct file_tables *ft)
{
	if (ft->mem)
		jp_sys_free(ft->mem, ft->mem_len);
	ft->mem = NULL;
	if (ft->fd >= 0)
		jp_syscall(SYS_close, ft->fd);
	ft->fd = -1;
}

static int open_tables(const char *path, const uint8_t *build_id, size_t build_id_len, struct file_tables *ft)
{
	Elf64_Shdr s0;
	struct stat st;
	uint64_t shbytes;
	long si;
	int r;

	memset(ft, 0, sizeof(*ft));
	ft->fd = sys_open_ro(path);
	if (ft->fd < 0)
		return ft->fd;
	if (jp_syscall(SYS_fstat, ft->fd, &st) < 0) {
		r = -errno;
		goto fail;
	}
	r = -EINVAL;
	if (!S_ISREG(st.st_mode))
		goto fail;
	ft->fsize = (uint64_t)st.st_size;
	if (ft->fsize < sizeof(ft->eh) || (r = read_at(ft->fd, &ft->eh, sizeof(ft->eh), 0)))
		goto fail;
	if ((r = check_ehdr(&ft->eh)))
		goto fail;
	r = -ENOENT;
	if (!ft->eh.e_shoff || !in_bounds(ft->eh.e_shoff, sizeof(s0), ft->fsize))
		goto fail;
	if ((r = read_at(ft->fd, &s0, sizeof(s0), ft->eh.e_shoff)))
		goto fail;
	ft->shnum = section_count(&ft->eh, &s0);
	r = -EINVAL;
	if (ft->shnum == 0 || ft->shnum > (ft->fsize - ft->eh.e_shoff) / sizeof(Elf64_Shdr))
		goto fail;
	shbytes = (uint64_t)ft->shnum * sizeof(Elf64_Shdr);
	if (shbytes > FILE_TABLES_MAX)
		goto fail;
	ft->mem_len = (size_t)shbytes;
	ft->mem = jp_sys_alloc(ft->mem_len);
	r = -ENOMEM;
	if (!ft->mem)
		goto fail;
	if ((r = read_at(ft->fd, ft->mem, (size_t)shbytes, ft->eh.e_shoff)))
		goto fail;
	if (build_id && build_id_len &&
	    !file_build_id_matches(ft->fd, ft->fsize, (const Elf64_Shdr *)ft->mem, ft->shnum, build_id,
				   build_id_len)) {
		r = -ESTALE;
		goto fail;
	}
	si = pick_symtab((const Elf64_Shdr *)ft->mem, ft->shnum, &ft->is_dyn);
	r = -ENOENT;
	if (si < 0)
		goto fail;
	if ((r = check_tables((const Elf64_Shdr *)ft->mem, ft->shnum, si, &ft->sym, &ft->str)))
		goto fail;
	r = -EINVAL;
	if (!in_bounds(ft->sym.sh_offset, ft->sym.sh_size, ft->fsize) ||
	    !in_bounds(ft->str.sh_offset, ft->str.sh_size, ft->fsize) || ft->sym.sh_size > FILE_TABLES_MAX ||
	    ft->str.sh_size > FILE_TABLES_MAX - ft->sym.sh_size)
		goto fail;
	return 0;
fail:
	close_tables(ft);
	return r;
}

int jp_elf_file_symtab(const char *path, const uint8_t *build_id, size_t build_id_len,
		       struct jp_elf_symtab *t)
{
	int saved = errno;
	struct file_tables ft;
	uint64_t shbytes, total;
	char *big;
	int r;

	memset(t, 0, sizeof(*t));
	if ((r = open_tables(path, build_id, build_id_len, &ft))) {
		errno = saved;
		return r;
	}
	/* One region for headers and both tables, released in one call. */
	shbytes = ft.mem_len;
	total = shbytes + ((ft.sym.sh_size + 7) & ~7ull) + ft.str.sh_size;
	big = jp_sys_alloc((size_t)total);
	r = -ENOMEM;
	if (!big)
		goto out;
	memcpy(big, ft.mem, (size_t)shbytes);
	jp_sys_free(ft.mem, ft.mem_len);
	ft.mem = big;
	ft.mem_len = (size_t)total;
	if ((r = read_at(ft.fd, big + shbytes, ft.sym.sh_size, ft.sym.sh_offset)))
		goto out;
	if ((r = read_at(ft.fd, big + total - ft.str.sh_size, ft.str.sh_size, ft.str.sh_offset)))
		goto out;
	t->sh = (const Elf64_Shdr *)big;
	t->shnum = ft.shnum;
	t->sym = (const Elf64_Sym *)(big + shbytes);
	t->nsym = ft.sym.sh_size / sizeof(Elf64_Sym);
	t->str = big + total - ft.str.sh_size;
	t->strsz = ft.str.sh_size;
	t->is_rel = ft.eh.e_type == ET_REL;
	t->is_dyn = ft.is_dyn;
	t->mem = big;
	t->mem_len = (size_t)total;
	ft.mem = NULL; /* now t's */
	r = 0;
out:
	close_tables(&ft);
	errno = saved;
	return r;
}

void jp_elf_symtab_release(struct jp_elf_symtab *t)
{
	if (t->mem)
		jp_sys_free(t->mem, t->mem_len);
	memset(t, 0, sizeof(*t));
}

static int is_func(const Elf64_Sym *s)
{
	unsigned type = ELF64_ST_TYPE(s->st_info);

	return (type == STT_FUNC || type == STT_GNU_IFUNC) && s->st_shndx != SHN_UNDEF;
}

/* Address of a defined symbol; 0 on a bad section index. */
static int sym_addr(const struct jp_elf_symtab *t, const Elf64_Sym *s, uint64_t *addr)
{
	Elf64_Shdr sh;

	if (!t->is_rel || s->st_shndx == SHN_ABS) {
		*addr = s->st_value;
		return 1;
	}
	if (s->st_shndx >= t->shnum || s->st_shndx >= SHN_LORESERVE)
		return 0;
	get_shdr(t->sh, s->st_shndx, &sh);
	*addr = sh.sh_addr + s->st_value;
	return 1;
}

static int bind_rank(unsigned bind)
{
	return bind == STB_GLOBAL ? 3 : bind == STB_WEAK ? 2 : bind == STB_GNU_UNIQUE ? 2 : 1;
}

int jp_elf_func_at(const struct jp_elf_symtab *t, uint64_t addr, struct jp_elf_func *f)
{
	int best_rank = 0;
	size_t i;

	for (i = 1; i < t->nsym; i++) {
		Elf64_Sym s;
		uint64_t a;
		const char *name;
		int rank;

		get_sym(t, i, &s);
		if (!is_func(&s) || !sym_addr(t, &s, &a))
			continue;
		if (addr < a || (s.st_size ? addr - a >= s.st_size : addr != a))
			continue;
		rank = bind_rank(ELF64_ST_BIND(s.st_info));
		if (rank <= best_rank)
			continue;
		name = sym_name(t, s.st_name);
		if (!name || !*name)
			continue;
		best_rank = rank;
		f->addr = a;
		f->size = s.st_size;
		f->name = name;
		f->bind = ELF64_ST_BIND(s.st_info);
	}
	return best_rank ? 0 : -ENOENT;
}

/* Distance from a to the next symbol start in section shndx, else to the
 * section's end; 0 when unknown. */
static uint64_t guess_size(const struct jp_elf_symtab *t, uint16_t shndx, uint64_t a)
{
	uint64_t best = 0;
	Elf64_Shdr sh;
	size_t i;

	for (i = 1; i < t->nsym; i++) {
		Elf64_Sym s;
		uint64_t b;

		get_sym(t, i, &s);
		if (s.st_shndx != shndx || s.st_shndx == SHN_UNDEF || !sym_addr(t, &s, &b))
			continue;
		if (b > a && (!best || b - a < best))
			best = b - a;
	}
	if (!best && shndx < t->shnum && shndx < SHN_LORESERVE) {
		get_shdr(t->sh, shndx, &sh);
		if (sh.sh_addr <= a && a - sh.sh_addr < sh.sh_size)
			best = sh.sh_addr + sh.sh_size - a;
	}
	return best;
}

int jp_elf_for_each_func(const struct jp_elf_symtab *t, jp_elf_func_cb cb, void *arg)
{
	size_t i;

	for (i = 1; i < t->nsym; i++) {
		Elf64_Sym s;
		struct jp_elf_func f;
		int r;

		get_sym(t, i, &s);
		if (!is_func(&s) || !sym_addr(t, &s, &f.addr))
			continue;
		f.name = sym_name(t, s.st_name);
		if (!f.name || !*f.name)
			continue;
		f.size = s.st_size;
		if (!f.size && t->nsym <= JP_ELF_SIZE_GUESS_MAX)
			f.size = guess_size(t, s.st_shndx, f.addr);
		f.bind = ELF64_ST_BIND(s.st_info);
		r = cb(arg, &f);
		if (r)
			return r;
	}
	return 0;
}

int jp_elf_find(const struct jp_elf_symtab *t, const char *name, uint64_t *value)
{
	size_t i;

	for (i = 1; i < t->nsym; i++) {
		Elf64_Sym s;
		const char *n;

		get_sym(t, i, &s);
		if (s.st_shndx == SHN_UNDEF)
			continue;
		n = sym_name(t, s.st_name);
		if (n && !strcmp(n, name) && sym_addr(t, &s, value))
			return 0;
	}
	return -ENOENT;
}

/* The name at off in the file's string table, into buf (cut to size); 0 if
 * it is a valid, non-empty, NUL-terminated name, as sym_name() accepts. */
static int read_name(const struct file_tables *ft, uint32_t off, char *buf, size_t size)
{
	char win[128];
	size_t got = 0;

	if (off >= ft->str.sh_size)
		return -EINVAL;
	for (uint64_t at = off; at < ft->str.sh_size;) {
		size_t want = ft->str.sh_size - at < sizeof(win) ? (size_t)(ft->str.sh_size - at) : sizeof(win);
		const char *nul;
		size_t part;

		if (read_at(ft->fd, win, want, ft->str.sh_offset + at))
			return -EIO;
		nul = memchr(win, 0, want);
		part = nul ? (size_t)(nul - win) : want;
		if (got + 1 < size) {
			size_t c = part < size - 1 - got ? part : size - 1 - got;

			memcpy(buf + got, win, c);
			got += c;
		}
		if (nul) {
			if (size)
				buf[got] = 0;
			return at == off && part == 0 ? -ENOENT : 0;
		}
		at += want;
	}
	return -EINVAL; /* runs off the table's end */
}

/* Call visit for each symbol of the file's table in order, a batch at a
 * time (48 KiB of memory, none of the table copied), until it returns
 * nonzero.  Returns that value, 0 at the end, or -errno. */
typedef int (*sym_visit)(void *arg, const struct file_tables *ft, const struct jp_elf_symtab *view,
			 const Elf64_Sym *s);

static int each_symbol(const struct file_tables *ft, sym_visit visit, void *arg)
{
	enum { BATCH = 2048 };
	struct jp_elf_symtab view;
	size_t nsym = ft->sym.sh_size / sizeof(Elf64_Sym);
	Elf64_Sym *batch = jp_sys_alloc(BATCH * sizeof(Elf64_Sym));
	int r = 0;

	if (!batch)
		return -ENOMEM;
	/* what sym_addr() needs */
	memset(&view, 0, sizeof(view));
	view.sh = (const Elf64_Shdr *)ft->mem;
	view.shnum = ft->shnum;
	view.is_rel = ft->eh.e_type == ET_REL;
	for (size_t i = 1; i < nsym && !r;) {
		size_t k = nsym - i < BATCH ? nsym - i : BATCH;

		r = read_at(ft->fd, batch, k * sizeof(Elf64_Sym), ft->sym.sh_offset + i * sizeof(Elf64_Sym));
		for (size_t j = 0; j < k && !r; j++)
			r = visit(arg, ft, &view, &batch[j]);
		i += k;
	}
	jp_sys_free(batch, BATCH * sizeof(Elf64_Sym));
	return r;
}

struct func_name_ctx {
	uint64_t addr;
	char *name;
	size_t size;
	int best_rank;
};

/* jp_elf_func_at's choice: the first function of the highest binding rank
 * that contains addr and has a name. */
static int func_name_visit(void *arg, const struct file_tables *ft, const struct jp_elf_symtab *view,
			   const Elf64_Sym *s)
{
	struct func_name_ctx *c = arg;
	char tmp[JP_ELF_NAME_MAX];
	uint64_t a;
	int rank;

	if (!is_func(s) || !sym_addr(view, s, &a))
		return 0;
	if (c->addr < a || (s->st_size ? c->addr - a >= s->st_size : c->addr != a))
		return 0;
	rank = bind_rank(ELF64_ST_BIND(s->st_info));
	if (rank <= c->best_rank || read_name(ft, s->st_name, tmp, sizeof(tmp)) != 0)
		return 0;
	c->best_rank = rank;
	jp_strlcpy(c->name, tmp, c->size);
	return 0;
}

int jp_elf_file_func_name(const char *path, const uint8_t *build_id, size_t build_id_len, uint64_t addr,
			  char *name, size_t size)
{
	struct func_name_ctx c = { addr, name, size, 0 };
	struct file_tables ft;
	int saved = errno, r;

	if (!size)
		return -EINVAL;
	name[0] = 0;
	if ((r = open_tables(path, build_id, build_id_len, &ft)) == 0) {
		r = each_symbol(&ft, func_name_visit, &c);
		close_tables(&ft);
	}
	if (r == 0 && !c.best_rank)
		r = -ENOENT;
	if (r)
		name[0] = 0;
	errno = saved;
	return r;
}

#define FIND_MAX_AT 64

struct find_ctx {
	uint64_t at[FIND_MAX_AT]; /* where the string table holds the name */
	size_t nat;
	uint64_t *value;
};

/* jp_elf_find's answer: the first defined symbol, in table order, named by
 * one of those strings. */
static int find_visit(void *arg, const struct file_tables *ft, const struct jp_elf_symtab *view, const Elf64_Sym *s)
{
	struct find_ctx *c = arg;

	(void)ft;
	if (s->st_shndx == SHN_UNDEF)
		return 0;
	for (size_t m = 0; m < c->nat; m++)
		if (s->st_name == c->at[m] && sym_addr(view, s, c->value))
			return 1;
	return 0;
}

int jp_elf_file_find_buf(const char *path, const char *name, uint64_t *value, char *buf, size_t buf_len)
{
	int saved = errno, r;
	struct file_tables ft;
	struct find_ctx c;
	size_t nlen = strlen(name), step;

	if (!nlen || nlen > 4096 || buf_len <= nlen + 1)
		return -EINVAL;
	step = buf_len - nlen - 1;
	if ((r = open_tables(path, NULL, 0, &ft))) {
		errno = saved;
		return r;
	}
	c.nat = 0;
	c.value = value;
	r = 0;
	/* Where the string table holds name (a NUL right after it), a step at
	 * a time; steps overlap by the name's length, so a match across two
	 * steps is seen, and each match once (it starts in one step). */
	for (uint64_t off = 0; off < ft.str.sh_size; off += step) {
		uint64_t end = off + step + nlen + 1 < ft.str.sh_size ? off + step + nlen + 1 : ft.str.sh_size;
		size_t got = (size_t)(end - off);
		const char *p = buf, *q;

		if ((r = read_at(ft.fd, buf, got, ft.str.sh_offset + off)))
			goto out;
		while ((q = memmem(p, got - (size_t)(p - buf), name, nlen)) != NULL) {
			size_t i = (size_t)(q - buf);

			if (i >= step)
				break; /* starts in the next step */
			if (i + nlen < got && buf[i + nlen] == 0) {
				if (c.nat == FIND_MAX_AT) {
					r = -E2BIG;
					goto out;
				}
				c.at[c.nat++] = off + i;
			}
			p = q + 1;
		}
	}
	/* Not in the string table (the common answer): no symbol to read. */
	r = c.nat ? each_symbol(&ft, find_visit, &c) : 0;
	r = r == 1 ? 0 : r ? r : -ENOENT;
out:
	close_tables(&ft);
	errno = saved;
	return r;
}

int jp_elf_file_find(const char *path, const char *name, uint64_t *value)
{
	enum { STR_STEP = 64 * 1024 };
	size_t len = STR_STEP + strlen(name) + 1;
	char *buf = strlen(name) <= 4096 ? jp_sys_alloc(len) : NULL;
	int r;

	if (!buf)
		return strlen(name) <= 4096 ? -ENOMEM : -EINVAL;
	r = jp_elf_file_find_buf(path, name, value, buf, len);
	jp_sys_free(buf, len);
	return r;
}
