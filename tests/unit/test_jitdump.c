/* test_jitdump.c - the jitdump writer, its files read back with lib/jd_read. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "jd_read.h"
#include "cfi.h"
#include "jitdump.h"
#include "log.h"
#include "scratch.h"
#include "sys.h"

/* ---- helpers ------------------------------------------------------------- */

static off_t file_size(const char *path)
{
	struct stat st;

	ck_assert_msg(stat(path, &st) == 0, "stat %s: %s", path, strerror(errno));
	return st.st_size;
}

/* Assert the dump at path is valid for jp_jdr_check; returns its summary. */
static struct jp_jdr_summary check_file(const char *path)
{
	struct jp_jdr_summary s;
	size_t len;
	unsigned char *b = read_all(path, &len);
	int r = jp_jdr_check(b, len, &s, NULL, NULL);

	ck_assert_msg(r == 0, "%s: offset %llu: %s", path, (unsigned long long)s.err_off, s.err);
	free(b);
	return s;
}

static unsigned char code_bytes[512 * 1024];

static void fill_code(void)
{
	for (size_t i = 0; i < sizeof(code_bytes); i++)
		code_bytes[i] = (unsigned char)(i * 131 + 7);
}

static struct jp_code code_at(uint64_t addr, size_t size, const char *name, int unwind)
{
	struct jp_code c = {
		.addr = addr,
		.code = code_bytes,
		.size = size,
		.name = name,
		.unwind = unwind,
	};

	return c;
}

/* Run fn in a child process (resource limits stay there even with
 * CK_FORK=no); it returns NULL or a failure message. */
typedef const char *(*child_fn)(void *arg);

static void in_child(child_fn fn, void *arg)
{
	char *msg = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	int status;
	pid_t pid;

	ck_assert_ptr_ne(msg, MAP_FAILED);
	strcpy(msg, "child died before reporting");
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		const char *why = fn(arg);

		snprintf(msg, 4096, "%s", why ? why : "");
		_exit(why ? 1 : 0);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child: %s (status %#x)", msg, status);
	munmap(msg, 4096);
}

static char child_msg[1024];

#define CHILD_REQUIRE(cond, ...)                                                  \
	do {                                                                      \
		if (!(cond)) {                                                    \
			snprintf(child_msg, sizeof(child_msg), __VA_ARGS__);     \
			return child_msg;                                         \
		}                                                                 \
	} while (0)

/* ---- unwinding record bytes ------------------------------------------------- */

START_TEST(test_empty_unwind_bytes)
{
	/* What V8 writes and perf 6.1 accepts: id 4, total 64, unwinding_size 20,
	 * eh_frame_hdr_size 20, mapped 0, data 01 1B 03 3B + 16 zero bytes,
	 * 4 bytes of padding. */
	static const unsigned char want[64] = {
		4, 0, 0, 0, 64, 0, 0, 0,                         /* id, total_size */
		0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11,  /* timestamp */
		20, 0, 0, 0, 0, 0, 0, 0,                         /* unwinding_size */
		20, 0, 0, 0, 0, 0, 0, 0,                         /* eh_frame_hdr_size */
		0, 0, 0, 0, 0, 0, 0, 0,                          /* mapped_size */
		0x01, 0x1b, 0x03, 0x3b,                          /* hdr version, encodings */
	};
	unsigned char out[JD_FDE_UNWIND_RECORD];

	for (uint64_t size = 0; size < 40; size += 13) {
		memset(out, 0xa5, sizeof(out));
		ck_assert_uint_eq(jp_unwind_record(out, JP_UNWIND_EMPTY, size, 0x1122334455667788ull), 64);
		ck_assert_mem_eq(out, want, 64);
	}
}
END_TEST

static void le32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

/* The FDE record perf 6.1 accepts (checked with perf inject and readelf
 * --debug-dump=frames on the generated .so), for code size C and
 * A = (C+7) & ~7. */
static void fde_expected(unsigned char *w, uint64_t c, uint64_t ts)
{
	static const unsigned char cie[24] = {
		0x14, 0, 0, 0, 0, 0, 0, 0, 0x01, 0x7a, 0x52, 0x00, 0x01, 0x78, 0x10, 0x01,
		0x1b, 0x0c, 0x07, 0x08, 0x90, 0x01, 0x00, 0x00,
	};
	static const unsigned char insns[16] = { 0x00, 0x41, 0x0e, 0x10, 0x86, 0x02, 0x43, 0x0d, 0x06 };
	uint32_t a = (uint32_t)((c + 7) & ~7ull);
	unsigned char *d = w + 40;

	memset(w, 0, 120);
	le32(w, 4);
	le32(w + 4, 120);
	memcpy(w + 8, &ts, 8);
	w[16] = 80;  /* unwinding_size */
	w[24] = 20;  /* eh_frame_hdr_size */
	w[32] = 80;  /* mapped_size */
	memcpy(d, cie, 24);
	le32(d + 24, 0x1c);
	le32(d + 28, 0x1c);
	le32(d + 32, (uint32_t)-(int32_t)(a + 32));
	le32(d + 36, (uint32_t)c);
	memcpy(d + 40, insns, 16);
	le32(d + 56, 0);
	d[60] = 0x01;
	d[61] = 0x1b;
	d[62] = 0x03;
	d[63] = 0x3b;
	le32(d + 64, (uint32_t)-64);
	le32(d + 68, 1);
	le32(d + 72, (uint32_t)-(int32_t)(a + 60));
	le32(d + 76, (uint32_t)-36);
}

START_TEST(test_fde_unwind_bytes)
{
	static const uint64_t sizes[] = { 1, 13, 16, 17, 63, 1000, 65536 };
	unsigned char out[JD_FDE_UNWIND_RECORD], want[120];

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		memset(out, 0xa5, sizeof(out));
		ck_assert_uint_eq(jp_unwind_record(out, JP_UNWIND_FP_FDE, sizes[i], 42), 120);
		fde_expected(want, sizes[i], 42);
		ck_assert_msg(!memcmp(out, want, 120), "FDE record for code size %llu differs",
			      (unsigned long long)sizes[i]);
	}
}
END_TEST

