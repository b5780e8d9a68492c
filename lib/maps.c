/* maps.c - parse /proc/self/maps lines into classified mappings. */
#include "maps.h"
#include "kabi.h"
#include "sys.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

static int has_prefix(const char *s, size_t len, const char *p)
{
	size_t n = strlen(p);

	return len >= n && memcmp(s, p, n) == 0;
}

static int has_suffix(const char *s, size_t len, const char *p)
{
	size_t n = strlen(p);

	return len >= n && memcmp(s + len - n, p, n) == 0;
}

int jp_map_classify(const char *path, size_t len)
{
	if (len == 0)
		return JP_MAP_ANON;
	if (has_prefix(path, len, "[heap]"))
		return JP_MAP_HEAP;
	if (has_prefix(path, len, "[anon:") || has_prefix(path, len, "[anon_shmem:"))
		return has_prefix(path, len, "[anon_shmem:") ? JP_MAP_SHMEM : JP_MAP_ANON;
	if (path[0] == '[')
		return JP_MAP_SPECIAL;
	if (has_prefix(path, len, "/dev/zero") || has_prefix(path, len, "/SYSV"))
		return JP_MAP_SHMEM;
	if (has_prefix(path, len, "/memfd:"))
		return JP_MAP_DUAL;
	if (has_suffix(path, len, " (deleted)"))
		return JP_MAP_DUAL;
	return JP_MAP_FILE;
}

static int hexval(const char **p, const char *end, uint64_t *out)
{
	uint64_t v = 0;
	int n = 0;

	while (*p < end) {
		char c = **p;
		int d;

		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			d = c - 'A' + 10;
		else
			break;
		if (++n > 16)
			return -EINVAL;
		v = v << 4 | (uint64_t)d;
		(*p)++;
	}
	*out = v;
	return n ? 0 : -EINVAL;
}

static int expect(const char **p, const char *end, char c)
{
	if (*p >= end || **p != c)
		return -EINVAL;
	(*p)++;
	return 0;
}

int jp_map_parse_line(const char *line, size_t len, struct jp_map *m)
{
	const char *p = line, *end = line + len;
	uint64_t v, inode = 0;

	memset(m, 0, sizeof(*m));
	if (hexval(&p, end, &m->start) || expect(&p, end, '-') || hexval(&p, end, &m->end) || expect(&p, end, ' '))
		return -EINVAL;
	if (end - p < 5)
		return -EINVAL;
	m->prot = (p[0] == 'r' ? PROT_READ : 0) | (p[1] == 'w' ? PROT_WRITE : 0) | (p[2] == 'x' ? PROT_EXEC : 0);
	m->shared = p[3] == 's';
	p += 4;
	if (expect(&p, end, ' ') || hexval(&p, end, &m->offset) || expect(&p, end, ' '))
		return -EINVAL;
	if (hexval(&p, end, &v) || expect(&p, end, ':'))
		return -EINVAL;
	m->dev_major = (unsigned)v;
	if (hexval(&p, end, &v) || expect(&p, end, ' '))
		return -EINVAL;
	m->dev_minor = (unsigned)v;
	while (p < end && *p >= '0' && *p <= '9')
		inode = inode * 10 + (uint64_t)(*p++ - '0');
	m->inode = inode;
	while (p < end && *p == ' ')
		p++;
	m->cls = jp_map_classify(p, (size_t)(end - p));
	if (m->cls == JP_MAP_ANON && m->shared)
		m->cls = JP_MAP_SHMEM;
	return m->end > m->start ? 0 : -EINVAL;
}

/* 1: PROCMAP_QUERY works, -1: the kernel has none (text from then on). */
static int query_state;

/* The mappings overlapping [start, end), asked one at a time.  Returns the
 * number of callbacks, or -ENOTTY when the kernel lacks PROCMAP_QUERY. */
