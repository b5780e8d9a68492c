/* mmap_hint_plugin.c - preloaded after libjitperf.so, puts the first large anonymous mapping at $JP_MMAP_HINT (built as mmap_hint_plugin.so, not a program).
 *
 * Where a JIT's code buffer lands changes the bytes of every address it
 * keeps among its code: QEMU's TranslationBlocks hold addresses in its
 * buffer, and with the buffer at 0x7fe9... (one run in 256) those bytes
 * decode as jmp rel32.  This makes such a run on demand.  The address is
 * only a hint (no MAP_FIXED): where it is taken, the kernel puts the
 * mapping elsewhere, which the test sees in the dump.  Preloaded after the
 * shim, the shim's own mmap hook calls this one, so it sees the mapping
 * where the program gets it. */
#include <dlfcn.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>

/* QEMU 7.2's user-mode code buffer is 128 MiB; nothing else it maps
 * before it is this large. */
#define LARGE (64u << 20)

typedef void *mmap_fn(void *, size_t, int, int, int, off_t);

__attribute__((visibility("default"))) void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off);
__attribute__((visibility("default"))) void *mmap64(void *addr, size_t len, int prot, int flags, int fd, off_t off);

void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	static mmap_fn *next;
	static int used;
	const char *hint;

	if (!next)
		next = (mmap_fn *)dlsym(RTLD_NEXT, "mmap");
	if (!used && !addr && len >= LARGE && (flags & MAP_ANONYMOUS) && (hint = getenv("JP_MMAP_HINT")) != NULL) {
		used = 1;
		addr = (void *)(uintptr_t)strtoull(hint, NULL, 16);
	}
	return next(addr, len, prot, flags, fd, off);
}

/* QEMU is built with 64-bit file offsets: its calls may bind to mmap64. */
void *mmap64(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	return mmap(addr, len, prot, flags, fd, off);
}