/* ---- round trip --------------------------------------------------------------- */

START_TEST(test_round_trip)
{
	struct jp_dump d;
	struct jp_jdr r;
	struct jp_jdr_rec rec;
	struct jp_jdr_summary s;
	struct jp_code c[3];
	uint64_t idx[3], t0, t1, mts;
	unsigned char unw[JD_FDE_UNWIND_RECORD];
	unsigned char *b;
	size_t len, n;
	pid_t me = getpid();

	fill_code();
	c[0] = code_at(0x7f0000001000, 32, "alpha", JP_UNWIND_EMPTY);
	c[0].timestamp = 1000;
	c[0].tid = 11;
	c[1] = code_at(0x7f0000002000, 100, "beta::with spaces(int)", JP_UNWIND_FP_FDE);
	c[2] = code_at(0x7f0000003000, 7, "gamma", JP_UNWIND_NONE);
	c[2].code = code_bytes + 1000;
	c[2].timestamp = 3000;

	t0 = jp_now_ns();
	ck_assert_int_eq(jp_dump_open(&d, tmp, me), 0);
	ck_assert(jp_dump_ok(&d));
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(jp_dump_load(&d, &c[i], &idx[i]), 0);
	mts = 4000;
	ck_assert_int_eq(jp_dump_move(&d, idx[1], 0x7f0000002000, 0x7f0000008000, 100, mts), 0);
	ck_assert_uint_eq(d.loads, 3);
	ck_assert_uint_eq(d.moves, 1);
	ck_assert_uint_eq(d.bytes, 139);
	jp_dump_close(&d);
	t1 = jp_now_ns();
	ck_assert_int_eq(d.fd, -1);
	{
		char want[512];

		snprintf(want, sizeof(want), "%s/jit-%d.dump", tmp, (int)me);
		ck_assert_str_eq(d.path, want);
	}

	b = read_all(d.path, &len);
	ck_assert_int_eq(jp_jdr_open(&r, b, len), 0);
	ck_assert_uint_eq(r.hdr.magic, JD_MAGIC);
	ck_assert_uint_eq(r.hdr.version, 1);
	ck_assert_uint_eq(r.hdr.total_size, 40);
	ck_assert_uint_eq(r.hdr.elf_mach, 62);
	ck_assert_uint_eq(r.hdr.pad1, 0);
	ck_assert_uint_eq(r.hdr.pid, (uint32_t)me);
	ck_assert_uint_eq(r.hdr.flags, 0);
	ck_assert(r.hdr.timestamp >= t0 && r.hdr.timestamp <= t1);

	/* UNWINDING_INFO (empty) + LOAD alpha */
	ck_assert_int_eq(jp_jdr_next(&r, &rec), 1);
	ck_assert_uint_eq(rec.id, JD_CODE_UNWINDING_INFO);
	n = jp_unwind_record(unw, JP_UNWIND_EMPTY, 32, 1000);
	ck_assert_uint_eq(rec.total_size, n);
	ck_assert_mem_eq(rec.raw, unw, n);
	ck_assert_int_eq(jp_jdr_next(&r, &rec), 1);
	ck_assert_uint_eq(rec.id, JD_CODE_LOAD);
	ck_assert_uint_eq(rec.timestamp, 1000);
	ck_assert_uint_eq(rec.u.load.pid, (uint32_t)me);
	ck_assert_uint_eq(rec.u.load.tid, 11);
	ck_assert_uint_eq(rec.u.load.vma, 0x7f0000001000);
	ck_assert_uint_eq(rec.u.load.code_addr, 0x7f0000001000);
	ck_assert_uint_eq(rec.u.load.code_size, 32);
	ck_assert_uint_eq(rec.u.load.code_index, idx[0]);
	ck_assert_str_eq(rec.u.load.name, "alpha");
	ck_assert_mem_eq(rec.u.load.code, code_bytes, 32);

	/* UNWINDING_INFO (FDE) + LOAD beta: timestamp 0 means now, tid 0 ours */
	ck_assert_int_eq(jp_jdr_next(&r, &rec), 1);
	ck_assert_uint_eq(rec.id, JD_CODE_UNWINDING_INFO);
	ck_assert_uint_eq(rec.total_size, JD_FDE_UNWIND_RECORD);
	{
		uint64_t ts = rec.timestamp;

		n = jp_unwind_record(unw, JP_UNWIND_FP_FDE, 100, ts);
		ck_assert_mem_eq(rec.raw, unw, n);
		ck_assert_int_eq(jp_jdr_next(&r, &rec), 1);
		ck_assert_uint_eq(rec.id, JD_CODE_LOAD);
		ck_assert_uint_eq(rec.timestamp, ts);
		ck_assert(ts >= t0 && ts <= t1);
	}
	ck_assert_uint_eq(rec.u.load.tid, (uint32_t)jp_sys_gettid());
	ck_assert_uint_eq(rec.u.load.code_addr, 0x7f0000002000);
	ck_assert_uint_eq(rec.u.load.code_size, 100);
	ck_assert_uint_eq(rec.u.load.code_index, idx[1]);
	ck_assert_str_eq(rec.u.load.name, "beta::with spaces(int)");
	ck_assert_mem_eq(rec.u.load.code, code_bytes, 100);

	/* no unwinding record: LOAD gamma directly */
	ck_assert_int_eq(jp_jdr_next(&r, &rec), 1);
	ck_assert_uint_eq(rec.id, JD_CODE_LOAD);
	ck_assert_uint_eq(rec.timestamp, 3000);
	ck_assert_uint_eq(rec.u.load.code_index, idx[2]);
	ck_assert_str_eq(rec.u.load.name, "gamma");
	ck_assert_mem_eq(rec.u.load.code, code_bytes + 1000, 7);

	ck_assert_int_eq(jp_jdr_next(&r, &rec), 1);
	ck_assert_uint_eq(rec.id, JD_CODE_MOVE);
	ck_assert_uint_eq(rec.total_size, 64);
	ck_assert_uint_eq(rec.timestamp, mts);
	ck_assert_uint_eq(rec.u.move.pid, (uint32_t)me);
	ck_assert_uint_eq(rec.u.move.vma, 0x7f0000008000);
	ck_assert_uint_eq(rec.u.move.old_code_addr, 0x7f0000002000);
	ck_assert_uint_eq(rec.u.move.new_code_addr, 0x7f0000008000);
	ck_assert_uint_eq(rec.u.move.code_size, 100);
	ck_assert_uint_eq(rec.u.move.code_index, idx[1]);

	ck_assert_int_eq(jp_jdr_next(&r, &rec), 1);
	ck_assert_uint_eq(rec.id, JD_CODE_CLOSE);
	ck_assert_uint_eq(rec.total_size, 16);
	ck_assert(rec.timestamp >= t0 && rec.timestamp <= t1);
	ck_assert_int_eq(jp_jdr_next(&r, &rec), 0);

	s = check_file(d.path);
	ck_assert_uint_eq(s.warnings, 0);
	ck_assert_uint_eq(s.bytes, len);
	ck_assert_str_eq(logged(), "");
	free(b);
}
END_TEST

