/* test_stackheight.c - the stack-height analysis on hand-made code, and its CFI read back rule by rule. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "cfi.h"
#include "insn.h"
#include "split.h"
#include "stackheight.h"

#define RSP JP_SH_RSP
#define RBP JP_SH_RBP
#define SAME JP_SH_RBP_SAME
#define NONE (-100) /* no rule expected at this offset */

static struct jp_sh_work *w;
static struct jp_sh_row rows[256];
static struct jp_sh_result res;

static void setup(void)
{
	if (!w)
		w = jp_sh_work_new(0);
	ck_assert_ptr_nonnull(w);
}

static size_t an(const uint8_t *code, size_t len)
{
	return jp_sh_analyze(w, code, len, rows, 256, &res);
}

static const struct jp_sh_row *row_at(size_t n, uint32_t off)
{
	for (size_t i = 0; i < n; i++)
		if (rows[i].start <= off && off < rows[i].end)
			return &rows[i];
	return NULL;
}

/* expect[i] = {offset, reg, cfa_off, rbp}; reg NONE: no rule there */
struct want {
	uint32_t off;
	int reg, cfa, rbp;
};

/* The rows say what want says, the encoded CFI says the same at every
 * byte of the code, and nothing where the rows say nothing. */
static void check_rules(size_t n, size_t len, const struct want *want, size_t nw)
{
	static uint8_t data[JP_CFI_MAX_DATA];
	size_t usize, hsz;
	const char *why = NULL;

	for (size_t i = 0; i < nw; i++) {
		const struct jp_sh_row *r = row_at(n, want[i].off);

		if (want[i].reg == NONE) {
			ck_assert_msg(r == NULL, "offset %u: a rule where none is known", want[i].off);
			continue;
		}
		ck_assert_msg(r != NULL, "offset %u: no rule", want[i].off);
		ck_assert_msg(r->cfa_reg == want[i].reg && r->cfa_off == want[i].cfa && r->rbp == want[i].rbp,
			      "offset %u: got reg %d off %d rbp %d, want reg %d off %d rbp %d", want[i].off, r->cfa_reg,
			      r->cfa_off, r->rbp, want[i].reg, want[i].cfa, want[i].rbp);
	}
	/* rows are sorted, disjoint, inside the code */
	for (size_t i = 0; i < n; i++) {
		ck_assert_uint_lt(rows[i].start, rows[i].end);
		ck_assert_uint_le(rows[i].end, len);
		if (i)
			ck_assert_uint_le(rows[i - 1].end, rows[i].start);
	}
	usize = jp_cfi_encode(rows, n, len, data, sizeof(data), &hsz);
	ck_assert_uint_gt(usize, 0);
	ck_assert_int_eq(jp_cfi_check(data, usize, hsz, len, &why), 0);
	for (uint32_t off = 0; off < len; off++) {
		const struct jp_sh_row *r = row_at(n, off);
		struct jp_cfi_rule rule;

		ck_assert_int_eq(jp_cfi_rule_at(data, usize, hsz, len, off, &rule), 0);
		ck_assert_msg(rule.found == (r != NULL), "offset %u: CFI %s a rule, rows %s", off,
			      rule.found ? "has" : "lacks", r ? "have" : "do not");
		if (!r)
			continue;
		ck_assert_int_eq(rule.cfa_reg, r->cfa_reg == RSP ? 7 : 6);
		ck_assert_int_eq(rule.cfa_off, r->cfa_off);
		ck_assert_int_eq(rule.ra_off, 8);
		ck_assert_int_eq(rule.rbp, r->rbp);
	}
}

#define CHECK(code, ...)                                                                       \
	do {                                                                                   \
		static const struct want want_[] = { __VA_ARGS__ };                           \
		size_t n_ = an(code, sizeof(code));                                            \
		ck_assert_msg(n_ > 0, "refused: %d", res.refused);                             \
		check_rules(n_, sizeof(code), want_, sizeof(want_) / sizeof(want_[0]));        \
	} while (0)

