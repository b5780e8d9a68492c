/* perfmap_read.c - incremental, bounded reader of perf-<pid>.map files. */
#include "perfmap_read.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "arena.h"
#include "str.h"
#include "sys.h"

#define BUF_SIZE (64u * 1024u)

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* A hex number at *p (optional 0x); advances *p.  -1 on no digits or more
 * than 16 of them. */
static int parse_hex(const char **p, const char *end, uint64_t *v)
{
	const char *s = *p;
	unsigned digits = 0;

	*v = 0;
	if (end - s >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		s += 2;
	while (s < end && hexval(*s) >= 0) {
		if (++digits > 16)
			return -1;
		*v = (*v << 4) | (uint64_t)hexval(*s);
		s++;
	}
	if (!digits)
		return -1;
	*p = s;
	return 0;
}

static const char *skip_blanks(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	return p;
}

int jp_perfmap_parse_line(const char *line, size_t len, uint64_t *addr, uint64_t *size,
			  const char **name, size_t *name_len)
{
	const char *p = line, *end = line + len;

	if (len && end[-1] == '\r')
		end--;
	p = skip_blanks(p, end);
	if (parse_hex(&p, end, addr) || p == end || (*p != ' ' && *p != '\t'))
		return -EINVAL;
	p = skip_blanks(p, end);
	if (parse_hex(&p, end, size) || p == end || (*p != ' ' && *p != '\t'))
		return -EINVAL;
	p = skip_blanks(p, end);
	/* trailing blanks are not part of the name */
	while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	if (p == end || memchr(p, 0, (size_t)(end - p)))
		return -EINVAL;
	*name = p;
	*name_len = (size_t)(end - p);
	return 0;
}

int jp_perfmap_path(char *buf, size_t size, pid_t pid)
{
	char tmp[64];
	size_t n = 0;

	memcpy(tmp, "/tmp/perf-", 10);
	n = 10 + jp_utoa(tmp + 10, (uint64_t)(unsigned)pid, 10);
	memcpy(tmp + n, ".map", 5);
	n += 4;
	if (n >= size)
		return -ENOSPC;
	memcpy(buf, tmp, n + 1);
	return (int)n;
}

int jp_perfmap_read(const char *path, uint64_t *offset, size_t max_bytes, jp_perfmap_cb cb,
		    void *arg)
{
	int saved = errno;
	struct stat st;
	char *buf;
	uint64_t pos = *offset, consumed = *offset, limit;
	size_t fill = 0;
	int fd, count = 0, skipping = 0, r = 0;

	if (!max_bytes || max_bytes > JP_PERFMAP_READ_MAX)
		max_bytes = JP_PERFMAP_READ_MAX;
	/* room for one whole line, or a long line would stall every call */
	if (max_bytes < JP_PERFMAP_LINE_MAX + 2)
		max_bytes = JP_PERFMAP_LINE_MAX + 2;
	fd = jp_open(path, O_RDONLY, 0);
	if (fd < 0)
		return fd;
	if (fstat(fd, &st) < 0) {
		r = -errno;
		goto out_fd;
	}
	if (!S_ISREG(st.st_mode) || st.st_uid != geteuid()) {
		r = -EPERM;
		goto out_fd;
	}
	if ((uint64_t)st.st_size < pos)
		pos = consumed = 0; /* truncated and rewritten: start over */
	limit = pos + max_bytes;
	buf = jp_sys_alloc(BUF_SIZE + 1);
	if (!buf) {
		r = -ENOMEM;
		goto out_fd;
	}
	while (pos < limit) {
		size_t want = BUF_SIZE - fill;
		ssize_t n;
		char *line, *nl;

		if (want > limit - pos)
			want = (size_t)(limit - pos);
		n = pread(fd, buf + fill, want, (off_t)pos);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			break;
		}
		if (n == 0)
			break;
		pos += (uint64_t)n;
		fill += (size_t)n;
		line = buf;
		while ((nl = memchr(line, '\n', fill - (size_t)(line - buf)))) {
			uint64_t a, s;
			const char *name;
			size_t nlen;

			*nl = 0;
			if (!skipping && (size_t)(nl - line) <= JP_PERFMAP_LINE_MAX &&
			    jp_perfmap_parse_line(line, (size_t)(nl - line), &a, &s, &name,
						  &nlen) == 0) {
				((char *)name)[nlen] = 0;
				count++;
				if (cb(arg, a, s, name)) {
					consumed += (uint64_t)(nl + 1 - line);
					r = -ECANCELED;
					goto out;
				}
			}
			skipping = 0;
			consumed += (uint64_t)(nl + 1 - line);
			line = nl + 1;
		}
		fill -= (size_t)(line - buf);
		if (fill == BUF_SIZE) {
			/* a line longer than the buffer: drop it up to its newline */
			consumed += fill;
			fill = 0;
			skipping = 1;
		} else {
			memmove(buf, line, fill);
		}
	}
out:
	jp_sys_free(buf, BUF_SIZE + 1);
	/* Inside an over-long line the next call resumes mid-line; that tail
	 * is one more garbage line. */
	*offset = consumed;
out_fd:
	jp_close(fd);
	errno = saved;
	return r ? r : count;
}
