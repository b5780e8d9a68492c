/* test_hotspot.c - HotSpot's compiled methods named from its own tables: a
 * fake JVM memory (tables, code heap, segment map, nmethods, metadata) laid
 * out as JDK 17 and as JDK 25 lay them out; bad memory yields no name, never
 * a fault. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hotspot.h"

/* ---- a fake address space ---- */

#define FAKE_BASE 0x7f0000000000ull
#define FAKE_SIZE (1u << 20)

struct fake {
	unsigned long reads;
	unsigned char *mem;
	uint64_t brk;
	uint64_t unreadable_from; /* reads at or past this stop (an unmapped page) */
};

static ssize_t fake_read(void *ctx, uint64_t addr, void *buf, size_t len)
{
	struct fake *f = ctx;
	uint64_t end = FAKE_BASE + FAKE_SIZE < f->unreadable_from ? FAKE_BASE + FAKE_SIZE : f->unreadable_from;

	f->reads++;
	if (addr < FAKE_BASE || addr >= end)
		return -EFAULT;
	if (len > end - addr)
		len = (size_t)(end - addr);
	memcpy(buf, f->mem + (addr - FAKE_BASE), len);
	return (ssize_t)len;
}

static uint64_t fake_alloc(struct fake *f, size_t size, size_t align)
{
	uint64_t a = (f->brk + align - 1) & ~(uint64_t)(align - 1);

	ck_assert_uint_le(a + size, FAKE_BASE + FAKE_SIZE);
	f->brk = a + size;
	return a;
}

static void *at(struct fake *f, uint64_t addr)
{
	return f->mem + (addr - FAKE_BASE);
}

static void w64(struct fake *f, uint64_t addr, uint64_t v) { memcpy(at(f, addr), &v, 8); }
static void w32(struct fake *f, uint64_t addr, uint32_t v) { memcpy(at(f, addr), &v, 4); }
static void w16(struct fake *f, uint64_t addr, uint16_t v) { memcpy(at(f, addr), &v, 2); }

static uint64_t fake_str(struct fake *f, const char *s)
{
	uint64_t a = fake_alloc(f, strlen(s) + 1, 1);

	memcpy(at(f, a), s, strlen(s) + 1);
	return a;
}

/* ---- the JVM's layout ---- */

struct layout {
	int jdk; /* 17 or 25 */
	uint32_t ga_len, ga_data, ch_memory, ch_segmap, ch_log2, vs_low, vs_high;
	uint32_t hb_size, hb_length, hb_used, hb_length_size;
	uint32_t cb_name, cb_code_begin, cb_code_end, cb_code_offset, cb_data_offset, nm_method;
	uint32_t m_const, cm_constants, cm_name, cm_sig, cp_holder, cp_size, k_name, sym_length, sym_body;
	uint32_t nm_entry_bci;
};

/* The offsets the two JDKs' tables give on this machine. */
static const struct layout jdk17 = { 17, 0, 8, 8, 120, 256, 16, 24, 16, 0, 8, 8, 96, 32, 40, 0, 0, 112,
				     8, 8, 34, 36, 24, 72, 24, 4, 6, 192 };
static const struct layout jdk25 = { 25, 0, 8, 0, 112, 248, 16, 24, 8, 0, 4, 4, 8, 0, 0, 36, 40, 80,
				     8, 8, 36, 38, 24, 72, 24, 4, 6, 156 };

/* VMStructEntry and VMTypeEntry as HotSpot lays them out. */
enum { SE_TYPE = 0, SE_FIELD = 8, SE_TSTR = 16, SE_STATIC = 24, SE_OFFSET = 32, SE_ADDR = 40, SE_STRIDE = 48 };
enum { TE_TYPE = 0, TE_SUPER = 8, TE_SIZE = 32, TE_STRIDE = 40 };

struct jvm {
	struct fake f;
	struct layout L;
	uint64_t ex[JP_HS_NEXPORTS];
	uint64_t heap_low, heap_high, segmap;
	uint64_t next_block; /* where the next block goes */
	uint64_t heaps_var;
	uint64_t nmethod_name, native_name, stub_name;
	uint64_t m_fib, m_wait;
	/* what the blocks hold */
	uint64_t fib_code, fib_end, wait_code, wait_end, big_code, big_end;
};