/* push rbx; sub rsp,0x20; call out; add rsp,0x20; pop rbx; ret */
START_TEST(test_push_sub_call)
{
	static const uint8_t c[] = { 0x53, 0x48, 0x83, 0xec, 0x20, 0xe8, 0x00, 0x10, 0x00, 0x00,
				     0x48, 0x83, 0xc4, 0x20, 0x5b, 0xc3 };

	CHECK(c, { 0, RSP, 8, SAME }, { 1, RSP, 16, SAME }, { 5, RSP, 48, SAME }, { 10, RSP, 48, SAME },
	      { 14, RSP, 16, SAME }, { 15, RSP, 8, SAME });
	ck_assert_int_eq(res.entry, 0);
}
END_TEST

/* push rbp; mov rbp,rsp; sub rsp,16; nop; leave; ret: once rbp links the
 * frame the CFA is rbp-based (an unwinder may recover a lower rsp for the
 * frame from its callee: HotSpot's compiled-to-interpreted calls) */
START_TEST(test_frame_pointer_leave)
{
	static const uint8_t c[] = { 0x55, 0x48, 0x89, 0xe5, 0x48, 0x83, 0xec, 0x10, 0x90, 0xc9, 0xc3 };

	CHECK(c, { 0, RSP, 8, SAME }, { 1, RSP, 16, 16 }, { 4, RBP, 16, 16 }, { 8, RBP, 16, 16 },
	      { 9, RBP, 16, 16 }, { 10, RSP, 8, SAME });
}
END_TEST

/* push rbp; mov rbp,rsp; and rsp,-16; nop; mov rsp,rbp; pop rbp; ret:
 * while rsp is aligned the CFA is known only through rbp */
START_TEST(test_aligned_stack_uses_rbp)
{
	static const uint8_t c[] = { 0x55, 0x48, 0x89, 0xe5, 0x48, 0x83, 0xe4, 0xf0, 0x90,
				     0x48, 0x89, 0xec, 0x5d, 0xc3 };

	CHECK(c, { 4, RBP, 16, 16 }, { 8, RBP, 16, 16 }, { 9, RBP, 16, 16 }, { 12, RBP, 16, 16 },
	      { 13, RSP, 8, SAME });
}
END_TEST

/* enter 0x10,0; nop; leave; ret */
START_TEST(test_enter)
{
	static const uint8_t c[] = { 0xc8, 0x10, 0x00, 0x00, 0x90, 0xc9, 0xc3 };

	CHECK(c, { 0, RSP, 8, SAME }, { 4, RBP, 16, 16 }, { 6, RSP, 8, SAME });
}
END_TEST

/* test edi,edi; je L; push rbx; pop rbx; ret; L: ret */
START_TEST(test_several_returns)
{
	static const uint8_t c[] = { 0x85, 0xff, 0x74, 0x03, 0x53, 0x5b, 0xc3, 0xc3 };

	CHECK(c, { 0, RSP, 8, SAME }, { 2, RSP, 8, SAME }, { 5, RSP, 16, SAME }, { 6, RSP, 8, SAME },
	      { 7, RSP, 8, SAME });
}
END_TEST

/* test edi,edi; jne T; ret; T: push rbx; sub rsp,8; add rsp,8; pop rbx;
 * jmp out (a tail call with the frame gone) */
START_TEST(test_tail_jump)
{
	static const uint8_t c[] = { 0x85, 0xff, 0x75, 0x01, 0xc3, 0x53, 0x48, 0x83, 0xec, 0x08,
				     0x48, 0x83, 0xc4, 0x08, 0x5b, 0xe9, 0x00, 0x10, 0x00, 0x00 };

	CHECK(c, { 4, RSP, 8, SAME }, { 5, RSP, 8, SAME }, { 10, RSP, 24, SAME }, { 14, RSP, 16, SAME },
	      { 15, RSP, 8, SAME });
}
END_TEST

/* push rbx; mov ecx,10; L: dec ecx; jnz L; pop rbx; ret */
START_TEST(test_loop)
{
	static const uint8_t c[] = { 0x53, 0xb9, 0x0a, 0x00, 0x00, 0x00, 0xff, 0xc9, 0x75, 0xfc, 0x5b, 0xc3 };

	CHECK(c, { 6, RSP, 16, SAME }, { 8, RSP, 16, SAME }, { 10, RSP, 16, SAME }, { 11, RSP, 8, SAME });
}
END_TEST

