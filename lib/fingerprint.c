/* fingerprint.c - position-independent code hash: decode, normalise, XXH3. */
#include "fingerprint.h"

#include <string.h>

#include "insn.h"
#include "split.h"

/* Inlined rather than linked: one shared library fewer loaded into every
 * host, and the streaming functions get inlined into the loop below. */
#define XXH_INLINE_ALL
#include <xxhash.h>

int jp_fingerprint_looks_like_pointer(uint64_t v)
{
	unsigned top = (unsigned)(v >> 48);

	/* NaN-boxed pointers: SpiderMonkey and JSC put a tag in the top 16
	 * bits over a 48-bit address; LuaJIT's GC64 TValues put the type
	 * (itype << 47) over a 47-bit address, so bit 47 belongs to the tag.
	 * Either way the address is below 2^47.  0xffff is left alone: small
	 * negative numbers live there. */
	if (top >= 0xfff8 && top <= 0xfffe)
		return (v & 0x00007fffffffffffull) >= 0x10000;
	return top == 0 && v >= 0x10000 && v < 0x800000000000ull;
}

int jp_fingerprint_placeholder(uint64_t v)
{
	return v == UINT64_MAX || v == (uint64_t)INT64_MAX;
}

/* An absolute 64-bit value the fingerprint leaves out. */
static int masked_abs(uint64_t v)
{
	return jp_fingerprint_looks_like_pointer(v) || jp_fingerprint_placeholder(v);
}

/* ---- internal branches ---------------------------------------------------
 * Branches inside the piece are hashed as distances in instructions, in one
 * decoding pass:
 * - backward: a bitmap of where instructions started (one bit per byte for
 *   the first FP_MAP_BYTES bytes, as long as the longest piece split.c
 *   emits) and the number of starts before each 64-byte word give the
 *   target's index;
 * - forward: the branch's record says only "forward"; the branch waits in a
 *   heap ordered by (target, branch index), and when the decode reaches the
 *   target a label record says how many instructions back the branch was
 *   (and whether the target was an instruction start or fell inside one).
 *   More than FP_PENDING waiting branches: the rest are hashed as "forward,
 *   unresolved" -- still the same for the same code. */
#define FP_MAP_BYTES (64u * 1024u)
#define FP_MAP_WORDS (FP_MAP_BYTES / 64u)
#define FP_PENDING 256u

struct branches {
	uint64_t bit[FP_MAP_WORDS];
	uint16_t before[FP_MAP_WORDS]; /* starts in words [0, w): < 2^16 */
	size_t words;                  /* words initialised */
	uint64_t heap[FP_PENDING];     /* target << 32 | branch index */
	unsigned npending;
};

/* Note an instruction (number n) starting at pos. */
static void mark_start(struct branches *b, size_t pos, uint32_t n)
{
	size_t w = pos / 64;

	if (pos >= FP_MAP_BYTES)
		return;
	while (b->words <= w) {
		b->bit[b->words] = 0;
		b->before[b->words++] = (uint16_t)n;
	}
	b->bit[w] |= 1ull << (pos % 64);
}

/* off < pos of the instruction being hashed, so its word is initialised. */
static int is_start(const struct branches *b, size_t off)
{
	return b->bit[off / 64] >> (off % 64) & 1;
}

static uint32_t starts_before(const struct branches *b, size_t off)
{
	uint64_t below = b->bit[off / 64] & ((1ull << (off % 64)) - 1);

	return b->before[off / 64] + (uint32_t)__builtin_popcountll(below);
}

