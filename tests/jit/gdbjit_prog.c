/* gdbjit_prog.c - a JIT that names its code through GDB's JIT interface, as LLVM-based JITs do. */
#include "jitlib.h"

#include "gdbjit_elf.h"

/* The protocol's two symbols: the debugger (and jitperf) look them up by
 * name in this program's symbol table. */
struct jit_descriptor __jit_debug_descriptor = { 1, JIT_NOACTION, NULL, NULL };

void __attribute__((noinline, used)) __jit_debug_register_code(void);
void __attribute__((noinline, used)) __jit_debug_register_code(void)
{
	/* GDB puts a breakpoint here; the asm keeps the call from being elided */
	__asm__ volatile("" ::: "memory");
}

#define AREA (1u << 16)

int main(int argc, char **argv)
{
	static struct jit_code_entry entry;
	struct gj_sym syms[2];
	struct jl_func hot, cold;
	struct jl_buf b;
	size_t img_size;
	void *area, *img;

	jl_init(argv[0]);
	area = jl_mmap(NULL, AREA, PROT_READ | PROT_WRITE | PROT_EXEC,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	jl_buf_init(&b, area, (uintptr_t)area, AREA);
	hot = jl_add(&b, 300, "gdbjit_hot");
	cold = jl_add(&b, 301, "gdbjit_cold");
	jl_check(&hot);
	jl_check(&cold);

	syms[0] = (struct gj_sym){ "gdbjit_hot", hot.addr, hot.size };
	syms[1] = (struct gj_sym){ "gdbjit_cold", cold.addr, cold.size };
	/* ET_REL with sh_addr set to where the code runs, like LLVM's
	 * RuntimeDyld hands its objects over */
	img = gj_build_elf(syms, 2, (uintptr_t)area, b.len, 1, &img_size);
	if (!img)
		jl_die("out of memory");
	gj_register(&__jit_debug_descriptor, __jit_debug_register_code, &entry, img, img_size);

	jl_run_for(&hot, jl_seconds(2.0));
	jl_report(&hot, 1);
	jl_report(&cold, 0);
	return 0;
}
