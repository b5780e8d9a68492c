/* scratch.h - a private scratch directory per test, and jitperf's messages
 * captured in a memfd so a test can check what it said.  For suites whose
 * module writes files (tcase_add_checked_fixture(tc, setup, teardown)). */
#ifndef JITPERF_TEST_SCRATCH_H
#define JITPERF_TEST_SCRATCH_H

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

static char tmp[256];   /* per-test private directory */
static int log_fd = -1; /* captures jitperf's messages */

static inline void setup(void)
{
	snprintf(tmp, sizeof(tmp), "%s/jitperf-test.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(tmp));
	log_fd = memfd_create("jitperf-log", MFD_CLOEXEC);
	ck_assert_int_ge(log_fd, 0);
	jp_log_set_fd(log_fd);
}

static inline int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static inline void teardown(void)
{
	jp_log_set_fd(-1);
	if (log_fd >= 0)
		close(log_fd);
	log_fd = -1;
	/* A test may have made a directory unreadable or foreign. */
	nftw(tmp, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* What jitperf said so far (NUL-terminated, static). */
static inline const char *logged(void)
{
	static char text[8192];
	ssize_t n = pread(log_fd, text, sizeof(text) - 1, 0);

	text[n > 0 ? n : 0] = 0;
	return text;
}

/* tmp/rel; the last four results stay valid. */
static inline char *path_in(const char *rel)
{
	static char p[4][512];
	static int i;

	i = (i + 1) % 4;
	snprintf(p[i], sizeof(p[i]), "%s/%s", tmp, rel);
	return p[i];
}

/* Lines in s (messages jitperf logged, one per line). */
static inline int count_lines(const char *s)
{
	int n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

/* The whole file at path, malloc'd (the caller frees). */
static inline unsigned char *read_all(const char *path, size_t *len)
{
	struct stat st;
	unsigned char *b;
	int fd = open(path, O_RDONLY);

	ck_assert_msg(fd >= 0, "open %s: %s", path, strerror(errno));
	ck_assert_int_eq(fstat(fd, &st), 0);
	b = malloc((size_t)st.st_size + 1);
	ck_assert_ptr_nonnull(b);
	ck_assert_int_eq(pread(fd, b, (size_t)st.st_size, 0), st.st_size);
	close(fd);
	*len = (size_t)st.st_size;
	return b;
}

#endif