START_TEST(test_index_unique_increasing)
{
	struct jp_dump d;
	struct jp_jdr r;
	struct jp_jdr_rec rec;
	uint64_t idx, prev = 0, seen = 0;
	unsigned char *b;
	size_t len;

	fill_code();
	ck_assert_int_eq(jp_dump_open(&d, tmp, getpid()), 0);
	for (int i = 0; i < 200; i++) {
		struct jp_code c = code_at(0x10000 + (uint64_t)i * 64, 16 + (size_t)i % 5, "same name",
					   i % 3 == 0 ? JP_UNWIND_FP_FDE : JP_UNWIND_EMPTY);

		ck_assert_int_eq(jp_dump_load(&d, &c, &idx), 0);
		if (i)
			ck_assert_uint_gt(idx, prev);
		prev = idx;
	}
	jp_dump_close(&d);
	b = read_all(d.path, &len);
	ck_assert_int_eq(jp_jdr_open(&r, b, len), 0);
	prev = 0;
	while (jp_jdr_next(&r, &rec) > 0) {
		if (rec.id != JD_CODE_LOAD)
			continue;
		if (seen)
			ck_assert_uint_gt(rec.u.load.code_index, prev);
		prev = rec.u.load.code_index;
		seen++;
	}
	ck_assert_uint_eq(seen, 200);
	check_file(d.path);
	free(b);
}
END_TEST

