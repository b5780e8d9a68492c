/* budget.c - per creator: bytes cut against code found; heaps are described sparingly (see budget.h). */
#include "budget.h"
#include "log.h"

#include <string.h>

#define MAX_CREATORS 64u
#define BLOCK 64u

struct account {
	uint64_t key;      /* hash of the name; 0: free */
	uint64_t cut, code;
	int heap;
};

static struct account acc[MAX_CREATORS];
static struct account *cur;
static const char *cur_name;

/* Is the current creator a heap now?  Said once. */
static void judge(void)
{
	if (cur && !cur->heap && cur->cut >= JP_BUDGET_HEAP_MIN && cur->code * JP_BUDGET_HEAP_RATIO < cur->cut) {
		cur->heap = 1;
		jp_info("%s writes far more data than code into executable memory (%llu KB of pieces, %llu KB "
			"of code in them): taken for a heap of data and code; describing only what may be code there",
			cur_name, (unsigned long long)(cur->cut >> 10), (unsigned long long)(cur->code >> 10));
	}
}

void jp_budget_reset(void)
{
	memset(acc, 0, sizeof(acc));
	cur = NULL;
}

/* FNV-1a of the name: a few short names a pass. */
static uint64_t name_key(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ull;

	while (*s)
		h = (h ^ (uint8_t)*s++) * 0x100000001b3ull;
	return h | 1;
}

int jp_budget_begin(const char *creator)
{
	uint64_t key = name_key(creator);
	unsigned i;

	cur = NULL;
	for (i = 0; i < MAX_CREATORS; i++) {
		struct account *a = &acc[(key + i) % MAX_CREATORS];

		if (a->key == key || !a->key) {
			a->key = key;
			cur = a;
			break;
		}
	}
	/* A full table (64 engines in one process) judges no one. */
	cur_name = creator;
	judge();
	return jp_budget_heap();
}

void jp_budget_end(void)
{
	cur = NULL;
}

int jp_budget_heap(void)
{
	return cur && cur->heap;
}

void jp_budget_account(uint64_t cut, uint64_t code)
{
	if (cur) {
		cur->cut += cut;
		cur->code += code;
		judge(); /* from the next cut on, within the same pass */
	}
}

int jp_budget_data_block(const uint8_t *p)
{
	unsigned small = 0;

	for (unsigned w = 0; w < BLOCK / 8; w++)
		small += p[8 * w + 6] == 0 && p[8 * w + 7] == 0;
	return small >= BLOCK / 8 - 2;
}

int jp_budget_next_span(const uint8_t *buf, uint64_t addr, size_t from, size_t to, size_t *s, size_t *e)
{
	/* Blocks are aligned in the address space (a heap's words are). */
	size_t b = from + (size_t)((BLOCK - (addr + from) % BLOCK) % BLOCK);
	size_t first = 0, last = 0;
	int found = 0;

	for (; b + BLOCK <= to; b += BLOCK) {
		if (jp_budget_data_block(buf + b)) {
			/* One data block between two that may be code is
			 * taken along (a small function among headers): the
			 * span ends at the second in a row. */
			if (found && b >= last + BLOCK)
				break;
			continue;
		}
		if (!found)
			first = b;
		found = 1;
		last = b + BLOCK;
	}
	if (!found) {
		/* Too short for a block: nothing to skip. */
		if (b < from + BLOCK) {
			*s = from;
			*e = to;
			return 0;
		}
		return -1;
	}
	*s = first >= from + BLOCK ? first - BLOCK : from;
	*e = last + BLOCK <= to ? last + BLOCK : to;
	/* The unaligned tail after the last whole block goes along. */
	if (to - *e < BLOCK)
		*e = to;
	return 0;
}
