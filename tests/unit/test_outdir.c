/* test_outdir.c - the output-file policy: directories private, files created
 * fresh (never an existing file, never through a symlink), descriptors out of
 * the program's way, and a taken name moved to a fresh subdirectory. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "outdir.h"
#include "scratch.h"

static void write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

static void assert_file_is(const char *path, const char *text)
{
	char buf[256];
	int fd = open(path, O_RDONLY);
	ssize_t n;

	ck_assert_int_ge(fd, 0);
	n = read(fd, buf, sizeof(buf));
	close(fd);
	ck_assert_int_eq(n, (ssize_t)strlen(text));
	ck_assert_mem_eq(buf, text, (size_t)n);
}

START_TEST(private_dir_created_0700_whatever_the_umask)
{
	struct stat st;
	mode_t old = umask(0);
	int dfd = jp_open_private_dir(path_in("x/y"), "dump");

	umask(old);
	ck_assert_int_ge(dfd, 3);
	ck_assert_int_eq(fstat(dfd, &st), 0);
	ck_assert(S_ISDIR(st.st_mode));
	ck_assert_uint_eq(st.st_mode & 07777, 0700);
	ck_assert_int_eq(stat(path_in("x"), &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0700);
	ck_assert_int_ne(fcntl(dfd, F_GETFD) & FD_CLOEXEC, 0);
	close(dfd);
	ck_assert_str_eq(logged(), "");
}
END_TEST

/* Others who may write into the directory could replace our file after we
 * made it; a sticky directory (/tmp) does not let them. */
START_TEST(private_dir_refuses_others_writable)
{
	int dfd;

	ck_assert_int_eq(mkdir(path_in("open"), 0700), 0);
	ck_assert_int_eq(chmod(path_in("open"), 0777), 0);
	errno = 99;
	ck_assert_int_eq(jp_open_private_dir(path_in("open"), "perf map"), -EPERM);
	ck_assert_int_eq(errno, 99);
	ck_assert_ptr_nonnull(strstr(logged(), "is writable by other users (mode 777) and not sticky"));
	ck_assert_ptr_nonnull(strstr(logged(), "JITPERF_PERFMAP_DIR"));

	ck_assert_int_eq(chmod(path_in("open"), 01777), 0);
	dfd = jp_open_private_dir(path_in("open"), "dump");
	ck_assert_int_ge(dfd, 0);
	close(dfd);
}
END_TEST

/* A symlink the user named as the directory is theirs to choose: followed,
 * and its target checked like any directory. */
START_TEST(private_dir_follows_named_symlink)
{
	struct stat a, b;
	int dfd;

	ck_assert_int_eq(mkdir(path_in("real"), 0700), 0);
	ck_assert_int_eq(symlink(path_in("real"), path_in("link")), 0);
	dfd = jp_open_private_dir(path_in("link"), "dump");
	ck_assert_int_ge(dfd, 0);
	ck_assert_int_eq(fstat(dfd, &a), 0);
	ck_assert_int_eq(stat(path_in("real"), &b), 0);
	ck_assert_uint_eq(a.st_ino, b.st_ino);
	close(dfd);
	ck_assert_int_eq(jp_open_private_dir("", "dump"), -EINVAL);
}
END_TEST