/* ---- files and directories -------------------------------------------------------- */

START_TEST(test_permissions_and_missing_dirs)
{
	struct jp_dump d;
	struct stat st;
	mode_t old = umask(0); /* the writer, not the umask, must keep it private */
	char *dir = path_in("a/b/c");
	int r = jp_dump_open(&d, dir, 1234);

	umask(old);
	ck_assert_int_eq(r, 0);
	ck_assert_int_eq(stat(path_in("a/b/c/jit-1234.dump"), &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0600);
	ck_assert(S_ISREG(st.st_mode));
	ck_assert_uint_eq(st.st_size, 40);
	for (const char *p = "a", *q = "a/b", *z = "a/b/c"; p; p = q, q = z, z = NULL) {
		ck_assert_int_eq(stat(path_in(p), &st), 0);
		ck_assert_msg((st.st_mode & 07777) == 0700, "%s has mode %o", p, st.st_mode & 07777);
	}
	jp_dump_close(&d);
	check_file(path_in("a/b/c/jit-1234.dump"));
}
END_TEST

START_TEST(test_second_open_same_pid)
{
	struct jp_dump d1, d2, d3;
	struct jp_code c;
	struct stat st;
	off_t size1;
	char want[512];

	fill_code();
	c = code_at(0x1000, 64, "first", JP_UNWIND_EMPTY);
	ck_assert_int_eq(jp_dump_open(&d1, tmp, 777), 0);
	ck_assert_int_eq(jp_dump_load(&d1, &c, NULL), 0);
	ck_assert_int_eq(jp_dump_flush(&d1), 0);
	size1 = file_size(d1.path);
	ck_assert_int_gt(size1, 40);

	ck_assert_int_eq(jp_dump_open(&d2, tmp, 777), 0);
	snprintf(want, sizeof(want), "%s/jitperf-777.1/jit-777.dump", tmp);
	ck_assert_str_eq(d2.path, want);
	ck_assert_int_eq(stat(path_in("jitperf-777.1"), &st), 0);
	ck_assert_uint_eq(st.st_mode & 0777, 0700);
	ck_assert_int_eq(jp_dump_open(&d3, tmp, 777), 0);
	snprintf(want, sizeof(want), "%s/jitperf-777.2/jit-777.dump", tmp);
	ck_assert_str_eq(d3.path, want);

	/* The first dump is untouched and still being written. */
	ck_assert_int_eq(file_size(d1.path), size1);
	c.name = "second";
	ck_assert_int_eq(jp_dump_load(&d2, &c, NULL), 0);
	jp_dump_close(&d3);
	jp_dump_close(&d2);
	jp_dump_close(&d1);
	ck_assert_uint_eq(check_file(d1.path).by_id[JD_CODE_LOAD], 1);
	ck_assert_uint_eq(check_file(d2.path).by_id[JD_CODE_LOAD], 1);
	ck_assert_uint_eq(check_file(d3.path).by_id[JD_CODE_LOAD], 0);
}
END_TEST

START_TEST(test_symlink_not_followed)
{
	static const char precious[] = "precious data\n";
	struct jp_dump d;
	struct stat st;
	size_t len;
	unsigned char *b;
	int fd = open(path_in("victim"), O_WRONLY | O_CREAT | O_EXCL, 0600);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, precious, sizeof(precious) - 1), (ssize_t)sizeof(precious) - 1);
	close(fd);
	ck_assert_int_eq(symlink(path_in("victim"), path_in("jit-555.dump")), 0);
	ck_assert_int_eq(symlink(path_in("nowhere"), path_in("jit-556.dump")), 0);

	ck_assert_int_eq(jp_dump_open(&d, tmp, 555), 0);
	ck_assert_ptr_null(strstr(d.path, "victim"));
	ck_assert_ptr_nonnull(strstr(d.path, "/jitperf-555.1/jit-555.dump"));
	jp_dump_close(&d);
	b = read_all(path_in("victim"), &len);
	ck_assert_uint_eq(len, sizeof(precious) - 1);
	ck_assert_mem_eq(b, precious, len);
	free(b);
	ck_assert_int_eq(lstat(path_in("jit-555.dump"), &st), 0);
	ck_assert(S_ISLNK(st.st_mode));

	/* A dangling link must not create its target either. */
	ck_assert_int_eq(jp_dump_open(&d, tmp, 556), 0);
	jp_dump_close(&d);
	ck_assert_int_eq(lstat(path_in("nowhere"), &st), -1);
	ck_assert_int_eq(errno, ENOENT);
}
END_TEST

