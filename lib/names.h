/* names.h - the symbol names jitperf gives to code nobody named.
 *
 * Contract: pure formatting into the caller's buffer: no allocation, no
 * locks, no system calls, errno untouched; safe in hooks and any thread.
 *
 * Format (documented for users in docs/naming.md):
 *     jit:<creator>:<fingerprint>
 * - creator: which engine made the memory (jp_creator_name()), e.g. node,
 *   jvm, mono, beam, pcre2_jit_compile_8, or "unknown".  Sanitised: bytes perf or its users
 *   trip over (spaces, control characters, non-ASCII, ':' '#' which we use as
 *   separators) become '_', and it is cut to JP_NAME_CREATOR_MAX bytes.
 * - fingerprint: the low JP_NAME_FP_DIGITS hex digits of jp_fingerprint(),
 *   lower case, zero padded: the same code gets the same name next run,
 *   and two pieces of the same code get the same name (docs/naming.md). */
#ifndef JITPERF_NAMES_H
#define JITPERF_NAMES_H

#include <stddef.h>
#include <stdint.h>

#define JP_NAME_PREFIX "jit:"
#define JP_NAME_FP_DIGITS 12     /* 48 bits: collisions stay rare up to ~10^6 pieces */
#define JP_NAME_CREATOR_MAX 96
/* Longest name jp_name_format() writes, with its NUL. */
#define JP_NAME_MAX (4 + JP_NAME_CREATOR_MAX + 1 + JP_NAME_FP_DIGITS + 1)

/* Write the name into buf.  Returns its length (as strlen), or -ENOSPC when
 * size is too small (buf then holds a truncated, NUL-terminated name if
 * size > 0).  creator NULL or "" is "unknown". */
int jp_name_format(char *buf, size_t size, const char *creator, uint64_t fingerprint);

/* Copy src into dst (size bytes, NUL-terminated) replacing what perf or a
 * terminal cannot take with '_'.  keep_punct 0 (synthetic names): anything
 * but printable ASCII, spaces, ':' and '#'.  keep_punct 1 (names from the
 * process: perf maps, GDB JIT): only control bytes and bytes that are not
 * well-formed UTF-8; spaces and punctuation stay as the runtime wrote them
 * ("W:Fib (int)"), and a cut never splits a UTF-8 character.
 * Returns the length written. */
size_t jp_name_sanitize(char *dst, size_t size, const char *src, int keep_punct);

#endif
