/* header_jit.c - functions with per-run data around them, as real engines lay them out: V8's code object header of heap pointers before each function, Mono's trampoline call with a type byte and a pointer after it.
 *
 * Every function's code is the same in every run; the data around it is
 * not (it is derived from the pid, the clock and where the area was mapped),
 * so a name that covered any of it would change from run to run.  Layout of
 * each 320-byte slot of the area (all functions start on a 64-byte
 * boundary, as V8's do):
 *
 *	int3 ...                                filler
 *	[8 bytes: two 32-bit fields]            odd slots: no instruction
 *	heap pointer, heap pointer              the "header": two 8-byte
 *	                                        words above 4 GiB in two
 *	                                        different 4 GiB windows
 *	function (jl_emit)                      at slot + 64
 *	[call rel32; type byte; pointer]        slots 2 mod 3: Mono's stub,
 *	                                        never executed (after ret)
 *	int3 ...
 *
 * Each function runs hot for a share of JIT_SECONDS and is reported with a
 * JITFUNC line: its address and size, the header left out, the stub after
 * it counted in (a Mono method ends with its stubs). */
#include "jitlib.h"

#define SLOT 320u
#define NFUNC 8u
#define AREA (SLOT * NFUNC)

int main(int argc, char **argv)
{
	struct jl_buf b;
	struct jl_func f[NFUNC];
	double share = jl_seconds(1.2) / NFUNC;
	uint8_t *area;
	uint64_t r;
	unsigned i;

	jl_init(argv[0]);
	area = jl_mmap(NULL, AREA, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	r = jl_splitmix((uint64_t)getpid() ^ jl_mono_ns() ^ (uint64_t)(uintptr_t)area);
	memset(area, 0xcc, AREA);
	jl_buf_init(&b, area, (uintptr_t)area, AREA);
	for (i = 0; i < NFUNC; i++) {
		size_t slot = i * SLOT, o;
		uint64_t h1, h2, p;
		char label[32];

		/* Two heap pointers, tagged like V8's (low bit set), in
		 * different windows between 2^36 and 2^46. */
		r = jl_splitmix(r);
		h1 = ((0x10ull + (r & 0x3fef)) << 32 | (r >> 32)) | 1;
		r = jl_splitmix(r);
		h2 = ((0x10ull + (r & 0x3fef)) << 32 | (r >> 32)) | 1;
		if ((h1 >> 32) == (h2 >> 32))
			h2 += 1ull << 32;
		if (i % 2) {
			/* two 32-bit fields that decode as no instruction
			 * (ff ff): sizes, offsets */
			static const uint8_t fields[] = { 0x04, 0xfd, 0xff, 0xff, 0xd8, 0xff, 0xff, 0xff };

			memcpy(area + slot + 40, fields, sizeof(fields));
		}
		memcpy(area + slot + 48, &h1, 8);
		memcpy(area + slot + 56, &h2, 8);
		snprintf(label, sizeof(label), "hdr_%u", i);
		f[i] = jl_place(&b, slot + 64, 500 + i, label);
		o = slot + 64 + f[i].size;
		if (i % 3 == 2) {
			/* call <somewhere before>; type byte; a pointer into
			 * this mapping (mmap: 0x7f...) */
			int32_t rel = -(int32_t)(o + 5);

			r = jl_splitmix(r);
			p = (uint64_t)(uintptr_t)area + (r & 0xfff8);
			area[o] = 0xe8;
			memcpy(area + o + 1, &rel, 4);
			area[o + 5] = 0x08;
			memcpy(area + o + 6, &p, 8);
			f[i].size += 14; /* Mono's method ends with its stubs */
		}
	}
	jl_mprotect(area, AREA, PROT_READ | PROT_EXEC);
	for (i = 0; i < NFUNC; i++) {
		jl_check(&f[i]);
		jl_run_for(&f[i], share);
	}
	for (i = 0; i < NFUNC; i++)
		jl_report(&f[i], 1);
	return 0;
}