static void entry(struct jvm *j, uint64_t *e, const char *type, const char *field, const char *tstr, int is_static,
		  uint64_t off, uint64_t addr)
{
	uint64_t a = *e;

	w64(&j->f, a + SE_TYPE, fake_str(&j->f, type));
	w64(&j->f, a + SE_FIELD, fake_str(&j->f, field));
	w64(&j->f, a + SE_TSTR, tstr ? fake_str(&j->f, tstr) : 0);
	w32(&j->f, a + SE_STATIC, (uint32_t)is_static);
	w64(&j->f, a + SE_OFFSET, off);
	w64(&j->f, a + SE_ADDR, addr);
	*e += SE_STRIDE;
}

static void type_entry(struct jvm *j, uint64_t *e, const char *type, uint64_t size)
{
	w64(&j->f, *e + TE_TYPE, fake_str(&j->f, type));
	w64(&j->f, *e + TE_SIZE, size);
	*e += TE_STRIDE;
}

/* A Symbol at a fresh address. */
static uint64_t symbol(struct jvm *j, const char *s)
{
	uint64_t a = fake_alloc(&j->f, j->L.sym_body + strlen(s), 8);

	w16(&j->f, a + j->L.sym_length, (uint16_t)strlen(s));
	memcpy(at(&j->f, a + j->L.sym_body), s, strlen(s));
	return a;
}

/* A Method of class klass (a Klass made for it), its name and signature
 * at pool indexes at + 3 and at + 5. */
static uint64_t method_at(struct jvm *j, const char *klass, const char *name, const char *sig, unsigned at)
{
	const struct layout *L = &j->L;
	uint64_t k = fake_alloc(&j->f, 64, 8), cp = fake_alloc(&j->f, L->cp_size + 8 * (at + 8), 8);
	uint64_t cm = fake_alloc(&j->f, 64, 8), m = fake_alloc(&j->f, 88, 8);

	w64(&j->f, k + L->k_name, symbol(j, klass));
	w64(&j->f, cp + L->cp_holder, k);
	w64(&j->f, cp + L->cp_size + 8 * (at + 3), symbol(j, name));
	w64(&j->f, cp + L->cp_size + 8 * (at + 5), symbol(j, sig));
	w64(&j->f, cm + L->cm_constants, cp);
	w16(&j->f, cm + L->cm_name, (uint16_t)(at + 3));
	w16(&j->f, cm + L->cm_sig, (uint16_t)(at + 5));
	w64(&j->f, m + L->m_const, cm);
	return m;
}

static uint64_t method(struct jvm *j, const char *klass, const char *name, const char *sig)
{
	return method_at(j, klass, name, sig, 0);
}

#define LOG2_SEG 7
#define SEG (1u << LOG2_SEG)

/* A block of nseg segments at the heap's next place: marked in the segment
 * map as HotSpot does (0 at the block's first segment, then 1..0xfe over
 * and over), its header written.  Returns the blob's address. */
static uint64_t block(struct jvm *j, unsigned nseg, int used)
{
	const struct layout *L = &j->L;
	uint64_t b = j->next_block, idx = (b - j->heap_low) >> LOG2_SEG;

	for (unsigned s = 0; s < nseg; s++)
		((unsigned char *)at(&j->f, j->segmap))[idx + s] = s == 0 ? 0 : (unsigned char)((s - 1) % 0xfe + 1);
	if (L->hb_length_size == 8)
		w64(&j->f, b + L->hb_length, nseg);
	else
		w32(&j->f, b + L->hb_length, nseg);
	((unsigned char *)at(&j->f, b))[L->hb_used] = (unsigned char)used;
	j->next_block += (uint64_t)nseg * SEG;
	return b + L->hb_size;
}

/* A blob named name whose code is [code_off, end_off) from the blob. */
static void blob(struct jvm *j, uint64_t blob, uint64_t name, uint32_t code_off, uint32_t end_off, uint64_t m)
{
	const struct layout *L = &j->L;

	w64(&j->f, blob + L->cb_name, name);
	if (L->jdk == 17) {
		w64(&j->f, blob + L->cb_code_begin, blob + code_off);
		w64(&j->f, blob + L->cb_code_end, blob + end_off);
	} else {
		w32(&j->f, blob + L->cb_code_offset, code_off);
		w32(&j->f, blob + L->cb_data_offset, end_off);
	}
	if (m) {
		w64(&j->f, blob + L->nm_method, m);
		w32(&j->f, blob + L->nm_entry_bci, (uint32_t)-1);
	}
}

