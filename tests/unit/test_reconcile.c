/* test_reconcile.c - the reconciler driven with a fake sink: fake memory in,
 * recorded LOADs and MOVEs out; no engine, no fork of our own, no file. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "jitdump.h"
#include "known.h"
#include "reconcile.h"
#include "region.h"
#include "split.h"

#define BASE 0x7f1200000000ull /* fake: nothing is mapped there */
#define SIZE 0x4000u
#define CHUNK 0x1000u

static uint8_t mem[SIZE]; /* what the fake memory at BASE holds now */

struct load {
	uint64_t addr, ts, index, room;
	uint32_t len;
	int unwind;
	char name[128];
};

static struct {
	struct load load[64];
	int loads;
	uint64_t move_index[64], move_addr[64], move_new[64], move_ts[64];
	int moves;
	uint64_t next_index;
} out;

static struct jp_regions regs;
static struct jp_region *r;
static struct jp_reconciler rc;
static uint8_t *buf;

static ssize_t fake_read(void *ctx, uint64_t addr, void *dst, size_t len)
{
	ck_assert_ptr_eq(ctx, &out);
	if (addr < BASE || addr >= BASE + SIZE)
		return -1;
	if (len > BASE + SIZE - addr)
		len = BASE + SIZE - addr;
	memcpy(dst, mem + (addr - BASE), len);
	return (ssize_t)len;
}

static uint64_t fake_load(void *ctx, const struct jp_load_rec *l)
{
	struct load *d;

	ck_assert_int_lt(out.loads, 64);
	d = &out.load[out.loads++];
	d->addr = l->addr;
	d->len = l->len;
	d->ts = l->ts;
	d->unwind = l->unwind;
	d->room = l->room;
	strncpy(d->name, l->name, sizeof(d->name) - 1);
	/* The code handed over is the code in memory. */
	ck_assert_int_eq(memcmp(l->code, mem + (l->addr - BASE), l->len), 0);
	d->index = out.next_index++;
	return d->index;
}

static void fake_move(void *ctx, uint64_t index, uint64_t addr, uint64_t new_addr, uint32_t len, uint64_t ts)
{
	ck_assert_int_lt(out.moves, 64);
	out.move_index[out.moves] = index;
	out.move_addr[out.moves] = addr;
	out.move_new[out.moves] = new_addr;
	out.move_ts[out.moves] = ts;
	out.moves++;
}

static void setup(void)
{
	jp_hash_init();
	jp_known_reset();
	memset(&out, 0, sizeof(out));
	memset(mem, 0xcc, sizeof(mem)); /* int3 filler, as JITs leave it */
	memset(&regs, 0, sizeof(regs));
	ck_assert_int_eq(jp_regions_insert(&regs, BASE, BASE + SIZE, JP_RK_ANON), 0);
	r = &regs.r[0];
	buf = malloc(CHUNK);
	memset(&rc, 0, sizeof(rc));
	rc.sink.ctx = &out;
	rc.sink.read = fake_read;
	rc.sink.load = fake_load;
	rc.sink.move = fake_move;
	rc.fde = 1;
	ck_assert_int_eq(jp_reconciler_init(&rc, buf, CHUNK, 1024), 0);
}

static void teardown(void)
{
	jp_regions_clear(&regs);
	free(buf);
}

/* One pass over the whole fake region, as the engine runs it. */
static void pass(uint64_t now, uint64_t ts_new)
{
	out.loads = out.moves = 0;
	jp_reconcile(&rc, r, BASE, BASE + SIZE, now, ts_new);
}

/* push rbp; mov rbp,rsp; mov eax,k; pop rbp; ret (11 bytes). */
static size_t put_fn(size_t off, uint32_t k)
{
	static const uint8_t f[] = { 0x55, 0x48, 0x89, 0xe5, 0xb8, 0, 0, 0, 0, 0x5d, 0xc3 };

	memcpy(mem + off, f, sizeof(f));
	memcpy(mem + off + 5, &k, 4);
	return sizeof(f);
}

/* push rbp; mov rbp,rsp; add rax,1; call rel32 (out of the piece); pop
 * rbp; ret (15 bytes): the call target is past the first 8 bytes, so a
 * patch of it leaves the head alone, as LuaJIT's exit-branch patches do. */
static size_t put_caller(size_t off, int32_t rel)
{
	static const uint8_t f[] = { 0x55, 0x48, 0x89, 0xe5, 0x48, 0x83, 0xc0, 0x01, 0xe8, 0, 0, 0, 0, 0x5d, 0xc3 };

	memcpy(mem + off, f, sizeof(f));
	memcpy(mem + off + 9, &rel, 4);
	return sizeof(f);
}

