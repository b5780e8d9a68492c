/* log.c - fixed-buffer, errno-preserving diagnostics on stderr. */
#include "log.h"
#include "sys.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static int log_level = JP_LOG_ERROR;
static int log_fd = 2;

void jp_log_set_level(int level)
{
	if (level < JP_LOG_QUIET)
		level = JP_LOG_QUIET;
	if (level > JP_LOG_DEBUG)
		level = JP_LOG_DEBUG;
	log_level = level;
}

uint64_t jp_log_work_ns(void)
{
	return log_level >= JP_LOG_INFO ? jp_thread_cpu_ns() : jp_now_ns();
}

int jp_log_level(void)
{
	return log_level;
}

void jp_log_set_fd(int fd)
{
	log_fd = fd < 0 ? 2 : fd;
}

void jp_vlog(int level, const char *fmt, va_list ap)
{
	int saved = errno;
	char buf[512];
	static const char prefix[] = "jitperf: ";
	size_t n;
	int m;

	if (level > log_level) {
		errno = saved;
		return;
	}
	memcpy(buf, prefix, sizeof(prefix) - 1);
	n = sizeof(prefix) - 1;
	/* glibc's vsnprintf does not allocate for the plain conversions used
	 * here (%s %d %u %x %lu %zu %p). */
	m = vsnprintf(buf + n, sizeof(buf) - n - 1, fmt, ap);
	if (m < 0)
		m = 0;
	n += (size_t)m < sizeof(buf) - n - 1 ? (size_t)m : sizeof(buf) - n - 2;
	buf[n++] = '\n';
	(void)jp_write_all(log_fd, buf, n);
	errno = saved;
}

void jp_log(int level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	jp_vlog(level, fmt, ap);
	va_end(ap);
}