/* The whole JVM: tables, one code heap of 2048 segments holding a stub, a
 * method, a free block, a native method and a method of 600 segments
 * (its segment map needs several steps back), then free segments. */
static void build_jvm(struct jvm *j, const struct layout *L, const char *drop_field)
{
	uint64_t se, te, s0, t0, arr, data, heap;
	struct fake *f = &j->f;

	memset(j, 0, sizeof(*j));
	j->L = *L;
	f->mem = calloc(1, FAKE_SIZE);
	f->brk = FAKE_BASE + 4096; /* nothing at the first page: NULL-ish */
	f->unreadable_from = ~0ull;
	for (size_t i = 0; i < JP_HS_NEXPORTS; i++)
		j->ex[i] = fake_alloc(f, 8, 8);
	s0 = se = fake_alloc(f, SE_STRIDE * 64, 8);
	t0 = te = fake_alloc(f, TE_STRIDE * 16, 8);
	j->heaps_var = fake_alloc(f, 8, 8);
	/* the tables, with unrelated entries among those read */
	entry(j, &se, "Thread", "_next", "Thread*", 0, 8, 0);
	entry(j, &se, "CodeCache", "_heaps", "GrowableArray<CodeHeap*>*", 1, 0, j->heaps_var);
	entry(j, &se, "CodeCache", "_low_bound", "address", 1, 0, 0x1234);
	entry(j, &se, "GrowableArrayBase", "_len", "int", 0, L->ga_len, 0);
	entry(j, &se, "GrowableArray<int>", "_data", "int*", 0, L->ga_data, 0);
	entry(j, &se, "CodeHeap", "_memory", "VirtualSpace", 0, L->ch_memory, 0);
	entry(j, &se, "CodeHeap", "_segmap", "VirtualSpace", 0, L->ch_segmap, 0);
	entry(j, &se, "CodeHeap", "_log2_segment_size", "int", 0, L->ch_log2, 0);
	entry(j, &se, "VirtualSpace", "_low_boundary", "char*", 0, 0, 0);
	entry(j, &se, "VirtualSpace", "_low", "char*", 0, L->vs_low, 0);
	entry(j, &se, "VirtualSpace", "_high", "char*", 0, L->vs_high, 0);
	entry(j, &se, "HeapBlock", "_header", "HeapBlock::Header", 0, 0, 0);
	entry(j, &se, "HeapBlock::Header", "_length", L->hb_length_size == 8 ? "size_t" : "uint32_t", 0, L->hb_length, 0);
	entry(j, &se, "HeapBlock::Header", "_used", "bool", 0, L->hb_used, 0);
	entry(j, &se, "CodeBlob", "_name", "const char*", 0, L->cb_name, 0);
	if (L->jdk == 17) {
		entry(j, &se, "CodeBlob", "_code_begin", "address", 0, L->cb_code_begin, 0);
		entry(j, &se, "CodeBlob", "_code_end", "address", 0, L->cb_code_end, 0);
		entry(j, &se, "CompiledMethod", "_method", "Method*", 0, L->nm_method, 0);
	} else {
		entry(j, &se, "CodeBlob", "_code_offset", "int", 0, L->cb_code_offset, 0);
		entry(j, &se, "CodeBlob", "_data_offset", "int", 0, L->cb_data_offset, 0);
		entry(j, &se, "nmethod", "_method", "Method*", 0, L->nm_method, 0);
	}
	entry(j, &se, "nmethod", "_entry_bci", "int", 0, L->nm_entry_bci, 0);
	entry(j, &se, "Method", "_constMethod", "ConstMethod*", 0, L->m_const, 0);
	entry(j, &se, "ConstMethod", "_constants", "ConstantPool*", 0, L->cm_constants, 0);
	entry(j, &se, "ConstMethod", "_name_index", "u2", 0, L->cm_name, 0);
	entry(j, &se, "ConstMethod", "_signature_index", "u2", 0, L->cm_sig, 0);
	entry(j, &se, "ConstantPool", "_pool_holder", "InstanceKlass*", 0, L->cp_holder, 0);
	entry(j, &se, "Klass", "_name", "Symbol*", 0, L->k_name, 0);
	entry(j, &se, "Symbol", "_length", "u2", 0, L->sym_length, 0);
	entry(j, &se, "Symbol", drop_field && !strcmp(drop_field, "_body") ? "_bodyX" : "_body", NULL, 0,
	      L->sym_body, 0);
	/* the end: an entry of NULL type */
	type_entry(j, &te, "Thread", 400);
	type_entry(j, &te, "HeapBlock", L->hb_size);
	type_entry(j, &te, "ConstantPool", L->cp_size);
	type_entry(j, &te, "size_t", 8);
	type_entry(j, &te, "uint32_t", 4);
	{
		const uint64_t layout[JP_HS_NEXPORTS] = {
			[JP_HS_STRUCTS] = s0,		 [JP_HS_S_STRIDE] = SE_STRIDE, [JP_HS_S_TYPE] = SE_TYPE,
			[JP_HS_S_FIELD] = SE_FIELD,	 [JP_HS_S_TYPESTRING] = SE_TSTR, [JP_HS_S_STATIC] = SE_STATIC,
			[JP_HS_S_OFFSET] = SE_OFFSET,	 [JP_HS_S_ADDRESS] = SE_ADDR,  [JP_HS_TYPES] = t0,
			[JP_HS_T_STRIDE] = TE_STRIDE,	 [JP_HS_T_TYPE] = TE_TYPE,     [JP_HS_T_SIZE] = TE_SIZE,
		};

		for (size_t i = 0; i < JP_HS_NEXPORTS; i++)
			w64(f, j->ex[i], layout[i]);
	}
	/* the code heap and its segment map */
	j->heap_low = fake_alloc(f, 2048 * SEG, 4096);
	j->heap_high = j->heap_low + 2048 * SEG;
	j->segmap = fake_alloc(f, 2048, 4096);
	memset(at(f, j->segmap), 0xff, 2048);
	heap = fake_alloc(f, 512, 8);
	w64(f, heap + L->ch_memory + L->vs_low, j->heap_low);
	w64(f, heap + L->ch_memory + L->vs_high, j->heap_high);
	w64(f, heap + L->ch_segmap + L->vs_low, j->segmap);
	w32(f, heap + L->ch_log2, LOG2_SEG);
	data = fake_alloc(f, 8, 8);
	w64(f, data, heap);
	arr = fake_alloc(f, 16, 8);
	w32(f, arr + L->ga_len, 1);
	w64(f, arr + L->ga_data, data);
	w64(f, j->heaps_var, arr);
	j->nmethod_name = fake_str(f, "nmethod");
	j->native_name = fake_str(f, "native nmethod");
	j->stub_name = fake_str(f, "StubRoutines (1)");
	j->m_fib = method(j, "JavaWork", "fib", "(I)I");
	j->m_wait = method(j, "java/lang/Object", "wait", "(J)V");
	j->next_block = j->heap_low;
	{
		uint64_t b;

		b = block(j, 8, 1);
		blob(j, b, j->stub_name, 128, 900, 0);
		b = block(j, 4, 1);
		blob(j, b, j->nmethod_name, 352, 480, j->m_fib);
		j->fib_code = b + 352;
		j->fib_end = b + 480;
		b = block(j, 2, 0); /* free: whatever it held is gone */
		blob(j, b, j->nmethod_name, 128, 200, j->m_fib);
		b = block(j, 6, 1);
		blob(j, b, j->native_name, 352, 600, j->m_wait);
		j->wait_code = b + 352;
		j->wait_end = b + 600;
		b = block(j, 600, 1);
		blob(j, b, j->nmethod_name, 352, 600 * SEG - 64, j->m_fib);
		j->big_code = b + 352;
		j->big_end = b + 600 * SEG - 64;
		w32(f, b + L->nm_entry_bci, 17); /* compiled for on-stack replacement */
	}
}

