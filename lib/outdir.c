/* outdir.c - private output directories and files that never clobber or follow links. */
#include "outdir.h"
#include "log.h"
#include "str.h"
#include "sys.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The setting that chooses the directory a message is about. */
static const char *setting_for(const char *purpose)
{
	return strcmp(purpose, "perf map") == 0 ? "JITPERF_PERFMAP_DIR" : "JITPERF_DIR";
}

static int dir_is_safe(int dfd, const char *dir, const char *purpose)
{
	struct stat st;

	if (fstat(dfd, &st) < 0) {
		jp_err("cannot use %s directory %s: %s", purpose, dir, jp_strerror(errno));
		return -errno;
	}
	if (!S_ISDIR(st.st_mode)) {
		jp_err("%s directory %s is not a directory", purpose, dir);
		return -ENOTDIR;
	}
	/* Refuse a directory another user controls: they could swap our files.
	 * A root-owned sticky directory (/tmp) is fine because we only ever
	 * create files there with O_EXCL|O_NOFOLLOW. */
	if (st.st_uid != geteuid() && !(st.st_uid == 0 && (st.st_mode & S_ISVTX))) {
		jp_err("%s directory %s belongs to uid %u, not to us (uid %u); set %s to a directory of your own",
		       purpose, dir, (unsigned)st.st_uid, (unsigned)geteuid(), setting_for(purpose));
		return -EPERM;
	}
	/* Others who may write here could unlink our dump after we created
	 * it and put their own file in its place, which perf inject would
	 * then parse and turn into ELF files (ssh's StrictModes reasoning).
	 * Sticky directories (/tmp) do not let them. */
	if ((st.st_mode & (S_IWGRP | S_IWOTH)) && !(st.st_mode & S_ISVTX)) {
		jp_err("%s directory %s is writable by other users (mode %03o) and not sticky; use a private directory (chmod go-w, or set %s)",
		       purpose, dir, (unsigned)(st.st_mode & 0777), setting_for(purpose));
		return -EPERM;
	}
	if (faccessat(dfd, ".", W_OK | X_OK, AT_EACCESS) < 0) {
		jp_err("%s directory %s is not writable: %s", purpose, dir, jp_strerror(errno));
		return -EACCES;
	}
	return 0;
}

int jp_open_private_dir(const char *dir, const char *purpose)
{
	char path[PATH_MAX];
	size_t len;
	int dfd, r, saved = errno;

	if (!dir || !*dir) {
		jp_err("%s directory is empty", purpose);
		return -EINVAL;
	}
	len = jp_strlcpy(path, dir, sizeof(path));
	if (len >= sizeof(path)) {
		jp_err("%s directory path is too long (%zu bytes)", purpose, len);
		return -ENAMETOOLONG;
	}
	/* mkdir -p: create each missing component private. */
	for (char *p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(path, 0700) < 0 && errno != EEXIST) {
			int e = errno;

			jp_err("cannot create %s directory %s: %s", purpose, path, jp_strerror(e));
			errno = saved;
			return -e;
		}
		*p = '/';
	}
	if (mkdir(path, 0700) < 0 && errno != EEXIST) {
		int e = errno;

		jp_err("cannot create %s directory %s: %s", purpose, path, jp_strerror(e));
		errno = saved;
		return -e;
	}
	dfd = jp_open(path, O_RDONLY | O_DIRECTORY, 0);
	if (dfd == -ELOOP || dfd == -ENOTDIR) {
		/* A symlink (the kernel says ENOTDIR, not ELOOP, when
		 * O_DIRECTORY meets O_NOFOLLOW): the user named it, so follow
		 * it; the target is then checked like any directory. */
		struct stat lst;

		if (lstat(path, &lst) == 0 && S_ISLNK(lst.st_mode))
			dfd = jp_open_follow(path, O_RDONLY | O_DIRECTORY, 0);
	}
	if (dfd < 0) {
		jp_err("cannot open %s directory %s: %s", purpose, path, jp_strerror(-dfd));
		errno = saved;
		return dfd;
	}
	r = dir_is_safe(dfd, path, purpose);
	errno = saved;
	if (r < 0) {
		jp_close(dfd);
		return r;
	}
	return dfd;
}

int jp_outdir_create(int dfd, const char *name, int flags)
{
	int saved = errno;
	int fd = openat(dfd, name, flags | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);

	if (fd < 0) {
		int e = errno;

		errno = saved;
		return -e;
	}
	return jp_fd_high(fd);
}

int jp_outdir_create_fresh(int dfd, const char *name, const char *stem, char *rel, size_t relsize)
{
	char sub[64], num[24];
	int fd, saved = errno;

	fd = jp_outdir_create(dfd, name, O_RDWR);
	if (fd != -EEXIST) {
		jp_strlcpy(rel, name, relsize);
		return fd;
	}
	for (unsigned n = 1; n < 1000; n++) {
		int sfd, e;

		jp_strlcpy(sub, stem, sizeof(sub));
		jp_strlcat(sub, ".", sizeof(sub));
		num[jp_utoa(num, n, 10)] = 0;
		jp_strlcat(sub, num, sizeof(sub));
		if (mkdirat(dfd, sub, 0700) < 0) {
			e = errno;
			errno = saved;
			if (e == EEXIST)
				continue;
			return -e;
		}
		sfd = openat(dfd, sub, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (sfd < 0) {
			e = errno;
			errno = saved;
			return -e;
		}
		fd = jp_outdir_create(sfd, name, O_RDWR);
		jp_close(sfd);
		if (fd < 0)
			return fd;
		jp_strlcpy(rel, sub, relsize);
		jp_strlcat(rel, "/", relsize);
		jp_strlcat(rel, name, relsize);
		return fd;
	}
	return -EEXIST;
}

void jp_outdir_remove_created(int dfd, const char *rel)
{
	const char *slash = strchr(rel, '/');
	int saved = errno;

	unlinkat(dfd, rel, 0);
	if (slash) {
		char sub[64];
		size_t n = (size_t)(slash - rel);

		if (n < sizeof(sub)) {
			memcpy(sub, rel, n);
			sub[n] = 0;
			unlinkat(dfd, sub, AT_REMOVEDIR);
		}
	}
	errno = saved;
}

int jp_outdir_abs_path(char *out, size_t size, const char *dir, const char *rel)
{
	int saved = errno;

	if (dir[0] == '/') {
		if (jp_strlcpy(out, dir, size) >= size)
			return -ENAMETOOLONG;
	} else {
		if (!getcwd(out, size)) {
			int e = errno;

			errno = saved;
			return -e;
		}
		if (jp_strlcat(out, "/", size) >= size || jp_strlcat(out, dir, size) >= size)
			return -ENAMETOOLONG;
	}
	if (jp_strlcat(out, "/", size) >= size || jp_strlcat(out, rel, size) >= size)
		return -ENAMETOOLONG;
	return 0;
}

size_t jp_outdir_pid_name(char *out, size_t size, const char *prefix, pid_t pid, const char *suffix)
{
	char num[24];
	size_t n = jp_utoa(num, (uint64_t)pid, 10);

	num[n] = 0;
	jp_strlcpy(out, prefix, size);
	jp_strlcat(out, num, size);
	jp_strlcat(out, suffix, size);
	return strlen(prefix) + n + strlen(suffix);
}
