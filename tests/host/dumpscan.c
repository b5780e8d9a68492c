/* dumpscan.c - check jitdumps against what the host really made executable, and measure them.
 *
 * Usage: dumpscan [--ranges DIR] [--whole] DUMP...
 *
 * An independent, deliberately small reader of the jitdump layout (it uses
 * only lib/jd_format.h, not the project's reader) that checks, for every
 * LOAD and MOVE record:
 * - with --ranges DIR: the code lies inside a range some process of the
 *   run logged as executable (DIR/ranges-<pid>, see hostlib.h): a record
 *   outside every one of them describes memory that was never executable;
 * - its code bytes never contain HL_DATA, the pattern hosts write only into
 *   memory that is never executable.
 * It prints, per dump: records, LOADs, MOVEs, code bytes, distinct code
 * bytes (same bytes described twice count once), and where the last whole
 * record ends.  --whole prints only that offset (for cutting a dump that a
 * SIGKILL left mid-record).  Exit 0 clean, 1 violations, 2 unreadable. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "jd_format.h"
#include "hostlib.h"

static struct hl_range *rg;
static size_t nrg, caprg;

static int cmp_range(const void *a, const void *b)
{
	const struct hl_range *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

static void load_ranges(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t m = 0;

	if (!d) {
		fprintf(stderr, "dumpscan: %s: %s\n", dir, strerror(errno));
		exit(2);
	}
	while ((e = readdir(d))) {
		char path[4096];
		struct hl_range r;
		int fd;

		if (strncmp(e->d_name, "ranges-", 7))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		while (read(fd, &r, sizeof(r)) == (ssize_t)sizeof(r)) {
			if (nrg == caprg) {
				caprg = caprg ? 2 * caprg : 4096;
				rg = realloc(rg, caprg * sizeof(*rg));
				if (!rg)
					exit(2);
			}
			rg[nrg++] = r;
		}
		close(fd);
	}
	closedir(d);
	/* Union of all ranges ever executable. */
	qsort(rg, nrg, sizeof(*rg), cmp_range);
	for (size_t i = 0; i < nrg; i++) {
		if (m && rg[i].start <= rg[m - 1].end) {
			if (rg[i].end > rg[m - 1].end)
				rg[m - 1].end = rg[i].end;
		} else {
			rg[m++] = rg[i];
		}
	}
	nrg = m;
}

static int was_exec(uint64_t a, uint64_t b)
{
	size_t lo = 0, hi = nrg;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (rg[mid].end <= a)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < nrg && rg[lo].start <= a && b <= rg[lo].end;
}

/* Distinct code: a set of content hashes. */
static uint64_t *set;
static size_t set_cap, set_n;

static int set_add(uint64_t h)
{
	if (!h)
		h = 1;
	if (2 * (set_n + 1) > set_cap) {
		uint64_t *old = set;
		size_t oc = set_cap;

		set_cap = set_cap ? 2 * set_cap : 1 << 16;
		set = calloc(set_cap, sizeof(*set));
		if (!set)
			exit(2);
		set_n = 0;
		for (size_t i = 0; i < oc; i++)
			if (old[i])
				set_add(old[i]);
		free(old);
	}
	for (size_t i = h & (set_cap - 1);; i = (i + 1) & (set_cap - 1)) {
		if (set[i] == h)
			return 0;
		if (!set[i]) {
			set[i] = h;
			set_n++;
			return 1;
		}
	}
}

