/* fp_chain.c - frame-pointer JIT code between C frames (main -> run_jit -> jit_outer -> jit_inner -> burn), for call-graph unwinding tests.
 *
 * Both JIT functions open with push rbp; mov rbp,rsp, spend some time in a
 * loop of their own, and call on: jit_outer calls jit_inner (rel32),
 * jit_inner calls the C function burn() (movabs rax; call rax), which burns
 * most of the CPU.  A profiler that unwinds through the JIT frames sees every
 * sample's stack reach main(); one that cannot stops at the first JIT frame.
 * Each function is followed by int3 up to a 256-byte boundary, so a piece's
 * unwinding table (FDE) fits after its code.  JIT_SECONDS (default 1.5). */
#include "burn.h"

#define AREA (1u << 16)
#define SLOT 256u
#define N 20000u /* loop iterations per call: ~20 us */

/*	push rbp; mov rbp,rsp; push rbx; sub rsp,8; mov rbx,rdi
 *	mov rcx,rdi; xor eax,eax
 * loop: add rax,rcx; dec rcx; jnz loop		(rax = n(n+1)/2, n > 0)
 *	mov [rbp-16],rax; mov rdi,rbx
 *	<call>
 *	add rax,[rbp-16]; add rsp,8; pop rbx; pop rbp; ret */
static size_t emit(uint8_t *w, uintptr_t at, uintptr_t callee, int absolute)
{
	static const uint8_t head[] = {
		0x55, 0x48, 0x89, 0xe5, 0x53, 0x48, 0x83, 0xec, 0x08, 0x48, 0x89, 0xfb,
		0x48, 0x89, 0xf9, 0x31, 0xc0,
		0x48, 0x01, 0xc8, 0x48, 0xff, 0xc9, 0x75, 0xf8,
		0x48, 0x89, 0x45, 0xf0, 0x48, 0x89, 0xdf,
	};
	static const uint8_t tail[] = {
		0x48, 0x03, 0x45, 0xf0, 0x48, 0x83, 0xc4, 0x08, 0x5b, 0x5d, 0xc3,
	};
	size_t o = jl_put(w, 0, head, sizeof(head));

	if (absolute) {
		o = jl_put_mov64(w, o, 0x48, 0xb8, callee); /* mov rax,callee */
		w[o++] = 0xff;                              /* call rax */
		w[o++] = 0xd0;
	} else {
		int32_t rel = (int32_t)((intptr_t)callee - (intptr_t)(at + o + 5));

		w[o++] = 0xe8; /* call rel32 */
		memcpy(w + o, &rel, 4);
		o += 4;
	}
	o = jl_put(w, o, tail, sizeof(tail));
	memset(w + o, 0xcc, SLOT - o);
	return o;
}

int main(int argc, char **argv)
{
	uint64_t budget = (uint64_t)(jl_seconds(1.5) * 1e9), start, tri = (uint64_t)N * (N + 1) / 2;
	struct jl_func outer, inner;
	volatile uint64_t sink = 0;
	uint8_t *area;

	jl_init(argv[0]);
	area = jl_mmap(NULL, AREA, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	memset(&outer, 0, sizeof(outer));
	memset(&inner, 0, sizeof(inner));
	snprintf(inner.label, sizeof(inner.label), "jit_inner");
	snprintf(outer.label, sizeof(outer.label), "jit_outer");
	inner.addr = (uintptr_t)area + SLOT;
	outer.addr = (uintptr_t)area;
	/* int3 filler after each function: room for its FDE */
	memset(area, 0xcc, 4 * SLOT);
	inner.size = emit(area + SLOT, inner.addr, (uintptr_t)burn, 1);
	outer.size = emit(area, outer.addr, inner.addr, 0);
	jl_mprotect(area, AREA, PROT_READ | PROT_EXEC);

	if (run_jit(jl_fn(&outer), N) != 2 * tri + burn_ref(N))
		jl_die("JIT code returned a wrong result");
	start = jl_cpu_ns();
	outer.t0 = inner.t0 = jl_mono_ns();
	while (jl_cpu_ns() - start < budget)
		for (int i = 0; i < 100; i++)
			sink += run_jit(jl_fn(&outer), N);
	outer.t1 = inner.t1 = jl_mono_ns();
	(void)sink;
	jl_report(&outer, 1);
	jl_report(&inner, 1);
	return 0;
}
