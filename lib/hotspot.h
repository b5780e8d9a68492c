/* hotspot.h - the names of HotSpot's compiled methods, read from the JVM's
 * own description of its data structures.
 *
 * C2 compiles a method from profile counts that depend on timing, so the
 * same method is other code in another run (docs/naming.md): a name made
 * from the code cannot stay.  The JVM knows which method each piece of its
 * code cache is, and it tells tools where to look: for its Serviceability
 * Agent, libjvm.so exports tables of its own types and fields
 * (gHotSpotVMStructs: type, field, offset or address; gHotSpotVMTypes:
 * type, size), with the layout of their entries in gHotSpotVM*Offset and
 * *Stride variables.  From them, with no layout of any JDK version built
 * in: the code heaps (CodeCache::_heaps), the block holding an address (a
 * heap's segment map), the nmethod in it, its Method, and that method's
 * class, name and signature, which make "int W.fib(int)" as the JVM's own
 * perf map (-XX:+DumpPerfMapAtExit, Method::external_name) writes it.
 *
 * Contract
 * - Memory is read only through the reader given (jp_safe_copy in the
 *   shim), never dereferenced: a block freed or half-built while we look
 *   yields no name, never a fault.  No malloc: the state is one struct.
 * - Not thread-safe: the capture engine calls under its lock.
 * - Functions return 0 / a count, or -errno; errno is preserved by the
 *   process part (jp_hotspot_attach_self, jp_hotspot_publish). */
#ifndef JITPERF_HOTSPOT_H
#define JITPERF_HOTSPOT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Copy len bytes at addr into buf; the number copied (short at the first
 * unreadable byte), or -errno. */
typedef ssize_t (*jp_hotspot_read_fn)(void *ctx, uint64_t addr, void *buf, size_t len);

/* Addresses of libjvm.so's exported variables, as loaded. */
enum jp_hotspot_export {
	JP_HS_STRUCTS,        /* gHotSpotVMStructs: VMStructEntry* */
	JP_HS_S_STRIDE,       /* gHotSpotVMStructEntryArrayStride ... */
	JP_HS_S_TYPE,         /* ...TypeNameOffset */
	JP_HS_S_FIELD,        /* ...FieldNameOffset */
	JP_HS_S_TYPESTRING,   /* ...TypeStringOffset */
	JP_HS_S_STATIC,       /* ...IsStaticOffset */
	JP_HS_S_OFFSET,       /* ...OffsetOffset */
	JP_HS_S_ADDRESS,      /* ...AddressOffset */
	JP_HS_TYPES,          /* gHotSpotVMTypes: VMTypeEntry* */
	JP_HS_T_STRIDE,       /* gHotSpotVMTypeEntryArrayStride ... */
	JP_HS_T_TYPE,         /* ...TypeNameOffset */
	JP_HS_T_SIZE,         /* ...SizeOffset */
	JP_HS_NEXPORTS
};

/* Their symbol names, indexed by enum jp_hotspot_export. */
extern const char *const jp_hotspot_export_names[JP_HS_NEXPORTS];

#define JP_HOTSPOT_HEAPS 8       /* code heaps looked at (JDK 17 has 3) */
#define JP_HOTSPOT_CACHE 1024    /* methods whose name is kept (a power of 2) */
#define JP_HOTSPOT_BLOB_NAMES 32 /* CodeBlob::_name pointers remembered */
#define JP_HOTSPOT_WINDOW (64u << 10) /* code heap bytes read at once */
#define JP_HOTSPOT_NAME 256      /* longest name, NUL included (longer: cut) */

struct jp_hotspot_heap {
	uint64_t low, high;      /* committed code: [VirtualSpace _low, _high) */
	uint64_t segmap;         /* its segment map's _low */
	unsigned log2_segment;
};

