/* perfmap_write.c - append "START SIZE name" lines to perf-<pid>.map. */
#include "perfmap_write.h"
#include "log.h"
#include "outdir.h"
#include "str.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>

int jp_perfmap_open(struct jp_perfmap *m, const char *dir, pid_t pid)
{
	char file[64];
	int dfd, fd, saved = errno;

	memset(m, 0, sizeof(*m));
	pthread_mutex_init(&m->lock, NULL);
	m->fd = -1;
	dfd = jp_open_private_dir(dir, "perf map");
	if (dfd < 0)
		return dfd;
	jp_outdir_pid_name(file, sizeof(file), "perf-", pid, ".map");
	fd = jp_outdir_create(dfd, file, O_WRONLY | O_APPEND);
	jp_close(dfd);
	jp_strlcpy(m->path, dir, sizeof(m->path));
	jp_strlcat(m->path, "/", sizeof(m->path));
	jp_strlcat(m->path, file, sizeof(m->path));
	if (fd < 0) {
		int e = -fd;

		if (e == EEXIST)
			jp_err("%s already exists (the program writes its own perf map?); leaving it alone", m->path);
		else
			jp_err("cannot create %s: %s", m->path, jp_strerror(e));
		errno = saved;
		return -e;
	}
	m->fd = fd;
	jp_fdid_get(m->fd, &m->id);
	errno = saved;
	return 0;
}

int jp_perfmap_add(struct jp_perfmap *m, uint64_t addr, uint64_t size, const char *name)
{
	char line[600];
	size_t n = 0;
	int r;

	if (m->fd < 0 || m->failed)
		return -EIO;
	n += jp_utoa(line + n, addr, 16);
	line[n++] = ' ';
	n += jp_utoa(line + n, size, 16);
	line[n++] = ' ';
	for (const char *s = name; *s && n < sizeof(line) - 2; s++)
		line[n++] = (*s == '\n') ? ' ' : *s;
	line[n++] = '\n';
	pthread_mutex_lock(&m->lock);
	/* Never write into a file of the program's that got our number. */
	r = jp_fdid_same(m->fd, &m->id) ? jp_write_all(m->fd, line, n) : -EBADF;
	if (r < 0 && !m->failed) {
		m->failed = 1;
		jp_err("%s: %s; perf map output is off", m->path, jp_strerror(-r));
	}
	pthread_mutex_unlock(&m->lock);
	return r;
}

void jp_perfmap_close(struct jp_perfmap *m)
{
	if (m->fd >= 0)
		jp_close_if_ours(m->fd, &m->id);
	m->fd = -1;
}