/* push rbp; mov rbp,rsp; 12 x mov r9,imm64 (addresses, as JITs load
 * them: small immediates would make the piece half zeros, which
 * codeplausible.h takes for data); pop rbp; ret (126 bytes). */
static size_t put_long_fn(size_t off)
{
	size_t o = off;

	memcpy(mem + o, (uint8_t[]){ 0x55, 0x48, 0x89, 0xe5 }, 4);
	o += 4;
	for (uint64_t i = 0; i < 12; i++, o += 10) {
		memcpy(mem + o, (uint8_t[]){ 0x49, 0xb9 }, 2);
		memcpy(mem + o + 2, &(uint64_t){ 0x7f3a12345678 + i * 24 }, 8);
	}
	memcpy(mem + o, (uint8_t[]){ 0x5d, 0xc3 }, 2);
	return o + 2 - off;
}

/* SpiderMonkey re-protects a page at a time: a read of one page cuts a
 * function across the boundary where the read ends.  Reading the other
 * page must cut it again whole (head page first or tail page first; the
 * tail begins inside the immediate of a mov r9,imm64, junk
 * when read alone), and the table must hold the function alone. */
START_TEST(function_cut_where_a_read_ended_is_joined)
{
	for (int tail_first = 0; tail_first < 2; tail_first++) {
		uint64_t lo = tail_first ? BASE + 0x1000 : BASE, hi = lo + 0x1000;
		uint64_t lo2 = tail_first ? BASE : BASE + 0x1000, hi2 = lo2 + 0x1000;
		size_t len;

		teardown();
		setup();
		len = put_long_fn(0xfa0);
		ck_assert_uint_eq(len, 126);
		jp_reconcile(&rc, r, lo, hi, 1000, 500);
		out.loads = 0;
		jp_reconcile(&rc, r, lo2, hi2, 2000, 1001);
		ck_assert_int_ge(out.loads, 1);
		ck_assert_uint_eq(out.load[out.loads - 1].addr, BASE + 0xfa0);
		ck_assert_uint_eq(out.load[out.loads - 1].len, 126);
		ck_assert_uint_eq(r->nd, 1);
		ck_assert_uint_eq(r->d[0].addr, BASE + 0xfa0);
		ck_assert_uint_eq(r->d[0].len, 126);
		ck_assert_uint_eq(r->d[0].flags & (JP_PIECE_OPEN_START | JP_PIECE_OPEN_END), 0);
		/* read again: nothing new */
		pass(3000, 2001);
		ck_assert_int_eq(out.loads, 0);
	}
}
END_TEST

/* The bytes after a piece kept from an earlier pass are cut on their own,
 * from an address inside an 8-byte word.  Code written there later must
 * be found: with V8's metadata after a function (00 00 a1 04 ..., the
 * word before it a JitCode* to the splitter's header rule) the splitter
 * once went back before the window and found nothing in the rest of it,
 * and node lost pages of code for good (lib/split.c). */
START_TEST(code_after_a_kept_piece_ending_inside_a_word)
{
	static const uint8_t meta[] = { 0x00, 0x00, 0xa1, 0x04, 0x00, 0x00, 0x6c, 0x01,
					0x03, 0x2c, 0x02, 0x8c, 0x01, 0x04, 0x30, 0x02 };
	size_t end = 0x10f + put_fn(0x10f, 1);

	/* the function's last word, "5d c3" and the metadata's first six
	 * bytes, at 8 modulo 16 */
	ck_assert_uint_eq(end, 0x11a);
	memcpy(mem + end, meta, sizeof(meta));
	pass(1000, 500);
	ck_assert_int_ge(out.loads, 1);
	ck_assert_uint_eq(out.load[0].addr, BASE + 0x10f);
	put_fn(0x140, 2);
	put_fn(0x180, 3);
	pass(2000, 1001);
	ck_assert_int_eq(out.loads, 2);
	ck_assert_uint_eq(out.load[0].addr, BASE + 0x140);
	ck_assert_uint_eq(out.load[1].addr, BASE + 0x180);
}
END_TEST

START_TEST(new_code_is_dated_ts_new)
{
	put_fn(0x100, 1);
	put_fn(0x200, 2);
	pass(1000, 500);
	ck_assert_int_eq(out.loads, 2);
	ck_assert_uint_eq(out.load[0].addr, BASE + 0x100);
	ck_assert_uint_eq(out.load[0].len, 11);
	ck_assert_uint_eq(out.load[1].addr, BASE + 0x200);
	for (int i = 0; i < 2; i++) {
		ck_assert_uint_eq(out.load[i].ts, 500);
		ck_assert_int_eq(strncmp(out.load[i].name, "jit:unknown:", 12), 0);
	}
	ck_assert_str_ne(out.load[0].name, out.load[1].name);
	/* The table holds what was announced. */
	ck_assert_uint_eq(r->nd, 2);
	ck_assert_uint_eq(r->d[0].addr, BASE + 0x100);
	ck_assert_uint_eq(r->d[0].index, out.load[0].index);
	ck_assert_uint_eq(r->d[1].ts, 500);
	ck_assert_uint_eq(rc.patched, 0);
}
END_TEST

