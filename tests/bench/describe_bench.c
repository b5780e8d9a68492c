/* describe_bench.c - describe real captured code as the capture thread does (cut, plausibility, fingerprint, shape, stack heights), to check that a faster version says exactly the same and to time it.
 *
 * Usage: describe_bench [-t REPS] DUMP...
 *
 * The code is the LOAD records of jitdumps that engine runs left (keep them
 * with JP_KEEP=1, tests/lib/engine.sh): each LOAD's bytes are put back at
 * its address (later LOADs over earlier ones), and address-adjacent code is
 * joined into windows the way the reconciler reads it: gaps under a page
 * filled with int3 (what is between two functions was filler or data, which
 * no LOAD kept), at most 128 KiB a window (lib/reconcile.c's step).  Each
 * window goes through what lib/reconcile.c does with new code: the decode
 * memo reset over the buffer, jp_pieces_cut, then for each piece the
 * fingerprint and shape (jp_fingerprint_memo, as lib/naming.c) and the
 * unwinding data where it fits after the piece (jp_cfi_describe with the
 * memo, as lib/output.c).
 *
 * Without -t it prints every window and piece with everything computed for
 * it, and more: the shape alone (jp_fingerprint_shape_only, which the
 * capture asks of changed pieces), the stack-height rows whether or not
 * the unwinding data fits, and the same code without the memo (jp_split,
 * jp_fingerprint_shape_ws).  A change that claims to keep naming
 * bit-identical must leave this output byte for byte the same: run the
 * old and the new build on the same dumps and cmp.  With -t it prints the
 * time of the describing alone (thread CPU time, no output), the median of
 * REPS passes, and that as ms per MB of the windows' bytes, to set against
 * the engine tests' "ms per MB of distinct code" of the capture thread as
 * a whole. */
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cfi.h"
#include "fingerprint.h"
#include "insn.h"
#include "jd_read.h"
#include "pieces.h"
#include "split.h"
#include "stackheight.h"

#define WINDOW_MAX (128u * 1024u)
#define GAP_MAX 4096u
#define MEMO_ENTRIES (32u * 1024u)
#define MAX_PIECES 8192u
#define MAX_ROWS 4096u

struct load {
	uint64_t addr, len, seq;
	const uint8_t *code;
};

struct window {
	uint64_t addr;
	size_t len;
	uint8_t *bytes;
};

static void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p) {
		fprintf(stderr, "describe_bench: out of memory\n");
		exit(2);
	}
	return p;
}

