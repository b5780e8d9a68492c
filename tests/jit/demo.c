/* demo.c - the bundled demo: a tiny expression JIT that compiles integer kernels to x86-64 at run time and runs them for about two seconds.
 *
 * It behaves like the engines jitperf exists for (PCRE2/sljit, V8's code
 * space, Mono): one read-write-execute anonymous mapping is made up front,
 * before any code exists; each kernel first runs in a tree-walking
 * interpreter (tier 0) and is compiled into that mapping later, with no
 * further system call.  The engine publishes nothing to perf: no perf map, no
 * jitdump, no symbols.  Without jitperf the compiled kernels are [unknown];
 * with `jitperf-run -- demo` they get names.
 *
 * A kernel is an expression in x; the compiled function
 *	uint64_t kernel(uint64_t x, uint64_t n)
 * applies x = expr(x) n times.  Every kernel is checked against the
 * interpreter before it is used.  Each one gets a fixed share of the CPU time,
 * so a profile shows distinct, known percentages.
 *
 * Usage: demo [seconds]   (default 2; JIT_SECONDS also sets it) */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define AREA_SIZE (64u * 1024u)
#define FN_ALIGN 64u
#define FN_GAP 16u
#define MAX_NODES 64
#define CHUNK 20000u /* iterations per call of a compiled kernel (~50-100 us) */

enum op { OP_NUM, OP_X, OP_ADD, OP_SUB, OP_MUL, OP_AND, OP_OR, OP_XOR, OP_SHL, OP_SHR };

struct node {
	enum op op;
	uint64_t num;
	int lhs, rhs; /* indexes into the pool */
};

struct expr {
	struct node pool[MAX_NODES];
	int n, root;
	const char *src, *p; /* parser state */
};

typedef uint64_t (*kernel_fn)(uint64_t x, uint64_t n);

struct kernel {
	const char *name;
	const char *src;
	unsigned share; /* percent of the run */
	struct expr e;
	kernel_fn fn;
	size_t size;
	uint64_t x;   /* running state */
	uint64_t ns;  /* CPU time spent */
};

static struct kernel kernels[] = {
	{ .name = "hash", .src = "((x ^ (x >> 33)) * 0xff51afd7ed558ccd) ^ (x >> 29)", .share = 40 },
	{ .name = "lcg", .src = "x * 6364136223846793005 + 1442695040888963407", .share = 25 },
	{ .name = "poly", .src = "((x * x + 3 * x) >> 3) + 12345", .share = 15 },
	{ .name = "mix", .src = "(x << 13 ^ x) + ((x >> 7) | 1)", .share = 10 },
	{ .name = "checksum", .src = "(x & 0xffff) * 31 + (x >> 16)", .share = 5 },
};
#define NKERNELS (sizeof(kernels) / sizeof(kernels[0]))
#define INTERP_SHARE 5 /* the rest: tier 0 keeps running one kernel */