START_TEST(unchanged_piece_emits_nothing)
{
	put_fn(0x100, 1);
	pass(1000, 500);
	ck_assert_int_eq(out.loads, 1);
	pass(2000, 1001);
	ck_assert_int_eq(out.loads, 0);
	ck_assert_int_eq(out.moves, 0);
	ck_assert_uint_eq(r->nd, 1);
	ck_assert_uint_eq(r->d[0].ts, 500);
}
END_TEST

START_TEST(appended_neighbour_leaves_the_piece_alone)
{
	put_fn(0x100, 1);
	pass(1000, 500);
	put_fn(0x200, 2);
	pass(2000, 1001);
	ck_assert_int_eq(out.loads, 1);
	ck_assert_uint_eq(out.load[0].addr, BASE + 0x200);
	ck_assert_uint_eq(out.load[0].ts, 1001);
	ck_assert_uint_eq(r->nd, 2);
}
END_TEST

START_TEST(patched_branch_target_keeps_its_load)
{
	uint64_t index;

	put_caller(0x100, 0x1000);
	pass(1000, 500);
	ck_assert_int_eq(out.loads, 1);
	index = out.load[0].index;
	/* The JIT links the call elsewhere: same extent, same name. */
	put_caller(0x100, 0x2340);
	pass(2000, 1001);
	ck_assert_int_eq(out.loads, 0);
	ck_assert_uint_eq(rc.patched, 1);
	ck_assert_uint_eq(r->nd, 1);
	ck_assert_uint_eq(r->d[0].index, index);
	ck_assert_uint_eq(r->d[0].len, 15);
	ck_assert_uint_eq(r->d[0].ts, 500);
	/* The table now holds the patched bytes: nothing more to say. */
	pass(3000, 2001);
	ck_assert_int_eq(out.loads, 0);
	ck_assert_uint_eq(rc.patched, 1);
	/* Patched again: compared with the piece as it stands. */
	put_caller(0x100, -0x500);
	pass(4000, 3001);
	ck_assert_int_eq(out.loads, 0);
	ck_assert_uint_eq(rc.patched, 2);
}
END_TEST

/* BEAM emits mov rcx,0x7fffffffffffffff and patches the pointer in later
 * (HotSpot's inline caches start as mov rax,-1): the fingerprint leaves
 * both the placeholder and the pointer out, so the piece keeps its LOAD. */
START_TEST(placeholder_patched_to_a_pointer_keeps_its_load)
{
	/* push rbp; mov rbp,rsp; add rax,1; mov rcx,imm64; add rax,rcx; pop
	 * rbp; ret (the patch past the first 8 bytes, as BEAM's are) */
	static const uint8_t f[] = { 0x55, 0x48, 0x89, 0xe5, 0x48, 0x83, 0xc0, 0x01, 0x48, 0xb9, 0, 0, 0, 0, 0, 0,
				     0, 0, 0x48, 0x01, 0xc8, 0x5d, 0xc3 };
	const uint64_t placeholder = 0x7fffffffffffffffull, ptr = 0x00007ff518289dc8ull, small = 0x5d1b;
	uint64_t index;

	memcpy(mem + 0x100, f, sizeof(f));
	memcpy(mem + 0x10a, &placeholder, 8);
	pass(1000, 500);
	ck_assert_int_eq(out.loads, 1);
	index = out.load[0].index;
	memcpy(mem + 0x10a, &ptr, 8);
	pass(2000, 1001);
	ck_assert_int_eq(out.loads, 0);
	ck_assert_uint_eq(rc.patched, 1);
	ck_assert_uint_eq(r->d[0].index, index);
	/* A value that is no pointer is other code: described again, dated
	 * now; what ran there since the previous pass is not known (other
	 * code of the same extent, PCRE2's next pattern of one template, may
	 * have come and gone), which a ...:replaced LOAD says. */
	memcpy(mem + 0x10a, &small, 8);
	pass(3000, 2001);
	ck_assert_int_eq(out.loads, 2);
	ck_assert_str_eq(out.load[0].name, "jit:unknown:replaced");
	ck_assert_uint_eq(out.load[0].ts, 2001);
	ck_assert_uint_eq(out.load[1].ts, 3000);
	ck_assert_str_ne(out.load[1].name, "jit:unknown:replaced");
}
END_TEST

/* HotSpot's patches mostly change a pointer, which the shape does not
 * forgive: once the shape seldom settles a check, the fingerprint is asked
 * first (its walk gives the shape too), with the same answers. */