static void free_jvm(struct jvm *j)
{
	free(j->f.mem);
}

struct seen {
	unsigned n;
	uint64_t addr[8], size[8];
	char name[8][JP_HOTSPOT_NAME];
	unsigned osr;
};

static void on_method(void *arg, uint64_t addr, uint64_t size, const char *name, int osr)
{
	struct seen *s = arg;

	s->osr += osr;
	if (s->n < 8) {
		s->addr[s->n] = addr;
		s->size[s->n] = size;
		strcpy(s->name[s->n], name);
	}
	s->n++;
}

static struct jp_hotspot hs; /* 280 KB: not on the stack */

static void check_whole_heap(const struct layout *L)
{
	struct jvm j;
	struct seen s = { 0 };

	build_jvm(&j, L, NULL);
	ck_assert_int_eq(jp_hotspot_init(&hs, fake_read, &j.f, j.ex, NULL, 0), 0);
	ck_assert_int_eq(jp_hotspot_methods_in(&hs, j.heap_low, j.heap_high, on_method, &s), 3);
	/* the stub and the free block are passed over */
	ck_assert_uint_eq(s.addr[0], j.fib_code);
	ck_assert_uint_eq(s.size[0], j.fib_end - j.fib_code);
	ck_assert_str_eq(s.name[0], "int JavaWork.fib(int)");
	ck_assert_uint_eq(s.addr[1], j.wait_code);
	ck_assert_str_eq(s.name[1], "void java.lang.Object.wait(long)");
	ck_assert_uint_eq(s.addr[2], j.big_code);
	ck_assert_uint_eq(s.size[2], j.big_end - j.big_code);
	ck_assert_str_eq(s.name[2], "int JavaWork.fib(int)");
	ck_assert_uint_eq(s.osr, 1); /* the big one only */
	/* A range deep inside the big method: the segment map is followed
	 * back over its 600 segments (3 steps). */
	memset(&s, 0, sizeof(s));
	ck_assert_int_eq(jp_hotspot_methods_in(&hs, j.big_code + 500 * SEG, j.big_code + 500 * SEG + 4096, on_method,
					       &s),
			 1);
	ck_assert_uint_eq(s.addr[0], j.big_code);
	/* a range touching only the stub and the method's header: nothing */
	memset(&s, 0, sizeof(s));
	ck_assert_int_eq(jp_hotspot_methods_in(&hs, j.heap_low, j.fib_code, on_method, &s), 0);
	/* the last byte of fib's code */
	ck_assert_int_eq(jp_hotspot_methods_in(&hs, j.fib_end - 1, j.fib_end, on_method, &s), 1);
	/* outside every heap */
	ck_assert_int_eq(jp_hotspot_methods_in(&hs, j.heap_high, j.heap_high + 4096, on_method, &s), -ENOENT);
	/* past the last block: free segments (0xff in the map) */
	memset(&s, 0, sizeof(s));
	ck_assert_int_eq(jp_hotspot_methods_in(&hs, j.heap_high - 4096, j.heap_high, on_method, &s), 0);
	free_jvm(&j);
}

