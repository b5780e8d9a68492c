/* gotredir.h - make loaded objects that bind past jitperf's hooks call them.
 *
 * A library dlopen'ed with RTLD_DEEPBIND looks up its symbols in its own
 * scope (itself and its dependencies, libc among them) before the global
 * one, so its mmap/mprotect/... bind straight to libc, past LD_PRELOAD.
 * After such a dlopen the hooks call jp_got_redirect(): every GOT slot
 * (R_X86_64_JUMP_SLOT, GLOB_DAT, 64) of a hooked symbol that holds libc's
 * definition is rewritten to hold the hook, which calls that very
 * definition: same function, same errno, one detour.  Lazily bound slots
 * that still point into their own PLT are rewritten when the object was
 * loaded by that dlopen (it or later in the same namespace) and the symbol
 * would bind to libc's definition there (the caller says, through lazy).
 * Read-only pages (RELRO) are made writable for the writes and given back
 * their protection.
 *
 * Contract: serialised by a lock of its own; no malloc; errno preserved.
 * Objects the dynamic linker has not finished loading (another thread's
 * dlopen, seen through dl_iterate_phdr before _dl_find_object knows it)
 * are left alone, and so is any object on which something fails (reported
 * once): the worst outcome is a call that still bypasses the hooks. */
#ifndef JITPERF_GOTREDIR_H
#define JITPERF_GOTREDIR_H

#include <stddef.h>
#include <stdint.h>

struct jp_got_sym {
	const char *name;
	const void *hook; /* what the slot should hold */
	const void *real; /* libc's definition: a slot holding it bypasses the hook */
	int lazy;         /* an unbound lazy slot would bind to real: redirect it too */
};

struct jp_got_stats {
	unsigned objects;   /* objects looked at */
	unsigned slots;     /* slots rewritten */
	unsigned lifted;    /* read-only page ranges made writable for it */
	unsigned skipped;   /* objects left alone (not fully loaded, or a failure) */
};

/* Redirect the slots of syms[0..n) in every loaded object but the ones
 * containing an address of skip[0..nskip) (libc, ld.so, jitperf).  Lazy
 * slots only in from (a struct link_map *, e.g. from dlinfo) and the
 * objects after it in its namespace; from NULL: none.  Returns the number
 * of slots rewritten, or -errno. */
int jp_got_redirect(const struct jp_got_sym *syms, size_t n, const void *const *skip, size_t nskip,
		    const void *from, struct jp_got_stats *st);

/* One object, for tests: base (l_addr), its program headers.  lazy_ok
 * enables the lazy rule for it. */
int jp_got_redirect_object(uint64_t base, const void *phdr, unsigned phnum, const struct jp_got_sym *syms,
			   size_t n, int lazy_ok, struct jp_got_stats *st);

#endif