/* a leaf using the red zone: mov [rsp-8],rdi; mov rax,[rsp-8]; ret */
START_TEST(test_red_zone)
{
	static const uint8_t c[] = { 0x48, 0x89, 0x7c, 0x24, 0xf8, 0x48, 0x8b, 0x44, 0x24, 0xf8, 0xc3 };

	CHECK(c, { 0, RSP, 8, SAME }, { 5, RSP, 8, SAME }, { 10, RSP, 8, SAME });
}
END_TEST

/* HotSpot's entry: stack bang, push rbp, sub rsp; rbp then used freely;
 * add rsp; pop rbp; ret */
START_TEST(test_hotspot_shape)
{
	static const uint8_t c[] = {
		0x89, 0x84, 0x24, 0x00, 0xc0, 0xfe, 0xff, /* mov [rsp-0x14000],eax */
		0x55,                                     /* push rbp */
		0x48, 0x83, 0xec, 0x20,                   /* sub rsp,0x20 */
		0x48, 0x8b, 0xee,                         /* mov rbp,rsi */
		0x48, 0x83, 0xc4, 0x20,                   /* add rsp,0x20 */
		0x5d,                                     /* pop rbp */
		0xc3,
	};

	CHECK(c, { 7, RSP, 8, SAME }, { 8, RSP, 16, 16 }, { 12, RSP, 48, 16 }, { 15, RSP, 48, 16 },
	      { 19, RSP, 16, 16 }, { 20, RSP, 8, SAME });
}
END_TEST

/* No ret at all (an OSR method leaves by jumps into the runtime): the
 * stack bang confirms the entry; without it the same code is refused. */
START_TEST(test_entry_prologue_without_ret)
{
	static const uint8_t c[] = {
		0x89, 0x84, 0x24, 0x00, 0xc0, 0xfe, 0xff, /* mov [rsp-0x14000],eax */
		0x55, 0x48, 0x83, 0xec, 0x40,             /* push rbp; sub rsp,0x40 */
		0x90,                                     /* nop */
		0x48, 0x83, 0xc4, 0x40, 0x5d,             /* add rsp,0x40; pop rbp */
		0xe9, 0x00, 0x10, 0x00, 0x00,             /* jmp out */
	};
	uint8_t plain[sizeof(c)];

	CHECK(c, { 7, RSP, 8, SAME }, { 12, RSP, 80, 16 }, { 18, RSP, 8, SAME });
	memcpy(plain, c, sizeof(c));
	memset(plain, 0x90, 7); /* no stack bang: nothing confirms the entry */
	ck_assert_uint_eq(an(plain, sizeof(plain)), 0);
	ck_assert_int_eq(res.refused, JP_SH_NO_RET);
}
END_TEST

/* rbp overwritten before it is saved: the caller's rbp is lost */
START_TEST(test_rbp_clobbered)
{
	static const uint8_t c[] = { 0x48, 0x89, 0xf5, 0x90, 0xc3 }; /* mov rbp,rsi; nop; ret */

	CHECK(c, { 0, RSP, 8, SAME }, { 3, RSP, 8, JP_SH_RBP_UNDEF }, { 4, RSP, 8, JP_SH_RBP_UNDEF });
}
END_TEST

/* call next; pop rax (reads the pc); ret */
START_TEST(test_call_next)
{
	static const uint8_t c[] = { 0xe8, 0x00, 0x00, 0x00, 0x00, 0x58, 0xc3 };

	CHECK(c, { 0, RSP, 8, SAME }, { 5, RSP, 16, SAME }, { 6, RSP, 8, SAME });
}
END_TEST

/* Two paths meet with different heights: from there on nothing is said;
 * before, and on the path with its own ret, rules remain.
 *  0 test esi,esi; 2 jne 5; 4 ret; 5 test edi,edi; 7 je 10; 9 push rbx;
 *  10 nop (join: 8 or 16); 11 nop; 12 ret */
START_TEST(test_paths_disagree)
{
	static const uint8_t c[] = { 0x85, 0xf6, 0x75, 0x01, 0xc3, 0x85, 0xff, 0x74, 0x01, 0x53, 0x90, 0x90, 0xc3 };

	CHECK(c, { 4, RSP, 8, SAME }, { 9, RSP, 8, SAME }, { 10, NONE, 0, 0 }, { 11, NONE, 0, 0 },
	      { 12, NONE, 0, 0 });
}
END_TEST

