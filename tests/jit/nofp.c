/* nofp.c - JIT functions without frame pointers between C frames (main -> run_jit -> jit_a -> jit_b -> burn), for unwinding from the code's own stack height.
 *
 * Built the way HotSpot's C2 builds its methods: rbp is saved with a push
 * and then used as a plain register (a loop counter), frames are made with
 * push rbx and sub rsp, there are several exits (an early return, a tail
 * jump into C), and calls go into other JIT code (rel32) and into C (movabs
 * rax; call rax).  burn() is C and burns most of the CPU, so most samples
 * are in C code called from JIT code.  Frame pointers cannot unwind this:
 * rbp holds a counter, not a frame.  The e2e test (tests/e2e/unwind_nofp.sh)
 * checks that perf --call-graph dwarf does with the unwinding data the shim
 * builds from the code.  Each function sits in a 256-byte slot filled with
 * int3, so the data fits after it.  JIT_SECONDS (default 1.5). */
#include "burn.h"

#define AREA (1u << 16)
#define SLOT 256u
#define N 20000u /* loop iterations per call: ~20 us */

/* jit_a(n): n(n+1)/2 + jit_b(n), 0 for n == 0
 *	push rbp; push rbx; sub rsp,0x18; mov rbx,rdi; test rdi,rdi; jz early
 *	mov rbp,rdi; xor eax,eax
 * loop: add rax,rbp; dec rbp; jnz loop
 *	mov [rsp+8],rax; mov rdi,rbx; call jit_b; add rax,[rsp+8]
 *	add rsp,0x18; pop rbx; pop rbp; ret
 * early: xor eax,eax; add rsp,0x18; pop rbx; pop rbp; ret */
static size_t emit_a(uint8_t *w, uintptr_t at, uintptr_t jit_b)
{
	static const uint8_t head[] = {
		0x55, 0x53, 0x48, 0x83, 0xec, 0x18, 0x48, 0x89, 0xfb, 0x48, 0x85, 0xff,
		0x74, 0x00, /* jz early: patched below */
		0x48, 0x89, 0xfd, 0x31, 0xc0,
		0x48, 0x01, 0xe8, 0x48, 0xff, 0xcd, 0x75, 0xf8,
		0x48, 0x89, 0x44, 0x24, 0x08, 0x48, 0x89, 0xdf,
	};
	static const uint8_t tail[] = {
		0x48, 0x03, 0x44, 0x24, 0x08, 0x48, 0x83, 0xc4, 0x18, 0x5b, 0x5d, 0xc3,
		0x31, 0xc0, 0x48, 0x83, 0xc4, 0x18, 0x5b, 0x5d, 0xc3,
	};
	size_t o = jl_put(w, 0, head, sizeof(head)), early;
	int32_t rel = (int32_t)((intptr_t)jit_b - (intptr_t)(at + o + 5));

	w[o++] = 0xe8; /* call rel32 */
	memcpy(w + o, &rel, 4);
	o += 4;
	early = o + 12;
	o = jl_put(w, o, tail, sizeof(tail));
	w[13] = (uint8_t)(early - 14);
	memset(w + o, 0xcc, SLOT - o);
	return o;
}

/* jit_b(n): burn(n)
 *	push rbp; mov rbp,rdi; sub rsp,0x10; cmp rdi,1; jb tail
 *	mov rdi,rbp; mov rax,burn; call rax; add rsp,0x10; pop rbp; ret
 * tail: add rsp,0x10; pop rbp; mov rax,burn; jmp rax */
static size_t emit_b(uint8_t *w, uintptr_t callee)
{
	static const uint8_t head[] = {
		0x55, 0x48, 0x89, 0xfd, 0x48, 0x83, 0xec, 0x10, 0x48, 0x83, 0xff, 0x01,
		0x72, 0x00, /* jb tail: patched below */
		0x48, 0x89, 0xef,
	};
	static const uint8_t ret[] = { 0xff, 0xd0, 0x48, 0x83, 0xc4, 0x10, 0x5d, 0xc3 };
	static const uint8_t pop[] = { 0x48, 0x83, 0xc4, 0x10, 0x5d };
	size_t o = jl_put(w, 0, head, sizeof(head));

	o = jl_put_mov64(w, o, 0x48, 0xb8, callee);
	o = jl_put(w, o, ret, sizeof(ret));
	w[13] = (uint8_t)(o - 14);
	o = jl_put(w, o, pop, sizeof(pop));
	o = jl_put_mov64(w, o, 0x48, 0xb8, callee);
	w[o++] = 0xff; /* jmp rax */
	w[o++] = 0xe0;
	memset(w + o, 0xcc, SLOT - o);
	return o;
}

int main(int argc, char **argv)
{
	uint64_t budget = (uint64_t)(jl_seconds(1.5) * 1e9), start, tri = (uint64_t)N * (N + 1) / 2;
	struct jl_func a, b;
	volatile uint64_t sink = 0;
	uint8_t *area;

	jl_init(argv[0]);
	area = jl_mmap(NULL, AREA, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	snprintf(a.label, sizeof(a.label), "jit_a");
	snprintf(b.label, sizeof(b.label), "jit_b");
	a.addr = (uintptr_t)area;
	b.addr = (uintptr_t)area + SLOT;
	memset(area, 0xcc, 4 * SLOT);
	a.size = emit_a(area, a.addr, b.addr);
	b.size = emit_b(area + SLOT, (uintptr_t)burn);
	jl_mprotect(area, AREA, PROT_READ | PROT_EXEC);

	if (run_jit(jl_fn(&a), N) != tri + burn_ref(N) || run_jit(jl_fn(&a), 0) != 0 ||
	    run_jit(jl_fn(&b), 0) != burn_ref(0))
		jl_die("JIT code returned a wrong result");
	start = jl_cpu_ns();
	a.t0 = b.t0 = jl_mono_ns();
	while (jl_cpu_ns() - start < budget)
		for (int i = 0; i < 100; i++)
			sink += run_jit(jl_fn(&a), N) + run_jit(jl_fn(&b), 0);
	a.t1 = b.t1 = jl_mono_ns();
	(void)sink;
	jl_report(&a, 1);
	jl_report(&b, 1);
	return 0;
}
