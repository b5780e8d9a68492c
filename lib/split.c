/* split.c - function-sized pieces from padding, control flow and prologues. */
#include <emmintrin.h>
#include <string.h>

#include "split.h"

#include "insn.h"
#include "insn_fast.h"

/* No compiler pads with more than 63 bytes to reach a 64-byte boundary, so
 * a longer run of filler ends a function whatever came before it. */
#define LONG_RUN 64u

/* Filler shorter than this that a piece's own branch jumps over belongs to
 * the piece: alignment inside one function. */
#define SHORT_HOP 8u

/* At most this many bytes without a terminator, one of them no
 * instruction, before a header of pointers are data of that header. */
#define SHORT_JUNK 16u

/* This many copies of one byte where code cannot run into them are a
 * JIT's fill byte, not code. */
#define FILL_RUN 16u

/* The last this many words a piece reads RIP-relative ahead of itself:
 * QEMU's blocks read two or three helper addresses from their pool. */
#define READS 8u

struct splitter {
	const uint8_t *code;
	size_t len;
	uint64_t addr;
	struct jp_piece *out;
	size_t max_out, n;
	int open;          /* a piece is being built */
	size_t start;      /* its first byte */
	uint32_t flags;    /* its flags so far */
	size_t max_target; /* farthest near forward branch target of the piece */
	int has_term;      /* the piece holds a ret/jmp/ud2/hlt */
	int has_bad;       /* ... or a byte that decodes as no instruction */
	int bad_first;     /* such a byte came before any terminator */
	size_t reads[READS]; /* where its RIP-relative loads point ahead of it */
	unsigned nreads;
	unsigned head;     /* instructions left for a number store at its head */
	/* The slot a piece of this input stored its number to on entry
	 * (jp_insn_entry_number): the instruction's bytes before the number. */
	uint8_t slot[15];
	unsigned slot_len;
};

static uint32_t entry_flags(const uint8_t *p, size_t n)
{
	if (jp_insn_fp_prologue(p, n))
		return JP_PIECE_FP_PROLOGUE;
	if (jp_insn_is_endbr64(p, n) && jp_insn_fp_prologue(p + 4, n - 4))
		return JP_PIECE_ENDBR_FP;
	return 0;
}

static int is_entry(const uint8_t *p, size_t n)
{
	return jp_insn_fp_prologue(p, n) || jp_insn_is_endbr64(p, n);
}

/* What compiled and JIT functions commonly begin with once the frame setup
 * is scheduled: push rbp/rbx/r12-r15, sub rsp, or a full prologue.  Weaker
 * than is_entry (shrink-wrapped slow paths start like this too), so it only
 * counts after filler. */
static int is_entry_like(const uint8_t *p, size_t n)
{
	if (is_entry(p, n))
		return 1;
	if (n >= 1 && (p[0] == 0x55 || p[0] == 0x53))
		return 1;
	if (n >= 2 && p[0] == 0x41 && p[1] >= 0x54 && p[1] <= 0x57)
		return 1;
	return n >= 3 && p[0] == 0x48 && (p[1] == 0x83 || p[1] == 0x81) && p[2] == 0xec;
}

static void begin(struct splitter *s, size_t at, uint32_t extra)
{
	s->open = 1;
	s->start = at;
	s->max_target = at;
	s->has_term = 0;
	s->has_bad = 0;
	s->bad_first = 0;
	s->nreads = 0;
	s->head = JP_INSN_HEAD_MOVES + 1;
	s->flags = entry_flags(s->code + at, s->len - at) | extra;
	if (at == 0)
		s->flags |= JP_PIECE_OPEN_START;
}

/* Close the open piece at end (exclusive).  Returns 0 when out is full. */
static int finish(struct splitter *s, size_t end, size_t gap, uint32_t extra)
{
	struct jp_piece *p;

	if (!s->open)
		return 1;
	s->open = 0;
	if (end <= s->start)
		return 1;
	p = &s->out[s->n++];
	p->offset = s->start;
	p->length = end - s->start;
	p->gap_after = gap;
	p->flags = s->flags | extra;
	if ((!s->has_term && p->length < JP_SPLIT_DATA_MAX) || (s->bad_first && p->length < JP_SPLIT_JUNK_MAX))
		p->flags |= JP_PIECE_DATA;
	return s->n < s->max_out;
}