START_TEST(test_foreign_dir_refused)
{
	struct jp_dump d;
	char *dir = path_in("foreign");

	if (geteuid() != 0) {
		fprintf(stderr, "test_foreign_dir_refused: skipped (needs root to chown)\n");
		return;
	}
	ck_assert_int_eq(mkdir(dir, 0755), 0);
	ck_assert_int_eq(chown(dir, 65534, 65534), 0);
	ck_assert_int_eq(jp_dump_open(&d, dir, 99), -EPERM);
	ck_assert(!jp_dump_ok(&d));
	ck_assert_ptr_nonnull(strstr(logged(), "jitperf: dump directory "));
	ck_assert_ptr_nonnull(strstr(logged(), "belongs to uid 65534"));
	ck_assert_int_eq(access(path_in("foreign/jit-99.dump"), F_OK), -1);
}
END_TEST

START_TEST(test_dir_under_regular_file)
{
	struct jp_dump d;
	char want[600];
	int fd = open(path_in("file"), O_WRONLY | O_CREAT, 0600);

	ck_assert_int_ge(fd, 0);
	close(fd);
	ck_assert_int_eq(jp_dump_open(&d, path_in("file/sub"), 99), -ENOTDIR);
	ck_assert(!jp_dump_ok(&d));
	snprintf(want, sizeof(want), "jitperf: cannot create dump directory %s/file/sub: Not a directory\n", tmp);
	ck_assert_str_eq(logged(), want);
	/* Nothing to flush or close; these must be harmless. */
	ck_assert_int_lt(jp_dump_flush(&d), 0);
	jp_dump_close(&d);
}
END_TEST

/* ---- failures while writing ------------------------------------------------------- */

struct limit_case {
	size_t limit;       /* RLIMIT_FSIZE */
	size_t code_size;   /* of each LOAD */
	int flush_every;    /* LOADs per jp_dump_flush */
};

/* Forget what was logged so far (a second child shares the memfd). */
static void log_reset(void)
{
	ck_assert_int_eq(ftruncate(log_fd, 0), 0);
	lseek(log_fd, 0, SEEK_SET);
}

static const char *disk_full_child(void *arg)
{
	const struct limit_case *lc = arg;
	struct rlimit rl = { lc->limit, lc->limit };
	struct jp_dump d;
	struct jp_code c;
	struct jp_jdr_summary s;
	char name[32];
	size_t len;
	unsigned char *b;
	int r = 0, i, lines;

	fill_code();
	log_reset();
	/* The kernel sends SIGXFSZ past the limit; ignored, write fails with
	 * EFBIG, the way a full disk makes it fail with ENOSPC. */
	signal(SIGXFSZ, SIG_IGN);
	CHILD_REQUIRE(jp_dump_open(&d, tmp, 4321) == 0, "open: %.800s", logged());
	CHILD_REQUIRE(setrlimit(RLIMIT_FSIZE, &rl) == 0, "setrlimit: %s", strerror(errno));
	for (i = 0; i < 1000 && r == 0; i++) {
		snprintf(name, sizeof(name), "fn_%d", i);
		c = code_at(0x1000 + (uint64_t)i * 0x1000, lc->code_size, name, i % 2 ? JP_UNWIND_FP_FDE : 0);
		r = jp_dump_load(&d, &c, NULL);
		if (r == 0 && (i + 1) % lc->flush_every == 0)
			r = jp_dump_flush(&d);
	}
	if (r == 0)
		r = jp_dump_flush(&d);
	CHILD_REQUIRE(r == -EFBIG || r == -EIO, "no write failure (r=%d after %d loads)", r, i);
	CHILD_REQUIRE(!jp_dump_ok(&d), "writer still on after a failed write");
	/* Later calls fail quietly. */
	CHILD_REQUIRE(jp_dump_load(&d, &c, NULL) == -EIO, "load after failure did not return -EIO");
	CHILD_REQUIRE(jp_dump_move(&d, 0, 1, 2, 3, 0) == -EIO, "move after failure did not return -EIO");
	jp_dump_flush(&d);
	jp_dump_close(&d);
	lines = count_lines(logged());
	CHILD_REQUIRE(lines == 1, "expected one message, got %d: %.800s", lines, logged());
	CHILD_REQUIRE(strstr(logged(), "jitperf: ") == logged(), "message lacks prefix: %.800s", logged());
	CHILD_REQUIRE(strstr(logged(), "File too large") && strstr(logged(), "jitperf is off"),
		      "unclear message: %.800s", logged());
	/* Cut back to whole records: perf and our checker read it all. */
	b = read_all(d.path, &len);
	r = jp_jdr_check(b, len, &s, NULL, NULL);
	free(b);
	CHILD_REQUIRE(r == 0, "dump after failure invalid: offset %llu: %s (size %zu, limit %zu)",
		      (unsigned long long)s.err_off, s.err, len, lc->limit);
	CHILD_REQUIRE(len == d.size, "file is %zu bytes, writer thinks %llu", len, (unsigned long long)d.size);
	CHILD_REQUIRE(s.by_id[JD_CODE_LOAD] > 0 || lc->code_size > 256 * 1024, "no LOAD survived");
	return NULL;
}