START_TEST(patch_checks_ask_the_fingerprint_first_when_the_shape_seldom_settles)
{
	static const uint8_t f[] = { 0x55, 0x48, 0x89, 0xe5, 0x48, 0x83, 0xc0, 0x01, 0x48, 0xb9, 0, 0, 0, 0, 0, 0,
				     0, 0, 0x48, 0x01, 0xc8, 0x5d, 0xc3 };
	const uint64_t ptr = 0x00007ff518289dc8ull, small = 0x5d1b;

	memcpy(mem + 0x100, f, sizeof(f));
	memcpy(mem + 0x10a, &ptr, 8);
	put_caller(0x200, 0x1000);
	pass(1000, 500);
	ck_assert_int_eq(out.loads, 2);
	for (int i = 1; i <= 20; i++) {
		uint64_t other = ptr + 0x1000 * (uint64_t)i; /* never the first again */

		memcpy(mem + 0x10a, &other, 8);
		pass(1000 + 10 * (uint64_t)i, 1001 + 10 * (uint64_t)i);
		ck_assert_int_eq(out.loads, 0);
	}
	ck_assert_uint_eq(rc.patched, 20);
	ck_assert_uint_eq(rc.checks, 20);
	ck_assert_uint_eq(rc.by_shape, 0);
	/* Now fingerprint first: a branch patch is still settled (and
	 * counted as one the shape would have settled)... */
	put_caller(0x200, 0x2340);
	pass(2000, 1999);
	ck_assert_int_eq(out.loads, 0);
	ck_assert_uint_eq(rc.patched, 21);
	ck_assert_uint_eq(rc.by_shape, 1);
	/* ...and other code is described again, dated now (after the
	 * ...:replaced LOAD for the time since the previous pass). */
	memcpy(mem + 0x10a, &small, 8);
	pass(3000, 2001);
	ck_assert_int_eq(out.loads, 2);
	ck_assert_uint_eq(out.load[1].addr, BASE + 0x100);
	ck_assert_uint_eq(out.load[1].ts, 3000);
}
END_TEST

START_TEST(trimmed_head_when_code_is_written_below)
{
	/* A piece whose first instruction is stale: mov eax,1; add rax,1 x8; ret. */
	static const uint8_t add1[] = { 0x48, 0x83, 0xc0, 0x01 };
	/* New code, written just below it, ends over that first instruction
	 * (LuaJIT writes traces downwards, back to back). */
	static const uint8_t below[] = { 0x55, 0x48, 0x89, 0xe5, 0x48, 0x83, 0xc0, 0x01, 0x48, 0x83, 0xc0, 0x01,
					 0x48, 0x83, 0xc0, 0x01, 0x48, 0x83, 0xc0, 0x01, 0x48, 0x83, 0xc0, 0x01,
					 0x48, 0x83, 0xc0, 0x01, 0x5d, 0xc3 };
	size_t p = 0x100, at = p + 5 - sizeof(below);
	uint64_t index;

	mem[p] = 0xb8;
	memset(mem + p + 1, 0, 4);
	mem[p + 1] = 1;
	for (int i = 0; i < 8; i++)
		memcpy(mem + p + 5 + 4 * i, add1, 4);
	mem[p + 37] = 0xc3;
	pass(1000, 500);
	ck_assert_int_eq(out.loads, 1);
	ck_assert_uint_eq(out.load[0].len, 38);
	index = out.load[0].index;

	memcpy(mem + at, below, sizeof(below));
	pass(2000, 1001);
	/* One LOAD, for the new code, dated now (it replaced announced
	 * bytes); the rest of the old piece keeps its LOAD. */
	ck_assert_int_eq(out.loads, 1);
	ck_assert_uint_eq(out.load[0].addr, BASE + at);
	ck_assert_uint_eq(out.load[0].len, sizeof(below));
	ck_assert_uint_eq(out.load[0].ts, 2000);
	ck_assert_uint_eq(rc.patched, 1);
	ck_assert_uint_eq(r->nd, 2);
	ck_assert_uint_eq(r->d[1].addr, BASE + p + 5);
	ck_assert_uint_eq(r->d[1].len, 33);
	ck_assert_uint_eq(r->d[1].index, index);
	ck_assert_uint_eq(r->d[1].ts, 500);
	pass(3000, 2001);
	ck_assert_int_eq(out.loads, 0);
}
END_TEST

START_TEST(published_name_renames_dated_after_what_it_supersedes)
{
	put_fn(0x100, 1);
	pass(1000, 500);
	ck_assert_int_eq(out.loads, 1);
	ck_assert_int_eq(jp_known_add(BASE + 0x100, 11, "Lua::trace 7"), 1);
	pass(2000, 1001);
	ck_assert_int_eq(out.loads, 1);
	ck_assert_str_eq(out.load[0].name, "Lua::trace 7");
	ck_assert_uint_eq(out.load[0].addr, BASE + 0x100);
	ck_assert_uint_eq(out.load[0].ts, 501);
	ck_assert_uint_ne(r->d[0].nhash, 0);
	/* Announced under that name: nothing more. */
	pass(3000, 2001);
	ck_assert_int_eq(out.loads, 0);
}
END_TEST

