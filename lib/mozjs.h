/* mozjs.h - the names of SpiderMonkey's JIT code (gjs), read from the
 * engine's own table of its code.
 *
 * Ion compiles a function from type feedback, allocation-site and GC state
 * that differ from run to run, so the same function is other code in
 * another run and a name made from the code cannot stay (docs/naming.md).
 * SpiderMonkey knows which script each piece of its code is: its runtime
 * keeps the JitcodeGlobalTable, a skip list of entries ordered by address
 * (for its profiler, and kept with the profiler off).  A baseline entry
 * holds its JSScript* and the profiler's label for it, "matmul
 * (app.js:27:15)"; Ion code is entered as a dummy with neither, but its
 * code embeds its script's address (movabs), and that script's baseline
 * entry has the label; or the script's own entry point (jitCodeRaw_, the
 * first word of a JSScript, JSScript::updateJitCodeRaw) is in the Ion
 * code, which finds the code of a top-level script, which embeds no script
 * of its own.  Names are "JS:" and the label, one per function
 * whatever the tier, as lib/v8.c names V8's functions.
 *
 * SpiderMonkey exports no description of these structures.  The layout
 * here is mozjs 102's on x86-64, and it is believed only once the
 * library's own code agrees: JS::GetProfiledFrames (exported) must load
 * the context's runtime, the runtime's JitRuntime and its table, and an
 * entry's kind and label, at exactly these offsets
 * (jp_mozjs_layout_check).  The context comes from JS_NewContext, which
 * the shim interposes (preload/mozjs_hook.c).  Every entry read is checked
 * (ascending addresses, a known kind, a printable label) before it names
 * anything: the engine changes the table while it is read.
 *
 * Contract
 * - Memory is read only through the reader given (jp_safe_copy in the
 *   shim), never dereferenced: an entry freed while we look yields no
 *   name, never a fault.  No malloc: the state is one struct.
 * - Not thread-safe: the capture engine calls under its lock.
 * - Functions return 0 / a count, or -errno; errno is preserved by the
 *   process part (jp_mozjs_context, jp_mozjs_attach_self, jp_mozjs_publish). */
#ifndef JITPERF_MOZJS_H
#define JITPERF_MOZJS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Copy len bytes at addr into buf; the number copied (short at the first
 * unreadable byte), or -errno. */
typedef ssize_t (*jp_mozjs_read_fn)(void *ctx, uint64_t addr, void *buf, size_t len);

/* mozjs 102, x86-64: where each thing is. */
#define JP_MOZJS_CX_RUNTIME 0xc8u   /* JSContext::runtime_ */
#define JP_MOZJS_RT_JIT 0x4e8u      /* JSRuntime::jitRuntime_ */
#define JP_MOZJS_JIT_TABLE 0x200u   /* JitRuntime::jitcodeGlobalTable_ */
#define JP_MOZJS_TABLE_TOWER 0x70u  /* JitcodeGlobalTable::startTower_[level] */
#define JP_MOZJS_TOWER_NEXT 0x08u   /* JitcodeSkiplistTower::ptrs_[level] */
#define JP_MOZJS_LEVELS 32u         /* the skip list's height */
#define JP_MOZJS_E_TOWER 0x00u      /* an entry: its tower */
#define JP_MOZJS_E_START 0x10u      /* nativeStartAddr_ */
#define JP_MOZJS_E_END 0x18u        /* nativeEndAddr_ */
#define JP_MOZJS_E_KIND 0x28u       /* kind_, the low 7 bits */
#define JP_MOZJS_E_SCRIPT 0x30u     /* a baseline entry's JSScript* */
#define JP_MOZJS_E_LABEL 0x38u      /* a baseline entry's label (char*) */
#define JP_MOZJS_E_SIZE 0x40u
#define JP_MOZJS_SCRIPT_CODE 0x00u  /* BaseScript's header: jitCodeRaw_, where a call enters it */

enum jp_mozjs_kind {
	JP_MOZJS_ION = 1,         /* with the profiler on: scripts and labels of its own (not read) */
	JP_MOZJS_BASELINE = 2,
	JP_MOZJS_INTERPRETER = 3, /* the baseline interpreter, one for the runtime */
	JP_MOZJS_DUMMY = 4,       /* Ion code with the profiler off, and stubs */
};

#define JP_MOZJS_NAME 256          /* longest name, NUL included (longer: cut) */
#define JP_MOZJS_SCRIPTS 1024      /* scripts whose label is kept (a power of 2) */
#define JP_MOZJS_CODE (64u << 10)  /* bytes of an Ion piece searched for its script */
#define JP_MOZJS_MAX_ENTRIES (1u << 20) /* a walk stops after this many */
#define JP_MOZJS_NAMELESS 256      /* stubs remembered, not to walk the table for them again */

struct jp_mozjs {
	jp_mozjs_read_fn read; /* the engine's structures */
	void *ctx;
	jp_mozjs_read_fn read_code; /* code (NULL: read) */
	void *code_ctx;
	uint64_t table; /* the JitcodeGlobalTable */
	unsigned long walks; /* whole-table walks, to find a script's label */
	uint64_t nameless[JP_MOZJS_NAMELESS]; /* code that embeds no known script after a walk (stubs) */
	struct {
		uint64_t script;
		uint64_t label; /* where its label was read from (a label moved: read again) */
		uint64_t entry; /* its jitCodeRaw_ when read: Ion code, once it has some */
		char name[JP_MOZJS_NAME];
	} scripts[JP_MOZJS_SCRIPTS];
	unsigned char code[JP_MOZJS_CODE];
};

/* Does this code (JS::GetProfiledFrames, from its first byte) read the
 * structures at the offsets above?  0, or -ENOENT. */
int jp_mozjs_layout_check(const unsigned char *code, size_t len);

/* Find the table from a JSContext*: 0, -EAGAIN while the runtime has no
 * JIT or no table yet (no code either: ask again later), -EFAULT when
 * unreadable. */
int jp_mozjs_init(struct jp_mozjs *m, jp_mozjs_read_fn read, void *ctx, uint64_t cx);

/* Called with each piece of code found and its name. */
typedef void (*jp_mozjs_found_fn)(void *arg, uint64_t addr, uint64_t size, const char *name);

/* Report every entry of the table whose code overlaps [a, b) and can be
 * named, in address order: baseline code by its label, Ion code by the
 * label of the script it embeds (most often, if several), the baseline
 * interpreter.  Returns how many were reported. */
int jp_mozjs_code_in(struct jp_mozjs *m, uint64_t a, uint64_t b, jp_mozjs_found_fn fn, void *arg);

/* ---- in this process ---- */

/* JS_NewContext returned cx (preload/mozjs_hook.c): the first is kept.
 * Safe anywhere (one atomic store). */
void jp_mozjs_context(void *cx);

/* With a context known, find libmozjs, check its layout and find the
 * table (for the capture thread, not hooks: it calls dl_iterate_phdr).
 * 1 when code can be named; 0 when not (yet: tried again while there is
 * a context and its runtime has no JIT; for good when the library is not
 * the one known, said once at JITPERF_VERBOSE=1). */
int jp_mozjs_attach_self(void);

/* The short name of the object that made the code (lib/creator.h), once
 * attached; NULL before. */
const char *jp_mozjs_creator(void);

/* Give every piece of SpiderMonkey's code overlapping [a, b) its name in
 * the table of published names (lib/known.h).  read_code reads code (the
 * pass's cache), NULL to read it live.  Returns how many names changed
 * the table. */
int jp_mozjs_publish(uint64_t a, uint64_t b, jp_mozjs_read_fn read_code, void *ctx);

#endif