static void heap_push(struct branches *b, uint64_t key)
{
	unsigned i = b->npending++;

	while (i > 0 && b->heap[(i - 1) / 2] > key) {
		b->heap[i] = b->heap[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	b->heap[i] = key;
}

static uint64_t heap_pop(struct branches *b)
{
	uint64_t top = b->heap[0], last = b->heap[--b->npending];
	unsigned i = 0, n = b->npending;

	for (;;) {
		unsigned c = 2 * i + 1;

		if (c >= n)
			break;
		if (c + 1 < n && b->heap[c + 1] < b->heap[c])
			c++;
		if (b->heap[c] >= last)
			break;
		b->heap[i] = b->heap[c];
		i = c;
	}
	if (n)
		b->heap[i] = last;
	return top;
}

/* ---- two 32-bit halves -----------------------------------------------------
 * A 64-bit value stored as mov dword [m],lo; mov dword [m+4],hi (in either
 * order), the way LuaJIT writes a constant TValue to a stack slot. */
struct store32 {
	int ok;
	uint8_t imm_off;
	uint32_t imm;
	int64_t disp;
};

/* Is in (at p) mov dword [mem], imm32?  Fills *s. */
static void store32_of(const uint8_t *p, const struct jp_insn *in, struct store32 *s)
{
	unsigned end = jp_insn_store_imm32(p, in);
	int32_t d32 = 0;

	s->ok = 0;
	if (!end)
		return;
	if (in->disp_size == 1)
		d32 = (int8_t)p[in->disp_off];
	else if (in->disp_size == 4)
		memcpy(&d32, p + in->disp_off, 4);
	s->ok = 1;
	s->disp = d32;
	s->imm_off = (uint8_t)end;
	memcpy(&s->imm, p + end, 4);
}

/* Same memory operand but for the displacement (and its size)? */
static int same_base(const uint8_t *a, const struct jp_insn *ia, const uint8_t *b,
		     const struct jp_insn *ib)
{
	unsigned m = ia->modrm_off, i;

	if (m != ib->modrm_off)
		return 0;
	for (i = 0; i < m; i++)
		if (a[i] != b[i])
			return 0;
	if ((a[m] & 0x3f) != (b[m] & 0x3f))
		return 0;
	/* mod 00 with r/m 101 is RIP-relative, not a base register */
	if ((a[m] >> 6 == 0) != (b[m] >> 6 == 0) && (a[m] & 7) == 5)
		return 0;
	if ((a[m] & 7) == 4) { /* SIB; base 101 with mod 00: no base */
		if (a[m + 1] != b[m + 1])
			return 0;
		if ((a[m] >> 6 == 0) != (b[m] >> 6 == 0) && (a[m + 1] & 7) == 5)
			return 0;
	}
	return 1;
}

/* Two halves of a pointer?  Stricter than for an imm64: the high half must
 * be non-zero, or two 32-bit fields (a length and a zero) would pass. */
static int pair_is_pointer(uint32_t lo, uint32_t hi)
{
	return hi && jp_fingerprint_looks_like_pointer((uint64_t)hi << 32 | lo);
}

/* ---- code addresses in 32-bit immediates ----------------------------------
 * Code placed below 4 GiB (Mono maps its code with MAP_32BIT) refers to
 * other code by 32-bit absolute addresses: mov r32,imm32 (Mono's
 * trampolines load their target into r11d).  Where that area lands changes
 * every run.  An imm32 within 64 MiB of the instruction's own address is
 * such an address.  Returns the immediate's offset in the instruction, or
 * 0. */
static unsigned code_address_imm32(const uint8_t *p, unsigned ilen, uint64_t at)
{
	unsigned o = 0;
	uint32_t v;

	if (at >= (1ull << 32))
		return 0;
	if ((p[0] & 0xf0) == 0x40) {
		if (p[0] & 8)
			return 0; /* REX.W B8+r is mov r64,imm64: masked as a pointer */
		o = 1;
	}
	if (ilen != o + 5 || (p[o] & 0xf8) != 0xb8)
		return 0;
	memcpy(&v, p + o + 1, 4);
	if (v < 0x10000 || (v > at ? v - at : at - v) >= (1u << 26))
		return 0;
	return o + 1;
}

/* ---- normalised records ----------------------------------------------------
 * Each instruction becomes one record: a header byte (the record's length;
 * 0 for one undecodable byte, which follows it), then the instruction's bytes
 * with
 *  - the displacement removed and ModRM.mod cleared (memory operands differ
 *    only by displacement: [rax], [rax+8] and [rax+0x1000] are the same), an
 *    addressing-form byte appended instead;
 *  - a relative field (branch target or RIP-relative address) removed and a
 *    target code appended: leaves the piece, backward by so many
 *    instructions, or forward (resolved by a label record at the target);
 *    short branches written as their near form;
 *  - 64-bit immediates and two-halves stores that look like pointers zeroed,
 *    and 64-bit immediates that are a JIT's placeholder for one.
 * Records are at most 1 + 15 + 1 + 1 + 5 bytes; label records 6. */
#define REC_MAX 24
#define REC_SLACK 16
#define CHUNK 512
#define LABEL 0xfe
#define INLINE_PTR 0xfd

enum form { FORM_NONE = 0, FORM_BASE = 1, FORM_RIP = 2, FORM_NOBASE = 3 };
enum target {
	TGT_OUT = 0,       /* leaves the piece */
	TGT_BACK = 1,      /* an earlier instruction start */
	TGT_BACK_INSIDE,   /* inside an earlier instruction */
	TGT_FAR,           /* backward beyond the start map of a huge input */
	TGT_FWD,           /* forward: see the label record */
	TGT_FWD_LOST,      /* forward, too many waiting */
};

static size_t record(uint8_t *r, const uint8_t *p, const struct jp_insn *in, size_t pos,
		     size_t len, struct branches *br, uint32_t n, unsigned mask_imm_off)
{
	uint8_t *b = r + 1; /* the instruction, edited in place */
	size_t o;
	unsigned cut = 0, cut_len = 0, form = FORM_NONE;

	if (pos + 16 <= len)
		memcpy(b, p, 16); /* one fixed-size move; the bytes past in->len are overwritten or ignored */
	else
		memcpy(b, p, in->len);
	o = 1 + in->len;
	if (in->abs_size && masked_abs(jp_insn_abs(p, in)))
		memset(b + in->abs_off, 0, in->abs_size);
	if (mask_imm_off)
		memset(b + mask_imm_off, 0, 4);
	if (in->modrm_off && (b[in->modrm_off] >> 6) != 3) {
		unsigned mod = b[in->modrm_off] >> 6, rm = b[in->modrm_off] & 7;
		/* A SIB byte only where the instruction has one: MOV to or
		 * from a control register ignores mod and has none (reading
		 * past it made the fingerprint depend on stale memory). */
		int sib = rm == 4 && in->modrm_off + 1u < in->len;

		if (mod == 0 && rm == 5)
			form = FORM_RIP;
		else if (mod == 0 && sib && (b[in->modrm_off + 1] & 7) == 5)
			form = FORM_NOBASE;
		else
			form = FORM_BASE;
		b[in->modrm_off] &= 0x3f;
	}
	if (in->disp_size) {
		cut = in->disp_off;
		cut_len = in->disp_size;
	} else if (in->rel_size) {
		cut = in->rel_off;
		cut_len = in->rel_size;
	}
	if (cut_len) {
		/* one fixed-size move (what lies past the record is
		 * overwritten or not hashed); the caller's buffer has
		 * REC_SLACK bytes of room past the longest record for it */
		memmove(b + cut, b + cut + cut_len, 16);
		o -= cut_len;
	}
	/* jcc rel8 -> 0F 8x, jmp rel8 -> E9: the encoding picked for a
	 * distance is not identity (a rel8 is the last byte, so the opcode
	 * now ends the record) */
	if (in->rel_is_branch && in->rel_size == 1) {
		uint8_t op = r[o - 1];

		if ((op & 0xf0) == 0x70) {
			r[o - 1] = 0x0f;
			r[o++] = (uint8_t)(0x80 | (op & 15));
		} else if (op == 0xeb) {
			r[o - 1] = 0xe9;
		}
	}
	if (form)
		r[o++] = (uint8_t)form;
	if (in->rel_size) {
		/* computed on offsets so a piece near the top of the address
		 * space cannot wrap */
		int64_t t = (int64_t)(pos + in->len) + in->rel;
		uint32_t v = 0;
		uint8_t cls;

		/* Call sites a runtime re-links while the code runs, at times
		 * that vary from run to run, hash as leaving the piece
		 * whatever their target is now:
		 * - a branch to itself: HotSpot's static call stub is
		 *   mov rbx,<Method*>; jmp . until the call is first resolved,
		 *   then the jmp goes to the callee (outside);
		 * - a call rel32: HotSpot's inline caches call the resolver
		 *   (outside), the method's own to-interpreter stub (inside)
		 *   or the compiled callee (outside), by the callee's state;
		 * - a jmp rel32 to the next instruction: a jump nothing needs
		 *   but as a place to patch.  QEMU's goto_tb is jmp +0 until
		 *   the next block is chained to it, then jumps there
		 *   (outside); which blocks are chained when we read them
		 *   changed 3-5 % of its samples' names. */
		if (t < 0 || (uint64_t)t >= len ||
		    (in->rel_is_branch &&
		     ((size_t)t == pos || (in->rel_size == 4 && (p[in->rel_off - 1] == 0xe8 ||
								 (p[in->rel_off - 1] == 0xe9 && in->rel == 0)))))) {
			cls = TGT_OUT;
		} else if ((size_t)t <= pos) {
			if ((size_t)t >= FP_MAP_BYTES) {
				cls = TGT_FAR;
			} else {
				cls = is_start(br, (size_t)t) ? TGT_BACK : TGT_BACK_INSIDE;
				v = n - starts_before(br, (size_t)t);
			}
		} else if ((uint64_t)t <= UINT32_MAX && br->npending < FP_PENDING) {
			cls = TGT_FWD;
			heap_push(br, (uint64_t)t << 32 | n);
		} else {
			cls = TGT_FWD_LOST;
		}
		r[o++] = cls;
		memcpy(r + o, &v, 4);
		o += 4;
	}
	r[0] = (uint8_t)(o - 1);
	return o;
}

/* A label: the branch from instruction k lands here (n), at an instruction
 * start or inside the previous instruction. */
static size_t label(uint8_t *r, uint64_t key, size_t pos, uint32_t n)
{
	uint32_t v = n - (uint32_t)key;

	r[0] = LABEL;
	r[1] = (key >> 32) == pos;
	memcpy(r + 2, &v, 4);
	return 6;
}

/* What data lib/split.c keeps after this instruction: 2 after a call rel32
 * (as the splitter's prev_call), 1 after one that never falls through, 0
 * otherwise. */
static int after_of(const uint8_t *p, unsigned ilen, const struct jp_insn *in)
{
	if (!ilen)
		return 0;
	if (p[0] == 0xe8)
		return 2;
	return in->kind == JP_INSN_TERM;
}

/* ---- a verified entry made not entrant -------------------------------------
 * HotSpot stops new calls into a method it makes not entrant (deoptimised,
 * replaced, unloaded) by writing jmp rel32 to its handle_wrong_method stub
 * over the method's verified entry (NativeJump::patch_verified_entry, on
 * an 8-byte boundary): the first 5 bytes of the instruction there, which
 * HotSpot makes 5 bytes or longer for that.  On x86-64 it is 7 bytes (C1,
 * C2 and native wrappers): the stack bang mov [rsp-N],eax, or, in a
 * method without one, sub rsp,imm32 even for a frame that fits an imm8.
 * The entry follows the inline-cache check's NOP padding, or the end of
 * the relocation data (zero bytes) when the piece starts with that, or
 * starts the piece.
 * Whether a capture came before or after the patch changed the name of
 * the same code, from run to run (0.3-10 points of HotSpot's lowest pair
 * of three runs, 3.7 on average over 18 sets) and within one run (a second
 * LOAD under another name; 8-26 % of the samples were on such methods).
 * It must be done here and not only in the capture: a run that first
 * reads the method after the patch has only the jump to go by.
 * So the 7 bytes hash as one record in both states: the two bytes the
 * patch leaves (the bang's top bytes 0xf0-0xff 0xff, the frame's zero
 * high half) and nothing of the first five, neither the original's low
 * bytes (bang distance, frame size) nor the jump's target; decoding goes
 * on after them, where the original's next instruction starts.  The forms
 * are narrow so that other code keeps what tells it apart: only right
 * after padding or at the piece's start (sub rsp,imm32 only after
 * padding: Mono and SpiderMonkey start functions with it, for frames of
 * 128 bytes or more), the jump's target outside the piece, those two
 * bytes after it.  A false match loses the low bytes of one immediate, or
 * of a jump target left out anyway, and decodes on from 2 bytes later.
 * ctx: 0 in the middle of code, 1 at the piece's start, 2 after padding.
 * Returns the record's length (ENTRY_LEN) or 0. */
#define ENTRY_LEN 7u
#define ENTRY 0xfc
#define ENTRY_PAD 0xfb

static unsigned patchable_entry(const uint8_t *code, size_t pos, size_t len, int ctx)
{
	const uint8_t *q = code + pos;
	int bang_tail, frame_tail;

	if (!ctx || pos + ENTRY_LEN > len)
		return 0;
	/* the top two bytes of -N, N up to 1 MiB (HotSpot bangs 20 pages);
	 * of a frame under 64 KiB */
	bang_tail = q[5] >= 0xf0 && q[6] == 0xff;
	frame_tail = !q[5] && !q[6] && ctx == 2;
	if (q[0] == 0x89 && q[1] == 0x84 && q[2] == 0x24)
		return bang_tail ? ENTRY_LEN : 0;
	if (q[0] == 0x48 && q[1] == 0x81 && q[2] == 0xec)
		return frame_tail ? ENTRY_LEN : 0;
	if (q[0] == 0xe9 && (bang_tail || frame_tail)) {
		int32_t rel;
		int64_t t;

		memcpy(&rel, q + 1, 4);
		t = (int64_t)pos + 5 + rel;
		if (t < 0 || (uint64_t)t >= len)
			return ENTRY_LEN;
	}
	return 0;
}

/* Zero bytes at pos, at most 8, then an entry (the end of the relocation
 * data, where decoding it ran over the zeros into the entry: 05 90 0c 64
 * 00 | 00 | 89 84 24 ...).  Returns how many, or 0.  Looked for before
 * decoding at pos, in both states alike: what precedes the entry is the
 * same. */
static unsigned zeros_before_entry(const uint8_t *code, size_t pos, size_t len)
{
	unsigned k = 0;

	while (k < 8 && pos + k < len && !code[pos + k])
		k++;
	return k && patchable_entry(code, pos + k, len, 2) ? k : 0;
}

/* What starts at pos: an entry (ENTRY_LEN), zero bytes before one (1-8,
 * *zeros set), or neither (0).  prev_len and prev_kind: the instruction
 * decoded before pos (prev_len 0: none, or a record of these); after a NOP
 * or after zero bytes (add [rax],al, with a prefix byte before it where
 * the decoding of the relocation data ran into them) is after padding.
 * Looked at only where maybe_entry() says an entry or zeros could start
 * (00, e9, REX.W 81, 89 84): the loops pay a table look-up an instruction
 * (together with the records, about 4 % more instructions executed for the
 * fingerprint of HotSpot, Mono, gjs and QEMU pieces, under callgrind). */
static const uint8_t entry_byte[256] = { [0x00] = 1, [0x48] = 0x81, [0x89] = 0x84, [0xe9] = 1 };

static inline int maybe_entry(const uint8_t *code, size_t pos, size_t len)
{
	unsigned e = entry_byte[code[pos]];

	return e && (e == 1 || (pos + 1 < len && code[pos + 1] == e));
}

static unsigned entry_at(const uint8_t *code, size_t pos, size_t len, unsigned prev_len, unsigned prev_kind,
			 int *zeros)
{
	*zeros = !code[pos];
	if (*zeros)
		return zeros_before_entry(code, pos, len);
	if (!pos)
		return patchable_entry(code, pos, len, 1);
	/* code[pos - 2] is in the piece: an instruction ending in a zero
	 * byte is 2 bytes or longer (00 /r needs its ModRM) */
	if (prev_len && (prev_kind == JP_INSN_NOP || (prev_len <= 3 && !code[pos - 1] && !code[pos - 2])))
		return patchable_entry(code, pos, len, 2);
	return 0;
}

/* The entry's bytes in the shape: as they are, a jump's target zeroed. */
static const struct jp_insn entry_jmp = { .len = ENTRY_LEN, .rel_is_branch = 1, .rel_off = 1, .rel_size = 4 };
static const struct jp_insn entry_insn = { .len = ENTRY_LEN };

struct jp_fp_work {
	XXH3_state_t st;
	XXH3_state_t shape; /* the bytes, relative branch targets zeroed */
	struct branches br;
	uint8_t copy[JP_SPLIT_MAX_PIECE]; /* a piece with its pointer words zeroed */
	uint16_t edit[JP_SPLIT_MAX_PIECE / 8]; /* where: offsets of the zeroed words, increasing */
	uint32_t nedit, cur;                   /* how many; the first that may lie at or after the reader */
};

/* ---- pointer words ---------------------------------------------------------
 * 8-byte aligned words holding a heap or mmap address (jp_split_runtime_word)
 * are data kept among the code: QEMU's TranslationBlock between translated
 * blocks, literal pools.  Their value changes every run and, decoded as
 * instructions, so does everything up to where decoding re-synchronises.
 * The fingerprint reads such a piece with those words zeroed: the same in
 * every run, whatever the addresses.
 *
 * The shape of such an address (top half 0x00005500-0x000056ff or
 * 0x00007e00-0x00007fff) is also that of an instruction's last four bytes
 * when they are a small field: lea r8,[r14+0x7e88] (LuaJIT's offsets into
 * its global state), jne +0x7f94 or jmp +0x55d0 (exits far down the mcode
 * area), and r12d,0x7fff (QEMU).  Such a field lands in the top half of an
 * aligned word in one run of eight or so, as the code's address mod 8
 * changes from run to run; zeroing it then changed the decoding and so the
 * name of the piece (LuaJIT: 90 % of a run's samples renamed at once).  So
 * a word whose top half is exactly the tail of an instruction the decoding
 * of the bytes as they are reaches (the walk fp_core makes: ends with the
 * word, starts before its top half, and has four or more bytes past its
 * opcode, ModRM and SIB: displacement, immediate or branch distance) is
 * code and stays, where the decoding ran into the word as code
 * (keep_code_words).  A real pointer's random low bytes decode into such
 * an instruction now and then (QEMU: 60 62 00 bf 42 56 00 00 is (bad)
 * (bad) add [rdi+0x5642],bh; after add byte [rax-0x7f7f7f80],0x80 it is
 * and byte [rax+0x62],0; mov edi,0x5642), but a TranslationBlock's words
 * follow a jump and padding, or fields whose zero bytes decode as 00 /r,
 * not code that runs into them.  Ten sets of three QEMU runs
 * fingerprinted again kept exactly their names; the first version of
 * this rule, without that condition, lost 6 % of them.
 * (A mov r64,imm64 whose immediate is the word is zeroed, as before: it
 * is masked as a pointer when its record is made, the same record.) */
static int field_tail(const uint8_t *p, unsigned ilen, const struct jp_insn *in)
{
	unsigned m = in->modrm_off;

	if (ilen < 5)
		return 0;
	if (!m) /* jcc/jmp/call rel32; not mov r32,imm32 (B8+r), which data decodes into */
		return in->rel_size == 4 && in->rel_off + 4u == ilen;
	return m + 1u + ((p[m] & 7) == 4 && (p[m] >> 6) != 3) + 4u <= ilen;
}

/* An instruction code runs through: not a NOP, int3, jump or return, no
 * undecodable byte, and not 00 /r (add r/m8,r8: what zero bytes decode
 * as). */
static int ordinary(const uint8_t *p, unsigned ilen, const struct jp_insn *in)
{
	return ilen && in->kind == JP_INSN_OTHER && p[0] != 0x00;
}

/* The walk of fp_core over the bytes as they are: restores in w->copy each
 * zeroed word that is an instruction's field, where the decoding ran into
 * the word as code: every instruction from the one holding the byte before
 * the word up to the one whose field the word's top half is ordinary.
 * Data after a jump and padding starts afresh at the word, and a real
 * pointer's random low bytes decode into anything (QEMU: 50 59 f7 be 42 56
 * 00 00 after jmp; nop is push; pop; idiv [rsi+0x5642]).  Returns how many
 * stay zeroed of the nz that were. */
#define KEEP_RING 8u /* > the most instructions in the 5 bytes [o-1, o+4) */
static size_t keep_code_words(struct jp_fp_work *w, const uint8_t *code, size_t len, uint64_t addr,
			      struct jp_insn_memo *memo)
{
	size_t nz = w->nedit, last = w->edit[w->nedit - 1], kept = 0;
	struct jp_decoder d;
	size_t pos = 0, start[KEEP_RING]; /* the last instructions' starts, ... */
	uint8_t ok[KEEP_RING];            /* ... whether each was ordinary */
	unsigned n = 0;
	struct jp_insn_cursor cur;
	int after = 0;

	jp_insn_init_memo(&d, memo);
	jp_insn_cursor_init(&cur, memo);
	/* an instruction ending with the last zeroed word starts before its end */
	while (pos < len && pos < last + 8 && nz) {
		struct jp_insn in;
		unsigned ilen, k;
		size_t end, o;

		if (after && (ilen = (unsigned)jp_split_inline_pointer(code + pos, len - pos, after == 2)) != 0) {
			start[n % KEEP_RING] = pos;
			ok[n++ % KEEP_RING] = 0;
			pos += ilen;
			after = 1;
			continue;
		}
		ilen = jp_insn_cursor_decode(&cur, &d, code + pos, len - pos, &in);
		after = after_of(code + pos, ilen, &in);
		end = pos + (ilen ? ilen : 1);
		o = end - 8;
		if (ilen && !((addr + end) & 7) && end >= 8 + 1 && field_tail(code + pos, ilen, &in) &&
		    jp_split_runtime_word(code + o)) {
			/* back from the latest instruction to the one holding
			 * byte o-1: all ordinary, and there is one */
			int run_in = 0;

			for (k = 1; k <= n && k < KEEP_RING; k++) {
				if (!ok[(n - k) % KEEP_RING]) {
					run_in = 0;
					break;
				}
				run_in = 1;
				if (start[(n - k) % KEEP_RING] <= o - 1)
					break;
			}
			if (run_in && k < KEEP_RING && k <= n && start[(n - k) % KEEP_RING] <= o - 1) {
				memcpy(w->copy + o, code + o, 8);
				nz--;
			}
		}
		start[n % KEEP_RING] = pos;
		ok[n++ % KEEP_RING] = (uint8_t)ordinary(code + pos, ilen, &in);
		pos = end;
	}
	/* the restored words leave the list of zeroed ones (decode_at's) */
	for (uint32_t i = 0; i < w->nedit; i++)
		if (memcmp(w->copy + w->edit[i], code + w->edit[i], len - w->edit[i] < 8 ? len - w->edit[i] : 8))
			w->edit[kept++] = w->edit[i];
	w->nedit = (uint32_t)kept;
	return nz;
}

/* Returns whether any word is zeroed (and then the copy in w->copy). */
static int zero_pointer_words(struct jp_fp_work *w, const uint8_t *code, size_t len, uint64_t addr,
			      struct jp_insn_memo *memo)
{
	size_t first = (size_t)((8 - (addr & 7)) & 7), o;

	w->nedit = w->cur = 0;
	if (len > sizeof(w->copy))
		return 0;
	for (o = first; o + 6 <= len; o += 8) {
		uint64_t v = 0;
		size_t n = len - o < 8 ? len - o : 8;

		/* The last word may lack its zero top bytes: the splitter
		 * took them for filler after the piece (QEMU's TB ends with
		 * a pointer; in 7 bytes its value changed the name).  A
		 * whole word is one fixed-size load: the copy of n bytes
		 * was a fifth of this function. */
		if (n == 8)
			memcpy(&v, code + o, 8);
		else
			memcpy(&v, code + o, n);
		if (!jp_split_runtime_value(v))
			continue;
		if (!w->nedit)
			memcpy(w->copy, code, len);
		w->edit[w->nedit++] = (uint16_t)o;
		memset(w->copy + o, 0, n);
	}
	return w->nedit && keep_code_words(w, code, len, addr, memo);
}

/* Decode the instruction at code[pos], n bytes left.  Where code is w's
 * copy with pointer words zeroed (msrc the bytes it was made from, which
 * memo holds the decodes of), the memo's entry serves when no zeroed word
 * overlaps it: then its bytes are the ones it was decoded from.  A cursor
 * over the zeroed words answers that, as pos only grows (comparing the
 * bytes instead cost a memcmp call per instruction).  Bytes the memo says
 * are no instruction are decoded afresh: it does not say which of them
 * the decoder looked at. */
static inline unsigned decode_at(struct jp_fp_work *w, struct jp_insn_cursor *cur, const struct jp_decoder *d,
				 const uint8_t *code, const uint8_t *msrc, size_t pos, size_t n, struct jp_insn *in)
{
	const struct jp_insn *e = jp_insn_cursor_get(cur, msrc + pos, n);

	if (e && msrc != code) {
		while (w->cur < w->nedit && (size_t)w->edit[w->cur] + 8 <= pos)
			w->cur++;
		if (!e->len || (w->cur < w->nedit && w->edit[w->cur] < pos + e->len))
			e = NULL;
	}
	if (e) {
		*in = *e;
		return in->len;
	}
	return jp_insn_decode(d, code + pos, n, in);
}

/* Append the instruction at code[pos] (ilen bytes; 0: one undecodable byte)
 * to the shape stream: its bytes, the target of a relative branch zeroed.
 * sbuf holds CHUNK + 16 bytes; returns the new fill. */
static inline size_t shape_add(struct jp_fp_work *w, uint8_t *sbuf, size_t sfill, const uint8_t *code, size_t pos,
			       size_t len, unsigned ilen, const struct jp_insn *in)
{
	unsigned sl = ilen ? ilen : 1;

	if (pos + 16 <= len)
		memcpy(sbuf + sfill, code + pos, 16); /* one fixed-size move; sbuf has room past CHUNK */
	else
		memcpy(sbuf + sfill, code + pos, sl);
	if (ilen && in->rel_is_branch && in->rel_size)
		memset(sbuf + sfill + in->rel_off, 0, in->rel_size);
	sfill += sl;
	if (sfill >= CHUNK) {
		XXH3_64bits_update(&w->shape, sbuf, sfill);
		sfill = 0;
	}
	return sfill;
}

/* What a step of the walk over the code found at its position. */
enum walk_kind { AT_INSN, AT_INLINE_PTR, AT_ENTRY, AT_ENTRY_PAD };

/* The walk the fingerprint and the shape both take, and what it keeps
 * from one step to the next. */
struct walk {
	int after;            /* the last step: after_of() */
	unsigned plen, pkind; /* the last instruction decoded: entry_at() */
	struct jp_insn_cursor cur; /* the decode memo, if any */
};

/* One step at code[pos] (n = len - pos bytes left): a pointer kept after a
 * call or a jump (lib/split.c; looked for in msrc, the bytes as they are:
 * zeroing an aligned pointer word would hide the unaligned pointer it is
 * part of, Mono's call; type byte; pointer, and the decoding of the zeros
 * would run into the next call's opcode), a patchable entry or the zeros
 * before one, else an instruction (*in; length 0: one undecodable byte).
 * *ilen: the bytes the step covers (0 for an undecodable byte). */
static inline __attribute__((always_inline)) enum walk_kind
walk_step(struct walk *k, struct jp_fp_work *w, const struct jp_decoder *d,
	  const uint8_t *code, const uint8_t *msrc, size_t pos, size_t len, struct jp_insn *in, unsigned *ilen)
{
	unsigned n;
	int zeros;

	if (k->after && (n = (unsigned)jp_split_inline_pointer(msrc + pos, len - pos, k->after == 2)) != 0) {
		k->after = 1; /* as the splitter: the data ends like a jump */
		k->plen = 0;
		*ilen = n;
		return AT_INLINE_PTR;
	}
	if (maybe_entry(code, pos, len) && (n = entry_at(code, pos, len, k->plen, k->pkind, &zeros)) != 0) {
		k->after = 0;
		k->plen = zeros ? n : 0;
		k->pkind = JP_INSN_NOP;
		*ilen = n;
		return zeros ? AT_ENTRY_PAD : AT_ENTRY;
	}
	n = decode_at(w, &k->cur, d, code, msrc, pos, len - pos, in);
	k->after = after_of(code + pos, n, in);
	k->plen = n;
	k->pkind = in->kind;
	*ilen = n;
	return AT_INSN;
}

/* A step's part of the shape stream: an inline pointer as zeros, an
 * entry as its bytes with a patch's jump target zeroed, an instruction
 * as shape_add() has it. */
static inline size_t shape_step(struct jp_fp_work *w, uint8_t *sbuf, size_t sfill, const uint8_t *code, size_t pos,
				size_t len, enum walk_kind kind, unsigned ilen, const struct jp_insn *in)
{
	static const uint8_t zero[16];

	switch (kind) {
	case AT_INLINE_PTR:
		return shape_add(w, sbuf, sfill, zero, 0, 16, ilen, &(struct jp_insn){ .len = (uint8_t)ilen });
	case AT_ENTRY:
		return shape_add(w, sbuf, sfill, code, pos, len, ilen, code[pos] == 0xe9 ? &entry_jmp : &entry_insn);
	case AT_ENTRY_PAD:
		return shape_add(w, sbuf, sfill, code, pos, len, ilen, &entry_insn);
	default:
		return shape_add(w, sbuf, sfill, code, pos, len, ilen, in);
	}
}

uint64_t jp_fingerprint(const uint8_t *code, size_t len, uint64_t addr)
{
	struct jp_fp_work w;

	return jp_fingerprint_ws(&w, code, len, addr);
}

size_t jp_fp_work_size(void)
{
	return sizeof(struct jp_fp_work);
}

uint64_t jp_fingerprint_ws(struct jp_fp_work *w, const uint8_t *code, size_t len, uint64_t addr)
{
	return jp_fingerprint_shape_ws(w, code, len, addr, NULL);
}

uint64_t jp_fingerprint_shape_ws(struct jp_fp_work *w, const uint8_t *code, size_t len, uint64_t addr,
				 uint64_t *shape)
{
	return jp_fingerprint_memo(w, code, len, addr, shape, NULL);
}

static uint64_t fp_core(struct jp_fp_work *w, const uint8_t *code, size_t len, uint64_t addr, uint64_t *shape,
			struct jp_insn_memo *memo, const uint8_t *msrc);

uint64_t jp_fingerprint_memo(struct jp_fp_work *w, const uint8_t *code, size_t len, uint64_t addr, uint64_t *shape,
			     struct jp_insn_memo *memo)
{
	if (code && zero_pointer_words(w, code, len, addr, memo)) {
		/* the shape stays that of the bytes as they are (what
		 * lib/reconcile.c compares); the decode memo is of those
		 * bytes, not of the copy */
		if (shape)
			*shape = jp_fingerprint_shape_only(w, code, len, memo);
		return fp_core(w, w->copy, len, addr, NULL, memo, code);
	}
	return fp_core(w, code, len, addr, shape, memo, code);
}

/* msrc: the bytes memo was made from, at the offsets of code (code
 * itself, or what code is an edited copy of). */
static uint64_t fp_core(struct jp_fp_work *w, const uint8_t *code, size_t len, uint64_t addr, uint64_t *shape,
			struct jp_insn_memo *memo, const uint8_t *msrc)
{
	uint8_t buf[CHUNK + REC_MAX + REC_SLACK], sbuf[CHUNK + 16];
	size_t fill = 0, sfill = 0, pos = 0;
	uint32_t n = 0;
	unsigned mask_next = 0; /* imm offset to zero in the next insn, or 0 */
	/* Only head moves so far: a number stored here is the piece's own
	 * (LuaJIT's trace number, another in another run: jp_insn_entry_number);
	 * past the head, the same store is a constant of the code. */
	int head = 1;
	struct walk k;
	struct jp_decoder d;

	if (!code)
		return 0;
	jp_insn_init_memo(&d, memo);
	k.after = 0;
	k.plen = k.pkind = 0;
	jp_insn_cursor_init(&k.cur, memo);
	XXH3_64bits_reset(&w->st);
	if (shape)
		XXH3_64bits_reset(&w->shape);
	w->br.words = 0;
	w->br.npending = 0;
	while (pos < len) {
		struct jp_insn in;
		unsigned ilen, mask = mask_next;
		enum walk_kind kind;

		while (w->br.npending && (w->br.heap[0] >> 32) <= pos) {
			if (fill >= CHUNK) {
				XXH3_64bits_update(&w->st, buf, fill);
				fill = 0;
			}
			fill += label(buf + fill, heap_pop(&w->br), pos, n);
		}
		/* A label may have taken fill past CHUNK: the record below
		 * needs up to REC_MAX bytes of room. */
		if (fill >= CHUNK) {
			XXH3_64bits_update(&w->st, buf, fill);
			fill = 0;
		}
		mark_start(&w->br, pos, n);
		kind = walk_step(&k, w, &d, code, msrc, pos, len, &in, &ilen);
		mask_next = 0;
		if (shape)
			sfill = shape_step(w, sbuf, sfill, code, pos, len, kind, ilen, &in);
		switch (kind) {
		case AT_INLINE_PTR: /* one fixed record with the byte before it, if
				     * any (Mono's trampoline type), never its
				     * value or its decoding */
			buf[fill++] = INLINE_PTR;
			buf[fill++] = ilen == 9 ? msrc[pos] : 0xff;
			break;
		case AT_ENTRY_PAD: /* zeros before an entry: one record, as padding */
			buf[fill++] = ENTRY_PAD;
			buf[fill++] = (uint8_t)ilen;
			break;
		case AT_ENTRY: /* one record of the 2 bytes a patch leaves */
			buf[fill++] = ENTRY;
			buf[fill++] = code[pos + 5];
			buf[fill++] = code[pos + 6];
			break;
		default:
			break;
		}
		if (kind != AT_INSN) {
			pos += ilen;
			n++;
			head = 0;
			continue;
		}
		if (!ilen) {
			buf[fill++] = 0;
			buf[fill++] = code[pos++];
			head = 0;
		} else {
			struct store32 a;

			a.ok = 0;
			if (in.modrm_off && code[pos + in.modrm_off - 1] == 0xc7)
				store32_of(code + pos, &in, &a);
			if (a.ok && !mask && pos + ilen < len) {
				struct jp_insn nx;
				const uint8_t *q = code + pos + ilen;
				struct store32 b;

				uint32_t next = k.cur.next; /* the walk's own, for its next step */
				unsigned nl = decode_at(w, &k.cur, &d, code, msrc, pos + ilen, len - pos - ilen, &nx);

				k.cur.next = next;
				if (nl) {
					store32_of(q, &nx, &b);
					if (b.ok && same_base(code + pos, &in, q, &nx) &&
					    ((b.disp == a.disp + 4 && pair_is_pointer(a.imm, b.imm)) ||
					     (b.disp == a.disp - 4 && pair_is_pointer(b.imm, a.imm)))) {
						mask = a.imm_off;
						mask_next = b.imm_off;
					}
				}
			}
			if (!mask && head)
				mask = jp_insn_entry_number(code + pos, &in);
			if (!mask)
				mask = code_address_imm32(code + pos, ilen, addr + pos);
			fill += record(buf + fill, code + pos, &in, pos, len, &w->br, n, mask);
			head = head && n < JP_INSN_HEAD_MOVES && jp_insn_head_move(code + pos, ilen);
			pos += ilen;
		}
		n++;
		if (fill >= CHUNK) {
			XXH3_64bits_update(&w->st, buf, fill);
			fill = 0;
		}
	}
	/* targets inside the last instruction */
	while (w->br.npending) {
		if (fill >= CHUNK) {
			XXH3_64bits_update(&w->st, buf, fill);
			fill = 0;
		}
		fill += label(buf + fill, heap_pop(&w->br), pos, n);
	}
	if (fill)
		XXH3_64bits_update(&w->st, buf, fill);
	if (shape) {
		if (sfill)
			XXH3_64bits_update(&w->shape, sbuf, sfill);
		*shape = XXH3_64bits_digest(&w->shape);
		if (!*shape)
			*shape = 1;
	}
	return XXH3_64bits_digest(&w->st);
}

uint64_t jp_fingerprint_shape_only(struct jp_fp_work *w, const uint8_t *code, size_t len, struct jp_insn_memo *memo)
{
	uint8_t sbuf[CHUNK + 16];
	size_t pos = 0, sfill = 0;
	struct jp_decoder d;
	struct walk k;
	uint64_t h;

	if (!code)
		return 0;
	jp_insn_init_memo(&d, memo);
	k.after = 0;
	k.plen = k.pkind = 0;
	jp_insn_cursor_init(&k.cur, memo);
	XXH3_64bits_reset(&w->shape);
	/* The same stream jp_fingerprint_memo hashes for the shape (so the
	 * same value), without the rest of the fingerprint's work. */
	while (pos < len) {
		struct jp_insn in;
		unsigned ilen;
		enum walk_kind kind = walk_step(&k, w, &d, code, code, pos, len, &in, &ilen);

		sfill = shape_step(w, sbuf, sfill, code, pos, len, kind, ilen, &in);
		pos += ilen ? ilen : 1;
	}
	if (sfill)
		XXH3_64bits_update(&w->shape, sbuf, sfill);
	h = XXH3_64bits_digest(&w->shape);
	return h ? h : 1;
}