/* Length of the run of byte b at p: pages of JIT code are mostly filler
 * (int3 or zeros) past their last function, and a byte loop over it cost
 * more than decoding the code.  64 bytes a step with SSE2 (every x86-64
 * has it), then 8 at a time. */
static size_t byte_run(const uint8_t *p, size_t n, uint8_t b)
{
	const uint64_t pat = 0x0101010101010101ull * b;
	const __m128i v = _mm_set1_epi8((char)b);
	size_t i = 0;

	_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "ctz gives the first differing byte");
	while (i + 64 <= n) {
		__m128i a = _mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)(const void *)(p + i)), v);
		__m128i c = _mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)(const void *)(p + i + 16)), v);
		__m128i d = _mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)(const void *)(p + i + 32)), v);
		__m128i e = _mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)(const void *)(p + i + 48)), v);

		if (_mm_movemask_epi8(_mm_and_si128(_mm_and_si128(a, c), _mm_and_si128(d, e))) != 0xffff)
			break; /* the first differing byte is in these 64: the loop below finds it */
		i += 64;
	}
	while (i + 8 <= n) {
		uint64_t w;

		memcpy(&w, p + i, 8);
		w ^= pat;
		if (w)
			return i + (size_t)(__builtin_ctzll(w) >> 3);
		i += 8;
	}
	while (i < n && p[i] == b)
		i++;
	return i;
}

/* A table of pointers at pos: 8-byte aligned words that each hold a user
 * address (2^44 and up: where x86-64 Linux puts PIE binaries, libraries
 * and mmap), at least two in a row, the first two in the same 4 GiB window.
 * JITs keep such tables in their code pages (BEAM's label, export and
 * literal tables; constant pools of code and runtime addresses); decoded as
 * instructions they make dozens of tiny bogus pieces whose bytes change
 * every run.  Instruction bytes do not match by chance: the top two bytes of
 * each word must be zero and the next two the same in both.  Returns the
 * table's length in bytes, or 0. */
static int user_pointer(uint64_t v)
{
	uint64_t hi = v >> 32;

	return hi >= 0x1000 && hi < 0x8000 && (uint32_t)v != 0;
}

/* Where Linux x86-64 puts a PIE's brk heap (0x55..-0x56..) and mmap,
 * libraries and stacks (0x7e..-0x7f..: the mmap base is randomised over
 * 2^28 pages, 1 TiB, below the stack, so 0x7efd... is as likely a start
 * as 0x7ffd..., and mappings grow down from it; 0x7f.. alone missed about
 * 1 run in 75): narrower than user_pointer, as the word after a call is
 * not aligned and instruction bytes (mov rbx,fs:[0x10]: 64 48 8b 1c 25 10
 * 00 00) fit the wider shape. */
static int runtime_pointer(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return jp_split_runtime_value(v);
}

int jp_split_runtime_word(const uint8_t *p)
{
	return runtime_pointer(p);
}

size_t jp_split_inline_pointer(const uint8_t *p, size_t n, int after_call)
{
	if (n >= 8 && runtime_pointer(p))
		return 8;
	/* Mono's specific trampolines: call <generic trampoline>; one byte
	 * of trampoline type; the argument */
	if (after_call && n >= 9 && p[0] < 0x40 && runtime_pointer(p + 1))
		return 9;
	return 0;
}

/* A heap pointer above 4 GiB: V8 places its heap at a random address
 * below 2^46, 2^39 as well as 2^45.  (The zero bytes of long NOPs, 66 0F
 * 1F 84 00 00 00 00 00, read as words of this shape: the caller never
 * looks for a header inside a NOP.) */
