/* codeplausible.c - tell data that decodes from code that runs, piece by piece (see codeplausible.h). */
#include "codeplausible.h"
#include "insn.h"
#include "split.h"

#include <emmintrin.h>
#include <string.h>

/* At least this long for the no-control-flow rule: shorter pieces without
 * a terminator are the splitter's data already (JP_SPLIT_DATA_MAX). */
#define NOFLOW_MIN 32u

/* More zero bytes than this share of a piece is data. */
#define ZERO_SHARE_NUM 1u
#define ZERO_SHARE_DEN 2u

/* Instructions in a row, none odd or undecodable, two of them jumps,
 * calls or returns: code, even after a head of data.  Heap words and
 * text meet an odd byte (00 00, 6c-6f, 61) long before. */
#define CLEAN_RUN_MIN 24u

/* One odd or undecodable instruction in this many makes a piece data.
 * Compiled code cut as JIT code gets none in its executed path; a decode
 * that ran out of step over inline data may meet a few. */
#define ODD_SHARE 16u

/* One-byte opcodes (after prefixes and REX), by what they say:
 * OP_ODD: user code does not contain them: invalid in 64-bit mode, port
 * I/O, privileged, far transfers, loop/jrcxz, xlat, int n, iret, icebp,
 * cmc-free oddities;
 * OP_FLOW: jcc rel8, call, jmp, ret;
 * OP_NOREX: a REX prefix means nothing to them, jumps and returns (a call
 * may carry one: the TLS sequence 66 66 48 e8 pads so for the linker).
 * Tables rather than switches: the scan asks of every instruction. */
#define OP_ODD 1u
#define OP_FLOW 2u
#define OP_NOREX 4u
#define JCC8(f) [0x70] = f, [0x71] = f, [0x72] = f, [0x73] = f, [0x74] = f, [0x75] = f, [0x76] = f, [0x77] = f, \
		[0x78] = f, [0x79] = f, [0x7a] = f, [0x7b] = f, [0x7c] = f, [0x7d] = f, [0x7e] = f, [0x7f] = f
static const uint8_t op_class[256] = {
	JCC8(OP_FLOW | OP_NOREX),
	[0xe9] = OP_FLOW | OP_NOREX, [0xeb] = OP_FLOW | OP_NOREX, [0xc3] = OP_FLOW | OP_NOREX,
	[0xc2] = OP_FLOW | OP_NOREX, [0xe8] = OP_FLOW,
	[0x06] = OP_ODD, [0x07] = OP_ODD, [0x0e] = OP_ODD, [0x16] = OP_ODD, [0x17] = OP_ODD, [0x1e] = OP_ODD,
	[0x1f] = OP_ODD, [0x27] = OP_ODD, [0x2f] = OP_ODD, [0x37] = OP_ODD, [0x3f] = OP_ODD, [0x60] = OP_ODD,
	[0x61] = OP_ODD,
	[0x6c] = OP_ODD, [0x6d] = OP_ODD, [0x6e] = OP_ODD, [0x6f] = OP_ODD, /* ins/outs */
	[0x9a] = OP_ODD, [0xce] = OP_ODD, [0xd4] = OP_ODD, [0xd5] = OP_ODD, [0xd6] = OP_ODD, [0xd7] = OP_ODD,
	[0xea] = OP_ODD,
	[0xe0] = OP_ODD, [0xe1] = OP_ODD, [0xe2] = OP_ODD, [0xe3] = OP_ODD, /* loop, jrcxz */
	[0xe4] = OP_ODD, [0xe5] = OP_ODD, [0xe6] = OP_ODD, [0xe7] = OP_ODD, /* in/out imm8 */
	[0xec] = OP_ODD, [0xed] = OP_ODD, [0xee] = OP_ODD, [0xef] = OP_ODD, /* in/out dx */
	[0xcd] = OP_ODD, [0xcf] = OP_ODD, [0xf1] = OP_ODD, [0xfa] = OP_ODD, [0xfb] = OP_ODD,
};
#undef JCC8