START_TEST(create_is_private_high_and_exclusive)
{
	struct stat st;
	mode_t old;
	int dfd = open(tmp, O_RDONLY | O_DIRECTORY), fd;

	ck_assert_int_ge(dfd, 0);
	old = umask(0);
	fd = jp_outdir_create(dfd, "new", O_WRONLY);
	umask(old);
	ck_assert_int_ge(fd, 3);
	/* Out of the program's densely allocated low numbers. */
	ck_assert_int_gt(fd, dfd);
	ck_assert_int_ne(fcntl(fd, F_GETFD) & FD_CLOEXEC, 0);
	ck_assert_int_eq(fstat(fd, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0600);
	close(fd);

	/* Never clobber: an existing file is left exactly as it was. */
	write_file(path_in("precious"), "keep me\n");
	errno = 55;
	ck_assert_int_eq(jp_outdir_create(dfd, "precious", O_WRONLY), -EEXIST);
	ck_assert_int_eq(errno, 55);
	assert_file_is(path_in("precious"), "keep me\n");
	close(dfd);
}
END_TEST

START_TEST(create_never_follows_symlinks)
{
	struct stat st;
	int dfd = open(tmp, O_RDONLY | O_DIRECTORY);

	ck_assert_int_ge(dfd, 0);
	write_file(path_in("victim"), "precious\n");
	ck_assert_int_eq(symlink(path_in("victim"), path_in("to_victim")), 0);
	ck_assert_int_eq(symlink(path_in("nowhere"), path_in("dangling")), 0);
	ck_assert_int_eq(jp_outdir_create(dfd, "to_victim", O_WRONLY), -EEXIST);
	assert_file_is(path_in("victim"), "precious\n");
	/* A dangling link must not create its target either. */
	ck_assert_int_eq(jp_outdir_create(dfd, "dangling", O_WRONLY), -EEXIST);
	ck_assert_int_eq(lstat(path_in("nowhere"), &st), -1);
	close(dfd);
}
END_TEST

START_TEST(create_fresh_moves_aside_never_over)
{
	char rel[128];
	struct stat st;
	int dfd = open(tmp, O_RDONLY | O_DIRECTORY), fd;

	ck_assert_int_ge(dfd, 0);
	fd = jp_outdir_create_fresh(dfd, "jit-7.dump", "jitperf-7", rel, sizeof(rel));
	ck_assert_int_ge(fd, 3);
	ck_assert_str_eq(rel, "jit-7.dump");
	close(fd);

	/* Taken: a fresh private subdirectory, numbered from 1. */
	fd = jp_outdir_create_fresh(dfd, "jit-7.dump", "jitperf-7", rel, sizeof(rel));
	ck_assert_int_ge(fd, 3);
	ck_assert_str_eq(rel, "jitperf-7.1/jit-7.dump");
	close(fd);
	ck_assert_int_eq(stat(path_in("jitperf-7.1"), &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0700);

	/* A symlink planted where the next subdirectory would go is skipped,
	 * not followed. */
	ck_assert_int_eq(mkdir(path_in("elsewhere"), 0700), 0);
	ck_assert_int_eq(symlink(path_in("elsewhere"), path_in("jitperf-7.2")), 0);
	fd = jp_outdir_create_fresh(dfd, "jit-7.dump", "jitperf-7", rel, sizeof(rel));
	ck_assert_int_ge(fd, 3);
	ck_assert_str_eq(rel, "jitperf-7.3/jit-7.dump");
	close(fd);
	ck_assert_int_eq(access(path_in("elsewhere/jit-7.dump"), F_OK), -1);

	/* Undoing removes what was made, subdirectory included. */
	jp_outdir_remove_created(dfd, rel);
	ck_assert_int_eq(access(path_in("jitperf-7.3"), F_OK), -1);
	ck_assert_int_eq(access(path_in("jitperf-7.1/jit-7.dump"), F_OK), 0);
	close(dfd);
}
END_TEST

START_TEST(paths_and_names)
{
	char out[600], cwd[512], want[700];

	ck_assert_uint_eq(jp_outdir_pid_name(out, sizeof(out), "jit-", 1234, ".dump"), 13);
	ck_assert_str_eq(out, "jit-1234.dump");
	ck_assert_uint_eq(jp_outdir_pid_name(out, 6, "perf-", 42, ".map"), 11);
	ck_assert_str_eq(out, "perf-");

	ck_assert_int_eq(jp_outdir_abs_path(out, sizeof(out), "/d/e", "f"), 0);
	ck_assert_str_eq(out, "/d/e/f");
	ck_assert_ptr_nonnull(getcwd(cwd, sizeof(cwd)));
	ck_assert_int_eq(jp_outdir_abs_path(out, sizeof(out), "rel", "f"), 0);
	snprintf(want, sizeof(want), "%s/rel/f", cwd);
	ck_assert_str_eq(out, want);
	ck_assert_int_eq(jp_outdir_abs_path(out, 8, "/d/e", "file"), -ENAMETOOLONG);
}
END_TEST

Suite *make_outdir_suite(void)
{
	Suite *s = suite_create("outdir");
	TCase *tc = tcase_create("policy");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, private_dir_created_0700_whatever_the_umask);
	tcase_add_test(tc, private_dir_refuses_others_writable);
	tcase_add_test(tc, private_dir_follows_named_symlink);
	tcase_add_test(tc, create_is_private_high_and_exclusive);
	tcase_add_test(tc, create_never_follows_symlinks);
	tcase_add_test(tc, create_fresh_moves_aside_never_over);
	tcase_add_test(tc, paths_and_names);
	suite_add_tcase(s, tc);
	return s;
}