static int heap_pointer(uint64_t v)
{
	uint64_t hi = v >> 32;

	if (hi < 1 || hi >= 0x8000 || (uint32_t)v == 0)
		return 0;
	/* No 0F 1F (the long NOP's opcode) in it: padding between compiled
	 * functions is made of those, and their zero bytes fit the shape. */
	for (unsigned i = 0; i < 7; i++)
		if ((v >> (8 * i) & 0xffff) == 0x1f0f)
			return 0;
	return 1;
}

/* A lone header word points to a GC cell, 8-byte aligned (SpiderMonkey's
 * JitCode: 0x00001642c689c600).  Instruction bytes of heap_pointer's shape
 * mostly are not: LuaJIT's trace head, mov dword [r14-0xec8],1, holds
 * 0x000001fffff13886 at an aligned word, which taken for a header at a
 * window's start cut the trace's first instruction off its piece (the hot
 * trace got another name), and gjs's jmp [rdi]; ud2 read as
 * 0x00000b0f27ff107f before 236 of its functions in one run. */
static int lone_header(uint64_t v)
{
	return heap_pointer(v) && !(v & 7);
}

/* header: code cannot fall through to pos (after a terminator, in filler,
 * between pieces), so a function's header may start here. */
static size_t pointer_run(const uint8_t *code, size_t len, uint64_t addr, size_t pos, int header)
{
	uint64_t first, second;
	size_t n = 16;
	int strict;

	if (((addr + pos) & 7) || pos > len || len - pos < 16)
		return 0;
	memcpy(&first, code + pos, 8);
	memcpy(&second, code + pos + 8, 8);
	strict = user_pointer(first) && user_pointer(second) && (first >> 32) == (second >> 32);
	if (!strict && header && lone_header(first) && !heap_pointer(second) && ((addr + pos) & 15) == 8)
		return 8; /* one word, SpiderMonkey's JitCode* before its code */
	if (!strict && !(header && heap_pointer(first) && heap_pointer(second)))
		return 0;
	while (pos + n + 8 <= len) {
		uint64_t v;

		memcpy(&v, code + pos + n, 8);
		if (strict ? !user_pointer(v) : !heap_pointer(v))
			break;
		n += 8;
	}
	/* Pointers into different heaps (a code object's map and its
	 * metadata: V8 puts two such words right before each function's
	 * first instruction) count where code cannot run into them and the
	 * run ends where code starts, at a 16-byte boundary: the header of
	 * the function that follows. */
	if (!strict && ((addr + pos + n) & 15))
		return 0;
	return n;
}

/* A header of pointers starting inside [pos, pos+ilen), at an 8-byte
 * boundary past pos?  Returns its offset or 0. */
static size_t pointers_inside(const uint8_t *code, size_t len, uint64_t addr, size_t pos, size_t ilen)
{
	size_t q = (size_t)(((addr + pos + 8) & ~(uint64_t)7) - addr), n;

	if (q >= pos + ilen || q >= len)
		return 0;
	/* only a header: the code that follows starts at a 16-byte boundary */
	n = pointer_run(code, len, addr, q, 1);
	return n && !((addr + q + n) & 15) ? q : 0;
}

/* Returns no 64-bit code ends with, which data decodes as: far returns (CB,
 * CA, REX.W CB/CA), and a near ret imm16 (C2) that pops 0 bytes (written
 * C3) or no whole number of 8-byte stack slots.  As the first bytes of data
 * they made small data words look like code that returns (HotSpot's
 * metadata after a method: 02 00 c2 00 00 ...); V8's ret 8*n stays one. */
static int is_data_ret(const uint8_t *p, size_t n)
{
	if (n >= 1 && (p[0] & 0xf0) == 0x40) {
		p++;
		n--;
	}
	if (n >= 1 && (p[0] & 0xfe) == 0xca)
		return 1;
	return n >= 3 && p[0] == 0xc2 && ((p[1] | p[2]) == 0 || (p[1] & 7));
}

/* A recognised entry at an aligned address strictly inside [pos, pos+ilen)?
 * Linear decoding loses sync after data or a JIT's inline constants; a
 * prologue at a 16-byte boundary is how it gets back in step.  Returns the
 * offset or 0. */