/* Two-byte opcodes 0f xx of system programming. */
static const uint8_t odd_0f[256] = {
	[0x00] = 1, [0x06] = 1, [0x07] = 1, [0x08] = 1, [0x09] = 1,
	[0x20] = 1, [0x21] = 1, [0x22] = 1, [0x23] = 1,
	[0x30] = 1, [0x32] = 1, [0x33] = 1, [0x34] = 1, [0x35] = 1, [0x37] = 1,
	[0xaa] = 1, [0xff] = 1,
};

/* Legacy prefixes: 1 for those user code has, 2 for es: and ss:. */
static const uint8_t prefix_kind[256] = {
	[0x66] = 1, [0x67] = 1, [0xf0] = 1, [0xf2] = 1, [0xf3] = 1, [0x2e] = 1, [0x3e] = 1, [0x64] = 1, [0x65] = 1,
	[0x26] = 2, [0x36] = 2,
};

/* Zero bytes in p[0, n): SSE2 (every x86-64 has it), 16 bytes a step.
 * Counted once over the piece rather than instruction by instruction,
 * which was a fifth of the scan. */
static uint32_t count_zeros(const uint8_t *p, size_t n)
{
	const __m128i zero = _mm_setzero_si128(), one = _mm_set1_epi8(1);
	__m128i acc = _mm_setzero_si128();
	uint64_t lanes[2];
	uint32_t z = 0;
	size_t i = 0;

	while (i + 16 <= n) {
		size_t stop = i + 16 * 255 < n ? i + 16 * 255 : n; /* bytes of acc8 stay below 256 */
		__m128i acc8 = _mm_setzero_si128();

		for (; i + 16 <= stop; i += 16)
			acc8 = _mm_add_epi8(acc8, _mm_and_si128(_mm_cmpeq_epi8(
				_mm_loadu_si128((const __m128i *)(const void *)(p + i)), zero), one));
		acc = _mm_add_epi64(acc, _mm_sad_epu8(acc8, zero));
	}
	_mm_storeu_si128((__m128i *)(void *)lanes, acc);
	z = (uint32_t)(lanes[0] + lanes[1]);
	for (; i < n; i++)
		z += !p[i];
	return z;
}

/* Is the instruction at p (len bytes, decoded) one user code never has?
 * Also control flow: *flow set for jmp/jcc/call/ret. */
static int odd_insn(const uint8_t *p, unsigned len, int *flow)
{
	unsigned i = 0, c;
	int odd = 0;
	uint8_t op;

	*flow = 0;
	for (unsigned k; i < len && (k = prefix_kind[p[i]]) != 0; i++)
		odd |= k == 2; /* es:, ss: mean nothing in 64-bit code */
	if (i < len && (p[i] & 0xf0) == 0x40) {
		i++;
		if (i < len && (op_class[p[i]] & OP_NOREX))
			odd = 1;
	}
	if (i >= len)
		return 1;
	op = p[i];
	/* 00 00, add [rax],al: zero bytes walked as instructions */
	if (op == 0x00 && i + 1 < len && p[i + 1] == 0x00)
		return 1;
	if (op == 0x0f) {
		if (i + 1 >= len)
			return 1;
		op = p[i + 1];
		*flow = (op & 0xf0) == 0x80; /* jcc rel32 */
		return odd | odd_0f[op];
	}
	c = op_class[op];
	if (c & OP_FLOW)
		*flow = 1;
	else if (op == 0xff && i + 1 < len) {
		unsigned reg = (p[i + 1] >> 3) & 7;

		*flow = reg == 2 || reg == 4; /* call/jmp indirect */
		odd |= reg == 3 || reg == 5 || reg == 7; /* far call/jmp */
	}
	return odd | (int)(c & OP_ODD);
}