static int scan(const char *path, int whole_only, int check_ranges)
{
	struct stat st;
	const uint8_t *buf;
	uint64_t off, records = 0, loads = 0, moves = 0, bytes = 0, distinct = 0, bad = 0;
	const struct jd_header *h;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0 || fstat(fd, &st) < 0) {
		fprintf(stderr, "dumpscan: %s: %s\n", path, strerror(errno));
		return 2;
	}
	if (st.st_size < (off_t)sizeof(*h)) {
		fprintf(stderr, "dumpscan: %s: %ld bytes, no header\n", path, (long)st.st_size);
		close(fd);
		return 2;
	}
	buf = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (buf == MAP_FAILED)
		return 2;
	h = (const void *)buf;
	if (h->magic != JD_MAGIC || h->total_size != sizeof(*h)) {
		fprintf(stderr, "dumpscan: %s: not a jitdump\n", path);
		return 2;
	}
	for (off = sizeof(*h); off + sizeof(struct jd_prefix) <= (uint64_t)st.st_size;) {
		struct jd_prefix p;

		memcpy(&p, buf + off, sizeof(p));
		if (p.total_size < sizeof(p) || off + p.total_size > (uint64_t)st.st_size)
			break;
		if (p.id == JD_CODE_LOAD && p.total_size >= sizeof(struct jd_code_load)) {
			struct jd_code_load l;
			const uint8_t *name, *code;
			size_t nl;

			memcpy(&l, buf + off, sizeof(l));
			name = buf + off + sizeof(l);
			nl = strnlen((const char *)name, p.total_size - sizeof(l));
			code = name + nl + 1;
			if (sizeof(l) + nl + 1 + l.code_size != p.total_size) {
				if (!whole_only)
					printf("%s: offset %lu: LOAD sizes do not add up\n", path, (unsigned long)off);
				bad++;
			} else {
				loads++;
				bytes += l.code_size;
				if (set_add(hl_fnv(0xcbf29ce484222325ull, code, l.code_size) ^ l.code_size))
					distinct += l.code_size;
				if (memmem(code, l.code_size, HL_DATA, HL_DATA_LEN)) {
					if (!whole_only)
						printf("%s: offset %lu: LOAD %#lx+%lu holds the host's DATA pattern: memory that was never executable\n",
						       path, (unsigned long)off, (unsigned long)l.code_addr,
						       (unsigned long)l.code_size);
					bad++;
				}
				if (check_ranges && !was_exec(l.code_addr, l.code_addr + l.code_size)) {
					if (!whole_only)
						printf("%s: offset %lu: LOAD %#lx+%lu lies outside every range the host made executable\n",
						       path, (unsigned long)off, (unsigned long)l.code_addr,
						       (unsigned long)l.code_size);
					bad++;
				}
			}
		} else if (p.id == JD_CODE_MOVE && p.total_size == sizeof(struct jd_code_move)) {
			struct jd_code_move m;

			memcpy(&m, buf + off, sizeof(m));
			moves++;
			if (check_ranges && !was_exec(m.new_code_addr, m.new_code_addr + m.code_size)) {
				if (!whole_only)
					printf("%s: offset %lu: MOVE to %#lx+%lu lies outside every range the host made executable\n",
					       path, (unsigned long)off, (unsigned long)m.new_code_addr,
					       (unsigned long)m.code_size);
				bad++;
			}
		}
		records++;
		off += p.total_size;
	}
	if (whole_only)
		printf("%lu\n", (unsigned long)off);
	else
		printf("%s: %lu records, %lu LOADs, %lu MOVEs, %lu code bytes, %lu distinct, whole records end at %lu of %ld, %lu problems\n",
		       path, (unsigned long)records, (unsigned long)loads, (unsigned long)moves, (unsigned long)bytes,
		       (unsigned long)distinct, (unsigned long)off, (long)st.st_size, (unsigned long)bad);
	munmap((void *)buf, (size_t)st.st_size);
	return bad ? 1 : 0;
}

int main(int argc, char **argv)
{
	int i = 1, whole = 0, ranges = 0, rc = 0;

	while (i < argc && argv[i][0] == '-') {
		if (!strcmp(argv[i], "--ranges") && i + 1 < argc) {
			load_ranges(argv[i + 1]);
			ranges = 1;
			i += 2;
		} else if (!strcmp(argv[i], "--whole")) {
			whole = 1;
			i++;
		} else {
			fprintf(stderr, "usage: dumpscan [--ranges DIR] [--whole] DUMP...\n");
			return 2;
		}
	}
	for (; i < argc; i++) {
		int r = scan(argv[i], whole, ranges);

		if (r > rc)
			rc = r;
	}
	return rc;
}