static int by_addr(const void *a, const void *b)
{
	const struct load *x = a, *y = b;

	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Every LOAD of the dumps, in the order written. */
static struct load *read_loads(int argc, char **argv, size_t *nl)
{
	struct load *l = NULL;
	size_t n = 0, cap = 0;

	for (int i = 0; i < argc; i++) {
		struct stat sb;
		struct jp_jdr r;
		struct jp_jdr_rec rec;
		void *m;
		int fd = open(argv[i], O_RDONLY), rc;

		if (fd < 0 || fstat(fd, &sb) < 0 || sb.st_size == 0) {
			fprintf(stderr, "describe_bench: cannot read %s\n", argv[i]);
			exit(2);
		}
		m = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
		close(fd);
		if (m == MAP_FAILED || jp_jdr_open(&r, m, (size_t)sb.st_size) < 0) {
			fprintf(stderr, "describe_bench: %s is no jitdump\n", argv[i]);
			exit(2);
		}
		while ((rc = jp_jdr_next(&r, &rec)) != 0) {
			if (rc < 0 || rec.id != JD_CODE_LOAD || !rec.u.load.code_size ||
			    rec.u.load.code_size > JP_SPLIT_MAX_PIECE)
				continue;
			if (n == cap) {
				cap = cap ? 2 * cap : 4096;
				l = realloc(l, cap * sizeof(*l));
				if (!l)
					exit(2);
			}
			l[n].addr = rec.u.load.code_addr;
			l[n].len = rec.u.load.code_size;
			l[n].code = rec.u.load.code;
			l[n].seq = n;
			n++;
		}
	}
	*nl = n;
	return l;
}

/* Windows of address-adjacent code, the latest LOAD's bytes where LOADs
 * overlap. */
static struct window *make_windows(struct load *l, size_t nl, size_t *nw)
{
	struct window *w = xmalloc((nl + 1) * 2 * sizeof(*w));
	size_t n = 0, i = 0;

	qsort(l, nl, sizeof(*l), by_addr);
	while (i < nl) {
		uint64_t a = l[i].addr, e = l[i].addr + l[i].len;
		size_t j = i + 1, k;
		uint64_t *seq;

		while (j < nl && l[j].addr <= e + GAP_MAX && (l[j].addr + l[j].len > e ? l[j].addr + l[j].len : e) - a <= WINDOW_MAX) {
			if (l[j].addr + l[j].len > e)
				e = l[j].addr + l[j].len;
			j++;
		}
		w[n].addr = a;
		w[n].len = (size_t)(e - a);
		w[n].bytes = xmalloc(w[n].len);
		seq = xmalloc(w[n].len * sizeof(*seq));
		memset(w[n].bytes, 0xcc, w[n].len);
		memset(seq, 0, w[n].len * sizeof(*seq));
		for (k = i; k < j; k++) {
			for (uint64_t b = 0; b < l[k].len; b++) {
				size_t o = (size_t)(l[k].addr - a + b);

				if (l[k].seq + 1 >= seq[o]) {
					seq[o] = l[k].seq + 1;
					w[n].bytes[o] = l[k].code[b];
				}
			}
		}
		free(seq);
		n++;
		i = j;
	}
	*nw = n;
	return w;
}

struct ctx {
	struct jp_insn_memo memo;
	struct jp_fp_work *fp;
	struct jp_sh_work *sh;
	struct jp_cfi_work *cfi;
	struct jp_view_piece *pieces;
	struct jp_piece *raw;
	struct jp_sh_row *rows;
};

/* FNV-1a, to print the unwinding data short. */
static uint64_t fnv(const uint8_t *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 0x100000001b3ull;
	return h;
}

/* One window as the reconciler describes new code (the names and the
 * unwinding data of the LOADs); prints when out, with the stack-height
 * rows of every piece, room or not. */
static uint64_t describe(struct ctx *c, const struct window *w, FILE *out)
{
	struct jp_code_view v = { w->bytes, w->len, w->addr, &c->memo };
	uint64_t sink = 0;
	size_t n;

	jp_insn_memo_reset(&c->memo, w->bytes, w->len);
	n = jp_pieces_cut(&v, 0, w->len, c->pieces, MAX_PIECES);
	if (out)
		fprintf(out, "W %#" PRIx64 " %zu %zu\n", w->addr, w->len, n);
	for (size_t i = 0; i < n; i++) {
		const struct jp_view_piece *p = &c->pieces[i];
		const uint8_t *code = w->bytes + p->off, *data = NULL;
		uint64_t fp = 0, shape = 0, shape2 = 0;
		uint32_t size = 0, hdr = 0;
		struct jp_sh_result r = { 0 };
		size_t rows = 0;
		int cfi = 0;

		if (p->flags & JP_PIECE_DATA) {
			if (out)
				fprintf(out, "D %" PRIu64 " %u %#x %" PRIu64 "\n", p->off, p->len, p->flags, p->gap_after);
			continue;
		}
		fp = jp_fingerprint_memo(c->fp, code, p->len, w->addr + p->off, &shape, &c->memo);
		jp_sh_set_memo(c->cfi->sh, &c->memo);
		cfi = jp_cfi_describe(c->cfi, code, p->len, jp_pieces_room_after(c->pieces, n, i), &data, &size, &hdr);
		jp_sh_set_memo(c->cfi->sh, NULL);
		sink += fp ^ shape ^ size;
		if (!out)
			continue;
		/* the patch check's shape, timed no more: the capture asks
		 * for it only of pieces whose bytes changed */
		shape2 = jp_fingerprint_shape_only(c->fp, code, p->len, &c->memo);
		jp_sh_set_memo(c->sh, &c->memo);
		rows = jp_sh_analyze(c->sh, code, p->len, c->rows, MAX_ROWS, &r);
		jp_sh_set_memo(c->sh, NULL);
		fprintf(out, "P %" PRIu64 " %u %#x %" PRIu64 " %016" PRIx64 " %016" PRIx64 " %016" PRIx64 " cfi %d %u %u %016" PRIx64 " sh %zu %d %u %u %u",
			p->off, p->len, p->flags, p->gap_after, fp, shape, shape2, cfi, size, hdr,
			cfi ? fnv(data, size) : 0, rows, r.refused, r.insns, r.known, r.entry);
		for (size_t k = 0; k < rows; k++)
			fprintf(out, " %u-%u:%u%+d/%d", c->rows[k].start, c->rows[k].end, c->rows[k].cfa_reg,
				c->rows[k].cfa_off, c->rows[k].rbp);
		fputc('\n', out);
	}
	return sink;
}

/* The same code without the memo: the plain splitter over the window, and
 * the fingerprint and shape of each piece decoded afresh. */
static void plain(struct ctx *c, const struct window *w, FILE *out)
{
	size_t from = 0;

	while (from < w->len) {
		size_t k = jp_split(w->bytes + from, w->len - from, w->addr + from, c->raw, 256), next;

		for (size_t i = 0; i < k; i++) {
			const struct jp_piece *p = &c->raw[i];
			uint64_t shape = 0, fp;

			fp = jp_fingerprint_shape_ws(c->fp, w->bytes + from + p->offset, p->length,
						     w->addr + from + p->offset, &shape);
			fprintf(out, "S %zu %zu %zu %#x %016" PRIx64 " %016" PRIx64 "\n", from + p->offset, p->length,
				p->gap_after, p->flags, fp, shape);
		}
		if (k < 256)
			break;
		next = from + c->raw[k - 1].offset + c->raw[k - 1].length + c->raw[k - 1].gap_after;
		if (next <= from)
			break;
		from = next;
	}
}

static double now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	struct ctx c;
	struct load *l;
	struct window *w;
	size_t nl, nw, bytes = 0;
	long reps = 0;
	int a = 1;

	if (argc > 2 && strcmp(argv[1], "-t") == 0) {
		reps = strtol(argv[2], NULL, 10);
		a = 3;
	}
	if (a >= argc || reps < 0) {
		fprintf(stderr, "usage: describe_bench [-t REPS] DUMP...\n");
		return 2;
	}
	l = read_loads(argc - a, argv + a, &nl);
	w = make_windows(l, nl, &nw);
	memset(&c, 0, sizeof(c));
	jp_insn_memo_init(&c.memo, xmalloc(jp_insn_memo_size(MEMO_ENTRIES, WINDOW_MAX)), MEMO_ENTRIES, WINDOW_MAX);
	c.fp = aligned_alloc(64, (jp_fp_work_size() + 63) & ~(size_t)63);
	c.sh = jp_sh_work_new(JP_SH_MAX_LEN);
	c.cfi = jp_cfi_work_new();
	c.pieces = xmalloc(MAX_PIECES * sizeof(*c.pieces));
	c.raw = xmalloc(256 * sizeof(*c.raw));
	c.rows = xmalloc(MAX_ROWS * sizeof(*c.rows));
	if (!c.fp || !c.sh || !c.cfi)
		return 2;
	for (size_t i = 0; i < nw; i++)
		bytes += w[i].len;
	if (!reps) {
		for (size_t i = 0; i < nw; i++) {
			describe(&c, &w[i], stdout);
			plain(&c, &w[i], stdout);
		}
		return 0;
	} else {
		double *t = xmalloc((size_t)reps * sizeof(*t));
		volatile uint64_t sink = 0;

		for (long r = 0; r < reps; r++) {
			double t0 = now_ms();

			for (size_t i = 0; i < nw; i++)
				sink += describe(&c, &w[i], NULL);
			t[r] = now_ms() - t0;
		}
		qsort(t, (size_t)reps, sizeof(*t), cmp_d);
		printf("describe: %zu LOADs, %zu windows, %.2f MB: %.1f ms a pass (median of %ld), %.1f ms per MB\n", nl,
		       nw, bytes / 1e6, t[reps / 2], reps, t[reps / 2] / (bytes / 1048576.0));
		(void)sink;
	}
	return 0;
}
