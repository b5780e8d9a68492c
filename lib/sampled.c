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

static size_t slot(uint64_t a, size_t cap)
{
	return (size_t)((a * 0x9e3779b97f4a7c15ull) >> 17) & (cap - 1);
}

static int grow(struct jp_sampled *s)
{
	size_t cap = s->cap ? 2 * s->cap : 1024;
	uint64_t *v = calloc(cap, sizeof(*v));

	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < s->cap; i++) {
		size_t j;

		if (!s->v[i])
			continue;
		for (j = slot(s->v[i], cap); v[j]; j = (j + 1) & (cap - 1))
			;
		v[j] = s->v[i];
	}
	free(s->v);
	s->v = v;
	s->cap = cap;
	return 0;
}

/* Add a if it lies in the window (0 never does: the window starts above). */
static void add(struct jp_sampled *s, uint64_t a)
{
	size_t j;

	if (a < s->lo || a >= s->hi || a == 0 || s->oom)
		return;
	if (2 * (s->n + 1) > s->cap && grow(s) < 0) {
		s->oom = 1;
		return;
	}
	for (j = slot(a, s->cap); s->v[j]; j = (j + 1) & (s->cap - 1))
		if (s->v[j] == a)
			return;
	s->v[j] = a;
	s->n++;
}

/* A return address and the call before it. */
static void add_return(struct jp_sampled *s, uint64_t a)
{
	add(s, a);
	add(s, a - 1);
}

static int on_sample(void *arg, const struct jp_pd_sample *smp)
{
	struct jp_sampled *s = arg;

	if (smp->pid != s->pid)
		return 0;
	s->samples++;
	if (smp->has_ip)
		add(s, smp->ip);
	for (uint64_t i = 0; i < smp->chain_nr; i++) {
		uint64_t a = jp_pd_u64(smp->chain, i);

		if (a < CONTEXT_MAX)
			add_return(s, a);
	}
	for (uint64_t i = 0; i < smp->regs_nr; i++)
		add_return(s, jp_pd_u64(smp->regs, i));
	for (uint64_t i = 0; i < smp->stack_size / 8; i++)
		add_return(s, jp_pd_u64(smp->stack, i));
	return s->oom ? -ENOMEM : 0;
}

int jp_sampled_read(struct jp_sampled *s, const void *buf, size_t len, const char **why)
{
	int rc = jp_pd_walk(buf, len, on_sample, s, why);

	if (rc == -ENOMEM && !*why)
		*why = "out of memory";
	return rc;
}

static int cmp_u64(const void *x, const void *y)
{
	uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;

	return a < b ? -1 : a > b;
}

uint64_t *jp_sampled_sorted(const struct jp_sampled *s, size_t *n)
{
	uint64_t *out = malloc((s->n ? s->n : 1) * sizeof(*out));
	size_t k = 0;

	if (!out)
		return NULL;
	for (size_t i = 0; i < s->cap; i++)
		if (s->v[i])
			out[k++] = s->v[i];
	qsort(out, k, sizeof(*out), cmp_u64);
	*n = k;
	return out;
}