START_TEST(published_name_with_its_own_boundaries)
{
	put_fn(0x100, 1);
	put_fn(0x10b, 2); /* back to back: the splitter cuts at the prologue */
	ck_assert_int_eq(jp_known_add(BASE + 0x100, 0x16, "both"), 1);
	pass(1000, 500);
	ck_assert_int_eq(out.loads, 1);
	ck_assert_str_eq(out.load[0].name, "both");
	ck_assert_uint_eq(out.load[0].len, 0x16);
	/* the output analyses it, but a published extent says nothing of
	 * the bytes after it: no room for unwinding data */
	ck_assert_int_eq(out.load[0].unwind, JP_UNWIND_AUTO);
	ck_assert_uint_eq(out.load[0].room, 0);
}
END_TEST

/* A published name whose frame is not what the code's first byte implies
 * (HotSpot's on-stack-replacement methods): named, with the empty table;
 * the same name and extent without the flag is a change. */
START_TEST(published_name_without_unwinding)
{
	put_fn(0x100, 1);
	ck_assert_int_eq(jp_known_add_flags(BASE + 0x100, 11, "int W.loop(int)", JP_KNOWN_NO_UNWIND), 1);
	pass(1000, 500);
	ck_assert_int_eq(out.loads, 1);
	ck_assert_str_eq(out.load[0].name, "int W.loop(int)");
	ck_assert_int_eq(out.load[0].unwind, JP_UNWIND_EMPTY);
	ck_assert_int_eq(jp_known_add_flags(BASE + 0x100, 11, "int W.loop(int)", JP_KNOWN_NO_UNWIND), 0);
	ck_assert_int_eq(jp_known_add(BASE + 0x100, 11, "int W.loop(int)"), 1);
	ck_assert_uint_eq(jp_known_flags(jp_known_lower(BASE + 0x100)), 0);
}
END_TEST

/* Other code over announced bytes, written with no call (a code GC or
 * PCRE2 reusing freed space): its LOAD is dated now, and what ran there
 * since the previous pass is not known, which a ...:replaced LOAD dated
 * just after that pass says. */
START_TEST(rewritten_in_place_is_dated_now)
{
	put_fn(0x100, 1);
	pass(1000, 500);
	memset(mem + 0x100, 0x90, 11);
	mem[0x100] = 0x48;
	mem[0x101] = 0x31;
	mem[0x102] = 0xc0; /* xor rax,rax */
	mem[0x103] = 0xc3;
	memset(mem + 0x104, 0xcc, 7);
	pass(2000, 1001);
	ck_assert_int_eq(out.loads, 2);
	ck_assert_uint_eq(out.load[0].addr, BASE + 0x100);
	ck_assert_uint_eq(out.load[0].len, 4);
	ck_assert_uint_eq(out.load[0].ts, 1001);
	ck_assert_str_eq(out.load[0].name, "jit:unknown:replaced");
	ck_assert_int_eq(out.load[0].unwind, JP_UNWIND_EMPTY);
	ck_assert_uint_eq(out.load[1].addr, BASE + 0x100);
	ck_assert_uint_eq(out.load[1].ts, 2000);
	ck_assert_str_ne(out.load[1].name, "jit:unknown:replaced");
	ck_assert_uint_eq(rc.patched, 0);
	ck_assert_uint_eq(rc.rewritten, 1);
	ck_assert_uint_eq(rc.replaced, 1);
	ck_assert_uint_eq(r->nd, 1);
	ck_assert_uint_eq(r->d[0].len, 4);
	ck_assert_uint_eq(r->d[0].ts, 2000);
}
END_TEST

/* The same, but the region was made executable since the previous pass
 * (W^X: the code could not run before that call): no ...:replaced LOAD,
 * nor for code no pass has a date for. */
START_TEST(rewritten_after_an_exec_grant_is_only_dated_now)
{
	put_fn(0x100, 1);
	pass(1000, 500);
	r->last_scan_ts = 990;
	r->last_event_ts = 1500;
	memset(mem + 0x100, 0xcc, 11);
	mem[0x100] = 0x48;
	mem[0x101] = 0x31;
	mem[0x102] = 0xc0;
	mem[0x103] = 0xc3;
	pass(2000, 1501);
	ck_assert_int_eq(out.loads, 1);
	ck_assert_uint_eq(out.load[0].ts, 2000);
	ck_assert_uint_eq(rc.replaced, 0);
	/* ts_new at now: no time between the passes to account for */
	r->last_event_ts = 0;
	put_fn(0x100, 2);
	pass(3000, 3000);
	ck_assert_int_eq(out.loads, 1);
	ck_assert_uint_eq(rc.replaced, 0);
}
END_TEST

