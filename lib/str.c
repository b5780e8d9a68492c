/* str.c - string helpers that never allocate or touch errno. */
#include "str.h"

#include <string.h>

const char *jp_strerror(int err)
{
	const char *s;

	if (err < 0)
		err = -err;
	s = strerrordesc_np(err);
	return s ? s : "unknown error";
}

size_t jp_strlcpy(char *dst, const char *src, size_t size)
{
	size_t n = strlen(src);

	if (size) {
		size_t c = n < size - 1 ? n : size - 1;

		memcpy(dst, src, c);
		dst[c] = 0;
	}
	return n;
}

size_t jp_strlcat(char *dst, const char *src, size_t size)
{
	size_t d = strnlen(dst, size);

	if (d == size)
		return d + strlen(src);
	return d + jp_strlcpy(dst + d, src, size - d);
}

size_t jp_utoa(char *buf, uint64_t v, int base)
{
	char tmp[24];
	size_t n = 0, i;

	do {
		unsigned d = (unsigned)(v % (unsigned)base);

		tmp[n++] = (char)(d < 10 ? '0' + d : 'a' + d - 10);
		v /= (unsigned)base;
	} while (v);
	for (i = 0; i < n; i++)
		buf[i] = tmp[n - 1 - i];
	return n;
}
