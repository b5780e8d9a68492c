/* log.h - the only way jitperf speaks: one line on stderr, "jitperf: " first.
 *
 * Contract: every function here preserves errno, never allocates, and formats
 * into a fixed stack buffer, so it may be called from a hook, a fork child or
 * the epoch thread.  Thread-safe (one write(2) per message). */
#ifndef JITPERF_LOG_H
#define JITPERF_LOG_H

#include <stdarg.h>
#include <stdint.h>

enum jp_log_level { JP_LOG_QUIET = 0, JP_LOG_ERROR = 1, JP_LOG_INFO = 2, JP_LOG_DEBUG = 3 };

/* Level from JITPERF_VERBOSE (0 quiet, 1 errors [default], 2 info, 3 debug);
 * read once by jp_config_load(). */
void jp_log_set_level(int level);
int jp_log_level(void);
/* A clock for work the INFO summary reports: the calling thread's CPU time
 * when that summary is wanted (JP_LOG_INFO and up; a system call: the vDSO
 * serves only wall clocks), else the monotonic clock (free).  CPU, because
 * a busy machine inflates wall time several-fold. */
uint64_t jp_log_work_ns(void);

/* Redirect output (tests); fd < 0 restores stderr. */
void jp_log_set_fd(int fd);

void jp_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void jp_vlog(int level, const char *fmt, va_list ap);

#define jp_err(...) jp_log(JP_LOG_ERROR, __VA_ARGS__)
#define jp_info(...) jp_log(JP_LOG_INFO, __VA_ARGS__)
#define jp_debug(...) jp_log(JP_LOG_DEBUG, __VA_ARGS__)

#endif