START_TEST(data_pieces_are_skipped)
{
	/* An allocator header between code: no ret/jmp, short. */
	static const uint8_t hdr[] = { 0x48, 0x89, 0xc1, 0x48, 0x89, 0xc1, 0x48, 0x89, 0xc1 };

	memcpy(mem + 0x100, hdr, sizeof(hdr));
	put_fn(0x200, 1);
	pass(1000, 500);
	ck_assert_int_eq(out.loads, 1);
	ck_assert_uint_eq(out.load[0].addr, BASE + 0x200);
	ck_assert_uint_eq(r->nd, 1);
}
END_TEST

START_TEST(room_for_unwinding_data)
{
	/* A data piece (never announced) counts as room too. */
	static const uint8_t hdr[] = { 0x48, 0x89, 0xc1, 0x48, 0x89, 0xc1, 0x48, 0x89, 0xc1 };

	put_fn(0x100, 1);      /* int3 filler after it: room */
	put_fn(0x200, 2);      /* followed at once by another function */
	put_fn(0x20b, 3);
	memcpy(mem + 0x240, hdr, sizeof(hdr)); /* between 3 and 4 */
	put_fn(0x300, 4);
	pass(1000, 500);
	ck_assert_int_eq(out.loads, 4);
	for (int i = 0; i < 4; i++)
		ck_assert_int_eq(out.load[i].unwind, JP_UNWIND_AUTO);
	ck_assert_uint_eq(out.load[0].room, 0x200 - 0x10b);
	ck_assert_uint_eq(out.load[1].room, 0);
	ck_assert_uint_eq(out.load[2].room, 0x300 - 0x216);
}
END_TEST

/* HotSpot's metadata a little after a method: no ret before a byte that
 * is no instruction (06), so no LOAD, and the method before it may put its
 * unwinding data over it. */
START_TEST(junk_after_a_method_is_room)
{
	static const uint8_t junk[] = { 0x48, 0x89, 0xc1, 0x48, 0x89, 0xc1, 0x48, 0x89, 0xc1, 0xd3, 0x04, 0x10,
					0xd2, 0x01, 0x06, 0xd3, 0x04, 0x10, 0x48, 0x89, 0xc1, 0x48, 0x89, 0xc1,
					0x48, 0x89, 0xc1, 0x48, 0x89, 0xc1, 0x48, 0x89, 0xc1, 0x48, 0x89, 0xc1,
					0x48, 0x89, 0xc1, 0x48, 0x89, 0xc1, 0xc3 };

	put_fn(0x100, 1);
	memcpy(mem + 0x140, junk, sizeof(junk)); /* after int3 filler */
	put_fn(0x200, 2);
	pass(1000, 500);
	ck_assert_int_eq(out.loads, 2);
	ck_assert_uint_eq(out.load[0].addr, BASE + 0x100);
	ck_assert_uint_eq(out.load[0].room, 0x200 - 0x10b);
	ck_assert_uint_eq(out.load[1].addr, BASE + 0x200);
}
END_TEST

START_TEST(no_fde_when_switched_off)
{
	rc.fde = 0;
	put_fn(0x100, 1);
	pass(1000, 500);
	ck_assert_int_eq(out.loads, 1);
	ck_assert_int_eq(out.load[0].unwind, JP_UNWIND_EMPTY);
	ck_assert_uint_eq(r->d[0].flags, 0);
}
END_TEST

START_TEST(dates_never_after_now)
{
	/* ts_new past now (a clock read before the pass): capped. */
	put_fn(0x100, 1);
	pass(1500, 2000);
	ck_assert_int_eq(out.loads, 1);
	ck_assert_uint_eq(out.load[0].ts, 1500);
	/* A rename in the same nanosecond: just after the superseded LOAD
	 * would be after now; now it is. */
	ck_assert_int_eq(jp_known_add(BASE + 0x100, 11, "f"), 1);
	pass(1500, 1500);
	ck_assert_int_eq(out.loads, 1);
	ck_assert_uint_eq(out.load[0].ts, 1500);
}
END_TEST

START_TEST(dates_never_before_the_floor)
{
	/* The reconciler dates only from ts_new (the caller's floor), now,
	 * and just after an earlier LOAD: never earlier. */
	put_fn(0x100, 1);
	pass(1000, 700);
	put_fn(0x200, 2);
	ck_assert_int_eq(jp_known_add(BASE + 0x100, 11, "g"), 1);
	pass(2000, 1200);
	ck_assert_int_eq(out.loads, 2);
	for (int i = 0; i < out.loads; i++)
		ck_assert_uint_ge(out.load[i].ts, 701);
	ck_assert_uint_eq(out.load[0].ts, 701);
	ck_assert_uint_eq(out.load[1].ts, 1200);
}
END_TEST