START_TEST(test_disk_full_flush_each)
{
	struct limit_case lc = { 40 + 5000, 300, 1 };

	in_child(disk_full_child, &lc);
}
END_TEST

START_TEST(test_disk_full_in_batch)
{
	/* Several records per write: the one that crosses the limit is cut
	 * back to the end of the previous batch. */
	struct limit_case lc = { 40 + 7777, 300, 7 };

	in_child(disk_full_child, &lc);
}
END_TEST

/* A LOAD bigger than the 256 KiB batch is written straight to the file; a
 * failure in the middle of it must not leave half a record behind. */
START_TEST(test_disk_full_large_load)
{
	struct limit_case lc = { 40 + 400 * 1024, 300 * 1024, 1 };

	in_child(disk_full_child, &lc);
}
END_TEST

static const char *emfile_child(void *arg)
{
	int free_fds = *(const int *)arg;
	struct rlimit rl;
	struct jp_dump d;
	int fd, r, top = -1;

	log_reset();
	/* Fill the table, then give back free_fds descriptors. */
	rl.rlim_cur = rl.rlim_max = 64;
	CHILD_REQUIRE(setrlimit(RLIMIT_NOFILE, &rl) == 0, "setrlimit: %s", strerror(errno));
	while ((fd = dup(log_fd)) >= 0)
		top = fd;
	CHILD_REQUIRE(errno == EMFILE, "dup: %s", strerror(errno));
	for (int i = 0; i < free_fds; i++)
		close(top - i);
	r = jp_dump_open(&d, tmp, 3333);
	CHILD_REQUIRE(r == -EMFILE, "jp_dump_open returned %d with %d free descriptors", r, free_fds);
	CHILD_REQUIRE(!jp_dump_ok(&d), "dump reported ok");
	CHILD_REQUIRE(count_lines(logged()) == 1 && strstr(logged(), "Too many open files"),
		      "unclear message: %.800s", logged());
	if (free_fds == 0)
		CHILD_REQUIRE(strstr(logged(), "cannot open dump directory"), "message: %.800s", logged());
	else
		CHILD_REQUIRE(strstr(logged(), "cannot create jit-3333.dump"), "message: %.800s", logged());
	/* Calls on the failed dump are harmless. */
	CHILD_REQUIRE(jp_dump_load(&d, &(struct jp_code){ .name = "x" }, NULL) == -EIO, "load did not fail");
	jp_dump_close(&d);
	return NULL;
}

START_TEST(test_descriptor_exhaustion)
{
	int none = 0, one = 1;

	in_child(emfile_child, &none); /* the directory cannot be opened */
	in_child(emfile_child, &one);  /* the directory can, the file cannot */
}
END_TEST

START_TEST(test_fd_closed_and_reused)
{
	struct jp_dump d;
	struct jp_code c;
	int num, victim;
	off_t before;

	fill_code();
	c = code_at(0x1000, 64, "kept", JP_UNWIND_EMPTY);
	ck_assert_int_eq(jp_dump_open(&d, tmp, 2222), 0);
	ck_assert_int_eq(jp_dump_load(&d, &c, NULL), 0);
	ck_assert_int_eq(jp_dump_flush(&d), 0);
	before = file_size(d.path);

	/* The host closes "its" descriptor and opens something else on it. */
	num = d.fd;
	victim = open(path_in("victim"), O_RDWR | O_CREAT | O_EXCL, 0600);
	ck_assert_int_ge(victim, 0);
	ck_assert_int_eq(dup2(victim, num), num);
	close(victim);

	c.name = "lost";
	ck_assert_int_eq(jp_dump_load(&d, &c, NULL), 0); /* batched */
	ck_assert_int_eq(jp_dump_flush(&d), -EBADF);
	ck_assert(!jp_dump_ok(&d));
	ck_assert_int_eq(file_size(path_in("victim")), 0);
	ck_assert_int_eq(count_lines(logged()), 1);
	ck_assert_ptr_nonnull(strstr(logged(), "closed or replaced"));
	jp_dump_close(&d);
	/* ... and the host's descriptor stays open. */
	ck_assert_int_ne(fcntl(num, F_GETFD), -1);
	ck_assert_int_eq(write(num, "x", 1), 1);
	ck_assert_int_eq(file_size(path_in("victim")), 1);
	close(num);
	ck_assert_int_eq(file_size(d.path), before);
	ck_assert_uint_eq(check_file(d.path).by_id[JD_CODE_LOAD], 1);
}
END_TEST

