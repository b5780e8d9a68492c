/* gdbjit.h - function names a JIT already publishes through GDB's JIT interface.
 *
 * A JIT that supports GDB (LLVM MCJIT/ORC, and others) defines
 *     struct jit_descriptor __jit_debug_descriptor;   version 1:
 *         uint32 version; uint32 action_flag;
 *         jit_code_entry *relevant_entry, *first_entry;
 *     struct jit_code_entry { next, prev, const char *symfile_addr; uint64 symfile_size; };
 * and a list of in-memory ELF objects whose symbol tables name the code it
 * generated.  We read that list the way a debugger would, without stopping
 * the process: every read goes through jp_safe_copy, so a JIT that frees an
 * entry under us costs us that entry, never a fault.
 *
 * Contract
 * - For the epoch thread (or any ordinary thread), NOT for hooks: finding
 *   the descriptor calls dl_iterate_phdr and reads symbol tables of loaded
 *   objects from their files; scanning copies each object into memory from
 *   jp_sys_alloc.  No malloc, no stdio, no dlsym.
 * - Thread-safe: the descriptor cache is guarded by a lock.
 * - Return 0 / a count on success, -errno on failure; errno is preserved.
 * - Names passed to callbacks are valid only during the call (they point
 *   into a copy of the JIT's object); they are the JIT's own bytes:
 *   sanitise (jp_name_sanitize) before writing them anywhere. */
#ifndef JITPERF_GDBJIT_H
#define JITPERF_GDBJIT_H

#include <stddef.h>
#include <stdint.h>

#define JP_GDBJIT_MAX_ENTRIES (1u << 20)   /* list walk bound (cycles, garbage) */
#define JP_GDBJIT_SYMFILE_MAX (64u << 20)  /* biggest in-memory object read */
#define JP_GDBJIT_MAX_DESC 8               /* descriptors tracked (one per object defining one) */

/* Called once per list entry before its object is read; return non-zero to
 * skip it (e.g. an object already seen: the pair identifies it).  May be
 * NULL: every entry is read. */
typedef int (*jp_gdbjit_entry_cb)(void *arg, uint64_t symfile_addr, uint64_t symfile_size);
/* Called per function symbol (addr where the code runs, size in bytes --
 * 0 when neither the symbol nor its neighbours tell -- and name).  A
 * non-zero return stops the scan, which then returns -ECANCELED. */
typedef int (*jp_gdbjit_sym_cb)(void *arg, uint64_t addr, uint64_t size, const char *name);

/* Addresses of the __jit_debug_descriptor symbols defined by loaded objects
 * (from .symtab, else .dynsym of each object's file, so a main program that
 * does not export it is found too).  The result is cached and recomputed
 * only when the set of loaded objects changes (dlpi_adds/dlpi_subs).
 * Returns how many were stored in descs (at most max). */
int jp_gdbjit_find(uint64_t *descs, size_t max);

/* Walk one descriptor's list and report function symbols.  Returns the
 * number of entries walked, -EINVAL when desc is not a version-1
 * descriptor, -EFAULT when it cannot be read, -ECANCELED when a callback
 * stopped it. */
int jp_gdbjit_scan_descriptor(uint64_t desc, jp_gdbjit_entry_cb entry_cb,
			      jp_gdbjit_sym_cb sym_cb, void *arg);

/* jp_gdbjit_scan_descriptor, but only when the descriptor changed since
 * the last whole walk recorded in sig (zeros at first: always walk).  The
 * GDB JIT protocol updates the descriptor (relevant_entry, action_flag) at
 * every registration and removal; walking an unchanged list of hundreds of
 * entries each pass, one system call per entry, was a tenth of the capture
 * thread's work on BEAM.  Returns 0 when skipped, else as
 * jp_gdbjit_scan_descriptor. */
#define JP_GDBJIT_SIG_WORDS 5
int jp_gdbjit_scan_changed(uint64_t desc, uint64_t sig[JP_GDBJIT_SIG_WORDS], jp_gdbjit_entry_cb entry_cb,
			   jp_gdbjit_sym_cb sym_cb, void *arg);

/* jp_gdbjit_find, then jp_gdbjit_scan_descriptor on each.  Returns the
 * total number of entries walked (0 when the process has no descriptor),
 * or -ECANCELED. */
int jp_gdbjit_scan(jp_gdbjit_entry_cb entry_cb, jp_gdbjit_sym_cb sym_cb, void *arg);

/* Report the function symbols of one in-memory ELF image (already copied
 * into our memory).  Returns 0, -EINVAL/-ENOENT for an unusable image, or
 * -ECANCELED. */
int jp_gdbjit_parse_object(const void *elf, size_t size, jp_gdbjit_sym_cb sym_cb, void *arg);

#endif