static void __attribute__((noreturn, format(printf, 1, 2))) die(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fputs("demo: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static uint64_t cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---- parser: C precedence, | lowest, * highest; numbers, x, parentheses */

static int new_node(struct expr *e, enum op op, uint64_t num, int lhs, int rhs)
{
	if (e->n == MAX_NODES)
		die("expression too long: %s", e->src);
	e->pool[e->n] = (struct node){ op, num, lhs, rhs };
	return e->n++;
}

static void skip_space(struct expr *e)
{
	while (*e->p == ' ')
		e->p++;
}

static int parse_level(struct expr *e, int level);

static int parse_atom(struct expr *e)
{
	char *end;
	int n;

	skip_space(e);
	if (*e->p == '(') {
		e->p++;
		n = parse_level(e, 0);
		skip_space(e);
		if (*e->p != ')')
			die("missing ')' at '%s' in %s", e->p, e->src);
		e->p++;
		return n;
	}
	if (*e->p == 'x') {
		e->p++;
		return new_node(e, OP_X, 0, -1, -1);
	}
	errno = 0;
	uint64_t v = strtoull(e->p, &end, 0);
	if (end == e->p || errno)
		die("bad number at '%s' in %s", e->p, e->src);
	e->p = end;
	return new_node(e, OP_NUM, v, -1, -1);
}

/* Binary operators by precedence level, lowest first. */
static const struct {
	const char *tok;
	enum op op;
	int level;
} binops[] = {
	{ "|", OP_OR, 0 },   { "^", OP_XOR, 1 },  { "&", OP_AND, 2 },  { "<<", OP_SHL, 3 },
	{ ">>", OP_SHR, 3 }, { "+", OP_ADD, 4 },  { "-", OP_SUB, 4 },  { "*", OP_MUL, 5 },
};
#define NLEVELS 6

static int parse_level(struct expr *e, int level)
{
	int lhs;

	if (level == NLEVELS)
		return parse_atom(e);
	lhs = parse_level(e, level + 1);
	for (;;) {
		size_t i, len = 0;
		enum op op = OP_NUM;

		skip_space(e);
		for (i = 0; i < sizeof(binops) / sizeof(binops[0]); i++) {
			size_t l = strlen(binops[i].tok);

			if (binops[i].level == level && !strncmp(e->p, binops[i].tok, l)) {
				op = binops[i].op;
				len = l;
				break;
			}
		}
		if (!len)
			return lhs;
		e->p += len;
		lhs = new_node(e, op, 0, lhs, parse_level(e, level + 1));
	}
}

static void parse(struct expr *e, const char *src)
{
	e->n = 0;
	e->src = e->p = src;
	e->root = parse_level(e, 0);
	skip_space(e);
	if (*e->p)
		die("unexpected '%s' in %s", e->p, src);
}

/* ---- tier 0: the interpreter */

static uint64_t __attribute__((noinline)) interp_eval(const struct expr *e, int i, uint64_t x)
{
	const struct node *n = &e->pool[i];

	switch (n->op) {
	case OP_NUM: return n->num;
	case OP_X: return x;
	case OP_ADD: return interp_eval(e, n->lhs, x) + interp_eval(e, n->rhs, x);
	case OP_SUB: return interp_eval(e, n->lhs, x) - interp_eval(e, n->rhs, x);
	case OP_MUL: return interp_eval(e, n->lhs, x) * interp_eval(e, n->rhs, x);
	case OP_AND: return interp_eval(e, n->lhs, x) & interp_eval(e, n->rhs, x);
	case OP_OR: return interp_eval(e, n->lhs, x) | interp_eval(e, n->rhs, x);
	case OP_XOR: return interp_eval(e, n->lhs, x) ^ interp_eval(e, n->rhs, x);
	/* x86 masks shift counts to 6 bits; so does the interpreter */
	case OP_SHL: return interp_eval(e, n->lhs, x) << (interp_eval(e, n->rhs, x) & 63);
	case OP_SHR: return interp_eval(e, n->lhs, x) >> (interp_eval(e, n->rhs, x) & 63);
	}
	return 0;
}

static uint64_t __attribute__((noinline)) interp_run(const struct expr *e, uint64_t x, uint64_t n)
{
	while (n--)
		x = interp_eval(e, e->root, x);
	return x;
}

/* ---- tier 1: the x86-64 compiler.  rax holds the value being computed,
 * rcx the right operand, r8 the variable x, rsi the remaining count; the
 * machine stack keeps intermediate results. */

struct code {
	uint8_t *p;
	size_t len, cap;
};

static void emit(struct code *c, const void *bytes, size_t n)
{
	if (c->len + n > c->cap)
		die("code area full");
	memcpy(c->p + c->len, bytes, n);
	c->len += n;
}

#define EMIT(c, ...) emit((c), (const uint8_t[]){ __VA_ARGS__ }, sizeof((const uint8_t[]){ __VA_ARGS__ }))

static void emit_imm(struct code *c, int reg, uint64_t v) /* reg 0: rax, 1: rcx */
{
	if ((int64_t)v == (int32_t)v) {
		int32_t i = (int32_t)v;

		EMIT(c, 0x48, 0xc7, (uint8_t)(0xc0 + reg)); /* mov r64, simm32 */
		emit(c, &i, 4);
	} else {
		EMIT(c, 0x48, (uint8_t)(0xb8 + reg)); /* movabs r64, imm64 */
		emit(c, &v, 8);
	}
}

static void compile_node(struct code *c, const struct expr *e, int i)
{
	const struct node *n = &e->pool[i];
	const struct node *r;

	switch (n->op) {
	case OP_NUM:
		emit_imm(c, 0, n->num);
		return;
	case OP_X:
		EMIT(c, 0x4c, 0x89, 0xc0); /* mov rax, r8 */
		return;
	default:
		break;
	}
	r = &e->pool[n->rhs];
	if (r->op == OP_NUM || r->op == OP_X) { /* leaf on the right: no stack */
		compile_node(c, e, n->lhs);
		if (r->op == OP_NUM)
			emit_imm(c, 1, r->num);
		else
			EMIT(c, 0x4c, 0x89, 0xc1); /* mov rcx, r8 */
	} else {
		compile_node(c, e, n->rhs);
		EMIT(c, 0x50); /* push rax */
		compile_node(c, e, n->lhs);
		EMIT(c, 0x59); /* pop rcx */
	}
	switch (n->op) {
	case OP_ADD: EMIT(c, 0x48, 0x01, 0xc8); break;       /* add rax, rcx */
	case OP_SUB: EMIT(c, 0x48, 0x29, 0xc8); break;       /* sub rax, rcx */
	case OP_MUL: EMIT(c, 0x48, 0x0f, 0xaf, 0xc1); break; /* imul rax, rcx */
	case OP_AND: EMIT(c, 0x48, 0x21, 0xc8); break;       /* and rax, rcx */
	case OP_OR: EMIT(c, 0x48, 0x09, 0xc8); break;        /* or rax, rcx */
	case OP_XOR: EMIT(c, 0x48, 0x31, 0xc8); break;       /* xor rax, rcx */
	case OP_SHL: EMIT(c, 0x48, 0xd3, 0xe0); break;       /* shl rax, cl */
	case OP_SHR: EMIT(c, 0x48, 0xd3, 0xe8); break;       /* shr rax, cl */
	default: break;
	}
}

/* Compile at c->p + c->len; returns the function, its size in *size.  The
 * frame-pointer prologue lets perf walk call chains through JIT frames. */
static kernel_fn compile(struct code *c, const struct expr *e, size_t *size)
{
	size_t start = c->len, jz, loop;
	int32_t rel;

	EMIT(c, 0x55);                   /* push rbp */
	EMIT(c, 0x48, 0x89, 0xe5);       /* mov rbp, rsp */
	EMIT(c, 0x49, 0x89, 0xf8);       /* mov r8, rdi */
	EMIT(c, 0x48, 0x85, 0xf6);       /* test rsi, rsi */
	EMIT(c, 0x0f, 0x84, 0, 0, 0, 0); /* jz done */
	jz = c->len;
	loop = c->len;
	compile_node(c, e, e->root);
	EMIT(c, 0x49, 0x89, 0xc0);       /* mov r8, rax */
	EMIT(c, 0x48, 0xff, 0xce);       /* dec rsi */
	EMIT(c, 0x0f, 0x85, 0, 0, 0, 0); /* jnz loop */
	rel = (int32_t)(loop - c->len);
	memcpy(c->p + c->len - 4, &rel, 4);
	rel = (int32_t)(c->len - jz);
	memcpy(c->p + jz - 4, &rel, 4);
	EMIT(c, 0x4c, 0x89, 0xc0);       /* done: mov rax, r8 */
	EMIT(c, 0x5d, 0xc3);             /* pop rbp; ret */
	*size = c->len - start;
	/* int3 up to the next function, as V8 and HotSpot pad their code (at
	 * least FN_GAP bytes of it) */
	while ((c->len % FN_ALIGN || c->len - (start + *size) < FN_GAP) && c->len < c->cap)
		c->p[c->len++] = 0xcc;
	return (kernel_fn)(void *)(c->p + start);
}

/* ---- the workload */

static void __attribute__((noinline)) run_compiled(struct kernel *k, uint64_t budget_ns)
{
	uint64_t t0 = cpu_ns(), t;

	do {
		k->x = k->fn(k->x, CHUNK);
		t = cpu_ns();
	} while (t - t0 < budget_ns);
	k->ns += t - t0;
}

static uint64_t interp_ns;

static void __attribute__((noinline)) run_interpreted(struct kernel *k, uint64_t budget_ns)
{
	uint64_t t0 = cpu_ns(), t;

	do {
		k->x = interp_run(&k->e, k->x, CHUNK / 20);
		t = cpu_ns();
	} while (t - t0 < budget_ns);
	interp_ns += t - t0;
}

static double parse_seconds(const char *s)
{
	char *end;
	double v;

	if (!s || !*s)
		return 2.0;
	v = strtod(s, &end);
	if (*end || !(v > 0) || v > 3600)
		die("bad run time '%s' (seconds, e.g. 2 or 0.5)", s);
	return v;
}

int main(int argc, char **argv)
{
	double seconds = parse_seconds(argc > 1 ? argv[1] : getenv("JIT_SECONDS"));
	uint64_t round_ns = 50000000; /* shares hold even when the run is cut short */
	uint64_t total_ns = (uint64_t)(seconds * 1e9), spent = 0;
	struct kernel *tier0 = &kernels[NKERNELS - 1];
	uint64_t result = 0;
	struct code c;
	size_t i;

	setvbuf(stdout, NULL, _IOLBF, 0);
	/* The code area comes first, as in sljit or V8: its only system call is
	 * long past when the code is written into it. */
	c.p = mmap(NULL, AREA_SIZE, PROT_READ | PROT_WRITE | PROT_EXEC,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (c.p == MAP_FAILED)
		die("mmap of the code area: %s", strerror(errno));
	c.len = 0;
	c.cap = AREA_SIZE;

	printf("demo: a tiny expression JIT, pid %d, %.1f s of work\n", (int)getpid(), seconds);
	printf("demo: code area %p, %u KiB read-write-execute, mapped before any code existed\n",
	       (void *)c.p, AREA_SIZE / 1024);
	for (i = 0; i < NKERNELS; i++) {
		struct kernel *k = &kernels[i];

		parse(&k->e, k->src);
		k->x = 0x9e3779b97f4a7c15ull * (i + 1);
		/* tier 0 first, like an engine that compiles only what is hot */
		run_interpreted(k, 5000000);
		k->fn = compile(&c, &k->e, &k->size);
		if (k->fn(k->x, 1000) != interp_run(&k->e, k->x, 1000) || k->fn(k->x, 0) != k->x)
			die("compiled %s disagrees with the interpreter", k->name);
	}
	while (spent < total_ns) {
		uint64_t t0 = cpu_ns(), r = round_ns < total_ns - spent ? round_ns : total_ns - spent;

		for (i = 0; i < NKERNELS; i++)
			run_compiled(&kernels[i], r * kernels[i].share / 100);
		run_interpreted(tier0, r * INTERP_SHARE / 100);
		spent += cpu_ns() - t0;
	}
	printf("  %-9s %-52s %-14s %5s %6s\n", "kernel", "expression", "address", "bytes", "time");
	for (i = 0; i < NKERNELS; i++) {
		struct kernel *k = &kernels[i];

		printf("  %-9s %-52s %-14p %5zu %5.0f%%\n", k->name, k->src, (void *)k->fn, k->size,
		       spent ? 100.0 * (double)k->ns / (double)spent : 0.0);
		result ^= k->x;
	}
	printf("  %-9s %-52s %-14s %5s %5.0f%%\n", "tier 0", "(the interpreter, C code)", "", "",
	       spent ? 100.0 * (double)interp_ns / (double)spent : 0.0);
	printf("demo: done, result %016" PRIx64 "\n", result);
	return 0;
}
