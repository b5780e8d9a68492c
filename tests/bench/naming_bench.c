/* naming_bench.c - speed of split and fingerprint, and how well split finds real functions in compiled code.
 *
 * usage: naming_bench [ELF file...]   (default: libc and this program)
 * For each file, the .text section is split as if it were JIT code at its
 * link address, and piece starts are compared with the function symbols
 * (.symtab, else .dynsym): recall = function starts that begin a piece,
 * precision = piece starts that are function starts.  Speeds are for 4 KiB
 * pages (what the capture engine hands over) and for the whole section. */
#include <elf.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "elfsym.h"
#include "fingerprint.h"
#include "insn.h"
#include "split.h"

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

struct starts {
	uint64_t *v;
	size_t n, cap;
};

static int add_start(void *arg, const struct jp_elf_func *f)
{
	struct starts *s = arg;

	if (!f->size)
		return 0;
	if (s->n == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 1024;
		s->v = realloc(s->v, s->cap * sizeof(*s->v));
		if (!s->v)
			exit(1);
	}
	s->v[s->n++] = f->addr;
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static int has(const uint64_t *v, size_t n, uint64_t x)
{
	return bsearch(&x, v, n, sizeof(*v), cmp_u64) != NULL;
}

static void bench(const char *path)
{
	struct jp_elf_symtab t;
	struct starts st = { 0 };
	const Elf64_Ehdr *eh;
	const Elf64_Shdr *sh, *text = NULL;
	const char *shstr;
	struct stat sb;
	uint8_t *m, *code;
	uint64_t addr;
	size_t len, i, n, hit = 0, fstarts = 0, cap = 1 << 20, reps, r;
	struct jp_piece *p = malloc(cap * sizeof(*p));
	double t0, t_split, t_fp, t_whole, t_desc[2];
	volatile uint64_t sink = 0;
	int fd = open(path, O_RDONLY);

	if (fd < 0 || fstat(fd, &sb) || !p) {
		fprintf(stderr, "naming_bench: %s: cannot open\n", path);
		return;
	}
	m = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (m == MAP_FAILED)
		return;
	eh = (const Elf64_Ehdr *)m;
	sh = (const Elf64_Shdr *)(m + eh->e_shoff);
	shstr = (const char *)m + sh[eh->e_shstrndx].sh_offset;
	for (i = 0; i < eh->e_shnum; i++)
		if (!strcmp(shstr + sh[i].sh_name, ".text"))
			text = &sh[i];
	if (!text)
		return;
	code = m + text->sh_offset;
	len = text->sh_size;
	addr = text->sh_addr;

	if (jp_elf_file_symtab(path, NULL, 0, &t) == 0) {
		jp_elf_for_each_func(&t, add_start, &st);
		jp_elf_symtab_release(&t);
	}
	qsort(st.v, st.n, sizeof(*st.v), cmp_u64);

	/* accuracy on the whole section */
	n = jp_split(code, len, addr, p, cap);
	for (i = 0; i < n; i++)
		hit += has(st.v, st.n, addr + p[i].offset);
	for (i = 0; i < st.n; i++)
		if (st.v[i] >= addr && st.v[i] < addr + len && (i == 0 || st.v[i] != st.v[i - 1]))
			fstarts++;

	reps = (64u << 20) / len + 1;
	t0 = now();
	for (r = 0; r < reps; r++)
		for (i = 0; i < len; i += 4096)
			sink += jp_split(code + i, len - i < 4096 ? len - i : 4096, addr + i, p, cap);
	t_split = now() - t0;
	t0 = now();
	for (r = 0; r < reps; r++)
		for (i = 0; i < len; i += 4096)
			sink += jp_fingerprint(code + i, len - i < 4096 ? len - i : 4096, addr + i);
	t_fp = now() - t0;
	t0 = now();
	for (r = 0; r < reps; r++)
		sink += jp_split(code, len, addr, p, cap);
	t_whole = now() - t0;
	/* What describing new code does: split a 4 KiB page, then fingerprint
	 * (and shape) each piece; without and with the splitter's decoding
	 * reused (the memo). */
	{
		static uint32_t moff[1 << 16];
		static struct jp_insn min[1 << 16];
		struct jp_insn_memo mm = { .off = moff, .in = min, .cap = 1 << 16 };
		struct jp_fp_work *w = malloc(jp_fp_work_size());

		for (int use = 0; w && use < 2; use++) {
			t0 = now();
			for (r = 0; r < reps; r++) {
				for (i = 0; i < len; i += 4096) {
					size_t l = len - i < 4096 ? len - i : 4096, k, np;
					uint64_t sh;

					jp_insn_memo_reset(&mm, code + i, l);
					np = jp_split_memo(code + i, l, addr + i, p, cap, use ? &mm : NULL);
					for (k = 0; k < np; k++)
						sink += jp_fingerprint_memo(w, code + i + p[k].offset, p[k].length,
									    addr + i + p[k].offset, &sh, use ? &mm : NULL);
				}
			}
			t_desc[use] = now() - t0;
		}
		free(w);
	}

	printf("%s: .text %zu KiB, %zu functions, %zu pieces: recall %.1f%%, precision %.1f%%\n",
	       path, len >> 10, fstarts, n, fstarts ? 100.0 * (double)hit / (double)fstarts : 0,
	       n ? 100.0 * (double)hit / (double)n : 0);
	printf("  split %.0f MB/s (4 KiB pages), %.0f MB/s (whole); fingerprint %.0f MB/s\n",
	       (double)(len * reps) / t_split / 1e6, (double)(len * reps) / t_whole / 1e6,
	       (double)(len * reps) / t_fp / 1e6);
	printf("  describe (split, then fingerprint each piece): %.0f MB/s; decoding once (memo): %.0f MB/s\n",
	       (double)(len * reps) / t_desc[0] / 1e6, (double)(len * reps) / t_desc[1] / 1e6);
	munmap(m, (size_t)sb.st_size);
	free(st.v);
	free(p);
}

int main(int argc, char **argv)
{
	int i;

	if (argc < 2) {
		bench("/usr/lib/x86_64-linux-gnu/libc.so.6");
		bench("/proc/self/exe");
		return 0;
	}
	for (i = 1; i < argc; i++)
		bench(argv[i]);
	return 0;
}
