/* gc_heap.c - a Scheme-like runtime whose whole heap is RWX: code objects among pairs, vectors, flonums and strings, moved by a copying collector.
 *
 * Some runtimes (a real Scheme among them) keep their whole heap
 * executable: dozens of RWX mappings of 12 KiB to 2 MiB, code objects (a
 * header word, a pointer to the code's name, then machine code) side by
 * side with the data the program allocates and rewrites all the time, and
 * a copying collector that moves everything live, code included, to fresh
 * segments and unmaps or reuses the old ones.  Almost every written byte
 * of that executable memory is data; the code that runs is a few KiB that
 * changes address at every collection.
 *
 * The mutator runs JIT functions (tests/jit/jitlib.h) by slices, and
 * between slices allocates lists of tagged pointers, flonums, strings and
 * vectors (most of it garbage soon), and rewrites slots of live objects.
 * When enough was allocated, the collector (Cheney) copies the roots --
 * code objects interleaved with a vector of live lists -- into a new
 * space made of new or reused segments, and lets the old space go
 * (segments of 1 MiB and more are unmapped, smaller ones kept for reuse
 * without being cleared).  Now and then a new function is compiled into
 * the heap.
 *
 * Each function's life at one address (between two collections) is one
 * JITFUNC line, hot=1 when it ran long enough there to be sampled.
 *
 * JIT_SECONDS (default 1.2): CPU seconds of hot code.  GC_HEAP_ALLOC_MB
 * (default 24): allocation between collections. */
#include "jitlib.h"

#define MAX_SEGS 4096
#define MAX_FREE 48
#define NFUNC_MAX 16        /* code objects, ever */
#define NFUNC_START 8       /* compiled at start */
#define HOT_SET 4           /* functions running between two collections */
#define NROOT 4096          /* slots of the live vector */
#define SLICE 0.004         /* CPU seconds of one hot slice */
#define HOT_MIN_NS 15000000 /* CPU time at one address that makes it hot=1 */
#define MAX_LIVES 4096

/* Tagged words: pointers are 16-aligned addresses with a tag in the low
 * bits, fixnums are shifted left by 3 (low bits 0). */
enum { TAG_PAIR = 1, TAG_OBJ = 7 };
enum { TY_PAIR = 0x16, TY_VECTOR = 0x26, TY_FLONUM = 0x36, TY_STRING = 0x46, TY_CODE = 0x56,
       TY_FWD = 0x66 };
#define CODE_OFF 16u        /* code object: header, name pointer, code */

struct seg {
	uint8_t *base;
	size_t size, used;
};

struct life {                /* one function at one address */
	struct jl_func f;
	unsigned fn;
};

static struct seg space[MAX_SEGS], fresh[MAX_FREE];
static unsigned nspace, nfresh;
static uint64_t roots_code[NFUNC_MAX];
static uint64_t root_vec;
static unsigned nfunc;
static struct life lives[MAX_LIVES];
static unsigned nlives, cur_life[NFUNC_MAX];
static uint64_t rng = 0x243f6a8885a308d3ull;
static size_t allocated, mapped_now, mapped_peak, nmapped, nunmapped, ngc;
static const size_t seg_sizes[] = { 12u << 10, 16u << 10, 32u << 10, 64u << 10, 128u << 10,
				    256u << 10, 512u << 10, 1u << 20, 2u << 20 };

static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static uint64_t hdr(unsigned type, size_t len)
{
	return (uint64_t)len << 8 | type;
}

static unsigned hdr_type(uint64_t h)
{
	return (unsigned)(h & 0xff);
}

static size_t hdr_len(uint64_t h)
{
	return (size_t)(h >> 8);
}

static uint64_t *obj(uint64_t p)
{
	return (uint64_t *)(uintptr_t)(p & ~(uint64_t)15);
}

static int is_ptr(uint64_t v)
{
	return (v & 7) == TAG_PAIR || (v & 7) == TAG_OBJ;
}

