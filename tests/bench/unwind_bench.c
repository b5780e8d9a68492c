/* unwind_bench.c - speed of the stack-height analysis and CFI encoding, and its rules on compiled code for checking against the compiler's own.
 *
 * usage: unwind_bench [--rows] [--mid|--half] [ELF file...]   (default: libc)
 * Every function symbol of the file's .text is analysed as if it were one
 * JIT piece (the case the splitter aims for).  Prints MB/s of analysis
 * alone and with encoding, the share of functions that get rules, and the
 * share of their bytes covered.  --rows prints each rule as
 * `R start end cfa_reg cfa_off rbp` (addresses in hex) for
 * tests/bench/unwind_check.py, which compares them with the compiler's
 * .eh_frame (readelf --debug-dump=frames-interp).  --mid analyses each
 * function from its second instruction instead, as a splitter's wrong cut
 * would hand it over (--half: from its middle): any rule printed then must
 * still be right. */
#include <elf.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cfi.h"
#include "elfsym.h"
#include "insn.h"
#include "stackheight.h"

struct fn {
	uint64_t addr, size;
};

struct fns {
	struct fn *v;
	size_t n, cap;
};

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int add_fn(void *arg, const struct jp_elf_func *f)
{
	struct fns *s = arg;

	if (!f->size)
		return 0;
	if (s->n == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 1024;
		s->v = realloc(s->v, s->cap * sizeof(*s->v));
		if (!s->v)
			exit(1);
	}
	s->v[s->n].addr = f->addr;
	s->v[s->n++].size = f->size;
	return 0;
}

static int cmp_fn(const void *a, const void *b)
{
	const struct fn *x = a, *y = b;

	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

static void run(const char *path, int rows_out, int mid)
{
	static struct jp_sh_row rows[JP_CFI_MAX_ROWS];
	static uint8_t data[JP_CFI_MAX_DATA];
	struct jp_sh_work *w = jp_sh_work_new(JP_SH_MAX_LEN);
	struct jp_elf_symtab t;
	struct fns fs = { 0 };
	const Elf64_Ehdr *eh;
	const Elf64_Shdr *sh, *text = NULL;
	const char *shstr;
	struct stat sb;
	uint8_t *m;
	uint64_t bytes = 0, covered = 0, described = 0, total = 0, refusals[8] = { 0 }, out_bytes = 0;
	double t0, t_an = 0, t_enc = 0;
	int fd = open(path, O_RDONLY);
	struct jp_decoder d;

	jp_insn_init(&d);
	if (fd < 0 || fstat(fd, &sb) || !w) {
		fprintf(stderr, "unwind_bench: %s: cannot open\n", path);
		return;
	}
	m = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (m == MAP_FAILED)
		return;
	eh = (const Elf64_Ehdr *)m;
	sh = (const Elf64_Shdr *)(m + eh->e_shoff);
	shstr = (const char *)m + sh[eh->e_shstrndx].sh_offset;
	for (size_t i = 0; i < eh->e_shnum; i++)
		if (!strcmp(shstr + sh[i].sh_name, ".text"))
			text = &sh[i];
	if (!text || jp_elf_file_symtab(path, NULL, 0, &t) != 0)
		return;
	jp_elf_for_each_func(&t, add_fn, &fs);
	jp_elf_symtab_release(&t);
	qsort(fs.v, fs.n, sizeof(*fs.v), cmp_fn);
	for (size_t i = 0; i < fs.n; i++) {
		const struct fn *f = &fs.v[i];
		uint64_t start = f->addr, len = f->size;
		const uint8_t *code;
		struct jp_sh_result r;
		size_t n, usize, hsz;

		if (i && f->addr == fs.v[i - 1].addr)
			continue; /* an alias */
		if (f->addr < text->sh_addr || f->addr + f->size > text->sh_addr + text->sh_size)
			continue;
		if (mid) {
			/* the first instruction boundary at or after 1/mid of
			 * the function (mid 1: the second instruction) */
			const uint8_t *c0 = m + text->sh_offset + (f->addr - text->sh_addr);
			uint64_t o = 0, want = mid == 1 ? 1 : f->size / mid;
			struct jp_insn in;

			while (o < want) {
				unsigned l = jp_insn_decode(&d, c0 + o, f->size - o, &in);

				if (!l)
					break;
				o += l;
			}
			if (o < want || o >= f->size)
				continue;
			start += o;
			len -= o;
		}
		code = m + text->sh_offset + (start - text->sh_addr);
		total++;
		bytes += len;
		t0 = now();
		n = jp_sh_analyze(w, code, len, rows, JP_CFI_MAX_ROWS, &r);
		t_an += now() - t0;
		refusals[r.refused & 7]++;
		if (!n)
			continue;
		t0 = now();
		usize = jp_cfi_encode(rows, n, len, data, sizeof(data), &hsz);
		t_enc += now() - t0;
		out_bytes += usize;
		described++;
		for (size_t k = 0; k < n; k++) {
			covered += rows[k].end - rows[k].start;
			if (rows_out)
				printf("R %llx %llx %s %d %d\n", (unsigned long long)(start + rows[k].start),
				       (unsigned long long)(start + rows[k].end), rows[k].cfa_reg == JP_SH_RBP ? "rbp" : "rsp",
				       rows[k].cfa_off, rows[k].rbp);
		}
	}
	fprintf(rows_out ? stderr : stdout,
		"%s%s: %llu functions, %.1f MB: %.1f%% get rules, %.1f%% of bytes covered; analysis %.1f MB/s, "
		"with encoding %.1f MB/s; %.1f bytes of unwinding data per KB of code described; refused: "
		"no ret %llu, bad ret %llu, underflow %llu, overlap %llu\n",
		path, mid == 1 ? " (from the second instruction)" : mid == 2 ? " (from the middle)" : "", (unsigned long long)total, bytes / 1e6,
		total ? 100.0 * described / total : 0, bytes ? 100.0 * covered / bytes : 0,
		t_an > 0 ? bytes / 1e6 / t_an : 0, t_an + t_enc > 0 ? bytes / 1e6 / (t_an + t_enc) : 0,
		covered ? 1000.0 * out_bytes / covered : 0, (unsigned long long)refusals[JP_SH_NO_RET],
		(unsigned long long)refusals[JP_SH_BAD_RET], (unsigned long long)refusals[JP_SH_UNDERFLOW],
		(unsigned long long)refusals[JP_SH_OVERLAP]);
	free(fs.v);
	munmap(m, (size_t)sb.st_size);
	jp_sh_work_free(w);
}

int main(int argc, char **argv)
{
	int rows = 0, mid = 0, any = 0;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--rows"))
			rows = 1;
		else if (!strcmp(argv[i], "--mid"))
			mid = 1;
		else if (!strcmp(argv[i], "--half"))
			mid = 2;
		else {
			run(argv[i], rows, mid);
			any = 1;
		}
	}
	if (!any)
		run("/lib/x86_64-linux-gnu/libc.so.6", rows, mid);
	return 0;
}