void jp_plausible_scan(const uint8_t *code, size_t len, struct jp_insn_memo *memo, struct jp_plausible_stats *st)
{
	struct jp_decoder d;
	size_t pos = 0;
	int ended = 0;
	uint32_t run = 0, run_flow = 0;
	struct jp_insn_cursor cur;
	/* counted in a local, which stays in registers, and stored once:
	 * through st, every count was a load and a store an instruction */
	struct jp_plausible_stats t = { 0 };

	jp_insn_init_memo(&d, memo);
	jp_insn_cursor_init(&cur, memo);
	/* Every byte is in one instruction or is one undecodable byte: the
	 * zeros inside instructions are all zeros less those bytes. */
	t.zeros = count_zeros(code, len);
	while (pos < len) {
		struct jp_insn fresh;
		const struct jp_insn *in = jp_insn_cursor_get(&cur, code + pos, len - pos);
		unsigned l, kind;
		int flow = 0, odd;

		if (!in) {
			jp_insn_decode(&d, code + pos, len - pos, &fresh);
			in = &fresh;
		}
		l = in->len;
		kind = in->kind;
		t.insns++;
		t.insns_head += !ended;
		if (!l) {
			t.bad++;
			t.odd_head += !ended;
			t.last_ends = 0;
			t.zeros -= !code[pos];
			run = run_flow = 0;
			pos++;
			continue;
		}
		odd = kind != JP_INSN_NOP && kind != JP_INSN_INT3 && odd_insn(code + pos, l, &flow);
		t.odd += odd;
		t.odd_head += odd && !ended;
		t.flow += flow || kind == JP_INSN_TERM;
		run = odd ? 0 : run + 1;
		run_flow = odd ? 0 : run_flow + (flow || kind == JP_INSN_TERM);
		if (run_flow >= 2 && run > t.clean_run)
			t.clean_run = run;
		t.last_ends = kind == JP_INSN_TERM || code[pos] == 0xe8;
		t.last_at = (uint32_t)pos;
		ended |= kind == JP_INSN_TERM;
		pos += l;
	}
	*st = t;
}

/* The verdict on what a scan of len bytes found. */
static int judge(const struct jp_plausible_stats *st, size_t len)
{
	if (!st->flow && len >= NOFLOW_MIN)
		return 0;
	/* Zeros in code are the high bytes of small immediates and
	 * displacements: 10-20 % of its bytes.  Small integers, headers and
	 * pointers are half zeros. */
	if (len >= 16 && st->zeros * ZERO_SHARE_DEN > len * ZERO_SHARE_NUM)
		return 0;
	/* A small piece is a stub or a tiny function: it ends with its
	 * terminator (or a call that does not return), where the filler
	 * after it begins.  A flonum or a header word cut off by the zeros of
	 * its top bytes ends anywhere. */
	if (len < JP_SPLIT_DATA_MAX && !st->last_ends)
		return 0;
	/* Up to the first terminator: a JIT keeps data after its code in
	 * the same piece (QEMU's TranslationBlock after its last jump), and
	 * that decodes as anything.  Or data in front of the code, left to
	 * the piece where the split found no boundary between them
	 * (HotSpot's relocations before a method's entry): a long clean
	 * run with jumps in it is code whatever comes before. */
	return st->odd_head * ODD_SHARE < st->insns_head || st->clean_run >= CLEAN_RUN_MIN;
}

int jp_code_plausible(const uint8_t *code, size_t len, struct jp_insn_memo *memo)
{
	struct jp_plausible_stats st;

	jp_plausible_scan(code, len, memo, &st);
	return judge(&st, len);
}

/* Does the aligned word around buf[at] lie in buf and hold a runtime address? */
static int in_pointer_word(const uint8_t *buf, size_t buflen, uint64_t addr, size_t at)
{
	size_t w = at - (size_t)((addr + at) & 7);

	if ((addr + at) % 8 > at || w + 8 > buflen)
		return 0;
	return jp_split_runtime_word(buf + w);
}

int jp_piece_plausible(const uint8_t *buf, size_t buflen, uint64_t addr, size_t off, size_t len,
		       struct jp_insn_memo *memo)
{
	struct jp_plausible_stats st;

	if (len < JP_SPLIT_DATA_MAX &&
	    (in_pointer_word(buf, buflen, addr, off) || in_pointer_word(buf, buflen, addr, off + len - 1)))
		return 0;
	jp_plausible_scan(buf + off, len, memo, &st);
	/* A jmp rel32 whose opcode is a pointer's byte 4 (0x00007fe9...:
	 * e9 7f 00 00, the rel32 ending in the next word) ends past the
	 * word: QEMU's TranslationBlock headers hold such pointers, and in
	 * a run whose code buffer lay at 0x7fe9... each header made a piece
	 * of its own, 25 % more LOADs. */
	if (len < JP_SPLIT_DATA_MAX && st.last_ends && in_pointer_word(buf, buflen, addr, off + st.last_at))
		return 0;
	return judge(&st, len);
}