static size_t aligned_entry_inside(const struct splitter *s, size_t pos, size_t ilen)
{
	uint64_t a = (s->addr + pos + 16) & ~(uint64_t)15;
	size_t off = (size_t)(a - s->addr);

	if (off >= pos + ilen || off >= s->len)
		return 0;
	if (jp_insn_fp_prologue(s->code + off, s->len - off) ||
	    (jp_insn_is_endbr64(s->code + off, s->len - off) &&
	     jp_insn_fp_prologue(s->code + off + 4, s->len - off - 4)))
		return off;
	return 0;
}

/* ---- numbered entries ------------------------------------------------------
 * LuaJIT places traces back to back: one ends with a jmp and the next
 * begins right after it (or after NOPs), by storing its number to the VM
 * state; before the store, a root trace adjusts rsp and a side trace moves
 * the registers its parent left values in.  A jmp of one trace often goes
 * to the head of another, so the piece's forward branches say nothing
 * here.  The slot is learned from a piece that begins so; after a
 * terminator, a store of a number to the same slot, behind at most a few
 * register moves and an rsp adjustment, begins a new piece. */
static void learn_slot(struct splitter *s, const uint8_t *p, const struct jp_insn *in)
{
	unsigned o;

	if (!s->head)
		return;
	s->head = jp_insn_head_move(p, in->len) == in->len ? s->head - 1 : 0;
	if (!(o = jp_insn_entry_number(p, in)))
		return;
	memcpy(s->slot, p, o);
	s->slot_len = o;
}

static int numbered_entry(const struct splitter *s, struct jp_decoder *d, size_t pos)
{
	const uint8_t *p = s->code + pos;
	size_t n = s->len - pos;
	unsigned k, o, step;
	struct jp_insn in;

	if (!s->slot_len)
		return 0;
	for (k = 0; k < JP_INSN_HEAD_MOVES && (step = jp_insn_head_move(p, n)); k++) {
		p += step;
		n -= step;
	}
	if (!jp_insn_decode_inline(d, p, n, &in) || !(o = jp_insn_entry_number(p, &in)))
		return 0;
	return o == s->slot_len && memcmp(p, s->slot, o) == 0;
}

size_t jp_split(const uint8_t *code, size_t len, uint64_t addr, struct jp_piece *out,
		size_t max_out)
{
	return jp_split_memo(code, len, addr, out, max_out, NULL);
}

/* A run of filler between pieces, and what came before it. */
struct filler {
	size_t start, hard; /* first byte; int3/zero/table bytes in it */
	int open;
	int prev_term, prev_call; /* the instruction before it never falls through / was a call */
};

static void filler_begin(struct filler *f, size_t pos, int prev_term, int prev_call)
{
	if (f->open)
		return;
	f->open = 1;
	f->start = pos;
	f->hard = 0;
	f->prev_term = prev_term;
	f->prev_call = prev_call;
}

/* The open piece, a few bytes that were no code, turns out to be the start
 * of a header at pos: those bytes are filler with it, not a piece of their
 * own. */
static void drop_junk(struct splitter *s, struct filler *f, size_t pos)
{
	s->open = 0;
	filler_begin(f, s->start, 0, 0);
	f->hard += pos - s->start;
}

/* Remember where the instruction at pos (ilen bytes, in the open piece)
 * loads from, when that is ahead of it in the input: a RIP-relative memory
 * operand (call/jmp [rip+x], mov r,[rip+x]; not lea, which loads nothing). */
static void note_read(struct splitter *s, size_t pos, unsigned ilen, const struct jp_insn *in)
{
	size_t t;

	if (!in->rel_size || in->rel_is_branch || in->rel <= 0 || (uint64_t)in->rel > JP_SPLIT_NEAR_BRANCH ||
	    !in->modrm_off || s->code[pos + in->modrm_off - 1] == 0x8d)
		return;
	t = pos + ilen + (size_t)in->rel;
	if (t < s->len && s->len - t >= 8)
		s->reads[s->nreads++ % READS] = t;
}