START_TEST(range_inside_a_piece_reconciles_it_whole)
{
	put_caller(0x1f8, 0x1000); /* crosses into the page at 0x200 */
	pass(1000, 500);
	ck_assert_int_eq(out.loads, 1);
	put_caller(0x1f8, 0x3000);
	out.loads = 0;
	jp_reconcile(&rc, r, BASE + 0x200, BASE + 0x300, 2000, 1001);
	ck_assert_int_eq(out.loads, 0);
	ck_assert_uint_eq(rc.patched, 1);
	ck_assert_uint_eq(r->nd, 1);
	ck_assert_uint_eq(r->d[0].addr, BASE + 0x1f8);
}
END_TEST

START_TEST(piece_across_a_chunk_boundary_is_read_whole)
{
	/* CHUNK is 4 KiB here: a function straddling 0x1000 is left to the
	 * next step, not cut.  (Only when the chunk holds another piece: a
	 * lone piece longer than a chunk is cut there.) */
	size_t n;

	put_fn(0x100, 1);
	n = put_fn(0xffa, 2);
	pass(1000, 500);
	ck_assert_int_eq(out.loads, 2);
	ck_assert_uint_eq(out.load[1].addr, BASE + 0xffa);
	ck_assert_uint_eq(out.load[1].len, n);
}
END_TEST

/* A chunk larger than the decode memo holds is read in steps the memo
 * covers; the pieces are what they are with any step: one LOAD per
 * function, whole, the one across a step's end included. */
#define BIG_BASE 0x7f1300000000ull
#define BIG_SIZE (512u * 1024u)
static uint8_t *big;
static unsigned big_loads, big_bad, big_straddle;

static ssize_t big_read(void *ctx, uint64_t addr, void *dst, size_t len)
{
	if (addr < BIG_BASE || addr >= BIG_BASE + BIG_SIZE)
		return -1;
	if (len > BIG_BASE + BIG_SIZE - addr)
		len = BIG_BASE + BIG_SIZE - addr;
	memcpy(dst, big + (addr - BIG_BASE), len);
	return (ssize_t)len;
}

static uint64_t big_load(void *ctx, const struct jp_load_rec *l)
{
	/* every function starts 64-aligned (plus 11 for the one moved
	 * across the step boundary) and is 11 bytes */
	if (l->len != 11 || memcmp(l->code, big + (l->addr - BIG_BASE), l->len) != 0)
		big_bad++;
	big_straddle += l->addr == BIG_BASE + 0x20000 - 5;
	return big_loads++;
}

START_TEST(large_chunk_in_memo_sized_steps)
{
	static const uint8_t f[] = { 0x55, 0x48, 0x89, 0xe5, 0xb8, 0, 0, 0, 0, 0x5d, 0xc3 };
	struct jp_regions t = { 0 };
	struct jp_reconciler big_rc;
	uint8_t *b = malloc(1u << 20);
	unsigned nf = 0;

	big = malloc(BIG_SIZE);
	ck_assert(big && b);
	memset(big, 0xcc, BIG_SIZE);
	for (uint32_t off = 0; off + 64 <= BIG_SIZE; off += 64, nf++) {
		/* one function straddles 128 KiB, where a step ends */
		uint32_t at = off == 0x20000 ? 0x20000 - 5 : off;

		/* mov eax,k: some values of k look like the top of an address
		 * to the splitter; one value for all */
		memcpy(big + at, f, sizeof(f));
		big[at + 5] = 7;
	}
	ck_assert_int_eq(jp_regions_insert(&t, BIG_BASE, BIG_BASE + BIG_SIZE, JP_RK_ANON), 0);
	memset(&big_rc, 0, sizeof(big_rc));
	big_rc.sink.read = big_read;
	big_rc.sink.load = big_load;
	big_rc.sink.move = fake_move;
	ck_assert_int_eq(jp_reconciler_init(&big_rc, b, 1u << 20, 16384), 0);
	big_loads = big_bad = big_straddle = 0;
	jp_reconcile(&big_rc, &t.r[0], BIG_BASE, BIG_BASE + BIG_SIZE, 1000, 500);
	ck_assert_uint_eq(big_bad, 0);
	ck_assert_uint_eq(big_straddle, 1);
	ck_assert_uint_eq(big_loads, nf);
	ck_assert_uint_eq(t.r[0].nd, nf);
	/* the last step's decodes all fit in the memo (40,000 instructions
	 * in one step would not) */
	ck_assert_uint_gt(big_rc.memo.cap, 0);
	ck_assert_uint_lt(big_rc.memo.n, big_rc.memo.cap);
	/* unchanged: nothing more */
	jp_reconcile(&big_rc, &t.r[0], BIG_BASE, BIG_BASE + BIG_SIZE, 2000, 1001);
	ck_assert_uint_eq(big_loads, nf);
	jp_regions_clear(&t);
	free(big);
	free(b);
}
END_TEST