START_TEST(test_fd_closed)
{
	struct jp_dump d;
	struct jp_code c;

	fill_code();
	c = code_at(0x1000, 64, "f", JP_UNWIND_EMPTY);
	ck_assert_int_eq(jp_dump_open(&d, tmp, 2223), 0);
	close(d.fd);
	ck_assert_int_eq(jp_dump_load(&d, &c, NULL), 0);
	ck_assert_int_lt(jp_dump_flush(&d), 0);
	ck_assert(!jp_dump_ok(&d));
	ck_assert_int_eq(count_lines(logged()), 1);
	jp_dump_close(&d);
	ck_assert_int_eq(count_lines(logged()), 1);
	check_file(d.path);
}
END_TEST

/* ---- batching ------------------------------------------------------------------------ */

START_TEST(test_records_reach_file_at_flush)
{
	struct jp_dump d;
	struct jp_code c;

	fill_code();
	c = code_at(0x1000, 100, "batched", JP_UNWIND_EMPTY);
	ck_assert_int_eq(jp_dump_open(&d, tmp, 1111), 0);
	ck_assert_int_eq(file_size(d.path), 40);
	for (int i = 0; i < 10; i++) {
		c.addr += 0x100;
		ck_assert_int_eq(jp_dump_load(&d, &c, NULL), 0);
	}
	ck_assert_int_eq(jp_dump_move(&d, 3, 1, 2, 100, 0), 0);
	ck_assert_int_eq(file_size(d.path), 40);
	ck_assert_uint_eq(d.size, 40);
	ck_assert_int_eq(jp_dump_flush(&d), 0);
	ck_assert_uint_eq(d.size, 40 + 10 * (64 + 56 + 8 + 100) + 64);
	ck_assert_int_eq(file_size(d.path), (off_t)d.size);
	ck_assert_int_eq(jp_dump_flush(&d), 0); /* nothing more to write */
	ck_assert_int_eq(file_size(d.path), (off_t)d.size);
	{
		uint64_t before = d.size;

		jp_dump_close(&d);
		ck_assert_uint_eq(d.size, before + 16); /* the CLOSE record */
	}
	ck_assert_int_eq(file_size(d.path), (off_t)d.size);
	check_file(d.path);
}
END_TEST

START_TEST(test_large_load_written_whole)
{
	struct jp_dump d;
	struct jp_jdr r;
	struct jp_jdr_rec rec;
	struct jp_code small, big;
	unsigned char *b;
	size_t len, big_size = 300 * 1024 + 3;

	fill_code();
	small = code_at(0x1000, 50, "small", JP_UNWIND_EMPTY);
	big = code_at(0x100000, big_size, "big", JP_UNWIND_FP_FDE);
	ck_assert_int_eq(jp_dump_open(&d, tmp, 1112), 0);
	ck_assert_int_eq(jp_dump_load(&d, &small, NULL), 0);
	ck_assert_int_eq(file_size(d.path), 40);
	ck_assert_int_eq(jp_dump_load(&d, &big, NULL), 0);
	/* Too big to batch: on disk at once, after the batched record. */
	ck_assert_int_eq(file_size(d.path), 40 + (64 + 56 + 6 + 50) + (120 + 56 + 4 + (off_t)big_size));
	ck_assert_int_eq(jp_dump_load(&d, &small, NULL), 0);
	jp_dump_close(&d);

	b = read_all(d.path, &len);
	ck_assert_int_eq(jp_jdr_open(&r, b, len), 0);
	ck_assert_int_eq(jp_jdr_next(&r, &rec), 1); /* unwind */
	ck_assert_int_eq(jp_jdr_next(&r, &rec), 1);
	ck_assert_str_eq(rec.u.load.name, "small");
	ck_assert_int_eq(jp_jdr_next(&r, &rec), 1); /* unwind */
	ck_assert_int_eq(jp_jdr_next(&r, &rec), 1);
	ck_assert_str_eq(rec.u.load.name, "big");
	ck_assert_uint_eq(rec.u.load.code_size, big_size);
	ck_assert(!memcmp(rec.u.load.code, code_bytes, big_size));
	free(b);
	ck_assert_uint_eq(check_file(d.path).by_id[JD_CODE_LOAD], 3);
}
END_TEST

/* CFI built from the code: a variable-size record, padded to 8, mapped_size
 * the data itself; the reader checks it against the LOAD's code size and
 * counts its FDEs.  A broken table makes the dump invalid. */
