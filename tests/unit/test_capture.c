/* test_capture.c - the capture engine driven directly (no preloading): what
 * reaches the dump for each memory strategy, and when. */
#include <check.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "capture.h"
#include "jd_read.h"
#include "log.h"
#include "sys.h"

#define PG 4096ul

static char dir[64];

/* Engine settings come from the environment; each test runs in its own
 * forked process, so each gets a fresh engine. */
static void start(const char *epoch_ms, const char *track)
{
	strcpy(dir, "/tmp/jpcapXXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	setenv("JITPERF_DIR", dir, 1);
	setenv("JITPERF_EPOCH_MS", epoch_ms, 1);
	setenv("JITPERF_TRACK", track, 1);
	setenv("JITPERF_VERBOSE", "1", 1);
	ck_assert_int_eq(jp_capture_init(), 1);
}

/* A frame-pointer function returning k: push rbp; mov rbp,rsp; mov eax,k;
 * pop rbp; ret. 11 bytes. */
static size_t emit_fn(unsigned char *p, uint32_t k)
{
	static const unsigned char f[] = { 0x55, 0x48, 0x89, 0xe5, 0xb8, 0, 0, 0, 0, 0x5d, 0xc3 };

	memcpy(p, f, sizeof(f));
	memcpy(p + 5, &k, 4);
	return sizeof(f);
}

struct seen {
	int loads, moves, unwinds;
	uint64_t addr[64], size[64], ts[64], index[64];
	unsigned char code[64][16];
	uint64_t move_old[16], move_new[16];
	uint64_t header_ts;
	int valid;
	char err[JP_JDR_REASON_MAX];
};

static void read_dump_at(const char *path, struct seen *s)
{
	struct jp_jdr r;
	struct jp_jdr_rec rec;
	struct jp_jdr_summary sum;
	unsigned char *buf;
	struct stat st;
	int fd = open(path, O_RDONLY);

	memset(s, 0, sizeof(*s));
	ck_assert_msg(fd >= 0, "no dump at %s", path);
	fstat(fd, &st);
	buf = malloc((size_t)st.st_size + 1);
	ck_assert_int_eq(read(fd, buf, (size_t)st.st_size), st.st_size);
	close(fd);
	s->valid = jp_jdr_check(buf, (size_t)st.st_size, &sum, NULL, NULL) == 0;
	strcpy(s->err, sum.err);
	ck_assert_int_eq(jp_jdr_open(&r, buf, (size_t)st.st_size), 0);
	s->header_ts = r.hdr.timestamp;
	while (jp_jdr_next(&r, &rec) == 1) {
		if (rec.id == JD_CODE_LOAD && s->loads < 64) {
			int i = s->loads++;

			s->addr[i] = rec.u.load.code_addr;
			s->size[i] = rec.u.load.code_size;
			s->ts[i] = rec.timestamp;
			s->index[i] = rec.u.load.code_index;
			memcpy(s->code[i], rec.u.load.code, rec.u.load.code_size < 16 ? rec.u.load.code_size : 16);
		} else if (rec.id == JD_CODE_MOVE && s->moves < 16) {
			s->move_old[s->moves] = rec.u.move.old_code_addr;
			s->move_new[s->moves++] = rec.u.move.new_code_addr;
		} else if (rec.id == JD_CODE_UNWINDING_INFO) {
			s->unwinds++;
		}
	}
	free(buf);
}

static void read_dump(pid_t pid, struct seen *s)
{
	char path[128];

	snprintf(path, sizeof(path), "%s/jit-%d.dump", dir, (int)pid);
	read_dump_at(path, s);
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0)
		;
}

/* The hooks set the guard; so must a direct caller. */
#define CALL(x)               \
	do {                  \
		jp_guard = 1; \
		x;            \
		jp_guard = 0; \
	} while (0)

