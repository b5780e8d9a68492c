/* known.c - the table of names the process publishes (GDB JIT interface, its own perf map). */
#include "known.h"
#include "arena.h"
#include "gdbjit.h"
#include "log.h"
#include "names.h"
#include "perfmap_read.h"
#include "str.h"
#include "sys.h"

#include <errno.h>
#include <string.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

static struct {
	struct jp_known *k;
	size_t n, cap;
	char *pool;
	size_t pool_len, pool_cap;
	uint64_t *seen;           /* GDB JIT objects already parsed (addr ^ size) */
	size_t nseen, seen_cap;
	uint64_t descs[4];        /* __jit_debug_descriptor addresses */
	uint64_t sigs[4][JP_GDBJIT_SIG_WORDS]; /* each one as last walked whole */
	int ndescs;
	uint64_t pm_offset;       /* how much of the runtime's perf map we read */
	int pm_named;             /* ... and whether it named code */
	int full;                 /* tables full: said so once */
	struct jp_range *changed; /* ranges renamed by the running refresh */
	size_t nchanged, changed_cap;
	struct known_area {       /* names of whole areas, not functions */
		uint64_t addr, size;
		char name[JP_KNOWN_AREA_NAME];
	} areas[JP_KNOWN_AREAS];
	size_t nareas;
	void (*observe)(uint64_t addr, uint64_t size, const char *name, uint32_t flags);
} K;

/* A name for an area far larger than any function: kept apart, replacing
 * an area it overlaps (the runtime registered its buffer again). */
static int add_area(uint64_t addr, uint64_t size, const char *clean)
{
	size_t i;

	for (i = 0; i < K.nareas; i++)
		if (K.areas[i].addr < addr + size && addr < K.areas[i].addr + K.areas[i].size)
			break;
	if (i == K.nareas) {
		if (K.nareas == JP_KNOWN_AREAS)
			return 0;
		K.nareas++;
	} else if (K.areas[i].addr == addr && K.areas[i].size == size && !strcmp(K.areas[i].name, clean)) {
		return 0;
	}
	K.areas[i].addr = addr;
	K.areas[i].size = size;
	jp_strlcpy(K.areas[i].name, clean, sizeof(K.areas[i].name));
	if (K.observe)
		K.observe(addr, size, clean, 0);
	return 0;
}

const char *jp_known_area_name(uint64_t addr)
{
	for (size_t i = 0; i < K.nareas; i++)
		if (addr - K.areas[i].addr < K.areas[i].size)
			return K.areas[i].name;
	return NULL;
}

static int grow(void **arr, size_t elem, size_t have, size_t *cap, size_t want)
{
	size_t ncap = *cap ? *cap : 256, bytes;
	void *n;

	if (want <= *cap)
		return 0;
	while (ncap < want)
		ncap *= 2;
	bytes = (ncap * elem + 4095) & ~(size_t)4095;
	n = jp_sys_alloc(bytes);
	if (!n)
		return -ENOMEM;
	if (*arr) {
		memcpy(n, *arr, have * elem);
		jp_sys_free(*arr, (*cap * elem + 4095) & ~(size_t)4095);
	}
	*arr = n;
	*cap = bytes / elem;
	return 0;
}