/* Does the open piece load the word at pos? */
static int piece_reads(const struct splitter *s, size_t pos)
{
	unsigned n = s->nreads < READS ? s->nreads : READS;

	for (unsigned i = 0; i < n; i++)
		if (s->reads[i] == pos)
			return 1;
	return 0;
}

/* Length of filler at pos that is never code: a table of pointers, a run of
 * int3, or a run of zeros.  A lone 00 is add r/m8,r8 (00 d0 = add al,dl)
 * when code falls through to it: it is filler only where code cannot
 * (no_fallthrough: after a terminator or inside a run), or at the very
 * end.  Where code cannot fall through, a long run of any one byte is the
 * fill byte a JIT chose for its free space (hlt, 0xff): no compiler emits
 * FILL_RUN equal bytes as instructions.
 * pooled: the open piece loads the word at pos, and nothing runs into it
 * (a terminator, or filler that began after one or holds int3, zero or
 * pointer bytes, comes before): an aligned word there holding a runtime
 * address is filler too.  QEMU puts its helpers' addresses in a pool
 * after a block's last jump and NOP padding, and reads them with
 * jmp [rip+x]: decoded, their bytes (70 81 b8 20 e4 55 00 00, other ones
 * every run) decided where the block's piece ended.  The load is the
 * evidence: after a jmp and NOPs, a loop head's first bytes read as such
 * an address just as well (48 85 d2 0f 85 7f 00 00: test; jne rel32 0x7f,
 * in libc, and Mono's jbe rel32 0f 86 7f 00 00 00). */
static size_t hard_filler(const uint8_t *code, size_t len, uint64_t addr, size_t pos, int no_fallthrough,
			  int header_ok, int pooled)
{
	size_t z = 0;

	/* (pointer_run wants an aligned word; most positions are not: the
	 * test here spares a call per instruction) */
	if (!((addr + pos) & 7)) {
		z = pointer_run(code, len, addr, pos, header_ok);
		if (!z && pooled && runtime_pointer(code + pos))
			z = 8;
	}
	if (z)
		return z;
	if (code[pos] == 0xcc)
		return byte_run(code + pos, len - pos, 0xcc);
	if (code[pos] == 0) {
		z = byte_run(code + pos, len - pos, 0);
		/* A run that ends inside an aligned word may have taken the
		 * zero low bytes of a header pointer (SpiderMonkey's JitCode*
		 * after zero filler): the word is the header's, which keeps
		 * its other bytes, different every run, out of the piece.
		 * (Two zeros or more are filler, so a header may follow.)
		 * The word must start inside the run: in addresses, for a
		 * window that starts inside a word (the bytes after a piece
		 * the caller keeps) has the word's start before it, and an
		 * offset there wrapped round, taking the whole rest of the
		 * window for filler.  One word holding a runtime address is
		 * filler with the run, as is one that starts where the run
		 * ends: QEMU's TranslationBlock between the zeros of its
		 * padding and of its small fields holds TB addresses
		 * (0x00007fe920009300), which decoded as orb; jmp rel32
		 * when the code buffer lay at 0x7fe9... (one run in 256)
		 * and made a piece of each header, 25 % more LOADs. */
		if (((addr + pos + z) & 7) && pos + z < len) {
			uint64_t wa = (addr + pos + z) & ~(uint64_t)7;
			size_t w = (size_t)(wa - addr);

			if (wa >= addr + pos + 2 && pointer_run(code, len, addr, w, 1))
				z = w - pos;
			else if (wa >= addr + pos + 2 && len - w >= 8 && runtime_pointer(code + w))
				z = w + 8 - pos;
		} else if (z >= 2 && len - (pos + z) >= 8 && runtime_pointer(code + pos + z)) {
			z += 8;
		}
		if (z >= 2 || no_fallthrough || pos + z == len)
			return z;
	}
	if (no_fallthrough && len - pos >= FILL_RUN && code[pos + FILL_RUN - 1] == code[pos] &&
	    (z = byte_run(code + pos, len - pos, code[pos])) >= FILL_RUN)
		return z;
	return 0;
}