START_TEST(test_jdk17_layout)
{
	check_whole_heap(&jdk17);
}
END_TEST

START_TEST(test_jdk25_layout)
{
	check_whole_heap(&jdk25);
}
END_TEST

/* A Method* reused for another method (class unloading) gets the new name:
 * the cache checks the ConstMethod* too. */
START_TEST(test_method_reused)
{
	struct jvm j;
	struct seen s = { 0 };
	uint64_t other;

	build_jvm(&j, &jdk17, NULL);
	ck_assert_int_eq(jp_hotspot_init(&hs, fake_read, &j.f, j.ex, NULL, 0), 0);
	ck_assert_int_eq(jp_hotspot_methods_in(&hs, j.fib_code, j.fib_end, on_method, &s), 1);
	ck_assert_str_eq(s.name[0], "int JavaWork.fib(int)");
	/* its pool entries far from the pool's start: read one by one */
	other = method_at(&j, "p/Q$R", "run", "([[Ljava/lang/String;Z)[J", 1000);
	w64(&j.f, j.m_fib + jdk17.m_const, *(uint64_t *)at(&j.f, other + jdk17.m_const));
	memset(&s, 0, sizeof(s));
	ck_assert_int_eq(jp_hotspot_methods_in(&hs, j.fib_code, j.fib_end, on_method, &s), 1);
	ck_assert_str_eq(s.name[0], "long[] p.Q$R.run(java.lang.String[][], boolean)");
	free_jvm(&j);
}
END_TEST