/* More pieces in one chunk than the reconciler has room for (BEAM packs
 * ten thousand small ones into a few MiB): every one is still announced,
 * in the same pass, and none twice. */
START_TEST(more_pieces_than_room_in_one_step)
{
	static uint8_t small_buf[CHUNK];
	struct jp_reconciler small;

	memset(&small, 0, sizeof(small));
	small.sink = rc.sink;
	small.fde = 1;
	ck_assert_int_eq(jp_reconciler_init(&small, small_buf, CHUNK, 4), 0);
	for (uint32_t i = 0; i < 10; i++)
		put_fn(0x100 + 0x20 * i, i);
	out.loads = 0;
	jp_reconcile(&small, r, BASE, BASE + SIZE, 1000, 500);
	ck_assert_int_eq(out.loads, 10);
	for (int i = 0; i < 10; i++)
		ck_assert_uint_eq(out.load[i].addr, BASE + 0x100 + 0x20 * (uint64_t)i);
	ck_assert_uint_eq(r->nd, 10);
	out.loads = 0;
	jp_reconcile(&small, r, BASE, BASE + SIZE, 2000, 1500);
	ck_assert_int_eq(out.loads, 0);
}
END_TEST

START_TEST(reannounce_moves_every_piece_in_place)
{
	put_fn(0x100, 1);
	put_fn(0x200, 2);
	pass(1000, 500);
	out.moves = 0;
	jp_reconcile_reannounce(&rc, r, 3000);
	ck_assert_int_eq(out.moves, 2);
	for (int i = 0; i < 2; i++) {
		ck_assert_uint_eq(out.move_addr[i], out.move_new[i]);
		ck_assert_uint_eq(out.move_ts[i], 3000);
		ck_assert_uint_eq(out.move_index[i], r->d[i].index);
	}
}
END_TEST

START_TEST(unwritten_load_is_announced_again)
{
	/* The writer could not write (JP_NO_INDEX): next pass tries again. */
	put_fn(0x100, 1);
	out.next_index = JP_NO_INDEX;
	pass(1000, 500);
	ck_assert_int_eq(out.loads, 1);
	out.next_index = 7;
	pass(2000, 1001);
	ck_assert_int_eq(out.loads, 1);
	ck_assert_uint_eq(r->d[0].index, 7);
}
END_TEST

Suite *make_reconcile_suite(void)
{
	Suite *s = suite_create("reconcile");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, new_code_is_dated_ts_new);
	tcase_add_test(tc, function_cut_where_a_read_ended_is_joined);
	tcase_add_test(tc, code_after_a_kept_piece_ending_inside_a_word);
	tcase_add_test(tc, unchanged_piece_emits_nothing);
	tcase_add_test(tc, appended_neighbour_leaves_the_piece_alone);
	tcase_add_test(tc, patched_branch_target_keeps_its_load);
	tcase_add_test(tc, placeholder_patched_to_a_pointer_keeps_its_load);
	tcase_add_test(tc, patch_checks_ask_the_fingerprint_first_when_the_shape_seldom_settles);
	tcase_add_test(tc, large_chunk_in_memo_sized_steps);
	tcase_add_test(tc, trimmed_head_when_code_is_written_below);
	tcase_add_test(tc, published_name_renames_dated_after_what_it_supersedes);
	tcase_add_test(tc, published_name_with_its_own_boundaries);
	tcase_add_test(tc, published_name_without_unwinding);
	tcase_add_test(tc, rewritten_in_place_is_dated_now);
	tcase_add_test(tc, rewritten_after_an_exec_grant_is_only_dated_now);
	tcase_add_test(tc, data_pieces_are_skipped);
	tcase_add_test(tc, room_for_unwinding_data);
	tcase_add_test(tc, junk_after_a_method_is_room);
	tcase_add_test(tc, no_fde_when_switched_off);
	tcase_add_test(tc, dates_never_after_now);
	tcase_add_test(tc, dates_never_before_the_floor);
	tcase_add_test(tc, range_inside_a_piece_reconciles_it_whole);
	tcase_add_test(tc, piece_across_a_chunk_boundary_is_read_whole);
	tcase_add_test(tc, more_pieces_than_room_in_one_step);
	tcase_add_test(tc, reannounce_moves_every_piece_in_place);
	tcase_add_test(tc, unwritten_load_is_announced_again);
	suite_add_tcase(s, tc);
	return s;
}