START_TEST(wx_moment_is_captured)
{
	struct seen s;
	unsigned char *m;

	start("0", "auto");
	m = mmap(NULL, 16 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	memset(m, 0xcc, PG);
	emit_fn(m + 64, 7);
	ck_assert_int_eq(mprotect(m, 16 * PG, PROT_READ | PROT_EXEC), 0);
	CALL(jp_capture_mprotect_done((uint64_t)m, 16 * PG, PROT_READ | PROT_EXEC));
	ck_assert_int_eq(((int (*)(void))(m + 64))(), 7);
	CALL(jp_capture_exit());
	read_dump(getpid(), &s);
	ck_assert_msg(s.valid, "dump invalid: %s", s.err);
	ck_assert_int_eq(s.loads, 1);
	ck_assert_uint_eq(s.addr[0], (uint64_t)(m + 64));
	ck_assert_uint_eq(s.size[0], 11);
	ck_assert_int_eq(memcmp(s.code[0], m + 64, 11), 0);
	/* Every LOAD is preceded by its unwinding record. */
	ck_assert_int_eq(s.unwinds, 1);
	ck_assert_uint_ge(s.ts[0], s.header_ts);
}
END_TEST

/* The common real-engine case: one RWX mapping, code appears later with no
 * call at all; only the epoch thread can see it. */
static void deferred(const char *track)
{
	struct seen s;
	unsigned char *m;
	int before;

	start("20", track);
	m = mmap(NULL, 64 * PG, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CALL(jp_capture_mmap_done(m, 64 * PG, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
	emit_fn(m + 10 * PG, 1);
	emit_fn(m + 10 * PG + 256, 2);
	sleep_ms(200);
	/* Records reach the file at each pass, not only at exit. */
	read_dump(getpid(), &s);
	ck_assert_int_eq(s.loads, 2);
	ck_assert_uint_eq(s.addr[0], (uint64_t)(m + 10 * PG));
	ck_assert_uint_eq(s.addr[1], (uint64_t)(m + 10 * PG + 256));
	/* Unchanged code is not described again, however many passes. */
	sleep_ms(150);
	read_dump(getpid(), &s);
	ck_assert_int_eq(s.loads, 2);
	before = s.loads;
	/* Rewritten in place: a new LOAD at the same address, dated later
	 * (after, hashing, a ...:replaced one over the time since the
	 * previous pass: which code ran there then is not known). */
	emit_fn(m + 10 * PG + 256, 3);
	sleep_ms(200);
	read_dump(getpid(), &s);
	ck_assert_int_ge(s.loads, before + 1);
	ck_assert_int_le(s.loads, before + 2);
	ck_assert_uint_eq(s.addr[s.loads - 1], (uint64_t)(m + 10 * PG + 256));
	ck_assert_uint_gt(s.ts[s.loads - 1], s.ts[1]);
	ck_assert_uint_eq(s.code[s.loads - 1][5], 3);
	ck_assert_uint_ne(s.index[s.loads - 1], s.index[1]);
	CALL(jp_capture_exit());
	read_dump(getpid(), &s);
	ck_assert_msg(s.valid, "dump invalid: %s", s.err);
}

START_TEST(deferred_write_tracking)
{
	struct jp_capture_stats st;

	deferred("auto");
	/* Three pieces, each described once per change, by epoch passes
	 * (and, depending on where the passes fall, a ...:replaced LOAD for
	 * the time between the pass before the rewrite and the one that
	 * found it). */
	jp_capture_get_stats(&st);
	ck_assert_uint_ge(st.loads, 3);
	ck_assert_uint_le(st.loads, 4);
	ck_assert_uint_gt(st.epochs, 0);
	ck_assert_uint_eq(st.regions_total, 1);
}
END_TEST

START_TEST(deferred_hashing)
{
	deferred("hash");
}
END_TEST

START_TEST(captured_before_unmap)
{
	struct seen s;
	unsigned char *m;

	start("0", "auto"); /* no epochs: only the unmap can see the code */
	m = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CALL(jp_capture_mmap_done(m, 4 * PG, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
	emit_fn(m + 100, 9);
	CALL(jp_capture_unmap_before((uint64_t)m, 4 * PG));
	ck_assert_int_eq(munmap(m, 4 * PG), 0);
	CALL(jp_capture_unmap_done((uint64_t)m, 4 * PG));
	CALL(jp_capture_exit());
	read_dump(getpid(), &s);
	ck_assert_int_eq(s.loads, 1);
	ck_assert_uint_eq(s.addr[0], (uint64_t)(m + 100));
}
END_TEST

START_TEST(untouched_pages_and_reservations_emit_nothing)
{
	struct seen s;
	unsigned char *m;
	size_t len = 256ul << 20;

	start("0", "auto");
	m = mmap(NULL, len, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	ck_assert_ptr_ne(m, MAP_FAILED);
	CALL(jp_capture_mmap_done(m, len, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
	emit_fn(m + (100ul << 20), 5);
	CALL(jp_capture_exit());
	read_dump(getpid(), &s);
	ck_assert_int_eq(s.loads, 1);
	ck_assert_uint_eq(s.size[0], 11);
}
END_TEST

START_TEST(mremap_moves_pieces)
{
	struct seen s;
	unsigned char *m, *n, *target;

	start("0", "auto");
	m = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	target = mmap(NULL, 4 * PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CALL(jp_capture_mmap_done(m, 4 * PG, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
	emit_fn(m + 32, 4);
	CALL(jp_capture_unmap_before((uint64_t)m, 4 * PG));
	n = mremap(m, 4 * PG, 4 * PG, MREMAP_MAYMOVE | MREMAP_FIXED, target);
	ck_assert_ptr_eq(n, target);
	CALL(jp_capture_mremap_done((uint64_t)m, 4 * PG, (uint64_t)n, 4 * PG));
	ck_assert_int_eq(((int (*)(void))(n + 32))(), 4);
	/* Code written after the move is still seen. */
	emit_fn(n + 512, 6);
	CALL(jp_capture_exit());
	read_dump(getpid(), &s);
	ck_assert_int_eq(s.loads, 2);
	ck_assert_int_eq(s.moves, 1);
	ck_assert_uint_eq(s.move_old[0], (uint64_t)(m + 32));
	ck_assert_uint_eq(s.move_new[0], (uint64_t)(n + 32));
	ck_assert_uint_eq(s.addr[1], (uint64_t)(n + 512));
}
END_TEST

START_TEST(mremap_moves_every_mapping)
{
	struct seen s;
	struct jp_capture_stats st;
	unsigned char *m, *n, *target;

	start("0", "auto");
	/* Two mappings, RX below and RWX above, moved by one call (Linux 6.17+). */
	m = mmap(NULL, 8 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	target = mmap(NULL, 8 * PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	emit_fn(m + 32, 4);
	emit_fn(m + 4 * PG + 64, 5);
	ck_assert_int_eq(mprotect(m, 4 * PG, PROT_READ | PROT_EXEC), 0);
	CALL(jp_capture_mprotect_done((uint64_t)m, 4 * PG, PROT_READ | PROT_EXEC));
	ck_assert_int_eq(mprotect(m + 4 * PG, 4 * PG, PROT_READ | PROT_WRITE | PROT_EXEC), 0);
	CALL(jp_capture_mprotect_done((uint64_t)m + 4 * PG, 4 * PG, PROT_READ | PROT_WRITE | PROT_EXEC));
	CALL(jp_capture_mremap_before((uint64_t)m, 8 * PG));
	n = mremap(m, 8 * PG, 8 * PG, MREMAP_MAYMOVE | MREMAP_FIXED, target);
	if (n == MAP_FAILED) { /* an older kernel: one mapping per call */
		munmap(m, 8 * PG);
		return;
	}
	CALL(jp_capture_mremap_done((uint64_t)m, 8 * PG, (uint64_t)n, 8 * PG));
	jp_capture_get_stats(&st);
	ck_assert_uint_eq(st.regions, 2); /* both at the new address, none left at the old */
	ck_assert_int_eq(((int (*)(void))(n + 4 * PG + 64))(), 5);
	/* Code written after the move into the upper mapping is still seen. */
	emit_fn(n + 4 * PG + 512, 6);
	/* Whatever comes to the old address is not ours to describe. */
	ck_assert_ptr_eq(mmap(m, 8 * PG, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0), m);
	emit_fn(m + 4 * PG + 1024, 7);
	CALL(jp_capture_exit());
	read_dump(getpid(), &s);
	ck_assert_int_eq(s.moves, 2);
	ck_assert_uint_eq(s.move_new[0], (uint64_t)(n + 32));
	ck_assert_uint_eq(s.move_new[1], (uint64_t)(n + 4 * PG + 64));
	ck_assert_int_eq(s.loads, 3);
	ck_assert_uint_eq(s.addr[2], (uint64_t)(n + 4 * PG + 512));
}
END_TEST

START_TEST(heap_is_reannounced)
{
	struct seen s;
	unsigned char *raw = malloc(64 * PG), *p;

	start("0", "auto");
	p = (unsigned char *)(((uintptr_t)raw + PG - 1) & ~(PG - 1));
	memset(p, 0xcc, PG);
	emit_fn(p + 16, 8);
	ck_assert_int_eq(mprotect(p, 2 * PG, PROT_READ | PROT_WRITE | PROT_EXEC), 0);
	CALL(jp_capture_mprotect_done((uint64_t)p, 2 * PG, PROT_READ | PROT_WRITE | PROT_EXEC));
	/* A second exec grant makes a kernel event perf keeps for [heap]-like
	 * memory (here plain anon when malloc used mmap; the engine decides by
	 * /proc/self/maps).  Unchanged code then gets a MOVE, not a LOAD. */
	ck_assert_int_eq(mprotect(p, 2 * PG, PROT_READ | PROT_EXEC), 0);
	CALL(jp_capture_mprotect_done((uint64_t)p, 2 * PG, PROT_READ | PROT_EXEC));
	CALL(jp_capture_exit());
	read_dump(getpid(), &s);
	ck_assert_int_eq(mprotect(p, 2 * PG, PROT_READ | PROT_WRITE), 0);
	free(raw);
	ck_assert_int_eq(s.loads, 1);
	ck_assert_uint_eq(s.addr[0], (uint64_t)(p + 16));
	ck_assert_msg(s.valid, "dump invalid: %s", s.err);
}
END_TEST

START_TEST(fork_child_writes_its_own_dump)
{
	struct seen s;
	unsigned char *m;
	pid_t child;
	int status;

	start("0", "auto");
	m = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CALL(jp_capture_mmap_done(m, 4 * PG, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
	emit_fn(m, 1);
	jp_capture_fork_prepare();
	child = fork();
	if (child == 0) {
		jp_capture_fork_child();
		emit_fn(m + 1024, 2);
		/* The child's own JIT activity: a new region. */
		unsigned char *c = mmap(NULL, PG, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		CALL(jp_capture_mmap_done(c, PG, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1,
					  0));
		emit_fn(c, 3);
		CALL(jp_capture_exit());
		_exit(0);
	}
	jp_capture_fork_parent();
	ck_assert_int_eq(waitpid(child, &status, 0), child);
	ck_assert_int_eq(status, 0);
	read_dump(child, &s);
	ck_assert_msg(s.valid, "child dump invalid: %s", s.err);
	/* Inherited code re-described, plus the child's own two pieces. */
	ck_assert_int_eq(s.loads, 3);
	CALL(jp_capture_exit());
	read_dump(getpid(), &s);
	ck_assert_int_eq(s.loads, 1); /* the child wrote nothing into ours */
	ck_assert_uint_eq(s.addr[0], (uint64_t)m);
}
END_TEST

/* Does /proc/self/smaps list the mapping holding p as write-protect
 * registered with a userfaultfd ("uw" in VmFlags)? */
static int uffd_wp_registered(const void *p)
{
	FILE *f = fopen("/proc/self/smaps", "r");
	char line[512];
	unsigned long s, e;
	int in = 0, r = 0;

	ck_assert_ptr_nonnull(f);
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx ", &s, &e) == 2 && strchr(line, '-') < strchr(line, ' '))
			in = s <= (uintptr_t)p && (uintptr_t)p < e;
		else if (in && !strncmp(line, "VmFlags:", 8))
			r = strstr(line, " uw") != NULL;
	}
	fclose(f);
	return r;
}

/* A registration keeps the kernel from merging mappings, and fork copies
 * page tables per mapping: the engine gives registrations back before
 * fork, and the parent's next pass arms again and re-reads, so code
 * written meanwhile is still described and unchanged code is not. */
START_TEST(fork_gives_back_registrations)
{
	struct jp_capture_stats st;
	struct seen s;
	unsigned char *m;
	pid_t child;
	int status;

	start("20", "auto");
	m = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CALL(jp_capture_mmap_done(m, 4 * PG, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
	emit_fn(m, 1);
	sleep_ms(100);
	jp_capture_get_stats(&st);
	if (!st.wp_regions) {
		/* No kernel write tracking here (valgrind has no userfaultfd):
		 * nothing is registered, nothing to give back. */
		CALL(jp_capture_exit());
		return;
	}
	ck_assert(uffd_wp_registered(m));
	jp_capture_fork_prepare();
	ck_assert(!uffd_wp_registered(m));
	child = fork();
	if (child == 0)
		_exit(uffd_wp_registered(m) ? 1 : 0);
	jp_capture_fork_parent();
	emit_fn(m + 2048, 2); /* while nothing is registered */
	ck_assert_int_eq(waitpid(child, &status, 0), child);
	ck_assert_int_eq(status, 0);
	/* The next pass (20 ms epochs) arms again; allow a loaded machine 5 s. */
	for (int i = 0; i < 250 && !uffd_wp_registered(m); i++)
		sleep_ms(20);
	ck_assert(uffd_wp_registered(m));
	sleep_ms(100); /* and describes what was written meanwhile */
	CALL(jp_capture_exit());
	read_dump(getpid(), &s);
	ck_assert_msg(s.valid, "dump invalid: %s", s.err);
	ck_assert_int_eq(s.loads, 2);
	ck_assert_uint_eq(s.addr[0], (uint64_t)m);
	ck_assert_uint_eq(s.addr[1], (uint64_t)(m + 2048));
}
END_TEST

/* The hooks' fast path asks the published interval table: calls in the
 * gaps between regions are cleared exactly, up to JP_PUB_MAX intervals;
 * beyond that the last interval covers the rest (never too little). */
START_TEST(fast_path_sees_gaps_between_regions)
{
	const int nreg = JP_PUB_MAX + 40;
	unsigned char *base = mmap(NULL, 2 * nreg * PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	start("0", "hash");
	ck_assert_ptr_ne(base, MAP_FAILED);
	for (int i = 0; i < nreg; i++) {
		unsigned char *p = mmap(base + 2 * i * PG, PG, PROT_READ | PROT_WRITE | PROT_EXEC,
					MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);

		ck_assert_ptr_eq(p, base + 2 * i * PG);
		emit_fn(p, (uint32_t)i);
		CALL(jp_capture_mmap_done(p, PG, PROT_READ | PROT_WRITE | PROT_EXEC,
					  MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0));
	}
	ck_assert_uint_eq(jp_pub.n, JP_PUB_MAX);
	for (int i = 0; i < JP_PUB_MAX - 1; i++) {
		uint64_t r = (uint64_t)(base + 2 * i * PG), gap = r + PG;

		ck_assert_int_eq(jp_capture_overlaps(r, PG), 1);
		ck_assert_int_eq(jp_capture_overlaps(r + PG - 1, 1), 1);
		ck_assert_int_eq(jp_capture_overlaps(gap, PG), 0);
		ck_assert_int_eq(jp_capture_overlaps(gap - 1, 2), 1);
		ck_assert_int_eq(jp_capture_overlaps(gap, PG + 1), 1);
	}
	/* Folded tail: conservative. */
	ck_assert_int_eq(jp_capture_overlaps((uint64_t)(base + 2 * (nreg - 2) * PG + PG), PG), 1);
	ck_assert_int_eq(jp_capture_overlaps((uint64_t)(base + 2 * nreg * PG), PG), 0);
	/* A gap answered twice (the second time from this thread's cache of
	 * the last gap) is seen again as soon as a region appears in it. */
	{
		unsigned char *g = base + 2 * 5 * PG + PG, *p;

		ck_assert_int_eq(jp_capture_overlaps((uint64_t)g, PG), 0);
		ck_assert_int_eq(jp_capture_overlaps((uint64_t)g, PG), 0);
		ck_assert_uint_eq(jp_pub_gap.lo, (uint64_t)g);
		ck_assert_uint_eq(jp_pub_gap.hi, (uint64_t)g + PG);
		p = mmap(g, PG, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
		ck_assert_ptr_eq(p, g);
		emit_fn(p, 12345);
		CALL(jp_capture_mmap_done(p, PG, PROT_READ | PROT_WRITE | PROT_EXEC,
					  MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0));
		ck_assert_int_eq(jp_capture_overlaps((uint64_t)g, PG), 1);
		ck_assert_int_eq(jp_capture_overlaps((uint64_t)g + PG - 1, 1), 1);
	}
	/* Unmapping a region reopens its range to the fast path. */
	CALL(jp_capture_unmap_before((uint64_t)(base + 2 * PG), PG));
	ck_assert_int_eq(munmap(base + 2 * PG, PG), 0);
	CALL(jp_capture_unmap_done((uint64_t)(base + 2 * PG), PG));
	ck_assert_int_eq(jp_capture_overlaps((uint64_t)(base + PG), 3 * PG), 0);
	CALL(jp_capture_exit());
}
END_TEST

/* W^X toggle helpers for the in-place tests: the engine's view of
 * mprotect, as the hooks would report it. */
static void to_rw(unsigned char *m, size_t len)
{
	uint64_t a = (uint64_t)m, l = len;

	CALL(jp_capture_mprotect_before(&a, &l, PROT_READ | PROT_WRITE));
	ck_assert_int_eq(mprotect(m, len, PROT_READ | PROT_WRITE), 0);
	CALL(jp_capture_mprotect_done((uint64_t)m, len, PROT_READ | PROT_WRITE));
}

static void to_rx(unsigned char *m, size_t len)
{
	ck_assert_int_eq(mprotect(m, len, PROT_READ | PROT_EXEC), 0);
	CALL(jp_capture_mprotect_done((uint64_t)m, len, PROT_READ | PROT_EXEC));
}

/* LuaJIT's pattern: code written downwards, back to back.  The first piece
 * began with two stale bytes (fe 00: inc byte [rax]); the code written
 * next ends with a jmp whose displacement overwrites them.  Only the new
 * code gets a LOAD: the earlier piece is not merged into it and described
 * again (it was, every time, a LOAD growing with each new trace). */
START_TEST(code_written_below_overwrites_a_stale_head)
{
	static const unsigned char jmp_out[] = { 0xe9, 0x00, 0x00, 0xff, 0xff }; /* jmp -0x10000+... */
	struct jp_capture_stats st;
	struct seen s;
	unsigned char *m;

	start("0", "auto");
	m = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	m[2046] = 0xfe;
	m[2047] = 0x00;
	emit_fn(m + 2048, 1);
	to_rx(m, PG);
	to_rw(m, PG);
	emit_fn(m + 2032, 2);
	memcpy(m + 2043, jmp_out, sizeof(jmp_out)); /* its last two bytes land on fe 00 */
	to_rx(m, PG);
	ck_assert_int_eq(((int (*)(void))(m + 2048))(), 1);
	jp_capture_get_stats(&st);
	CALL(jp_capture_exit());
	read_dump(getpid(), &s);
	ck_assert_msg(s.valid, "dump invalid: %s", s.err);
	ck_assert_int_eq(s.loads, 2);
	ck_assert_uint_eq(s.addr[0], (uint64_t)(m + 2046));
	ck_assert_uint_eq(s.size[0], 13);
	ck_assert_uint_eq(s.addr[1], (uint64_t)(m + 2032));
	ck_assert_uint_eq(s.size[1], 16);
	ck_assert_uint_eq(st.patched, 1);
}
END_TEST

/* A branch to other code rewritten in place (a trace linked to a new side
 * trace): same extent, same name, no new LOAD. */
START_TEST(branch_patched_in_place_needs_no_load)
{
	/* push rbp; mov rbp,rsp; test edi,edi; je +5; jmp rel32 (out); pop rbp; ret */
	static const unsigned char fn[] = { 0x55, 0x48, 0x89, 0xe5, 0x85, 0xff, 0x74, 0x05, 0xe9,
					    0x00, 0x00, 0x00, 0x40, 0x5d, 0xc3 };
	struct jp_capture_stats st;
	struct seen s;
	unsigned char *m;
	int32_t rel = -0x123400;

	start("0", "auto");
	m = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	memset(m, 0xcc, PG);
	memcpy(m + 256, fn, sizeof(fn));
	to_rx(m, PG);
	to_rw(m, PG);
	memcpy(m + 256 + 9, &rel, 4);
	to_rx(m, PG);
	/* A change that is not a branch target is described again:
	 * test esi,esi for test edi,edi. */
	to_rw(m, PG);
	m[256 + 5] = 0xf6;
	to_rx(m, PG);
	jp_capture_get_stats(&st);
	CALL(jp_capture_exit());
	read_dump(getpid(), &s);
	ck_assert_msg(s.valid, "dump invalid: %s", s.err);
	ck_assert_int_eq(s.loads, 2);
	ck_assert_uint_eq(s.addr[1], (uint64_t)(m + 256));
	ck_assert_uint_eq(s.code[1][5], 0xf6);
	ck_assert_uint_eq(st.patched, 1);
}
END_TEST

START_TEST(unwritable_dir_turns_off_quietly_for_the_host)
{
	unsigned char *m;
	char log[] = "/tmp/jpcaplogXXXXXX";
	int lfd = mkstemp(log);
	char buf[512] = { 0 };

	setenv("JITPERF_DIR", "/proc/self/jitperf-cannot-be-here", 1);
	setenv("JITPERF_EPOCH_MS", "0", 1);
	ck_assert_int_eq(jp_capture_init(), 1);
	jp_log_set_fd(lfd);
	m = mmap(NULL, PG, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CALL(jp_capture_mmap_done(m, PG, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
	emit_fn(m, 1);
	ck_assert_int_eq(((int (*)(void))m)(), 1);
	CALL(jp_capture_exit());
	ck_assert_int_eq(jp_capture_active(), 0);
	lseek(lfd, 0, SEEK_SET);
	ck_assert_int_gt(read(lfd, buf, sizeof(buf) - 1), 0);
	ck_assert_ptr_nonnull(strstr(buf, "jitperf: cannot create dump directory"));
	/* Said once, not once per call. */
	ck_assert_ptr_null(strstr(strstr(buf, "jitperf:") + 1, "jitperf:"));
	unlink(log);
}
END_TEST

Suite *make_capture_suite(void)
{
	Suite *s = suite_create("capture");
	TCase *tc = tcase_create("engine");

	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, wx_moment_is_captured);
	tcase_add_test(tc, deferred_write_tracking);
	tcase_add_test(tc, deferred_hashing);
	tcase_add_test(tc, captured_before_unmap);
	tcase_add_test(tc, untouched_pages_and_reservations_emit_nothing);
	tcase_add_test(tc, mremap_moves_pieces);
	tcase_add_test(tc, mremap_moves_every_mapping);
	tcase_add_test(tc, heap_is_reannounced);
	tcase_add_test(tc, fork_child_writes_its_own_dump);
	tcase_add_test(tc, fork_gives_back_registrations);
	tcase_add_test(tc, fast_path_sees_gaps_between_regions);
	tcase_add_test(tc, code_written_below_overwrites_a_stale_head);
	tcase_add_test(tc, branch_patched_in_place_needs_no_load);
	tcase_add_test(tc, unwritable_dir_turns_off_quietly_for_the_host);
	suite_add_tcase(s, tc);
	return s;
}