static size_t round16(size_t n)
{
	return (n + 15) & ~(size_t)15;
}

/* Bytes an object takes, from its header. */
static size_t obj_size(uint64_t h)
{
	switch (hdr_type(h)) {
	case TY_PAIR:
		return 32;
	case TY_VECTOR:
		return round16(8 + 8 * hdr_len(h));
	case TY_FLONUM:
		return 16;
	case TY_STRING:
		return round16(8 + hdr_len(h));
	case TY_CODE:
		return round16(CODE_OFF + hdr_len(h));
	}
	jl_die("bad header %#lx", (unsigned long)h);
}

static struct seg new_seg(size_t need)
{
	struct seg s = { 0, 0, 0 };
	unsigned i;

	for (i = 0; i < nfresh; i++)
		if (fresh[i].size >= need) {
			s = fresh[i];
			fresh[i] = fresh[--nfresh];
			s.used = 0;
			return s;
		}
	s.size = seg_sizes[rnd() % (sizeof(seg_sizes) / sizeof(seg_sizes[0]))];
	while (s.size < need)
		s.size *= 2;
	s.base = jl_mmap(NULL, s.size, PROT_READ | PROT_WRITE | PROT_EXEC,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	nmapped++;
	mapped_now += s.size;
	if (mapped_now > mapped_peak)
		mapped_peak = mapped_now;
	return s;
}

/* Bump allocation in the current space; a new segment when it is full. */
static uint64_t *alloc(size_t bytes)
{
	struct seg *s = nspace ? &space[nspace - 1] : NULL;
	uint64_t *p;

	bytes = round16(bytes);
	if (!s || s->size - s->used < bytes) {
		if (nspace == MAX_SEGS)
			jl_die("too many segments");
		space[nspace++] = new_seg(bytes);
		s = &space[nspace - 1];
	}
	p = (uint64_t *)(s->base + s->used);
	s->used += bytes;
	allocated += bytes;
	return p;
}

static uint64_t mk_pair(uint64_t car, uint64_t cdr)
{
	uint64_t *o = alloc(32);

	o[0] = hdr(TY_PAIR, 2);
	o[1] = car;
	o[2] = cdr;
	o[3] = 0;
	return (uint64_t)(uintptr_t)o | TAG_PAIR;
}

static uint64_t mk_flonum(double d)
{
	uint64_t *o = alloc(16);

	o[0] = hdr(TY_FLONUM, 1);
	memcpy(&o[1], &d, 8);
	return (uint64_t)(uintptr_t)o | TAG_OBJ;
}

static uint64_t mk_string(const char *s, size_t n)
{
	uint64_t *o = alloc(8 + n);

	o[0] = hdr(TY_STRING, n);
	memcpy(&o[1], s, n);
	return (uint64_t)(uintptr_t)o | TAG_OBJ;
}

static uint64_t mk_vector(size_t n, uint64_t fill)
{
	uint64_t *o = alloc(8 + 8 * n);
	size_t i;

	o[0] = hdr(TY_VECTOR, n);
	for (i = 0; i < n; i++)
		o[1 + i] = fill;
	return (uint64_t)(uintptr_t)o | TAG_OBJ;
}

static const char *const words[] = { "lambda", "define", "car", "cdr", "cons", "vector-ref",
				     "string-append", "call-with-current-continuation",
				     "let-values", "dynamic-wind", "hashtable-set!", "fold-left" };

/* A random datum: fixnum, flonum, string, small vector or nested pair. */
static uint64_t datum(unsigned depth)
{
	const char *w;

	switch (rnd() % 6) {
	case 0:
		return (rnd() % 100000) << 3;
	case 1:
		return mk_flonum((double)(rnd() % 1000000) / 7.0);
	case 2:
		w = words[rnd() % (sizeof(words) / sizeof(words[0]))];
		return mk_string(w, strlen(w));
	case 3:
		return mk_vector(1 + rnd() % 12, (rnd() % 64) << 3);
	default:
		return depth ? mk_pair(datum(depth - 1), 0) : mk_flonum(3.14159);
	}
}

static uint64_t mk_list(unsigned n)
{
	uint64_t l = 0;

	while (n--)
		l = mk_pair(datum(1), l);
	return l;
}

/* A code object: header (code length), the name as a heap string, then
 * the function's machine code at CODE_OFF, zeros up to 16 bytes. */
static uint64_t mk_code(uint32_t id)
{
	uint8_t tmp[JL_FN_MAX];
	char name[32];
	size_t n = jl_emit(tmp, id);
	uint64_t nm = mk_string(name, (size_t)snprintf(name, sizeof(name), "proc-%u", id));
	uint64_t *o = alloc(CODE_OFF + n);

	o[0] = hdr(TY_CODE, n);
	o[1] = nm;
	memset((uint8_t *)o + CODE_OFF, 0, round16(CODE_OFF + n) - CODE_OFF);
	memcpy((uint8_t *)o + CODE_OFF, tmp, n);
	return (uint64_t)(uintptr_t)o | TAG_OBJ;
}

static uint32_t fn_id(unsigned fn)
{
	return 900 + fn * 7;
}

/* Start a new life for function fn at its code object's current place. */
static void new_life(unsigned fn)
{
	struct life *l;
	char label[48];

	if (nlives == MAX_LIVES)
		jl_die("too many lives");
	l = &lives[nlives];
	memset(l, 0, sizeof(*l));
	snprintf(label, sizeof(label), "proc%u_gc%zu", fn, ngc);
	snprintf(l->f.label, sizeof(l->f.label), "%s", label);
	l->f.id = fn_id(fn);
	l->f.addr = (uintptr_t)obj(roots_code[fn]) + CODE_OFF;
	l->f.size = hdr_len(obj(roots_code[fn])[0]);
	l->fn = fn;
	cur_life[fn] = nlives++;
	jl_check(&l->f);
}

/* Copy one object into the new space (once; later visits find the
 * forwarding header). */
static uint64_t forward(uint64_t v)
{
	uint64_t *o, *n;
	size_t sz;

	if (!is_ptr(v) || !v)
		return v;
	o = obj(v);
	if (hdr_type(o[0]) == TY_FWD)
		return o[1] | (v & 15);
	sz = obj_size(o[0]);
	n = alloc(sz);
	memcpy(n, o, sz);
	o[0] = hdr(TY_FWD, 0);
	o[1] = (uint64_t)(uintptr_t)n;
	return (uint64_t)(uintptr_t)n | (v & 15);
}

static void scan_obj(uint64_t *o)
{
	size_t i, n;

	switch (hdr_type(o[0])) {
	case TY_PAIR:
		o[1] = forward(o[1]);
		o[2] = forward(o[2]);
		break;
	case TY_VECTOR:
		n = hdr_len(o[0]);
		for (i = 0; i < n; i++)
			o[1 + i] = forward(o[1 + i]);
		break;
	case TY_CODE:
		o[1] = forward(o[1]);
		break;
	}
}

static void release(struct seg *s)
{
	if (s->size < (1u << 20) && nfresh < MAX_FREE) {
		fresh[nfresh++] = *s;  /* reused later, old bytes and all */
		return;
	}
	if (munmap(s->base, s->size))
		jl_die("munmap: %s", strerror(errno));
	mapped_now -= s->size;
	nunmapped++;
}

/* Cheney: roots first (code interleaved with live data), then scan the
 * new space segment by segment, object by object. */
static void collect(void)
{
	static struct seg old[MAX_SEGS];
	unsigned nold = nspace, i, si;
	unsigned start = (unsigned)(rnd() % 64);

	memcpy(old, space, nspace * sizeof(space[0]));
	nspace = 0;
	ngc++;
	/* Some live data first, so code lands somewhere new each time.
	 * (Copied only: the old slots keep old pointers, which the scan of the
	 * copied vector resolves through the forwarding headers.) */
	for (i = 0; i < start; i++)
		(void)forward(obj(root_vec)[1 + i]);
	for (i = 0; i < nfunc; i++) {
		roots_code[i] = forward(roots_code[i]);
		(void)forward(obj(root_vec)[1 + start + i * 3]);
	}
	root_vec = forward(root_vec);
	for (si = 0; si < nspace; si++) {
		size_t off = 0;

		while (off < space[si].used) {
			uint64_t *o = (uint64_t *)(space[si].base + off);

			scan_obj(o);
			off += obj_size(o[0]);
		}
	}
	for (i = 0; i < nold; i++)
		release(&old[i]);
	for (i = 0; i < nfunc; i++)
		new_life(i);
}

/* Allocation and mutation between two hot slices: new lists replace live
 * ones (the old become garbage), slots of live objects are rewritten,
 * and short-lived temporaries. */
static void mutate(size_t bytes)
{
	size_t goal = allocated + bytes;

	while (allocated < goal) {
		uint64_t *v = obj(root_vec);
		unsigned slot = (unsigned)(rnd() % NROOT);
		uint64_t l;

		switch (rnd() % 4) {
		case 0:
			v[1 + slot] = mk_list(4 + (unsigned)(rnd() % 60));
			break;
		case 1:
			l = v[1 + slot];
			while (l && (l & 7) == TAG_PAIR) {
				obj(l)[1] = datum(0);
				l = obj(l)[2];
			}
			break;
		default:
			(void)mk_list(8 + (unsigned)(rnd() % 24));
			break;
		}
	}
}

static void run_slice(unsigned fn)
{
	struct life *l = &lives[cur_life[fn]];

	jl_run_for(&l->f, SLICE);
}

static void report(void)
{
	unsigned i;

	for (i = 0; i < nlives; i++)
		jl_report(&lives[i].f, lives[i].f.cpu_ns >= HOT_MIN_NS);
	printf("GCHEAP collections=%zu mapped=%zu unmapped=%zu peak_mb=%.1f segments_now=%u lives=%u functions=%u\n",
	       ngc, nmapped, nunmapped, mapped_peak / 1048576.0, nspace, nlives, nfunc);
}

int main(int argc, char **argv)
{
	double total = jl_seconds(1.2);
	const char *s = getenv("GC_HEAP_ALLOC_MB");
	size_t per_gc = (size_t)(s && *s ? atoi(s) : 24) << 20;
	uint64_t budget = (uint64_t)(total * 1e9), used = 0;
	size_t since = 0, per_slice;
	unsigned slice = 0, i;

	jl_init(argv[0]);
	if (per_gc < (1u << 20))
		jl_die("bad GC_HEAP_ALLOC_MB");
	/* Enough allocation per slice for a collection every ~25 slices. */
	per_slice = per_gc / 25;
	root_vec = mk_vector(NROOT, 0);
	for (i = 0; i < NROOT; i++)
		obj(root_vec)[1 + i] = mk_list(2 + (unsigned)(rnd() % 40));
	for (nfunc = 0; nfunc < NFUNC_START; nfunc++) {
		roots_code[nfunc] = mk_code(fn_id(nfunc));
		mutate(64 << 10);
	}
	for (i = 0; i < nfunc; i++)
		new_life(i);
	while (used < budget) {
		/* The hot set moves along the functions, one step a collection. */
		unsigned fn = (unsigned)((ngc + slice % HOT_SET) % nfunc);
		size_t before = allocated;

		run_slice(fn);
		mutate(per_slice);
		since += allocated - before;
		if (since >= per_gc) {
			collect();
			since = 0;
			if (ngc % 3 == 0 && nfunc < NFUNC_MAX) {
				roots_code[nfunc] = mk_code(fn_id(nfunc));
				nfunc++;
				new_life(nfunc - 1);
			}
		}
		slice++;
		used = 0;
		for (i = 0; i < nlives; i++)
			used += lives[i].f.cpu_ns;
	}
	report();
	return 0;
}
