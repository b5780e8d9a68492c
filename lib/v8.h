/* v8.h - the names of V8's optimised functions, read from the heap through
 * the constants V8 exports for postmortem debuggers.
 *
 * TurboFan compiles a function from feedback that depends on timing: a run
 * that deoptimises and optimises it again has other code for it, and a
 * name made from the code changes (docs/naming.md: 51-56 % of node's
 * samples kept their name between such runs).  V8 knows which function
 * each piece of optimised code is, and node exports how to find out: the
 * v8dbg_* variables (instance types, field offsets, tags) that llnode and
 * mdb_v8 read.  From them: the InstructionStream before each function's
 * first instruction, its Code object, the Code's deoptimisation data,
 * whose SharedFunctionInfo slot is the function, its name and its Script's
 * name: "JS:fib /srv/app/work.js", as V8's own perf map writes it but
 * without the tier mark and the line (a function keeps its name across
 * tiers; a line needs the script's line table, which V8 makes only on
 * demand).  An anonymous function is told apart by where it starts in its
 * script: "JS:(anonymous) /srv/app/work.js@412".
 *
 * What the constants do not give is read in the one layout this was
 * checked on, and checked before it is believed: the Code object's size
 * field (next to its instruction start, which must be the function's
 * address) and the order of a ScopeInfo's optional slots after its
 * context locals (name, or a Smi; the first string is the name, V8's
 * DebugName order).  Baseline (Sparkplug) code has no pointer back to its
 * function; it is generated the same way every run and keeps the name made
 * from its code.
 *
 * Contract
 * - Memory is read only through the reader given (jp_safe_copy in the
 *   shim), never dereferenced: code freed or moved while we look yields no
 *   name, never a fault.  No malloc: the state is one struct.
 * - Not thread-safe: the capture engine calls under its lock.
 * - Functions return 0 / a count, or -errno; errno is preserved by the
 *   process part (jp_v8_attach_self, jp_v8_publish). */
#ifndef JITPERF_V8_H
#define JITPERF_V8_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Copy len bytes at addr into buf; the number copied (short at the first
 * unreadable byte), or -errno. */
typedef ssize_t (*jp_v8_read_fn)(void *ctx, uint64_t addr, void *buf, size_t len);

/* The postmortem constants used (each an int exported as v8dbg_<name>). */
enum jp_v8_const {
	JP_V8_TAGGED_SIZE,      /* TaggedSize: 8 (4 is pointer compression: not read) */
	JP_V8_HEAP_TAG,         /* HeapObjectTag */
	JP_V8_HEAP_TAG_MASK,    /* HeapObjectTagMask */
	JP_V8_SMI_TAG_MASK,     /* SmiTagMask */
	JP_V8_SMI_SHIFT,        /* SmiShiftSize: 31, the value in the upper half */
	JP_V8_OFF_MAP,          /* class_HeapObject__map__Map */
	JP_V8_OFF_ITYPE,        /* class_Map__instance_type__uint16_t */
	JP_V8_IS_START,         /* class_InstructionStream__instruction_start__uintptr_t */
	JP_V8_CODE_DEOPT,       /* class_Code__deoptimization_data__FixedArray */
	JP_V8_KIND_MASK,        /* CodeKindFieldMask */
	JP_V8_KIND_SHIFT,       /* CodeKindFieldShift */
	JP_V8_KIND_BASELINE,    /* CodeKindBaseline: optimised kinds come after it */
	JP_V8_FA_LENGTH,        /* class_FixedArrayBase__length__SMI */
	JP_V8_FA_DATA,          /* class_FixedArray__data__uintptr_t */
	JP_V8_DEOPT_SFI,        /* DeoptimizationDataSharedFunctionInfoIndex */
	JP_V8_SFI_NAME,         /* class_SharedFunctionInfo__name_or_scope_info__Object */
	JP_V8_SFI_SCRIPT,       /* class_SharedFunctionInfo__script_or_debug_info__HeapObject */
	JP_V8_SCRIPT_NAME,      /* class_Script__name__Object */
	JP_V8_SI_NLOCALS,       /* scopeinfo_idx_ncontextlocals */
	JP_V8_SI_FIRST,         /* scopeinfo_idx_first_vars */
	JP_V8_STR_LENGTH,       /* class_String__length__int32_t */
	JP_V8_STR_CHARS,        /* class_SeqOneByteString__chars__char */
	JP_V8_FIRST_NONSTRING,  /* FirstNonstringType */
	JP_V8_STR_ENC_MASK,     /* StringEncodingMask */
	JP_V8_ONE_BYTE_TAG,     /* OneByteStringTag */
	JP_V8_STR_REPR_MASK,    /* StringRepresentationMask */
	JP_V8_SEQ_TAG,          /* SeqStringTag */
	JP_V8_T_IS,             /* type_InstructionStream__INSTRUCTION_STREAM_TYPE */
	JP_V8_T_CODE,           /* type_Code__CODE_TYPE */
	JP_V8_T_FIXED_ARRAY,    /* type_FixedArray__FIXED_ARRAY_TYPE */
	JP_V8_T_SFI,            /* type_SharedFunctionInfo__SHARED_FUNCTION_INFO_TYPE */
	JP_V8_T_SCOPE_INFO,     /* type_ScopeInfo__SCOPE_INFO_TYPE */
	JP_V8_T_SCRIPT,         /* type_Script__SCRIPT_TYPE */
	JP_V8_NCONSTS
};

