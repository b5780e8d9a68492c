/* unseen.c - find executable JIT memory that no hook announced. */
#include "unseen.h"
#include "maps.h"
#include "filepriv.h"
#include "memkind.h"

#include <errno.h>
#include <sys/mman.h>

struct look {
	uint64_t start, end;
	const struct jp_regions *t;
	struct jp_unseen_hit *out;
	size_t n, max;
};

static int add(struct look *l, uint64_t a, uint64_t b, int kind)
{
	if (l->n && l->out[l->n - 1].end == a && l->out[l->n - 1].kind == kind) {
		l->out[l->n - 1].end = b;
		return 0;
	}
	if (l->n >= l->max)
		return 1;
	l->out[l->n].start = a;
	l->out[l->n].end = b;
	l->out[l->n++].kind = kind;
	return 0;
}

static int look_cb(const struct jp_map *m, void *arg)
{
	struct look *l = arg;
	int kind = jp_memkind_of_map(m->cls) >= 0 ? jp_memkind_of_map(m->cls) : jp_filepriv_kind_of_map(m);
	uint64_t a = m->start > l->start ? m->start : l->start;
	uint64_t e = m->end < l->end ? m->end : l->end;

	if (kind < 0)
		return 0;
	/* The parts no executable region covers. */
	for (size_t i = jp_regions_lower(l->t, a); a < e;) {
		const struct jp_region *r = i < l->t->n ? &l->t->r[i] : NULL;
		uint64_t b;

		if (r && r->start <= a) {
			b = r->end < e ? r->end : e;
			if (!r->exec && add(l, a, b, kind))
				return 1;
			i++;
		} else {
			b = r && r->start < e ? r->start : e;
			if (add(l, a, b, kind))
				return 1;
		}
		a = b;
	}
	return 0;
}

long jp_unseen_find(const struct jp_regions *t, uint64_t start, uint64_t end, char *buf, size_t bufsz,
		    struct jp_unseen_hit *out, size_t max)
{
	struct look l = { start, end, t, out, 0, max };
	int saved = errno, r = jp_maps_each_exec(start, end, buf, bufsz, look_cb, &l);

	errno = saved;
	return r < 0 ? r : (long)l.n;
}

/* The engine's pace (the capture thread's, under the engine lock). */
static struct jp_pace pace;

unsigned jp_unseen_take(const struct jp_regions *t, char *buf, size_t bufsz,
			void (*take)(uint64_t start, uint64_t len, int prot))
{
	struct jp_unseen_hit h[JP_UNSEEN_MAX];
	long n;

	jp_filepriv_look_begin();
	n = jp_unseen_find(t, 0, UINT64_MAX, buf, bufsz, h, JP_UNSEEN_MAX);
	jp_filepriv_look_end();
	jp_pace_looked(&pace, n > 0 ? (unsigned long)n : 0);

	/* The hits are copied out: take may change t and reuse buf. */
	for (long k = 0; k < n; k++)
		take(h[k].start, h[k].end - h[k].start, PROT_READ | PROT_WRITE | PROT_EXEC);
	return n > 0 ? (unsigned)n : 0;
}

uint64_t jp_unseen_delay_ns(unsigned n, unsigned epoch_ms)
{
	uint64_t epoch = (uint64_t)epoch_ms * 1000000u;
	uint64_t quick = n < 20 ? 1000000ull << n : epoch;

	return quick < epoch ? quick : epoch;
}

int jp_unseen_pace_due(struct jp_pace *p, unsigned n, unsigned epoch_ms)
{
	/* The quick looks at start (their delay is below an epoch): all made. */
	if (n && jp_unseen_delay_ns(n - 1, epoch_ms) < (uint64_t)epoch_ms * 1000000u) {
		p->skipped = 0;
		return 1;
	}
	return jp_pace_due(p, 4);
}

int jp_unseen_due(unsigned n, unsigned epoch_ms)
{
	return jp_unseen_pace_due(&pace, n, epoch_ms);
}