/* Code after an indirect jump, reached by nothing we follow: no rule.
 *  0 test edi,edi; 2 jne 5; 4 ret; 5 jmp rax; 7 push rbx; 8 pop rbx; 9 ret */
START_TEST(test_indirect_jump)
{
	static const uint8_t c[] = { 0x85, 0xff, 0x75, 0x01, 0xc3, 0xff, 0xe0, 0x53, 0x5b, 0xc3 };

	CHECK(c, { 5, RSP, 8, SAME }, { 7, NONE, 0, 0 }, { 9, NONE, 0, 0 });
}
END_TEST

/* rsp loaded from memory: unknown from there */
START_TEST(test_rsp_from_memory)
{
	/* 0 test edi,edi; 2 jne 5; 4 ret; 5 mov rsp,[rdi]; 8 nop; 9 ret */
	static const uint8_t c[] = { 0x85, 0xff, 0x75, 0x01, 0xc3, 0x48, 0x8b, 0x27, 0x90, 0xc3 };

	CHECK(c, { 5, RSP, 8, SAME }, { 8, NONE, 0, 0 }, { 9, NONE, 0, 0 });
}
END_TEST

/* Bytes that do not decode end the path, and get no rule. */
START_TEST(test_undecodable)
{
	/* 0 test edi,edi; 2 jne 5; 4 ret; 5 (06: invalid in 64-bit mode) */
	static const uint8_t c[] = { 0x85, 0xff, 0x75, 0x01, 0xc3, 0x06, 0x90 };

	CHECK(c, { 4, RSP, 8, SAME }, { 5, NONE, 0, 0 }, { 6, NONE, 0, 0 });
}
END_TEST

START_TEST(test_refusals)
{
	/* a ret with the return address elsewhere: push rbx; ret */
	static const uint8_t bad_ret[] = { 0x53, 0xc3 };
	/* popping above the return address */
	static const uint8_t underflow[] = { 0x58, 0x58, 0xc3 };
	/* no ret at all confirms the entry */
	static const uint8_t no_ret[] = { 0x53, 0x5b, 0xe9, 0x00, 0x10, 0x00, 0x00 };
	/* a jump into the middle of an instruction:
	 * 0 jmp 3 (eb 01); 2 mov al,0xc3 (b0 c3) — 3 is inside it */
	static const uint8_t overlap[] = { 0x74, 0x01, 0xb0, 0xc3, 0xc3 };
	/* pop into rsp */
	static const uint8_t pop_rsp[] = { 0x5c, 0xc3 };

	ck_assert_uint_eq(an(bad_ret, sizeof(bad_ret)), 0);
	ck_assert_int_eq(res.refused, JP_SH_BAD_RET);
	ck_assert_uint_eq(an(underflow, sizeof(underflow)), 0);
	ck_assert_int_eq(res.refused, JP_SH_UNDERFLOW);
	ck_assert_uint_eq(an(no_ret, sizeof(no_ret)), 0);
	ck_assert_int_eq(res.refused, JP_SH_NO_RET);
	ck_assert_uint_eq(an(overlap, sizeof(overlap)), 0);
	ck_assert_uint_eq(an(pop_rsp, sizeof(pop_rsp)), 0);
	ck_assert_uint_eq(an(NULL, 0), 0);
	ck_assert_int_eq(res.refused, JP_SH_TOO_BIG);
}
END_TEST

/* A piece that starts with a header: the function is found at its stack
 * bang, and the bytes before get nothing. */
START_TEST(test_entry_after_junk)
{
	static const uint8_t c[] = {
		0x06, 0x06, 0x06, 0x06, 0x06,             /* junk */
		0x89, 0x84, 0x24, 0x00, 0xc0, 0xfe, 0xff, /* mov [rsp-0x14000],eax */
		0x55, 0x48, 0x83, 0xec, 0x10,             /* push rbp; sub rsp,0x10 */
		0x48, 0x83, 0xc4, 0x10, 0x5d, 0xc3,       /* add rsp,0x10; pop rbp; ret */
	};

	CHECK(c, { 0, NONE, 0, 0 }, { 4, NONE, 0, 0 }, { 5, RSP, 8, SAME }, { 13, RSP, 16, 16 },
	      { 17, RSP, 32, 16 }, { 22, RSP, 8, SAME });
	ck_assert_int_eq(res.entry, 5);
}
END_TEST