/* More kinds of stub than the table of blob names holds, all seen before
 * the first method: the method's blob name still gets a place, so a
 * method costs no read of its blob's name once seen. */
START_TEST(test_blob_names_full)
{
	struct jvm j;
	struct seen s = { 0 };
	uint64_t first, b, fib;
	unsigned long before, one, two;
	char nm[32];

	build_jvm(&j, &jdk17, NULL);
	first = j.next_block;
	for (int k = 0; k < JP_HOTSPOT_BLOB_NAMES + 8; k++) {
		snprintf(nm, sizeof(nm), "RuntimeStub - stub %d", k);
		b = block(&j, 2, 1);
		blob(&j, b, fake_str(&j.f, nm), 128, 200, 0);
	}
	b = block(&j, 4, 1);
	blob(&j, b, j.nmethod_name, 352, 480, j.m_wait);
	fib = b + 352;
	ck_assert_int_eq(jp_hotspot_init(&hs, fake_read, &j.f, j.ex, NULL, 0), 0);
	ck_assert_int_eq(jp_hotspot_methods_in(&hs, first, fib - 352, on_method, &s), 0);
	ck_assert_int_eq(jp_hotspot_methods_in(&hs, fib, fib + 1, on_method, &s), 1);
	before = j.f.reads;
	ck_assert_int_eq(jp_hotspot_methods_in(&hs, fib, fib + 1, on_method, &s), 1);
	one = j.f.reads - before;
	before = j.f.reads;
	ck_assert_int_eq(jp_hotspot_methods_in(&hs, fib, fib + 1, on_method, &s), 1);
	two = j.f.reads - before;
	/* the segment map, the block, the Method (its ConstMethod checked) */
	ck_assert_uint_eq(one, 3);
	ck_assert_uint_eq(two, 3);
	ck_assert_str_eq(s.name[0], "void java.lang.Object.wait(long)");
	free_jvm(&j);
}
END_TEST

START_TEST(test_missing_field)
{
	struct jvm j;
	char missing[128];

	build_jvm(&j, &jdk17, "_body");
	ck_assert_int_eq(jp_hotspot_init(&hs, fake_read, &j.f, j.ex, missing, sizeof(missing)), -ENOENT);
	ck_assert_str_eq(missing, "Symbol::_body");
	/* unreadable exports */
	j.ex[JP_HS_TYPES] = 8;
	ck_assert_int_eq(jp_hotspot_init(&hs, fake_read, &j.f, j.ex, NULL, 0), -EFAULT);
	/* a stride the entries cannot have */
	free_jvm(&j);
	build_jvm(&j, &jdk17, NULL);
	w64(&j.f, j.ex[JP_HS_S_STRIDE], 4);
	ck_assert_int_eq(jp_hotspot_init(&hs, fake_read, &j.f, j.ex, NULL, 0), -EINVAL);
	free_jvm(&j);
}
END_TEST

/* Memory that changes under us, or was never a JVM's: fewer names, no
 * fault (the ASan build reads past nothing), no endless walk. */
