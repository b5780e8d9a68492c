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
#include "split.h"
#include "stackheight.h"

struct fn {
	uint64_t addr, size;
};

struct fns {
	struct fn *v;
	size_t n, cap;
};

/* CPU time of this thread: the machine is shared, wall time is not ours. */
static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
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

/* One function as the bench hands it over: [start, start+len) of .text. */
struct piece {
	uint64_t start, len;
	const uint8_t *code;
};

enum { PH_ANALYSE, PH_ENCODE, PH_SPLIT, PH_SPLIT_ANALYSE };

/* CPU seconds of one phase over all pieces (timed as a whole: the machine
 * is shared, and a clock read per piece would cost as much as a piece). */
static double phase(struct jp_sh_work *w, const struct piece *ps, size_t np, int ph)
{
	static struct jp_sh_row rows[JP_CFI_MAX_ROWS];
	static uint8_t data[JP_CFI_MAX_DATA];
	static uint32_t moff[1 << 16];
	static struct jp_insn min[1 << 16];
	static struct jp_piece pcs[4096];
	struct jp_insn_memo memo = { .off = moff, .in = min, .cap = 1 << 16 };
	volatile size_t sink = 0;
	double t0 = now();

	for (size_t i = 0; i < np; i++) {
		struct jp_sh_result r;
		size_t n, hsz;

		if (ph == PH_SPLIT || ph == PH_SPLIT_ANALYSE) {
			/* the shim analyses with what the splitter decoded */
			jp_insn_memo_reset(&memo, ps[i].code, ps[i].len);
			sink += jp_split_memo(ps[i].code, ps[i].len, ps[i].start, pcs, 4096, &memo);
			if (ph == PH_SPLIT)
				continue;
			jp_sh_set_memo(w, &memo);
		}
		n = jp_sh_analyze(w, ps[i].code, ps[i].len, rows, JP_CFI_MAX_ROWS, &r);
		jp_sh_set_memo(w, NULL);
		if (ph == PH_ENCODE && n)
			sink += jp_cfi_encode(rows, n, ps[i].len, data, sizeof(data), &hsz);
		sink += n;
	}
	(void)sink;
	return now() - t0;
}

static void run(const char *path, int rows_out, int mid)
{
	static struct jp_sh_row rows[JP_CFI_MAX_ROWS];
	static uint8_t data[JP_CFI_MAX_DATA];
	struct jp_sh_work *w = jp_sh_work_new(JP_SH_MAX_LEN);
	struct jp_elf_symtab t;
	struct fns fs = { 0 };
	struct piece *ps;
	const Elf64_Ehdr *eh;
	const Elf64_Shdr *sh, *text = NULL;
	const char *shstr;
	struct stat sb;
	uint8_t *m;
	uint64_t bytes = 0, covered = 0, described = 0, refusals[8] = { 0 }, out_bytes = 0;
	double t_an, t_enc, t_split, t_memo;
	size_t np = 0;
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
	ps = calloc(fs.n + 1, sizeof(*ps));
	if (!ps)
		exit(1);
	for (size_t i = 0; i < fs.n; i++) {
		const struct fn *f = &fs.v[i];
		uint64_t start = f->addr, len = f->size;

		if (i && f->addr == fs.v[i - 1].addr)
			continue; /* an alias */
		if (f->addr < text->sh_addr || f->addr + f->size > text->sh_addr + text->sh_size ||
		    f->size > JP_SH_MAX_LEN)
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
		ps[np].start = start;
		ps[np].len = len;
		ps[np++].code = m + text->sh_offset + (start - text->sh_addr);
		bytes += len;
	}
	/* what the rules are (and, with --rows, printed) */
	for (size_t i = 0; i < np; i++) {
		struct jp_sh_result r;
		size_t n = jp_sh_analyze(w, ps[i].code, ps[i].len, rows, JP_CFI_MAX_ROWS, &r), hsz;

		refusals[r.refused & 7]++;
		if (!n)
			continue;
		out_bytes += jp_cfi_encode(rows, n, ps[i].len, data, sizeof(data), &hsz);
		described++;
		for (size_t k = 0; k < n; k++) {
			covered += rows[k].end - rows[k].start;
			if (rows_out)
				printf("R %llx %llx %s %d %d\n", (unsigned long long)(ps[i].start + rows[k].start),
				       (unsigned long long)(ps[i].start + rows[k].end),
				       rows[k].cfa_reg == JP_SH_RBP ? "rbp" : "rsp", rows[k].cfa_off, rows[k].rbp);
		}
	}
	t_an = phase(w, ps, np, PH_ANALYSE);
	t_enc = phase(w, ps, np, PH_ENCODE);
	t_split = phase(w, ps, np, PH_SPLIT);
	t_memo = phase(w, ps, np, PH_SPLIT_ANALYSE) - t_split;
	fprintf(rows_out ? stderr : stdout,
		"%s%s: %zu functions, %.1f MB: %.1f%% get rules, %.1f%% of bytes covered; CPU: analysis %.0f MB/s "
		"(%.0f MB/s reusing the splitter's decoding, as in the shim), with encoding %.0f MB/s, split alone "
		"%.0f MB/s; %.0f bytes of unwinding data per KB of code described; refused: no ret %llu, bad ret "
		"%llu, underflow %llu, overlap %llu\n",
		path, mid == 1 ? " (from the second instruction)" : mid == 2 ? " (from the middle)" : "", np,
		bytes / 1e6, np ? 100.0 * described / np : 0, bytes ? 100.0 * covered / bytes : 0,
		t_an > 0 ? bytes / 1e6 / t_an : 0, t_memo > 0 ? bytes / 1e6 / t_memo : 0,
		t_enc > 0 ? bytes / 1e6 / t_enc : 0, t_split > 0 ? bytes / 1e6 / t_split : 0,
		covered ? 1000.0 * out_bytes / covered : 0, (unsigned long long)refusals[JP_SH_NO_RET],
		(unsigned long long)refusals[JP_SH_BAD_RET], (unsigned long long)refusals[JP_SH_UNDERFLOW],
		(unsigned long long)refusals[JP_SH_OVERLAP]);
	free(ps);
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