size_t jp_split_memo(const uint8_t *code, size_t len, uint64_t addr, struct jp_piece *out, size_t max_out,
		     struct jp_insn_memo *memo)
{
	struct splitter s = { .code = code, .len = len, .addr = addr, .out = out,
			      .max_out = max_out };
	struct jp_decoder d;
	size_t pos = 0;
	struct filler fill = { 0, 0, 0, 1, 0 }; /* the pending filler [fill.start, pos) */
	int prev_term = 1; /* the last instruction never falls through */
	int prev_call = 0; /* ... or was a call (maybe noreturn) */

	if (!code || !out || max_out == 0)
		return 0;
	jp_insn_init_memo(&d, memo);
	while (pos < len) {
		struct jp_insn in;
		unsigned ilen;
		size_t z, inner;
		int junk, bad, header_ok;

		if ((prev_call || prev_term) && s.open && !fill.open &&
		    (z = jp_split_inline_pointer(code + pos, len - pos, prev_call)) != 0 &&
		    pos + z - s.start <= JP_SPLIT_MAX_PIECE && !pointer_run(code, len, addr, pos, 0)) {
			/* data after a call (Mono: call <trampoline>; <type>;
			 * <pointer>) or a jump (SpiderMonkey: jmp [rip+2];
			 * ud2; <target>): the piece's, and the call does not
			 * come back here.  A table of them (BEAM's) stays
			 * filler. */
			pos += z;
			prev_term = 1;
			prev_call = 0;
			s.has_term = 1;
			continue;
		}
		/* filler: int3 and zero runs, tables of pointers, NOPs */
		/* A header follows int3/zero filler, or a few bytes that
		 * were no code (V8: two 32-bit fields before its two header
		 * pointers).  Not straight after a terminator or NOPs: there,
		 * compiled code has the same shape (lea r14,[rsp+0x130];
		 * mov qword [rsp+8],0x3f after a jmp and a NOP). */
		junk = s.open && !s.has_term && s.has_bad && pos - s.start <= SHORT_JUNK;
		header_ok = (fill.open && fill.hard) || (!fill.open && !s.open) || junk;
		z = hard_filler(code, len, addr, pos, prev_term || fill.open, header_ok,
				s.open && (prev_term || (fill.open && (fill.prev_term || fill.hard))) &&
					len - pos >= 8 && piece_reads(&s, pos));
		if (z) {
			if (junk && !fill.open)
				drop_junk(&s, &fill, pos);
			filler_begin(&fill, pos, prev_term, prev_call);
			fill.hard += z;
			pos += z;
			continue;
		}
		ilen = jp_insn_decode_inline(&d, code + pos, len - pos, &in);
		inner = header_ok && !(ilen && in.kind == JP_INSN_NOP)
				? pointers_inside(code, len, addr, pos, ilen ? ilen : 1)
				: 0;
		if (inner) {
			/* Decoding ran into a table of pointers (V8: the words
			 * of a code object's header before its first
			 * instruction): what led up to it is data as well. */
			if (junk && !fill.open)
				drop_junk(&s, &fill, pos);
			filler_begin(&fill, pos, prev_term, prev_call);
			fill.hard += inner - pos;
			pos = inner;
			continue;
		}
		if (memo && ilen)
			jp_insn_memo_put(memo, code + pos, &in);
		else if (memo)
			jp_insn_memo_put_bad(memo, code + pos, len - pos);
		if (ilen && in.kind == JP_INSN_NOP) {
			filler_begin(&fill, pos, prev_term, prev_call);
			pos += ilen;
			continue;
		}

		/* A real instruction (or a byte of data) at pos. */
		if (fill.open) {
			size_t run = pos - fill.start;
			int sep;

			fill.open = 0;
			if (!s.open) {
				sep = 1; /* leading padding */
			} else if (fill.prev_term && numbered_entry(&s, &d, pos)) {
				sep = 1;
			} else if (run < SHORT_HOP && s.max_target > pos) {
				/* A branch of this piece lands past the start of
				 * what follows: the piece jumps over the filler
				 * into its own body (BEAM starts each function
				 * with a short jmp over an aligned call). */
				sep = 0;
			} else if (run >= LONG_RUN || fill.hard >= 2 || (fill.hard && fill.prev_term)) {
				sep = 1;
			} else if (fill.prev_term &&
				   (is_entry_like(code + pos, len - pos) || s.max_target <= fill.start)) {
				sep = 1;
			} else if (fill.prev_call && is_entry_like(code + pos, len - pos)) {
				/* a call to a noreturn function (abort, a stack
				 * check failure) ends many compiled functions */
				sep = 1;
			} else {
				sep = 0; /* alignment inside a function */
			}
			if (!sep && pos + (ilen ? ilen : 1) - s.start > JP_SPLIT_MAX_PIECE)
				sep = 2; /* the cap falls in the filler: cut there */
			if (sep) {
				if (!finish(&s, fill.start, run, sep == 2 ? JP_PIECE_CAPPED : 0))
					return s.n;
				if (sep == 2)
					begin(&s, pos, JP_PIECE_CONTINUED);
			}
		} else if (s.open && pos > s.start && prev_term &&
			   ((s.max_target <= pos && is_entry(code + pos, len - pos)) || numbered_entry(&s, &d, pos))) {
			/* ret/jmp straight into a prologue, or into code that
			 * stores its number as the piece's own first did: a new
			 * function */
			if (!finish(&s, pos, 0, 0))
				return s.n;
		}

		if (ilen) {
			inner = aligned_entry_inside(&s, pos, ilen);
			if (inner) {
				/* The bytes before it were data or out of step:
				 * keep them with the current piece. */
				if (!s.open)
					begin(&s, pos, 0);
				if (!finish(&s, inner, 0, 0))
					return s.n;
				pos = inner;
				prev_term = 1;
				continue;
			}
		} else {
			ilen = 1; /* undecodable: one byte of data */
		}
		bad = !in.len;

		if (s.open && pos + ilen - s.start > JP_SPLIT_MAX_PIECE) {
			if (!finish(&s, pos, 0, JP_PIECE_CAPPED))
				return s.n;
			begin(&s, pos, JP_PIECE_CONTINUED);
		}
		if (!s.open)
			begin(&s, pos, 0);
		s.has_bad |= bad;
		s.bad_first |= bad && !s.has_term;

		if (in.len) {
			note_read(&s, pos, ilen, &in);
			learn_slot(&s, code + pos, &in);
		} else {
			s.head = 0;
		}
		if (in.len && in.rel_is_branch && in.rel > 0 &&
		    (uint64_t)in.rel <= JP_SPLIT_NEAR_BRANCH) {
			size_t t = pos + ilen + (size_t)in.rel;

			if (t > s.max_target)
				s.max_target = t;
		}
		prev_term = in.len && in.kind == JP_INSN_TERM;
		s.has_term |= prev_term && !is_data_ret(code + pos, len - pos);
		prev_call = in.len && code[pos] == 0xe8;
		pos += ilen;
	}
	if (fill.open)
		finish(&s, fill.start, pos - fill.start, 0);
	else
		finish(&s, len, 0, JP_PIECE_OPEN_END);
	return s.n;
}

int jp_split_all_padding(const uint8_t *code, size_t len)
{
	struct jp_decoder d;
	size_t pos = 0;

	jp_insn_init(&d);
	while (pos < len) {
		struct jp_insn in;
		unsigned ilen;

		if (code[pos] == 0xcc || code[pos] == 0) {
			pos++;
			continue;
		}
		if (len - pos >= FILL_RUN && byte_run(code + pos, len - pos, code[pos]) >= FILL_RUN) {
			pos += byte_run(code + pos, len - pos, code[pos]);
			continue;
		}
		ilen = jp_insn_decode(&d, code + pos, len - pos, &in);
		if (!ilen || in.kind != JP_INSN_NOP)
			return 0;
		pos += ilen;
	}
	return 1;
}
