/* sampled.c - the addresses a process's samples can need a LOAD for (see sampled.h). */
#include "sampled.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "perfdata.h"

/* Call-chain entries at or above this are PERF_CONTEXT_* markers. */
#define CONTEXT_MAX ((uint64_t)-4095)

void jp_sampled_open(struct jp_sampled *s, uint32_t pid, uint64_t lo, uint64_t hi)
{
	memset(s, 0, sizeof(*s));
	s->pid = pid;
	s->lo = lo;
	s->hi = hi;
}

void jp_sampled_close(struct jp_sampled *s)
{
	free(s->v);
	s->v = NULL;
	s->n = s->cap = 0;
}

static size_t slot(struct jp_sample_at k, size_t cap)
{
	return (size_t)(((k.addr ^ (k.ts * 0xff51afd7ed558ccdull)) * 0x9e3779b97f4a7c15ull) >> 17) & (cap - 1);
}

static int grow(struct jp_sampled *s)
{
	size_t cap = s->cap ? 2 * s->cap : 1024;
	struct jp_sample_at *v = calloc(cap, sizeof(*v));

	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < s->cap; i++) {
		size_t j;

		if (!s->v[i].addr)
			continue;
		for (j = slot(s->v[i], cap); v[j].addr; j = (j + 1) & (cap - 1))
			;
		v[j] = s->v[i];
	}
	free(s->v);
	s->v = v;
	s->cap = cap;
	return 0;
}

/* Add a at time ts if it lies in the window (0 never does: the window
 * starts above). */
static void add(struct jp_sampled *s, uint64_t a, uint64_t ts)
{
	struct jp_sample_at k = { a, ts };
	size_t j;

	if (a < s->lo || a >= s->hi || a == 0 || s->oom)
		return;
	if (2 * (s->n + 1) > s->cap && grow(s) < 0) {
		s->oom = 1;
		return;
	}
	for (j = slot(k, s->cap); s->v[j].addr; j = (j + 1) & (s->cap - 1))
		if (s->v[j].addr == a && s->v[j].ts == ts)
			return;
	s->v[j] = k;
	s->n++;
}

/* A return address and the call before it. */
static void add_return(struct jp_sampled *s, uint64_t a, uint64_t ts)
{
	add(s, a, ts);
	add(s, a - 1, ts);
}

static int on_sample(void *arg, const struct jp_pd_sample *smp)
{
	struct jp_sampled *s = arg;
	uint64_t ts = smp->has_time ? smp->time : 0;

	if (smp->pid != s->pid)
		return 0;
	s->samples++;
	if (smp->has_ip)
		add(s, smp->ip, ts);
	for (uint64_t i = 0; i < smp->chain_nr; i++) {
		uint64_t a = jp_pd_u64(smp->chain, i);

		if (a < CONTEXT_MAX)
			add_return(s, a, ts);
	}
	for (uint64_t i = 0; i < smp->regs_nr; i++)
		add_return(s, jp_pd_u64(smp->regs, i), ts);
	for (uint64_t i = 0; i < smp->stack_size / 8; i++)
		add_return(s, jp_pd_u64(smp->stack, i), ts);
	return s->oom ? -ENOMEM : 0;
}

int jp_sampled_read(struct jp_sampled *s, const void *buf, size_t len, const char **why)
{
	int rc = jp_pd_walk(buf, len, on_sample, s, why);

	if (rc == -ENOMEM && !*why)
		*why = "out of memory";
	return rc;
}

int jp_sample_at_cmp(const void *x, const void *y)
{
	const struct jp_sample_at *a = x, *b = y;

	if (a->addr != b->addr)
		return a->addr < b->addr ? -1 : 1;
	return a->ts < b->ts ? -1 : a->ts > b->ts;
}

struct jp_sample_at *jp_sampled_sorted(const struct jp_sampled *s, size_t *n)
{
	struct jp_sample_at *out = malloc((s->n ? s->n : 1) * sizeof(*out));
	size_t k = 0;

	if (!out)
		return NULL;
	for (size_t i = 0; i < s->cap; i++)
		if (s->v[i].addr)
			out[k++] = s->v[i];
	qsort(out, k, sizeof(*out), jp_sample_at_cmp);
	*n = k;
	return out;
}