/* The encoder: one FDE per run of rows, the table sorted; a gap between
 * runs has no FDE. */
START_TEST(test_encoder_gaps)
{
	static uint8_t data[JP_CFI_MAX_DATA];
	struct jp_sh_row r[3] = {
		{ 0, 4, RSP, 8, SAME }, { 4, 10, RSP, 16, 16 }, { 20, 30, RBP, 16, 16 },
	};
	struct jp_cfi_rule rule;
	const char *why;
	size_t hsz, usize = jp_cfi_encode(r, 3, 31, data, sizeof(data), &hsz);

	ck_assert_uint_gt(usize, 0);
	ck_assert_uint_eq(hsz, 12 + 2 * 8);
	ck_assert_uint_eq(jp_cfi_fde_count(data, usize, hsz), 2);
	ck_assert_int_eq(jp_cfi_check(data, usize, hsz, 31, &why), 0);
	ck_assert_int_eq(jp_cfi_rule_at(data, usize, hsz, 31, 12, &rule), 0);
	ck_assert_int_eq(rule.found, 0);
	ck_assert_int_eq(jp_cfi_rule_at(data, usize, hsz, 31, 25, &rule), 0);
	ck_assert_int_eq(rule.found, 1);
	ck_assert_int_eq(rule.cfa_reg, 6);
	/* too small a buffer, no rows: nothing */
	ck_assert_uint_eq(jp_cfi_encode(r, 3, 31, data, 40, &hsz), 0);
	ck_assert_uint_eq(jp_cfi_encode(r, 0, 31, data, sizeof(data), &hsz), 0);
	/* a row past the code is not described */
	ck_assert_uint_eq(jp_cfi_encode(r + 2, 1, 25, data, sizeof(data), &hsz), 0);
	/* a broken header is refused by the check */
	usize = jp_cfi_encode(r, 3, 31, data, sizeof(data), &hsz);
	data[usize - hsz + 1] = 0x03;
	ck_assert_int_eq(jp_cfi_check(data, usize, hsz, 31, &why), -1);
}
END_TEST

/* QEMU 7.2's TCG prologue as it was found in its code buffer: push the
 * six callee-saved registers, mov rbp,rdi (rbp becomes the CPU state),
 * add rsp,-0x488, jmp rsi (into a translated block); then the epilogue
 * the blocks jump to: xor eax,eax; add rsp,0x488; vzeroupper; the pops;
 * ret. */
static const uint8_t tcg_prologue[] = {
	0x55, 0x53, 0x41, 0x54, 0x41, 0x55, 0x41, 0x56, 0x41, 0x57, 0x48, 0x8b, 0xef, 0x48, 0x81, 0xc4,
	0x78, 0xfb, 0xff, 0xff, 0xff, 0xe6, 0x33, 0xc0, 0x48, 0x81, 0xc4, 0x88, 0x04, 0x00, 0x00, 0xc5,
	0xf8, 0x77, 0x41, 0x5f, 0x41, 0x5e, 0x41, 0x5d, 0x41, 0x5c, 0x5b, 0x5d, 0xc3,
};

/* A translated block: mov eax,[rbp-0x10]; test eax,eax; jl exit;
 * add dword [rbp+8],1; call helper; jmp next-block; exit: lea rax,[rip];
 * jmp epilogue.  No ret, the stack left as the prologue made it. */
static const uint8_t tcg_block[] = {
	0x8b, 0x45, 0xf0, 0x85, 0xc0, 0x0f, 0x8c, 0x0e, 0x00, 0x00, 0x00, 0x83, 0x45, 0x08, 0x01, 0xe8,
	0x00, 0x10, 0x00, 0x00, 0xe9, 0x00, 0x20, 0x00, 0x00, 0x48, 0x8d, 0x05, 0x00, 0x00, 0x00, 0x00,
	0xe9, 0x00, 0xf0, 0xff, 0xff,
};

/* The prologue is a dispatcher: its frame (CFA = rsp+0x4c0, rbp saved at
 * CFA-16) is what the jump leaves, and the epilogue no path from the entry
 * reaches gets its rules from that frame, confirmed by its ret. */
