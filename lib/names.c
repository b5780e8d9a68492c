/* names.c - jit:<creator>:<fingerprint>[#dup] and name sanitising. */
#include "names.h"

#include <errno.h>
#include <string.h>

#include "str.h"

static int bad_char(unsigned char c, int keep_punct)
{
	/* perf splits perf-map lines and report columns on whitespace; control
	 * bytes garble terminals; we keep names ASCII so perf's demangler and
	 * column widths never see partial UTF-8 (a cut name stays valid). */
	if (c <= 0x20 || c >= 0x7f)
		return 1;
	return !keep_punct && (c == ':' || c == '#');
}

size_t jp_name_sanitize(char *dst, size_t size, const char *src, int keep_punct)
{
	size_t i = 0;

	if (size == 0)
		return 0;
	for (; src && src[i] && i + 1 < size; i++)
		dst[i] = bad_char((unsigned char)src[i], keep_punct) ? '_' : src[i];
	dst[i] = 0;
	return i;
}

int jp_name_format(char *buf, size_t size, const char *creator, uint64_t fingerprint,
		   unsigned dup)
{
	char tmp[JP_NAME_MAX];
	size_t n, i;
	uint64_t fp = fingerprint;

	if (!creator || !*creator)
		creator = "unknown";
	memcpy(tmp, JP_NAME_PREFIX, 4);
	n = 4 + jp_name_sanitize(tmp + 4, JP_NAME_CREATOR_MAX + 1, creator, 0);
	tmp[n++] = ':';
	for (i = JP_NAME_FP_DIGITS; i-- > 0;) {
		tmp[n + i] = "0123456789abcdef"[fp & 15];
		fp >>= 4;
	}
	n += JP_NAME_FP_DIGITS;
	if (dup >= 2) {
		tmp[n++] = '#';
		n += jp_utoa(tmp + n, dup, 10);
	}
	tmp[n] = 0;
	if (size)
		jp_strlcpy(buf, tmp, size);
	return n < size ? (int)n : -ENOSPC;
}