START_TEST(test_cfi_record)
{
	/* push rbx; sub rsp,0x20; add rsp,0x20; pop rbx; ret */
	static const uint8_t fn[] = { 0x53, 0x48, 0x83, 0xec, 0x20, 0x48, 0x83, 0xc4, 0x20, 0x5b, 0xc3 };
	struct jp_cfi_work *cw = jp_cfi_work_new();
	struct jp_dump d;
	struct jp_jdr r;
	struct jp_jdr_rec rec;
	struct jp_jdr_summary s;
	struct jp_code c;
	const uint8_t *data;
	uint32_t size, hsz;
	unsigned char *b;
	size_t len;

	ck_assert_ptr_nonnull(cw);
	ck_assert_int_eq(jp_cfi_describe(cw, fn, sizeof(fn), 4096, &data, &size, &hsz), 1);
	memset(&c, 0, sizeof(c));
	c.addr = 0x7f0000001000;
	c.code = fn;
	c.size = sizeof(fn);
	c.name = "cfi";
	c.unwind = JP_UNWIND_CFI;
	c.cfi = data;
	c.cfi_size = size;
	c.cfi_hdr_size = hsz;
	ck_assert_int_eq(jp_dump_open(&d, tmp, getpid()), 0);
	ck_assert_int_eq(jp_dump_load(&d, &c, NULL), 0);
	jp_dump_close(&d);
	b = read_all(d.path, &len);
	ck_assert_int_eq(jp_jdr_open(&r, b, len), 0);
	ck_assert_int_eq(jp_jdr_next(&r, &rec), 1);
	ck_assert_uint_eq(rec.id, JD_CODE_UNWINDING_INFO);
	ck_assert_uint_eq(rec.total_size, 40 + ((size + 7) & ~7u));
	ck_assert_uint_eq(rec.u.unwind.unwinding_size, size);
	ck_assert_uint_eq(rec.u.unwind.eh_frame_hdr_size, hsz);
	ck_assert_uint_eq(rec.u.unwind.mapped_size, size);
	ck_assert_int_eq(memcmp(rec.u.unwind.data, data, size), 0);
	ck_assert_int_eq(jp_jdr_check(b, len, &s, NULL, NULL), 0);
	ck_assert_uint_eq(s.unwind_cfi, 1);
	ck_assert_uint_eq(s.unwind_fdes, 1);
	/* an FDE range past the code: the reader refuses the dump */
	{
		size_t o = (size_t)(rec.u.unwind.data - b) + 24 + 12; /* the FDE's pc_range */
		uint32_t big = 4096;

		memcpy(b + o, &big, 4);
		ck_assert_int_eq(jp_jdr_check(b, len, &s, NULL, NULL), -EBADMSG);
		ck_assert_ptr_nonnull(strstr(s.err, "outside its code"));
	}
	free(b);
	jp_cfi_work_free(cw);
}
END_TEST

/* ---- perf map ---------------------------------------------------------------------------- */

Suite *make_jitdump_suite(void)
{
	Suite *s = suite_create("jitdump");
	TCase *t = tcase_create("records");

	tcase_add_checked_fixture(t, setup, teardown);
	tcase_add_test(t, test_empty_unwind_bytes);
	tcase_add_test(t, test_fde_unwind_bytes);
	tcase_add_test(t, test_cfi_record);
	tcase_add_test(t, test_round_trip);
	tcase_add_test(t, test_index_unique_increasing);
	tcase_add_test(t, test_records_reach_file_at_flush);
	tcase_add_test(t, test_large_load_written_whole);
	suite_add_tcase(s, t);

	t = tcase_create("files");
	tcase_add_checked_fixture(t, setup, teardown);
	tcase_add_test(t, test_permissions_and_missing_dirs);
	tcase_add_test(t, test_second_open_same_pid);
	tcase_add_test(t, test_symlink_not_followed);
	tcase_add_test(t, test_foreign_dir_refused);
	tcase_add_test(t, test_dir_under_regular_file);
	suite_add_tcase(s, t);

	t = tcase_create("failures");
	tcase_add_checked_fixture(t, setup, teardown);
	tcase_set_timeout(t, 30);
	tcase_add_test(t, test_disk_full_flush_each);
	tcase_add_test(t, test_disk_full_in_batch);
	/* A write failing in the middle of a LOAD larger than the batch must
	 * cut back to the start of the record group, not leave half of it. */
	tcase_add_test(t, test_disk_full_large_load);
	tcase_add_test(t, test_descriptor_exhaustion);
	tcase_add_test(t, test_fd_closed_and_reused);
	tcase_add_test(t, test_fd_closed);
	suite_add_tcase(s, t);
	return s;
}