START_TEST(test_dispatcher)
{
	CHECK(tcg_prologue, { 0, RSP, 8, SAME }, { 1, RSP, 16, 16 }, { 10, RSP, 56, 16 }, { 13, RSP, 56, 16 },
	      { 20, RSP, 0x4c0, 16 }, { 22, RSP, 0x4c0, 16 }, { 24, RSP, 0x4c0, 16 }, { 31, RSP, 56, 16 },
	      { 43, RSP, 16, 16 }, { 44, RSP, 8, SAME });
	ck_assert_int_eq(res.dispatch, 1);
	ck_assert_int_eq(res.dispatch_cfa, 0x4c0);
	ck_assert_int_eq(res.dispatch_rbp, 16);
}
END_TEST

/* Code the dispatcher jumps into runs on its frame; a function is not
 * taken for such code, nor is code that leaves with another frame. */
START_TEST(test_dispatched)
{
	/* the block: one rule, the dispatcher's frame, everywhere */
	static const uint8_t ret_fn[] = { 0x53, 0x5b, 0xc3 };             /* push rbx; pop rbx; ret */
	static const uint8_t moved[] = { 0x50, 0xe9, 0x00, 0x10, 0x00, 0x00 }; /* push rax; jmp out */
	static const uint8_t loops[] = { 0x90, 0xeb, 0xfd };               /* no exit at all */
	size_t n = jp_sh_analyze_dispatched(w, tcg_block, sizeof(tcg_block), 0x4c0, 16, rows, 256, &res);
	static const struct want want[] = { { 0, RSP, 0x4c0, 16 }, { 15, RSP, 0x4c0, 16 }, { 25, RSP, 0x4c0, 16 },
					    { 32, RSP, 0x4c0, 16 } };

	ck_assert_uint_gt(n, 0);
	check_rules(n, sizeof(tcg_block), want, sizeof(want) / sizeof(want[0]));
	ck_assert_int_eq(an(tcg_block, sizeof(tcg_block)), 0); /* as a function: no ret, no prologue */
	ck_assert_int_eq(res.dispatch, 0);
	ck_assert_uint_eq(jp_sh_analyze_dispatched(w, ret_fn, sizeof(ret_fn), 0x4c0, 16, rows, 256, &res), 0);
	ck_assert_uint_eq(jp_sh_analyze_dispatched(w, moved, sizeof(moved), 0x4c0, 16, rows, 256, &res), 0);
	ck_assert_uint_eq(jp_sh_analyze_dispatched(w, loops, sizeof(loops), 0x4c0, 16, rows, 256, &res), 0);
	/* a frame that is no frame */
	ck_assert_uint_eq(jp_sh_analyze_dispatched(w, tcg_block, sizeof(tcg_block), 8, 16, rows, 256, &res), 0);
}
END_TEST

/* A function with an indirect jump and code after it that a frame does
 * not explain is no dispatcher, and keeps its ordinary rules. */
START_TEST(test_not_a_dispatcher)
{
	/* push rbp; mov rbp,rsp; sub rsp,16; jmp rax; then: pop rbx; ret */
	static const uint8_t c[] = { 0x55, 0x48, 0x89, 0xe5, 0x48, 0x83, 0xec, 0x10, 0xff, 0xe0, 0x5b, 0xc3 };

	CHECK(c, { 0, RSP, 8, SAME }, { 4, RBP, 16, 16 }, { 8, RBP, 16, 16 }, { 10, NONE, 0, 0 });
	ck_assert_int_eq(res.dispatch, 0);
}
END_TEST

/* The capture's writer: a dispatcher described for one JIT lends its frame
 * to that JIT's blocks, not to another JIT's code. */