static int each_query(uint64_t start, uint64_t end, uint64_t only, char *buf, size_t bufsz,
		      int (*cb)(const struct jp_map *m, void *arg), void *arg)
{
	uint64_t at = start;
	int fd, calls = 0, saved = errno;

	if (__atomic_load_n(&query_state, __ATOMIC_RELAXED) < 0)
		return -ENOTTY;
	fd = jp_open("/proc/self/maps", O_RDONLY, 0);
	if (fd < 0)
		return fd;
	while (at < end) {
		struct procmap_query q;
		struct jp_map m;
		size_t nlen;

		memset(&q, 0, sizeof(q));
		q.size = sizeof(q);
		q.query_flags = PROCMAP_QUERY_COVERING_OR_NEXT_VMA | only;
		q.query_addr = at;
		q.vma_name_addr = (uint64_t)(uintptr_t)buf;
		q.vma_name_size = (uint32_t)(bufsz > 4096 ? 4096 : bufsz);
		if (ioctl(fd, PROCMAP_QUERY, &q) < 0) {
			int e = errno;

			if (e == ENOENT) /* nothing at or after at */
				break;
			if (!calls && (e == ENOTTY || e == EINVAL || e == EOPNOTSUPP) &&
			    !__atomic_load_n(&query_state, __ATOMIC_RELAXED)) {
				__atomic_store_n(&query_state, -1, __ATOMIC_RELAXED);
				jp_close(fd);
				errno = saved;
				return -ENOTTY;
			}
			jp_close(fd);
			errno = saved;
			return -e;
		}
		__atomic_store_n(&query_state, 1, __ATOMIC_RELAXED);
		if (q.vma_start >= end || q.vma_end <= q.vma_start)
			break;
		m.start = q.vma_start;
		m.end = q.vma_end;
		m.offset = q.vma_offset;
		m.inode = q.inode;
		m.dev_major = q.dev_major;
		m.dev_minor = q.dev_minor;
		m.prot = ((q.vma_flags & PROCMAP_QUERY_VMA_READABLE) ? PROT_READ : 0) |
			 ((q.vma_flags & PROCMAP_QUERY_VMA_WRITABLE) ? PROT_WRITE : 0) |
			 ((q.vma_flags & PROCMAP_QUERY_VMA_EXECUTABLE) ? PROT_EXEC : 0);
		m.shared = (q.vma_flags & PROCMAP_QUERY_VMA_SHARED) != 0;
		/* vma_name_size counts the terminating NUL; 0 for no name. */
		nlen = q.vma_name_size ? q.vma_name_size - 1 : 0;
		m.cls = jp_map_classify(buf, nlen);
		if (m.cls == JP_MAP_ANON && m.shared)
			m.cls = JP_MAP_SHMEM;
		at = q.vma_end;
		calls++;
		if (cb(&m, arg))
			break;
	}
	jp_close(fd);
	errno = saved;
	return calls;
}

int jp_maps_each_query(uint64_t start, uint64_t end, char *buf, size_t bufsz,
		       int (*cb)(const struct jp_map *m, void *arg), void *arg)
{
	return each_query(start, end, 0, buf, bufsz, cb, arg);
}

struct exec_only {
	int (*cb)(const struct jp_map *m, void *arg);
	void *arg;
};

static int exec_only_cb(const struct jp_map *m, void *arg)
{
	struct exec_only *x = arg;

	return (m->prot & PROT_EXEC) ? x->cb(m, x->arg) : 0;
}

int jp_maps_each_exec(uint64_t start, uint64_t end, char *buf, size_t bufsz,
		      int (*cb)(const struct jp_map *m, void *arg), void *arg)
{
	/* The kernel skips the others: the cost follows executable mappings. */
	int r = each_query(start, end, PROCMAP_QUERY_VMA_EXECUTABLE, buf, bufsz, cb, arg);
	struct exec_only x = { cb, arg };

	return r == -ENOTTY ? jp_maps_each_text(start, end, buf, bufsz, exec_only_cb, &x) : r;
}

static int vma_start_cb(const struct jp_map *m, void *arg)
{
	*(uint64_t *)arg = m->start;
	return 1;
}

uint64_t jp_maps_vma_start(uint64_t addr, char *buf, size_t bufsz)
{
	uint64_t vs = addr;

	jp_maps_each(addr, addr + 1, buf, bufsz, vma_start_cb, &vs);
	return vs;
}

int jp_maps_each(uint64_t start, uint64_t end, char *buf, size_t bufsz,
		 int (*cb)(const struct jp_map *m, void *arg), void *arg)
{
	int r = jp_maps_each_query(start, end, buf, bufsz, cb, arg);

	return r == -ENOTTY ? jp_maps_each_text(start, end, buf, bufsz, cb, arg) : r;
}

int jp_maps_each_text(uint64_t start, uint64_t end, char *buf, size_t bufsz,
		      int (*cb)(const struct jp_map *m, void *arg), void *arg)
{
	size_t have = 0;
	int fd, calls = 0, done = 0;

	fd = jp_open("/proc/self/maps", O_RDONLY, 0);
	if (fd < 0)
		return fd;
	while (!done) {
		ssize_t r;
		size_t pos = 0;

		do
			r = read(fd, buf + have, bufsz - have);
		while (r < 0 && errno == EINTR);
		if (r < 0) {
			int e = -errno;

			jp_close(fd);
			return e;
		}
		if (r == 0)
			done = 1;
		have += (size_t)r;
		for (;;) {
			char *nl = memchr(buf + pos, '\n', have - pos);
			struct jp_map m;
			size_t len;

			if (!nl) {
				if (done && pos < have)
					nl = buf + have; /* last line without newline */
				else
					break;
			}
			len = (size_t)(nl - (buf + pos));
			if (jp_map_parse_line(buf + pos, len, &m) == 0) {
				/* Lines are sorted: stop past the range. */
				if (m.start >= end) {
					done = 1;
					break;
				}
				if (m.end > start) {
					calls++;
					if (cb(&m, arg)) {
						done = 1;
						break;
					}
				}
			}
			pos = (size_t)(nl - buf) + (nl < buf + have ? 1 : 0);
			if (pos >= have)
				break;
		}
		/* Keep the partial line; a line longer than the buffer is
		 * dropped (paths are bounded by PATH_MAX < 4 KiB buffers). */
		if (pos < have && pos > 0) {
			memmove(buf, buf + pos, have - pos);
			have -= pos;
		} else if (pos >= have) {
			have = 0;
		} else if (have == bufsz) {
			have = 0;
		}
	}
	jp_close(fd);
	return calls;
}
