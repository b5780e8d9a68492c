/* creator.h - who made this code: the creating call site and its name.
 *
 * Contract
 * - jp_creator_capture() runs in the hook of a creating call (mmap/mprotect
 *   that makes memory executable, or creates what becomes code).  It unwinds
 *   the calling thread with libunwind (local, UNW_LOCAL_ONLY) and records the
 *   return addresses of up to JP_CREATOR_DEPTH frames outside libc, ld.so and
 *   jitperf, innermost first.  It does not symbolize.  No malloc on this path
 *   (checked with libunwind 1.6: it caches unwind state in mmap'd pools and
 *   takes its own cache lock with all signals blocked), no stdio, errno kept.
 *   It does call dl_iterate_phdr (libunwind, per frame, to find .eh_frame_hdr;
 *   and once here to learn where libc, ld.so and jitperf sit), which takes
 *   glibc's dl_load_write_lock: safe from hooks, including hooks called by
 *   constructors running inside dlopen (that holds dl_load_lock, a different
 *   lock; dl_load_write_lock is only held around link-map updates, which run
 *   no user code).  Cost: a few microseconds per call; call it once per
 *   creating call, never per snapshot.  Thread-safe.
 * - jp_creator_name() turns a call site into a stable name: the first of the
 *   recorded frames that lies inside a named function -- looked up in the
 *   object's .symtab, or its .dynsym when it has no .symtab, read from the
 *   object's file -- else "<object basename>+0x<offset>" for the innermost
 *   frame in a known object, else "unknown".  Walking outwards past unnamed
 *   frames is what turns sljit's static allocator inside a stripped
 *   libpcre2-8.so into pcre2_jit_compile_8.  No address that moves with ASLR
 *   ever appears in a name.
 *   Results are cached per return address in a fixed table (jp_sys_alloc).
 *   A miss reads the object's section headers and symbol tables with
 *   open/pread/close system calls into jp_sys_alloc'd memory: no malloc, no
 *   stdio, no libelf, so it is safe in a hook, but a miss costs file I/O
 *   (about 0.1-1 ms for a typical program; the capture engine may instead
 *   call it from the epoch thread).  Thread-safe; a call that finds the cache
 *   busy (another thread, or a signal handler interrupting this one) works
 *   without it rather than wait.
 * - All functions return a non-negative value on success, -errno on failure,
 *   and never change errno. */
#ifndef JITPERF_CREATOR_H
#define JITPERF_CREATOR_H

#include <stddef.h>
#include <stdint.h>

#define JP_CREATOR_DEPTH 8       /* frames kept per call site */
#define JP_CREATOR_MAX_STEPS 64  /* frames unwound at most */
#define JP_CREATOR_NAME_MAX 128  /* longest creator name, NUL included */

/* A creating call site registered by jp_creator_register(): 1 + its index
 * in the registry, 0 for "unknown".  Regions keep one; naming resolves it. */
typedef uint32_t jp_creator_id;

struct jp_callsite {
	uint64_t pc[JP_CREATOR_DEPTH]; /* return addresses, innermost first */
	uint32_t n;                    /* how many are valid */
};

/* Record the current call chain.  Returns the number of frames kept (0 when
 * the whole stack is libc/ld.so/jitperf), or -errno when unwinding failed. */
int jp_creator_capture(struct jp_callsite *cs);

/* The innermost named function of the call site (see above) into buf;
 * returns its length.  A NULL or empty call site gives "unknown". */
int jp_creator_function_name(const struct jp_callsite *cs, char *buf, size_t size);

/* The creator's name, which says which engine made the code (docs/naming.md):
 * - the creating frames' object lies in a library and the call chain leaves
 *   it for the main program through an exported C function (a JIT library
 *   used by the program): that function, pcre2_jit_compile_8;
 * - otherwise the short name of the object (jp_creator_object_short): node,
 *   jvm, mono, beam, mozjs, and the program's name for a program that JITs
 *   by itself.
 * Frames in no object (JIT code) are passed over; none in any: "unknown".
 * Never an address, never a mangled name.  Returns the length.  Not
 * thread-safe (one static buffer): called under the capture engine's
 * lock. */
int jp_creator_name(const struct jp_callsite *cs, char *buf, size_t size);

/* An object's short name: its file name without directory and leading
 * "lib", up to the first '.' or '-' (libjvm.so: jvm; libmozjs-102.so.0:
 * mozjs; beam.smp: beam; mono-sgen: mono). */
void jp_creator_object_short(const char *path, char *buf, size_t size);

/* Is s a plain exported C name (letters, digits, '_'; not mangled, no
 * leading '_')? */
int jp_creator_is_api_name(const char *s);

/* Symbolize one code address (not a return address: no -1 is applied).
 * Returns 1 and the function's name, 0 and "<object>+0x<offset>" when the
 * address is in a known object but no function, or -ENOENT ("unknown"). */
int jp_creator_symbolize(uint64_t addr, char *buf, size_t size);

/* Is addr inside libc, ld.so or jitperf (the frames capture skips)? */
int jp_creator_skipped(uint64_t addr);

/* Cut GCC clone suffixes (.constprop.N, .isra.N, .part.N, .cold[.N]) off a
 * function name in place, so names survive compiler changes; returns the
 * new length. */
int jp_creator_strip_clone_suffix(char *name);

/* At a call that creates executable memory: record who made it (unwinding
 * once, cheap) and return its id; the same call chain gets the same id.
 * The name is resolved once per call site, the first time
 * jp_creator_id_name() asks for it.  Not thread-safe: the capture engine
 * calls both under its lock. */
jp_creator_id jp_creator_register(void);

/* A creator known by its name only (jitperf-dump --describe replays one
 * recorded in the dump): a new id each call. */
jp_creator_id jp_creator_register_named(const char *name);

/* The creator's name ("unknown" for 0 or an id never given out). */
const char *jp_creator_id_name(jp_creator_id id);

#endif