START_TEST(test_describe_dispatched)
{
	struct jp_cfi_work *cw = jp_cfi_work_new();
	const uint8_t *data;
	uint32_t size, hsz;

	ck_assert_ptr_nonnull(cw);
	cw->jit = 7;
	ck_assert_int_eq(jp_cfi_describe(cw, tcg_block, sizeof(tcg_block), 4096, &data, &size, &hsz), 0);
	ck_assert_int_eq(jp_cfi_describe(cw, tcg_prologue, sizeof(tcg_prologue), 4096, &data, &size, &hsz), 1);
	ck_assert_int_eq(jp_cfi_describe(cw, tcg_block, sizeof(tcg_block), 4096, &data, &size, &hsz), 1);
	ck_assert_uint_eq(cw->dispatched, 1);
	cw->jit = 8;
	ck_assert_int_eq(jp_cfi_describe(cw, tcg_block, sizeof(tcg_block), 4096, &data, &size, &hsz), 0);
	cw->jit = 0; /* unknown creator: no frame lent */
	ck_assert_int_eq(jp_cfi_describe(cw, tcg_block, sizeof(tcg_block), 4096, &data, &size, &hsz), 0);
	ck_assert_uint_eq(cw->dispatched, 1);
	jp_cfi_work_free(cw);
}
END_TEST

/* The unwinding data must fit in the room after the code (perf maps it
 * from the code's end rounded up to 8). */
START_TEST(test_describe_room)
{
	static const uint8_t c[] = { 0x53, 0x48, 0x83, 0xec, 0x20, 0x48, 0x83, 0xc4, 0x20, 0x5b, 0xc3 };
	struct jp_cfi_work *cw = jp_cfi_work_new();
	const uint8_t *data;
	uint32_t size, hsz;

	ck_assert_ptr_nonnull(cw);
	ck_assert_int_eq(jp_cfi_describe(cw, c, sizeof(c), 4096, &data, &size, &hsz), 1);
	ck_assert_int_eq(jp_cfi_describe(cw, c, sizeof(c), 5 + size - 1, &data, &size, &hsz), 0);
	ck_assert_int_eq(jp_cfi_describe(cw, c, sizeof(c), 5 + size, &data, &size, &hsz), 1);
	ck_assert_uint_eq(cw->no_room, 1);
	ck_assert_uint_eq(cw->described, 2);
	jp_cfi_work_free(cw);
}
END_TEST

/* With the splitter's decodes (the capture path) the rows are the same. */
/* rows[0, n) are want[0, n) */
static void same_rows(const struct jp_sh_row *want, size_t n)
{
	for (size_t i = 0; i < n; i++)
		ck_assert(want[i].start == rows[i].start && want[i].end == rows[i].end &&
			  want[i].cfa_reg == rows[i].cfa_reg && want[i].cfa_off == rows[i].cfa_off &&
			  want[i].rbp == rows[i].rbp);
}

START_TEST(test_memo_same_rows)
{
	static const uint8_t c[] = {
		0x89, 0x84, 0x24, 0x00, 0xc0, 0xfe, 0xff, 0x55, 0x48, 0x83, 0xec, 0x20, 0x85, 0xff, 0x74, 0x06,
		0x48, 0x83, 0xc4, 0x20, 0x5d, 0xc3, 0x48, 0x8b, 0xee, 0x48, 0x83, 0xc4, 0x20, 0x5d, 0xc3,
	};
	void *mem = malloc(jp_insn_memo_size(256, sizeof(c)));
	static struct jp_piece pcs[16];
	struct jp_insn_memo m;
	struct jp_sh_row plain[64];
	size_t n = an(c, sizeof(c)), n2;

	ck_assert_uint_gt(n, 0);
	ck_assert_ptr_nonnull(mem);
	memcpy(plain, rows, n * sizeof(rows[0]));
	jp_insn_memo_init(&m, mem, 256, sizeof(c));
	jp_insn_memo_reset(&m, c, sizeof(c));
	jp_split_memo(c, sizeof(c), 0x1000, pcs, 16, &m);
	ck_assert_uint_gt(m.n, 0);
	jp_sh_set_memo(w, &m);
	n2 = an(c, sizeof(c));
	jp_sh_set_memo(w, NULL);
	ck_assert_uint_eq(n2, n);
	same_rows(plain, n);
	free(mem);
}
END_TEST

/* The answers generic writes keep by an instruction's bytes are the ones
 * Zydis gives: the same code analysed again (the answers from the table)
 * and by a fresh workspace (from Zydis) has the same rows.  movaps
 * xmm4,[rsp+0x10], vmovups [rsp+8],xmm5, a VEX instruction writing rbp
 * (bextr rbp,rax,rcx) and an SSE one writing rsp's low half (movd esp,xmm0). */