struct jp_hotspot {
	jp_hotspot_read_fn read;
	void *ctx;
	uint64_t heaps_var;      /* &CodeCache::_heaps */
	/* field offsets, from the tables */
	uint32_t ga_len, ga_data;                 /* GrowableArrayBase::_len, GrowableArray<int>::_data */
	uint32_t ch_memory, ch_segmap, ch_log2;   /* CodeHeap */
	uint32_t vs_low, vs_high;                 /* VirtualSpace */
	uint32_t hb_size, hb_header;              /* sizeof(HeapBlock), HeapBlock::_header */
	uint32_t hb_length, hb_used;              /* HeapBlock::Header */
	uint32_t hb_length_size;                  /* size_t up to JDK 22, uint32_t from 23 */
	uint32_t cb_name;
	uint32_t cb_code_begin, cb_code_end;      /* pointers, up to JDK 22 */
	uint32_t cb_code_offset, cb_data_offset;  /* offsets from the blob, from JDK 23 */
	int code_by_offset;
	uint32_t block_need;                      /* bytes of a block read for all of the above */
	uint32_t nm_method;                       /* CompiledMethod::_method (nmethod::_method from JDK 23) */
	uint32_t nm_entry_bci;                    /* nmethod: -1, or the loop's bci (on-stack replacement) */
	int osr;                                  /* _entry_bci is there */
	uint32_t m_const;                         /* Method::_constMethod */
	uint32_t cm_constants, cm_name, cm_sig;   /* ConstMethod */
	uint32_t cp_holder, cp_size;              /* ConstantPool::_pool_holder, sizeof(ConstantPool) */
	uint32_t k_name;                          /* Klass::_name */
	uint32_t sym_length, sym_body;            /* Symbol */
	struct jp_hotspot_heap heaps[JP_HOTSPOT_HEAPS];
	size_t nheaps;
	/* CodeBlob::_name pointers seen, and whether they name a compiled
	 * method ("nmethod", "native nmethod"): each is a string literal of
	 * libjvm, the same for every blob of its kind. */
	struct {
		uint64_t ptr;
		int method;
	} blob_names[JP_HOTSPOT_BLOB_NAMES];
	size_t nblob_names;
	/* The part of a code heap read by one system call for the blocks
	 * of a walk (a read a block was most of the naming work). */
	unsigned char window[JP_HOTSPOT_WINDOW];
	uint64_t win_addr, win_len, win_from, win_limit;
	struct {                 /* Method* -> its name */
		uint64_t method;
		uint64_t cmethod; /* its ConstMethod*: a Method* reused for another method has another */
		char name[JP_HOTSPOT_NAME];
	} cache[JP_HOTSPOT_CACHE];
};

/* Read the tables: the offsets of every field used.  exports[] are the
 * addresses of the variables of enum jp_hotspot_export.  0, -ENOENT when a
 * field or type is missing from the tables (a JDK this does not know:
 * what is missing is put in missing, when given), -EFAULT when they could
 * not be read, -EINVAL when they are not such tables. */
int jp_hotspot_init(struct jp_hotspot *hs, jp_hotspot_read_fn read, void *ctx,
		    const uint64_t exports[JP_HS_NEXPORTS], char *missing, size_t missing_size);

/* Called with each compiled method found: where its code is (the blob's
 * code_begin, its code size: the extent the JVM's perf map gives) and its
 * name; osr is set for a method compiled for on-stack replacement, whose
 * frame is not what its first byte implies (lib/hotspot.c). */
typedef void (*jp_hotspot_found_fn)(void *arg, uint64_t addr, uint64_t size, const char *name, int osr);

/* Report every compiled method (nmethod) whose code overlaps [a, b), in
 * address order.  Blocks that are free, not methods, or not readable as a
 * whole method (freed or being built) are passed over.  Returns how many
 * were reported, or -ENOENT when [a, b) is in no code heap. */
int jp_hotspot_methods_in(struct jp_hotspot *hs, uint64_t a, uint64_t b, jp_hotspot_found_fn fn, void *arg);

/* The name Method::external_name gives a method, from its class name
 * ("java/lang/String"), method name and signature ("(I[J)V"):
 * "void java.lang.String.foo(int, long[])".  Returns its length, or -EINVAL
 * when the signature is malformed; cut to size. */
int jp_hotspot_external_name(char *buf, size_t size, const char *klass, size_t klass_len, const char *method,
			     size_t method_len, const char *sig, size_t sig_len);

/* ---- in this process ---- */

/* Find libjvm.so among the loaded objects and read its tables (once per
 * process, or until a starting JVM's tables are there; later calls return
 * the first answer).  For the capture thread, not hooks: it calls
 * dl_iterate_phdr, which takes the loader's lock.  1 when methods can be
 * named, 0
 * when there is no JVM or it cannot be read (said once, at
 * JITPERF_VERBOSE=1). */
int jp_hotspot_attach_self(void);

/* With the tables read, give every compiled method whose code overlaps
 * [a, b) its name in the table of published names (lib/known.h).  Safe in
 * hooks (reads only).  Returns how many names changed the table. */
int jp_hotspot_publish(uint64_t a, uint64_t b);

#endif