/* Their symbol names without "v8dbg_", indexed by enum jp_v8_const. */
extern const char *const jp_v8_const_names[JP_V8_NCONSTS];

#define JP_V8_MAPS 32               /* maps whose instance type is remembered */
#define JP_V8_SEEN 4096             /* functions whose verdict is remembered (a power of 2) */
#define JP_V8_CACHE 1024            /* functions whose name is kept (a power of 2) */
#define JP_V8_WINDOW (64u << 10)    /* code bytes read at once */
#define JP_V8_NAME 256              /* longest name, NUL included (longer: cut) */
#define JP_V8_FUNCTION_MAX (1u << 20)

struct jp_v8 {
	jp_v8_read_fn read;
	void *ctx;
	/* the code itself is read with this one (the capture pass keeps
	 * what it reads: lib/readcache.h); set by jp_v8_init to read */
	jp_v8_read_fn read_code;
	void *code_ctx;
	int32_t c[JP_V8_NCONSTS];
	uint32_t code_start_off; /* the Code's instruction start field: found, then required */
	uint64_t is_map;         /* the InstructionStream map: learned, then compared */
	struct {
		uint64_t map;
		uint16_t itype;
	} maps[JP_V8_MAPS];      /* V8's basic maps are in read-only space: they never move */
	size_t nmaps;
	unsigned char window[JP_V8_WINDOW];
	/* Each InstructionStream looked at, by its first instruction: a
	 * capture pass reads a page again whenever code is added to it, and
	 * the functions already there need no new look at the heap.  The
	 * same Code and the same first instruction bytes: the same verdict. */
	struct {
		uint64_t x, code, head;
		uint64_t sfi;     /* 0: no name to give (baseline code, eval) */
		uint32_t size;
	} seen[JP_V8_SEEN];
	struct {                 /* SharedFunctionInfo -> its name */
		uint64_t sfi, name_or_scope, script; /* a reused address has other fields */
		char name[JP_V8_NAME];
	} cache[JP_V8_CACHE];
};

/* Check the constants (values, as read from v8dbg_*) and start with an
 * empty state.  0, or -ENOTSUP when they describe a heap this does not
 * read (pointer compression, another tagging), said in why. */
int jp_v8_init(struct jp_v8 *v, jp_v8_read_fn read, void *ctx, const int32_t consts[JP_V8_NCONSTS], char *why,
	       size_t why_size);

/* Called with each optimised function found: its first instruction, its
 * instruction size, its name. */
typedef void (*jp_v8_found_fn)(void *arg, uint64_t addr, uint64_t size, const char *name);

/* Report every optimised function whose InstructionStream header lies in
 * [a - header, b), in address order.  Whatever is not such a function, or
 * cannot be read whole, is passed over.  Returns how many were reported. */
int jp_v8_functions_in(struct jp_v8 *v, uint64_t a, uint64_t b, jp_v8_found_fn fn, void *arg);

/* ---- in this process ---- */

/* Find the object exporting V8's postmortem constants (node, libnode.so)
 * and read them (once per process; later calls return the first answer).
 * For the capture thread, not hooks: it calls dl_iterate_phdr.  1 when
 * functions can be named, 0 when there is no V8 or it cannot be read
 * (said once, at JITPERF_VERBOSE=1). */
int jp_v8_attach_self(void);

/* The creator name (lib/creator.h) of the code of the V8 found: "node";
 * NULL before jp_v8_attach_self found one. */
const char *jp_v8_creator(void);

/* With the constants read, give every optimised function whose header
 * lies in [a - header, b) its name in the table of published names
 * (lib/known.h).  The code is read with read_code (NULL: jp_safe_copy),
 * the rest of the heap with jp_safe_copy.  Safe in hooks (reads only).
 * Returns how many names changed the table. */
int jp_v8_publish(uint64_t a, uint64_t b, jp_v8_read_fn read_code, void *ctx);

#endif
