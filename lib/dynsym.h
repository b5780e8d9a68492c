/* dynsym.h - the exported symbols of an object loaded in this process, read
 * in place.
 *
 * Runtimes publish their own descriptions for tools as exported variables:
 * HotSpot's gHotSpotVMStructs tables in libjvm.so (lib/hotspot.c), V8's
 * v8dbg_* postmortem constants in node (lib/v8.c).  They are found through
 * the object's dynamic section and GNU hash table as the loader mapped
 * them: no file is read (libjvm.so's .symtab is 4 MB) and nothing is
 * allocated.
 *
 * Contract
 * - Every read of the object is checked to lie in one of its readable
 *   segments (a corrupt or hostile table yields -ENOENT, never a fault).
 * - jp_dynobj_find calls dl_iterate_phdr, which takes the loader's lock:
 *   for the capture thread, not for hooks.  Lookups take no lock.
 * - errno is preserved. */
#ifndef JITPERF_DYNSYM_H
#define JITPERF_DYNSYM_H

#include <stddef.h>
#include <stdint.h>

#define JP_DYNOBJ_SEGMENTS 8

struct jp_dynobj {
	uint64_t base; /* load bias */
	int main_prog; /* the program itself (the loader gives it no name) */
	struct {
		uint64_t start, end;
	} seg[JP_DYNOBJ_SEGMENTS]; /* its readable PT_LOAD segments, as mapped */
	size_t nseg;
	uint64_t symtab, strtab, strsz, gnu_hash;
};

/* Is [a, a+len) inside one readable segment of o? */
int jp_dynobj_contains(const struct jp_dynobj *o, uint64_t a, uint64_t len);

/* name's address in o's dynamic symbols (defined ones only): 0, or
 * -ENOENT when o does not export it or its tables cannot be trusted. */
int jp_dynobj_lookup(const struct jp_dynobj *o, const char *name, uint64_t *value);

/* Fill *o with the first loaded object that match accepts: it is called
 * with each object's file name ("" for the program) and the object as read
 * so far (its segments and tables: lookups work).  0, or -ENOENT when no
 * object matched. */
int jp_dynobj_find(struct jp_dynobj *o, int (*match)(const char *name, const struct jp_dynobj *o, void *arg),
		   void *arg);

#endif