START_TEST(test_hostile_memory)
{
	struct jvm j;
	struct seen s = { 0 };
	unsigned seed = 12345;

	build_jvm(&j, &jdk17, NULL);
	ck_assert_int_eq(jp_hotspot_init(&hs, fake_read, &j.f, j.ex, NULL, 0), 0);
	/* a block length of zero stops the walk */
	w64(&j.f, j.fib_code - 352 - jdk17.hb_size + jdk17.hb_length, 0);
	ck_assert_int_eq(jp_hotspot_methods_in(&hs, j.heap_low, j.heap_high, on_method, &s), 0);
	w64(&j.f, j.fib_code - 352 - jdk17.hb_size + jdk17.hb_length, 4);
	/* a symbol with control bytes (freed memory) names nothing */
	{
		uint64_t cm = *(uint64_t *)at(&j.f, j.m_wait + jdk17.m_const);
		uint64_t cp = *(uint64_t *)at(&j.f, cm + jdk17.cm_constants);
		uint64_t sym = *(uint64_t *)at(&j.f, cp + jdk17.cp_size + 8 * 3);

		((char *)at(&j.f, sym + jdk17.sym_body))[1] = 1;
		memset(&s, 0, sizeof(s));
		ck_assert_int_eq(jp_hotspot_methods_in(&hs, j.wait_code, j.wait_end, on_method, &s), 0);
	}
	/* a Method* that points nowhere */
	w64(&j.f, j.fib_code - 352 + jdk17.nm_method, 0x10);
	ck_assert_int_eq(jp_hotspot_methods_in(&hs, j.fib_code, j.fib_end, on_method, &s), 0);
	/* the heap's end unreadable: the walk stops there */
	j.f.unreadable_from = j.big_code;
	ck_assert_int_ge(jp_hotspot_methods_in(&hs, j.heap_low, j.heap_high, on_method, &s), 0);
	j.f.unreadable_from = ~0ull;
	/* a segment map that loops (a step back of 0xfe from segment 3 of
	 * a heap of which it is the start) or points before the heap */
	((unsigned char *)at(&j.f, j.segmap))[3] = 0xfe;
	ck_assert_int_ge(jp_hotspot_methods_in(&hs, j.heap_low + 3 * SEG, j.heap_low + 4 * SEG, on_method, &s), 0);
	/* random bytes over the heap, its map and the metadata */
	for (int round = 0; round < 2000; round++) {
		for (int k = 0; k < 16; k++) {
			uint64_t off;

			seed = seed * 1103515245u + 12345u;
			off = (seed >> 8) % (j.f.brk - FAKE_BASE - 4096);
			j.f.mem[4096 + off] = (unsigned char)(seed >> 3);
		}
		ck_assert_int_ge(jp_hotspot_methods_in(&hs, j.heap_low, j.heap_high, on_method, &s), -ENOENT);
	}
	free_jvm(&j);
}
END_TEST

START_TEST(test_external_name)
{
	char buf[JP_HOTSPOT_NAME];
	struct {
		const char *klass, *method, *sig, *want;
	} ok[] = {
		{ "JavaWork", "fib", "(I)I", "int JavaWork.fib(int)" },
		{ "java/lang/Object", "<init>", "()V", "void java.lang.Object.<init>()" },
		{ "java/util/HashMap", "merge", "(Ljava/lang/Object;Ljava/lang/Object;Ljava/util/function/BiFunction;)Ljava/lang/Object;",
		  "java.lang.Object java.util.HashMap.merge(java.lang.Object, java.lang.Object, java.util.function.BiFunction)" },
		{ "A", "b", "([B[[CDFJSZ)[[Ljava/lang/String;", "java.lang.String[][] A.b(byte[], char[][], double, float, long, short, boolean)" },
	};
	const char *bad[] = { "", "I", "(I", "(I)", "(Q)V", "(L;)V", "(Ljava/lang/String)V", "([V)V", "(I)IJ", "(I)[" };

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		int n = jp_hotspot_external_name(buf, sizeof(buf), ok[i].klass, strlen(ok[i].klass), ok[i].method,
						 strlen(ok[i].method), ok[i].sig, strlen(ok[i].sig));

		ck_assert_int_eq(n, (int)strlen(ok[i].want));
		ck_assert_str_eq(buf, ok[i].want);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_int_eq(jp_hotspot_external_name(buf, sizeof(buf), "A", 1, "b", 1, bad[i], strlen(bad[i])),
				 -EINVAL);
	/* cut to the buffer, still terminated */
	ck_assert_int_eq(jp_hotspot_external_name(buf, 8, "JavaWork", 8, "fib", 3, "(I)I", 4), 7);
	ck_assert_str_eq(buf, "int Jav");
}
END_TEST

Suite *make_hotspot_suite(void)
{
	Suite *s = suite_create("hotspot");
	TCase *t = tcase_create("core");

	tcase_add_test(t, test_jdk17_layout);
	tcase_add_test(t, test_jdk25_layout);
	tcase_add_test(t, test_method_reused);
	tcase_add_test(t, test_blob_names_full);
	tcase_add_test(t, test_missing_field);
	tcase_add_test(t, test_hostile_memory);
	tcase_add_test(t, test_external_name);
	tcase_set_timeout(t, 60);
	suite_add_tcase(s, t);
	return s;
}