START_TEST(test_generic_writes_remembered)
{
	static const uint8_t c[] = {
		0x55, 0x48, 0x89, 0xe5, 0x0f, 0x28, 0x64, 0x24, 0x10, 0xc5, 0xf8, 0x11, 0x6c, 0x24, 0x08,
		0xc4, 0xe2, 0xf0, 0xf7, 0xe8, 0x5d, 0xc3, 0x66, 0x0f, 0x7e, 0xc4, 0xc3,
	};
	struct jp_sh_row first[64];
	struct jp_sh_work *fresh = jp_sh_work_new(0);
	size_t n = an(c, sizeof(c)), n2;

	ck_assert_ptr_nonnull(fresh);
	memcpy(first, rows, n * sizeof(rows[0]));
	for (int again = 0; again < 2; again++) {
		n2 = again ? jp_sh_analyze(fresh, c, sizeof(c), rows, 256, &res) : an(c, sizeof(c));
		ck_assert_uint_eq(n2, n);
		same_rows(first, n);
	}
	jp_sh_work_free(fresh);
}
END_TEST

/* Random bytes: never a crash, rows always inside the code, and the CFI of
 * whatever is found reads back as the rows. */
START_TEST(test_random_bytes)
{
	static uint8_t c[2048], data[JP_CFI_MAX_DATA];
	uint64_t x = 0x9e3779b97f4a7c15ull;

	for (int round = 0; round < 300; round++) {
		size_t len = 1 + (size_t)(x % sizeof(c)), n, usize, hsz;

		for (size_t i = 0; i < len; i++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			/* bias towards stack instructions */
			c[i] = (x & 3) == 0 ? (uint8_t)(0x50 + (x >> 8) % 16) : (x & 7) == 1 ? 0xc3 : (uint8_t)(x >> 16);
		}
		n = an(c, len);
		if (!n)
			continue;
		usize = jp_cfi_encode(rows, n, len, data, sizeof(data), &hsz);
		if (!usize)
			continue;
		for (uint32_t off = 0; off < len; off++) {
			const struct jp_sh_row *r = row_at(n, off);
			struct jp_cfi_rule rule;

			ck_assert_int_eq(jp_cfi_rule_at(data, usize, hsz, len, off, &rule), 0);
			if (!r || r->cfa_off <= 0) {
				ck_assert_int_eq(rule.found, 0);
				continue;
			}
			ck_assert_int_eq(rule.found, 1);
			ck_assert_int_eq(rule.cfa_off, r->cfa_off);
		}
	}
}
END_TEST

Suite *make_stackheight_suite(void)
{
	Suite *s = suite_create("stackheight");
	TCase *t = tcase_create("analysis");

	tcase_add_checked_fixture(t, setup, NULL);
	tcase_add_test(t, test_push_sub_call);
	tcase_add_test(t, test_generic_writes_remembered);
	tcase_add_test(t, test_frame_pointer_leave);
	tcase_add_test(t, test_aligned_stack_uses_rbp);
	tcase_add_test(t, test_enter);
	tcase_add_test(t, test_several_returns);
	tcase_add_test(t, test_tail_jump);
	tcase_add_test(t, test_loop);
	tcase_add_test(t, test_red_zone);
	tcase_add_test(t, test_hotspot_shape);
	tcase_add_test(t, test_rbp_clobbered);
	tcase_add_test(t, test_entry_prologue_without_ret);
	tcase_add_test(t, test_call_next);
	tcase_add_test(t, test_paths_disagree);
	tcase_add_test(t, test_indirect_jump);
	tcase_add_test(t, test_rsp_from_memory);
	tcase_add_test(t, test_undecodable);
	tcase_add_test(t, test_refusals);
	tcase_add_test(t, test_entry_after_junk);
	tcase_add_test(t, test_memo_same_rows);
	tcase_add_test(t, test_random_bytes);
	tcase_add_test(t, test_dispatcher);
	tcase_add_test(t, test_dispatched);
	tcase_add_test(t, test_not_a_dispatcher);
	suite_add_tcase(s, t);
	t = tcase_create("cfi");
	tcase_add_test(t, test_encoder_gaps);
	tcase_add_test(t, test_describe_room);
	tcase_add_test(t, test_describe_dispatched);
	suite_add_tcase(s, t);
	return s;
}
