/* str.h - bounded string helpers for code inside hosts.
 *
 * Contract: nothing here allocates, uses stdio or locale data, or changes
 * errno, so these may be called from hooks, before constructors and in fork
 * children.  Thread-safe (no shared state). */
#ifndef JITPERF_STR_H
#define JITPERF_STR_H

#include <stddef.h>
#include <stdint.h>

/* strerror without gettext or allocation (a localised host could otherwise
 * make strerror load catalogues).  err may be positive or negative. */
const char *jp_strerror(int err);

/* BSD strlcpy/strlcat: always NUL-terminate (when size > 0) and return the
 * length they tried to make, so a result >= size means truncated. */
size_t jp_strlcpy(char *dst, const char *src, size_t size);
size_t jp_strlcat(char *dst, const char *src, size_t size);
/* Format an unsigned number in base 10 or 16 (lower case) into buf, which
 * must hold 20 bytes for base 10, 16 for base 16; no NUL.  Returns length. */
size_t jp_utoa(char *buf, uint64_t v, int base);

#endif