size_t jp_known_lower(uint64_t addr)
{
	size_t lo = 0, hi = K.n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (K.k[mid].addr + K.k[mid].size <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

const struct jp_known *jp_known_table(size_t *n)
{
	*n = K.n;
	return K.k;
}

int jp_known_overlap(uint64_t addr, uint64_t len)
{
	size_t i = jp_known_lower(addr);

	return i < K.n && K.k[i].addr < addr + len;
}

const char *jp_known_name(size_t i)
{
	return i < K.n ? K.pool + K.k[i].name : NULL;
}

uint32_t jp_known_nhash(size_t i)
{
	return i < K.n ? K.k[i].nhash : 0;
}

uint32_t jp_known_flags(size_t i)
{
	return i < K.n ? K.k[i].flags : 0;
}

int jp_known_add(uint64_t addr, uint64_t size, const char *name)
{
	return jp_known_add_flags(addr, size, name, 0);
}

int jp_known_add_flags(uint64_t addr, uint64_t size, const char *name, uint32_t flags)
{
	char clean[256];
	size_t len, i, j;
	uint32_t nh;

	if (size == 0 || addr + size < addr || size > (1u << 30))
		return 0;
	len = jp_name_sanitize(clean, sizeof(clean), name, 1);
	if (!len)
		return 0;
	if (size > JP_KNOWN_FUNCTION_MAX)
		return add_area(addr, size, clean);
	nh = (uint32_t)XXH3_64bits(clean, len) | 1;
	i = jp_known_lower(addr);
	if (i < K.n && K.k[i].addr == addr && K.k[i].size == size && K.k[i].nhash == nh && K.k[i].flags == flags)
		return 0; /* already known */
	for (j = i; j < K.n && K.k[j].addr < addr + size; j++)
		if ((flags & JP_KNOWN_FROM_HEAP) && !(K.k[j].flags & JP_KNOWN_FROM_HEAP))
			return 0;
	if (grow((void **)&K.k, sizeof(*K.k), K.n, &K.cap, K.n - (j - i) + 1) < 0 ||
	    grow((void **)&K.pool, 1, K.pool_len, &K.pool_cap, K.pool_len + len + 1) < 0 || K.pool_len > UINT32_MAX / 2) {
		if (!K.full++)
			jp_info("too many published names; later ones are ignored");
		return -ENOMEM;
	}
	/* Overlapping older names are dropped: the runtime reused the
	 * address. */
	memmove(&K.k[i + 1], &K.k[j], (K.n - j) * sizeof(*K.k));
	K.n = K.n - (j - i) + 1;
	K.k[i].addr = addr;
	K.k[i].size = size;
	K.k[i].name = (uint32_t)K.pool_len;
	K.k[i].nhash = nh;
	K.k[i].flags = flags;
	memcpy(K.pool + K.pool_len, clean, len + 1);
	K.pool_len += len + 1;
	if (K.observe)
		K.observe(addr, size, clean, flags);
	return 1;
}

void jp_known_heap_found(void *changed, uint64_t addr, uint64_t size, const char *name)
{
	if (jp_known_add_flags(addr, size, name, JP_KNOWN_FROM_HEAP) == 1)
		(*(int *)changed)++;
}

void jp_known_observe(void (*fn)(uint64_t addr, uint64_t size, const char *name, uint32_t flags))
{
	K.observe = fn;
}

/* A refresh found a name: add it, and remember its range when it changed
 * the table.  Returns 1 (stop reading) when the table is full. */
static int add_found(void *arg, uint64_t addr, uint64_t size, const char *name)
{
	int r = jp_known_add(addr, size, name);

	(void)arg;
	if (r < 0)
		return 1;
	if (r == 0)
		return 0;
	if (grow((void **)&K.changed, sizeof(*K.changed), K.nchanged, &K.changed_cap, K.nchanged + 1) == 0) {
		K.changed[K.nchanged].start = addr;
		K.changed[K.nchanged].end = addr + size;
		K.nchanged++;
	} else if (K.nchanged) {
		/* Out of memory: cover it with the last range (the engine then
		 * reconciles more than it must, but misses nothing). */
		struct jp_range *l = &K.changed[K.nchanged - 1];

		if (addr < l->start)
			l->start = addr;
		if (addr + size > l->end)
			l->end = addr + size;
	}
	return 0;
}

static int add_from_map(void *arg, uint64_t addr, uint64_t size, const char *name)
{
	K.pm_named = 1;
	return add_found(arg, addr, size, name);
}

int jp_known_runtime_map(void)
{
	return K.pm_named;
}

/* Parse each registered GDB JIT object once. */
static int gdbjit_entry(void *arg, uint64_t symfile, uint64_t size)
{
	uint64_t key = symfile ^ (size << 1);

	(void)arg;
	for (size_t i = 0; i < K.nseen; i++)
		if (K.seen[i] == key)
			return 1; /* skip: parsed before */
	if (grow((void **)&K.seen, sizeof(*K.seen), K.nseen, &K.seen_cap, K.nseen + 1) == 0)
		K.seen[K.nseen++] = key;
	return 0; /* parse it */
}

size_t jp_known_refresh(int skip_perfmap, const struct jp_range **changed)
{
	char path[64];

	K.nchanged = 0;
	/* jp_gdbjit_find caches its answer until the set of loaded objects
	 * changes, so asking every pass costs one dl_iterate_phdr. */
	{
		uint64_t old[4];
		int n, was = K.ndescs;

		memcpy(old, K.descs, sizeof(old));
		n = jp_gdbjit_find(K.descs, sizeof(K.descs) / sizeof(K.descs[0]));
		K.ndescs = n > 0 ? n : 0;
		/* another set of descriptors: walk each again */
		if (K.ndescs != was || memcmp(old, K.descs, (size_t)K.ndescs * sizeof(old[0])) != 0)
			memset(K.sigs, 0, sizeof(K.sigs));
	}
	for (int i = 0; i < K.ndescs; i++)
		jp_gdbjit_scan_changed(K.descs[i], K.sigs[i], gdbjit_entry, add_found, NULL);
	/* A runtime's own /tmp/perf-<pid>.map (node --perf-basic-prof, the
	 * JVM's perf-map-agent): read what was appended since last time. */
	if (!skip_perfmap && jp_perfmap_path(path, sizeof(path), jp_sys_getpid()) > 0)
		jp_perfmap_read(path, &K.pm_offset, 4u << 20, add_from_map, NULL);
	*changed = K.changed;
	return K.nchanged;
}

void jp_known_fork_child(void)
{
	K.pm_offset = 0;
	K.pm_named = 0;
	memset(K.sigs, 0, sizeof(K.sigs));
}

void jp_known_reset(void)
{
	K.n = 0;
	K.pool_len = 0;
	K.nchanged = 0;
	K.full = 0;
	K.pm_offset = 0;
	K.pm_named = 0;
	K.nareas = 0;
	memset(K.sigs, 0, sizeof(K.sigs));
}
