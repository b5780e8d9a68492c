/* names.c - jit:<creator>:<fingerprint> and name sanitising. */
#include "names.h"

#include <errno.h>
#include <string.h>

#include "str.h"

/* Bytes that become '_'.  Synthetic names (keep_punct 0) stay plain ASCII
 * words: we choose them, and ':' '#' separate their parts.  Names a runtime
 * wrote (keep_punct 1) stay as written wherever perf copes: spaces ("W:Fib
 * (int)", "JS:*f /a.js:3:16") go through perf inject's ELF symbols, perf
 * report's columns and perf map lines (perf takes the rest of the line as
 * the name) intact; only control bytes (a newline ends a map line and a
 * perf script line, the rest garbles terminals) and bytes that are not
 * UTF-8 are replaced. */
static int bad_char(unsigned char c, int keep_punct)
{
	if (c < 0x20 || c == 0x7f)
		return 1;
	if (!keep_punct)
		return c == ' ' || c >= 0x80 || c == ':' || c == '#';
	return 0;
}

/* Length of the well-formed UTF-8 sequence at s (at most avail bytes), 0
 * when it is not one (stray continuation byte, overlong, cut off). */
static size_t utf8_len(const unsigned char *s, size_t avail)
{
	size_t n, i;

	if (s[0] < 0xc2 || s[0] > 0xf4)
		return 0;
	n = s[0] < 0xe0 ? 2 : s[0] < 0xf0 ? 3 : 4;
	if (n > avail)
		return 0;
	for (i = 1; i < n; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	if ((s[0] == 0xe0 && s[1] < 0xa0) || (s[0] == 0xf0 && s[1] < 0x90) || (s[0] == 0xf4 && s[1] > 0x8f))
		return 0;
	return n;
}

size_t jp_name_sanitize(char *dst, size_t size, const char *src, int keep_punct)
{
	const unsigned char *s = (const unsigned char *)src;
	size_t i = 0, o = 0;

	if (size == 0)
		return 0;
	while (s && s[i] && o + 1 < size) {
		size_t n = 0;

		if (keep_punct && s[i] >= 0x80) {
			/* a whole character or none: a cut name stays valid UTF-8 */
			n = utf8_len(s + i, strnlen(src + i, 4));
			if (n && o + n + 1 > size)
				break;
		}
		if (n) {
			memcpy(dst + o, s + i, n);
			o += n;
			i += n;
			continue;
		}
		dst[o++] = (bad_char(s[i], keep_punct) || s[i] >= 0x80) ? '_' : (char)s[i];
		i++;
	}
	dst[o] = 0;
	return o;
}

int jp_name_format(char *buf, size_t size, const char *creator, uint64_t fingerprint)
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
	tmp[n] = 0;
	if (size)
		jp_strlcpy(buf, tmp, size);
	return n < size ? (int)n : -ENOSPC;
}
