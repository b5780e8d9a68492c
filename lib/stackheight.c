/* stackheight.c - the CFA rule at each instruction of a piece, by following its stack pointer from the entry. */
#include "stackheight.h"
#include "insn.h"
#include "arena.h"

#include <string.h>

/* Learnt from the kernel's objtool (tools/objtool/check.c): walk every path
 * from the entry with the stack state, compare states where paths meet, and
 * give up on what cannot be followed.  objtool fails the build there; inside
 * a host we say nothing for that code and perf falls back to frame
 * pointers.  Unlike objtool we know no symbol table, no list of noreturn
 * functions and no jump tables, so the entry itself is an assumption that a
 * ret has to confirm (see jp_sh_analyze). */

#define UNK INT16_MIN          /* a field we do not know */
#define OFF_MAX 30000          /* larger frames: treated as unknown */

enum {
	F_SEEN = 1,     /* reached from an entry: the state is the meet of all paths so far */
	F_QUEUED = 2,
	F_DEAD = 4,     /* reached, but the CFA is known in no register */
};

/* The state before one instruction.  All offsets are from the CFA down:
 * CFA = rsp + rsp, CFA = rbp + rbp; save > 0: the caller's rbp is at
 * CFA - save, 0: rbp still holds it, UNK: it is lost to us. */
struct st {
	int16_t rsp, rbp, save;
	uint8_t fl, len;
};

/* What generic_writes() found, by the instruction's bytes: the full decode
 * it asks of Zydis (operands and all) is 2,000 instructions of ours, for
 * SSE and VEX instructions that JIT code repeats (HotSpot: 5,400 a pass
 * over its code, 8 % of describing it).  Direct-mapped; the answer is a
 * function of the bytes alone. */
#define GW_SLOTS 256u
enum { GW_RSP = 1, GW_RBP = 2 };

struct gw_entry {
	uint8_t len; /* 0: empty */
	uint8_t writes; /* GW_RSP, GW_RBP */
	uint8_t bytes[15];
};

struct jp_sh_work {
	uint32_t cap;
	size_t bytes;
	struct st *st;
	uint32_t *wl;
	struct jp_decoder full; /* Zydis with operands, for the rare instruction that may write rsp/rbp */
	struct jp_decoder dec;
	struct jp_insn_memo *memo; /* what the splitter decoded, when the code is its buffer */
	struct gw_entry gw[GW_SLOTS];
};

struct jp_sh_work *jp_sh_work_new(uint32_t max_len)
{
	struct jp_sh_work *w;
	size_t bytes;

	if (max_len == 0 || max_len > JP_SH_MAX_LEN)
		max_len = JP_SH_MAX_LEN;
	bytes = sizeof(*w) + (size_t)max_len * (sizeof(struct st) + sizeof(uint32_t));
	w = jp_sys_alloc(bytes);
	if (!w)
		return NULL;
	w->cap = max_len;
	w->bytes = bytes;
	w->st = (struct st *)(w + 1);
	w->wl = (uint32_t *)(w->st + max_len); /* walk() moves it next to the piece's states */
	jp_insn_init(&w->dec);
	ZydisDecoderInit(&w->full.z, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64);
	memset(w->gw, 0, sizeof(w->gw));
	return w;
}

void jp_sh_set_memo(struct jp_sh_work *w, struct jp_insn_memo *memo)
{
	w->memo = memo;
	jp_insn_init_memo(&w->dec, memo);
}

void jp_sh_work_free(struct jp_sh_work *w)
{
	if (w)
		jp_sys_free(w, w->bytes);
}

/* ---- the state ------------------------------------------------------------ */

static int16_t add_off(int16_t v, int64_t d)
{
	int64_t r;

	if (v == UNK)
		return UNK;
	r = (int64_t)v + d;
	return r > OFF_MAX || r < -OFF_MAX ? UNK : (int16_t)r;
}

static int dead(const struct st *s)
{
	return s->rsp == UNK && s->rbp == UNK;
}

/* rbp gets a value that is not the caller's: its saved copy (if any) is
 * what remains of it. */
static void clobber_rbp(struct st *s)
{
	s->rbp = UNK;
	if (s->save == 0)
		s->save = UNK;
}

/* pop into rbp from the slot at CFA - rsp */
static void pop_rbp(struct st *s)
{
	if (s->save > 0 && s->rsp != UNK && s->save == s->rsp)
		s->save = 0;
	else if (s->save == 0 || s->rsp == UNK)
		s->save = UNK;
	s->rbp = UNK;
}

/* ---- what an instruction does to the state ---------------------------------- */

struct ctx {
	struct jp_sh_work *w;
	const uint8_t *code;
	uint32_t len;
	uint32_t rets_ok, rets_bad;
	int underflow;
	/* Jumps that leave the piece (direct ones out of it, indirect ones):
	 * with the stack as a dispatcher entered it (code walked from a
	 * dispatch entry, disp set) or not; and the first indirect jump
	 * reached with the CFA known in rsp, which may be a dispatch. */
	const struct st *disp;
	uint32_t exits_ok, exits_bad;
	int ind_seen;
	uint32_t ind_end;
	struct st ind;
};

/* A jump that leaves the piece, in state s. */
static void leave_by_jump(struct ctx *c, uint32_t end, const struct st *s, int indirect)
{
	if (c->disp) {
		if (s->rsp == c->disp->rsp && s->save == c->disp->save)
			c->exits_ok++;
		else
			c->exits_bad++;
	}
	if (indirect && !c->ind_seen && s->rsp != UNK) {
		c->ind_seen = 1;
		c->ind_end = end;
		c->ind = *s;
	}
}

static void propagate(struct ctx *c, uint32_t off, const struct st *in)
{
	struct st *s = &c->w->st[off];
	struct st n = *in;

	if (s->fl & F_SEEN) {
		if (s->fl & F_DEAD)
			return;
		n.rsp = s->rsp == in->rsp ? s->rsp : UNK;
		n.rbp = s->rbp == in->rbp ? s->rbp : UNK;
		n.save = s->save == in->save ? s->save : UNK;
		if (n.rsp == s->rsp && n.rbp == s->rbp && n.save == s->save)
			return; /* nothing new on this path */
	}
	s->rsp = n.rsp;
	s->rbp = n.rbp;
	s->save = n.save;
	s->fl |= F_SEEN;
	if (dead(s))
		s->fl |= F_DEAD;
	/* each offset is queued at most once at a time: cap entries suffice */
	s->fl |= F_QUEUED;
}

/* Memory operand [base + disp] with no index and no RIP: base register
 * (0..15) and displacement, or -1. */
static int mem_base(const uint8_t *p, size_t n, unsigned mo, uint8_t rex, int32_t *disp)
{
	uint8_t m, mod, rm;
	unsigned i = mo + 1;
	int base;

	if (mo + 1 > n)
		return -1;
	m = p[mo];
	mod = m >> 6;
	rm = m & 7;
	if (mod == 3)
		return -1;
	if (rm == 4) {
		uint8_t sib;

		if (i >= n)
			return -1;
		sib = p[i++];
		if ((((sib >> 3) & 7) | ((rex & 2) << 2)) != 4)
			return -1; /* an index register */
		base = (sib & 7) | ((rex & 1) << 3);
		if ((sib & 7) == 5 && mod == 0)
			return -1; /* disp32 with no base */
	} else {
		if (rm == 5 && mod == 0)
			return -1; /* RIP-relative */
		base = rm | ((rex & 1) << 3);
	}
	if (mod == 1) {
		if (i >= n)
			return -1;
		*disp = (int8_t)p[i];
	} else if (mod == 2) {
		if (i + 4 > n)
			return -1;
		memcpy(disp, p + i, 4);
	} else {
		*disp = 0;
	}
	return base;
}

/* The instruction may write rsp or rbp in a way the patterns below do not
 * know: ask Zydis which registers it writes (explicitly or not). */
static struct gw_entry *gw_slot(struct jp_sh_work *w, const uint8_t *p, size_t n)
{
	uint64_t v = 0;

	memcpy(&v, p, n < 8 ? n : 8);
	return &w->gw[((v ^ n) * 0x9e3779b97f4a7c15ull) >> 56]; /* 256 slots */
}

static void generic_writes(struct ctx *c, const uint8_t *p, size_t n, struct st *s)
{
	ZydisDecodedInstruction z;
	ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
	struct gw_entry *e = NULL;
	unsigned writes = 0;

	if (n >= 1 && n <= sizeof(e->bytes)) {
		e = gw_slot(c->w, p, n);
		if (e->len == n && !memcmp(e->bytes, p, n)) {
			writes = e->writes;
			goto apply;
		}
	}
	if (!ZYAN_SUCCESS(ZydisDecoderDecodeFull(&c->w->full.z, p, n, &z, ops))) {
		writes = GW_RSP | GW_RBP;
	} else {
		for (unsigned k = 0; k < z.operand_count; k++) {
			ZydisRegister r;

			if (ops[k].type != ZYDIS_OPERAND_TYPE_REGISTER ||
			    !(ops[k].actions & ZYDIS_OPERAND_ACTION_MASK_WRITE))
				continue;
			r = ZydisRegisterGetLargestEnclosing(ZYDIS_MACHINE_MODE_LONG_64, ops[k].reg.value);
			if (r == ZYDIS_REGISTER_RSP)
				writes |= GW_RSP;
			else if (r == ZYDIS_REGISTER_RBP)
				writes |= GW_RBP;
		}
	}
	if (e) {
		e->len = (uint8_t)n;
		e->writes = (uint8_t)writes;
		memcpy(e->bytes, p, n);
	}
apply:
	/* (either order: clobber_rbp does not read rsp) */
	if (writes & GW_RSP)
		s->rsp = UNK;
	if (writes & GW_RBP)
		clobber_rbp(s);
}

enum { NEXT = 1, TARGET = 2, ENTRY = 4, CALL = 8 }; /* successors of an instruction */

/* Apply the instruction at p (length l, decoded as in) to *s.  Returns a
 * mask of successors; *target is the branch target (from the piece start). */
static unsigned step(struct ctx *c, uint32_t off, const struct jp_insn *in, struct st *s, int64_t *target)
{
	const uint8_t *p = c->code + off;
	const unsigned l = in->len;
	unsigned i = 0, mo = in->modrm_off;
	uint8_t rex = 0, op, modrm = 0, mod = 0;
	int opsz16 = 0, reg = -1, rm = -1;
	int64_t w;

	while (i < l) {
		uint8_t b = p[i];

		if (b == 0x66)
			opsz16 = 1;
		else if (!(b == 0x67 || b == 0xf0 || b == 0xf2 || b == 0xf3 || b == 0x2e || b == 0x36 || b == 0x3e ||
			   b == 0x26 || b == 0x64 || b == 0x65))
			break;
		i++;
	}
	if (i < l && (p[i] & 0xf0) == 0x40)
		rex = p[i++];
	if (i >= l)
		return 0;
	op = p[i];
	if (mo) {
		modrm = p[mo];
		mod = modrm >> 6;
		reg = ((modrm >> 3) & 7) | ((rex & 4) << 1);
		rm = (modrm & 7) | ((rex & 1) << 3);
	}
	*target = in->rel_is_branch && in->rel_size ? (int64_t)off + l + in->rel : -1;
	w = rex & 8;

	/* VEX, EVEX, XOP: no stack instructions, but a few write a GPR */
	if (op == 0xc4 || op == 0xc5 || op == 0x62 || (op == 0x8f && mo && ((modrm >> 3) & 7))) {
		generic_writes(c, p, l, s);
		return NEXT;
	}
	if (op == 0x0f) {
		uint8_t o2 = i + 1 < l ? p[i + 1] : 0;

		if (o2 >= 0x80 && o2 <= 0x8f)
			return NEXT | TARGET; /* jcc rel32 */
		if (o2 == 0x0b)
			return 0; /* ud2 */
		if (o2 == 0x1f || o2 == 0x1e)
			return NEXT; /* nop, endbr */
		if (!mo || reg == 4 || reg == 5 || (mod == 3 && (rm == 4 || rm == 5)) || (o2 >= 0xc8 && o2 <= 0xcf))
			generic_writes(c, p, l, s);
		return NEXT;
	}
	if (op >= 0x50 && op <= 0x57) { /* push r */
		int r = (op & 7) | ((rex & 1) << 3);
		int d = opsz16 ? 2 : 8;

		s->rsp = add_off(s->rsp, d);
		if (r == 5 && s->save == 0)
			s->save = s->rsp == UNK ? UNK : s->rsp;
		return NEXT;
	}
	if (op >= 0x58 && op <= 0x5f) { /* pop r */
		int r = (op & 7) | ((rex & 1) << 3);

		if (r == 4) {
			s->rsp = UNK;
			return NEXT;
		}
		if (r == 5)
			pop_rbp(s);
		s->rsp = add_off(s->rsp, opsz16 ? -2 : -8);
		return NEXT;
	}
	switch (op) {
	case 0x68:
	case 0x6a:
	case 0x9c: /* push imm, pushf */
		s->rsp = add_off(s->rsp, opsz16 ? 2 : 8);
		return NEXT;
	case 0x9d: /* popf */
		s->rsp = add_off(s->rsp, opsz16 ? -2 : -8);
		return NEXT;
	case 0x8f: /* pop r/m */
		if (mod == 3 && rm == 4) {
			s->rsp = UNK;
			return NEXT;
		}
		if (mod == 3 && rm == 5)
			pop_rbp(s);
		s->rsp = add_off(s->rsp, opsz16 ? -2 : -8);
		return NEXT;
	case 0xc2:
	case 0xc3: /* ret: the return address must be on top, as at the entry */
		if (s->rsp != UNK) {
			if (s->rsp == 8)
				c->rets_ok++;
			else
				c->rets_bad++;
		}
		return 0;
	case 0xca:
	case 0xcb:
	case 0xcf:
	case 0xcc:
	case 0xf4: /* far returns, iret, int3, hlt */
		return 0;
	case 0xc9: /* leave: mov rsp,rbp; pop rbp */
		s->rsp = s->rbp;
		pop_rbp(s);
		s->rsp = add_off(s->rsp, -8);
		return NEXT;
	case 0xc8: { /* enter size, 0 */
		uint16_t sz;

		if (l < i + 4 || p[i + 3] != 0 || opsz16) {
			s->rsp = UNK;
			clobber_rbp(s);
			return NEXT;
		}
		memcpy(&sz, p + i + 1, 2);
		s->rsp = add_off(s->rsp, 8);
		if (s->save == 0)
			s->save = s->rsp;
		s->rbp = s->rsp;
		s->rsp = add_off(s->rsp, sz);
		return NEXT;
	}
	case 0xe8: /* call rel32 */
		if (*target == (int64_t)off + l) {
			/* call to the next instruction: reads the pc, pushes */
			s->rsp = add_off(s->rsp, 8);
			*target = -1;
			return NEXT;
		}
		return NEXT | ENTRY | CALL; /* the callee is balanced (ABI); a target here is a function */
	case 0xe9:
	case 0xeb:
		if (*target < 0 || *target >= (int64_t)c->len)
			leave_by_jump(c, off + l, s, 0);
		return TARGET;
	case 0xe0:
	case 0xe1:
	case 0xe2:
	case 0xe3:
		return NEXT | TARGET;
	case 0x94:
	case 0x95:
	case 0xbc:
	case 0xbd: /* xchg rax,rsp/rbp; mov esp/ebp,imm (not with REX.B: r12, r13) */
		if (!(rex & 1))
			generic_writes(c, p, l, s);
		return NEXT;
	case 0xff:
		switch ((modrm >> 3) & 7) {
		case 2:
		case 3:
			return NEXT | CALL; /* indirect call: balanced */
		case 4:
		case 5:
			leave_by_jump(c, off + l, s, 1);
			return 0; /* indirect jump: not followed */
		case 6:
			s->rsp = add_off(s->rsp, opsz16 ? 2 : 8);
			return NEXT;
		default:
			break;
		}
		break;
	case 0x81:
	case 0x83:
		if (mod == 3 && (rm == 4 || rm == 5)) {
			unsigned ext = (modrm >> 3) & 7;
			int32_t imm;

			if (ext == 7)
				return NEXT; /* cmp */
			if (op == 0x83)
				imm = (int8_t)p[l - 1];
			else
				memcpy(&imm, p + l - 4, 4);
			if (!w || opsz16 || (ext != 0 && ext != 5)) {
				if (rm == 4)
					s->rsp = UNK; /* and rsp,-16 (alignment) and the rest */
				else
					clobber_rbp(s);
				return NEXT;
			}
			/* sub: the register moves down, away from the CFA */
			if (rm == 4)
				s->rsp = add_off(s->rsp, ext == 5 ? imm : -(int64_t)imm);
			else {
				int16_t b = add_off(s->rbp, ext == 5 ? imm : -(int64_t)imm);

				clobber_rbp(s);
				s->rbp = b;
			}
			return NEXT;
		}
		break;
	case 0x8d: /* lea rsp/rbp, [rsp/rbp + d] */
		if (reg == 4 || reg == 5) {
			int32_t d = 0;
			int b = mem_base(p, l, mo, rex, &d);
			int16_t v = UNK;

			if (w && !opsz16 && b == 4)
				v = add_off(s->rsp, -(int64_t)d);
			else if (w && !opsz16 && b == 5)
				v = add_off(s->rbp, -(int64_t)d);
			if (reg == 4) {
				s->rsp = v;
			} else {
				clobber_rbp(s);
				s->rbp = v;
			}
			return NEXT;
		}
		break;
	case 0x89:
	case 0x8b:
		if (mod == 3) {
			int dst = op == 0x89 ? rm : reg, src = op == 0x89 ? reg : rm;

			if (dst == 4) {
				s->rsp = w && src == 5 ? s->rbp : UNK;
				return NEXT;
			}
			if (dst == 5) {
				int16_t v = w && src == 4 ? s->rsp : UNK;

				clobber_rbp(s);
				s->rbp = v;
				return NEXT;
			}
			if (src != 4 && src != 5)
				return NEXT;
			return NEXT; /* a copy of rsp or rbp elsewhere: reads only */
		}
		if (reg == 5) {
			int32_t d = 0;
			int b = mem_base(p, l, mo, rex, &d);

			if (op == 0x89) {
				/* mov [rsp+d], rbp: the caller's rbp saved without a push */
				if (w && b == 4 && s->save == 0 && s->rsp != UNK) {
					int16_t slot = add_off(s->rsp, -(int64_t)d);

					if (slot != UNK && slot > 0)
						s->save = slot;
				}
				return NEXT;
			}
			if (w && b == 4 && s->save > 0 && s->rsp != UNK && add_off(s->rsp, -(int64_t)d) == s->save) {
				s->save = 0; /* mov rbp, [slot]: restored */
				s->rbp = UNK;
				return NEXT;
			}
			clobber_rbp(s);
			return NEXT;
		}
		if (reg == 4) {
			if (op == 0x8b)
				s->rsp = UNK; /* rsp loaded from memory */
			return NEXT;
		}
		return NEXT;
	default:
		if (op >= 0x70 && op <= 0x7f)
			return NEXT | TARGET;
		break;
	}
	if (mo && (reg == 4 || reg == 5 || (mod == 3 && (rm == 4 || rm == 5))))
		generic_writes(c, p, l, s);
	return NEXT;
}

/* ---- the walk ------------------------------------------------------------- */

static void push_wl(struct ctx *c, uint32_t *sp, uint32_t off, const struct st *in)
{
	uint8_t was = c->w->st[off].fl & F_QUEUED;

	propagate(c, off, in);
	if (!was && (c->w->st[off].fl & F_QUEUED))
		c->w->wl[(*sp)++] = off;
}

/* Does p open with a prologue only a function entry has?  HotSpot's stack
 * bang (mov [rsp-N],eax, N a multiple of the page size, then push rbp), or
 * push rbp; mov rbp,rsp.  Compiled methods that leave only by a jump (an
 * OSR method's exits into the runtime, a method that always throws) have
 * no ret to confirm their entry; this confirms it instead. */
static int opens_frame(const uint8_t *p, size_t n)
{
	if (n >= 8 && p[0] == 0x89 && p[1] == 0x84 && p[2] == 0x24 && p[7] == 0x55) {
		int32_t d;

		memcpy(&d, p + 3, 4);
		return d <= -4096 && d % 4096 == 0;
	}
	return jp_insn_fp_prologue(p, n) != 0;
}

/* Clear the states of a piece of len bytes before its walks. */
static void walk_reset(struct jp_sh_work *w, size_t len)
{
	/* The worklist right after the piece's states (it holds each offset
	 * at most once, so len entries fit), not at the far end of the
	 * workspace: a small piece then touches one run of memory, not two
	 * half a MiB apart (each a page fault, or a huge page to clear in
	 * the arena's zone: 3-6 ms each on a VM whose memory is fresh). */
	w->wl = (uint32_t *)(w->st + len);
	memset(w->st, 0, len * sizeof(*w->st));
}

/* Follow every path from offset e, entered in state in (calls inside the
 * piece start new functions in the ordinary entry state). */
static void walk_from(struct ctx *c, uint32_t e, const struct st *in)
{
	static const struct st entry = { .rsp = 8, .rbp = UNK, .save = 0 };
	struct jp_sh_work *w = c->w;
	const uint8_t *code = c->code;
	size_t len = c->len;
	uint32_t sp = 0;
	struct jp_insn_cursor cur; /* the walk goes mostly straight on */

	jp_insn_cursor_init(&cur, w->memo);
	push_wl(c, &sp, e, in);
	while (sp) {
		uint32_t off = w->wl[--sp];
		struct st s = w->st[off];
		struct jp_insn ins;
		int64_t t = -1;
		unsigned succ;

		w->st[off].fl &= (uint8_t)~F_QUEUED;
		if (!jp_insn_cursor_decode(&cur, &w->dec, code + off, len - off, &ins)) {
			w->st[off].fl |= F_DEAD; /* undecodable: no rule, no successor */
			w->st[off].len = 1;
			continue;
		}
		w->st[off].len = ins.len;
		/* A dead state still flows on: what follows a join where
		 * paths disagreed must not keep what one path said before. */
		succ = step(c, off, &ins, &s, &t);
		if (w->st[off].fl & F_DEAD)
			s.rsp = s.rbp = UNK;
		if (s.rsp != UNK && s.rsp < 8) {
			c->underflow = 1; /* popped the return address: not an entry we understand */
			break;
		}
		s.fl = 0;
		if ((succ & NEXT) && off + ins.len < len) {
			uint32_t nx = off + ins.len;

			/* A call that may not return (abort, a throw stub)
			 * is often followed by padding and another function:
			 * do not carry this function's state into it. */
			if (!(succ & CALL))
				push_wl(c, &sp, nx, &s);
			else {
				struct jp_insn nin;
				uint32_t next = cur.next; /* the walk's own, for its next step */
				unsigned nl = jp_insn_cursor_decode(&cur, &w->dec, code + nx, len - nx, &nin);

				cur.next = next;
				if (nl && nin.kind != JP_INSN_NOP && nin.kind != JP_INSN_INT3)
					push_wl(c, &sp, nx, &s);
			}
		}
		if ((succ & TARGET) && t >= 0 && t < (int64_t)len)
			push_wl(c, &sp, (uint32_t)t, &s);
		if ((succ & ENTRY) && t >= 0 && t < (int64_t)len)
			push_wl(c, &sp, (uint32_t)t, &entry);
	}
}

/* The first instruction at or after off that no walk reached and that is
 * not filler, or UINT32_MAX. */
static uint32_t next_unreached(struct ctx *c, uint32_t off)
{
	while (off < c->len && !(c->w->st[off].fl & F_SEEN)) {
		struct jp_insn in;

		if (!jp_insn_decode_memo(c->w->memo, &c->w->dec, c->code + off, c->len - off, &in))
			return UINT32_MAX;
		if (in.kind != JP_INSN_NOP && in.kind != JP_INSN_INT3 && c->code[off] != 0xf4)
			return off;
		off += in.len;
	}
	return UINT32_MAX;
}

/* A dispatcher: a function entry that sets up a frame and leaves it by an
 * indirect jump into code that runs on that frame (QEMU's TCG prologue:
 * push the callee-saved registers, sub rsp, jmp to the translated block).
 * That code returns through the dispatcher's epilogue, which follows the
 * jump and which no path from the entry reaches (the blocks jump to it).
 * The frame is confirmed when that epilogue, walked from the frame the
 * jump left, finds the return address where the entry had it: then both
 * get rules, and r->dispatch says what the frame is. */
static int walk_dispatcher(struct ctx *c, struct jp_sh_result *r)
{
	uint32_t rets_ok = c->rets_ok, epi;
	struct st frame = c->ind;

	if (!c->ind_seen || c->ind.rsp <= 8 || c->ind.save == UNK || c->ind.save <= 0)
		return 0;
	epi = next_unreached(c, c->ind_end);
	if (epi == UINT32_MAX)
		return 0;
	frame.rbp = UNK;
	frame.fl = 0;
	walk_from(c, epi, &frame);
	if (c->underflow || c->rets_bad || c->rets_ok == rets_ok)
		return -1; /* the epilogue's walk left states behind */
	r->dispatch = 1;
	r->dispatch_cfa = c->ind.rsp;
	r->dispatch_rbp = c->ind.save;
	return 1;
}

/* Walk every path from an entry at offset e; returns a refusal or JP_SH_OK. */
static int walk(struct jp_sh_work *w, const uint8_t *code, size_t len, uint32_t e, struct jp_sh_result *r)
{
	static const struct st entry = { .rsp = 8, .rbp = UNK, .save = 0 };
	struct ctx c = { .w = w, .code = code, .len = (uint32_t)len };

	walk_reset(w, len);
	walk_from(&c, e, &entry);
	if (c.underflow)
		return JP_SH_UNDERFLOW;
	if (c.rets_bad)
		return JP_SH_BAD_RET;
	if (c.rets_ok)
		return JP_SH_OK;
	switch (walk_dispatcher(&c, r)) {
	case 1:
		return JP_SH_OK;
	case -1: /* not one: walk again without the epilogue's states */
		c = (struct ctx){ .w = w, .code = code, .len = (uint32_t)len };
		walk_reset(w, len);
		walk_from(&c, e, &entry);
		break;
	default:
		break;
	}
	return opens_frame(code + e, len - e) ? JP_SH_OK : JP_SH_NO_RET;
}

/* Walk code entered from a dispatcher's frame (jp_sh_analyze_dispatched). */
static int walk_dispatched(struct jp_sh_work *w, const uint8_t *code, size_t len, const struct st *frame)
{
	struct ctx c = { .w = w, .code = code, .len = (uint32_t)len, .disp = frame };

	walk_reset(w, len);
	walk_from(&c, 0, frame);
	if (c.underflow)
		return JP_SH_UNDERFLOW;
	if (c.rets_ok || c.rets_bad || c.exits_bad)
		return JP_SH_BAD_RET; /* returns, or leaves with another stack: not such code */
	return c.exits_ok ? JP_SH_OK : JP_SH_NO_RET;
}

/* The rules of a walk, merged into rows. */
/* Is code[from, to) only filler no path executes: nops, int3, hlt (HotSpot
 * pads its code with hlt)? */
static int only_filler(struct jp_sh_work *w, const uint8_t *code, uint32_t from, uint32_t to)
{
	while (from < to) {
		struct jp_insn in;

		if (code[from] == 0xf4 || code[from] == 0xcc) {
			from++;
			continue;
		}
		if (!jp_insn_decode(&w->dec, code + from, to - from, &in) || in.kind != JP_INSN_NOP)
			return 0;
		from += in.len;
	}
	return 1;
}

static size_t collect(struct jp_sh_work *w, const uint8_t *code, size_t len, struct jp_sh_row *rows,
		      size_t max_rows, struct jp_sh_result *r)
{
	uint32_t prev_end = 0;
	size_t nr = 0;

	for (uint32_t off = 0; off < len; off++) {
		const struct st *s = &w->st[off];
		struct jp_sh_row row;

		if (!(s->fl & F_SEEN))
			continue;
		if (off < prev_end) {
			r->refused = JP_SH_OVERLAP; /* a jump into the middle of an instruction */
			return 0;
		}
		prev_end = off + (s->len ? s->len : 1);
		r->insns++;
		if (s->fl & F_DEAD)
			continue;
		/* In a frame that rbp links (rbp points at the caller's rbp
		 * it saved), the CFA is rbp-based, as compilers describe such
		 * frames: the stack pointer an unwinder recovers for this
		 * frame from its callee is not always the one the frame set
		 * up (HotSpot's compiled-to-interpreted adapter pushes the
		 * callee's arguments below it, and an interpreted callee's
		 * frame gives back that lower rsp), while the callee always
		 * gives back rbp.  Elsewhere rsp first: it does not depend on
		 * callees keeping rbp. */
		if (s->rbp != UNK && s->save > 0 && s->rbp == s->save) {
			row.cfa_reg = JP_SH_RBP;
			row.cfa_off = s->rbp;
		} else {
			row.cfa_reg = s->rsp != UNK ? JP_SH_RSP : JP_SH_RBP;
			row.cfa_off = s->rsp != UNK ? s->rsp : s->rbp;
		}
		row.rbp = s->save == UNK ? JP_SH_RBP_UNDEF : s->save;
		row.start = off;
		row.end = prev_end;
		r->known++;
		/* Alignment filler between two described instructions runs
		 * never: a rule over it is vacuous (the one before it, as
		 * compilers write theirs), and it saves an FDE (a header, a
		 * table entry) per gap in the unwinding data. */
		if (nr && rows[nr - 1].end < row.start && only_filler(w, code, rows[nr - 1].end, row.start))
			rows[nr - 1].end = row.start;
		if (nr && rows[nr - 1].end == row.start && rows[nr - 1].cfa_reg == row.cfa_reg &&
		    rows[nr - 1].cfa_off == row.cfa_off && rows[nr - 1].rbp == row.rbp) {
			rows[nr - 1].end = row.end;
			continue;
		}
		if (nr == max_rows)
			break; /* the rest gets no rule */
		rows[nr++] = row;
	}
	return nr;
}

/* Where a function may begin after junk the splitter left at the start of
 * a piece (an allocator's or a runtime's header): HotSpot's stack bang
 * (mov [rsp-N],eax, N a multiple of the page size), push rbp followed by
 * mov rbp,rsp or sub rsp, endbr64.  Only a hypothesis: the walk from it must
 * be confirmed by a ret like the one from the start. */
static uint32_t next_candidate(const uint8_t *p, size_t len, uint32_t from)
{
	size_t lim = len < 1024 ? len : 1024;

	for (size_t i = from; i + 4 <= lim; i++) {
		if (p[i] == 0x89 && p[i + 1] == 0x84 && p[i + 2] == 0x24 && i + 7 <= len) {
			int32_t d;

			memcpy(&d, p + i + 3, 4);
			if (d <= -4096 && d % 4096 == 0)
				return (uint32_t)i;
		}
		if (p[i] == 0x55 && p[i + 1] == 0x48 &&
		    ((p[i + 2] == 0x89 && p[i + 3] == 0xe5) || (p[i + 2] == 0x8b && p[i + 3] == 0xec) ||
		     ((p[i + 2] == 0x83 || p[i + 2] == 0x81) && p[i + 3] == 0xec)))
			return (uint32_t)i;
		if (p[i] == 0xf3 && p[i + 1] == 0x0f && p[i + 2] == 0x1e && p[i + 3] == 0xfa)
			return (uint32_t)i;
	}
	return UINT32_MAX;
}

size_t jp_sh_analyze(struct jp_sh_work *w, const uint8_t *code, size_t len, struct jp_sh_row *rows,
		     size_t max_rows, struct jp_sh_result *r)
{
	uint32_t e = 0;
	int tries = 0;

	memset(r, 0, sizeof(*r));
	if (len == 0 || !w || len > w->cap) {
		r->refused = JP_SH_TOO_BIG;
		return 0;
	}
	for (;;) {
		size_t nr;

		r->refused = walk(w, code, len, e, r);
		if (r->refused == JP_SH_OK) {
			r->insns = r->known = 0;
			nr = collect(w, code, len, rows, max_rows, r);
			if (nr) {
				r->entry = e;
				r->nrows = nr;
				return nr;
			}
		}
		if (++tries > 4)
			break;
		e = next_candidate(code, len, e + 1);
		if (e == UINT32_MAX)
			break;
	}
	r->nrows = 0;
	return 0;
}

size_t jp_sh_analyze_dispatched(struct jp_sh_work *w, const uint8_t *code, size_t len, int32_t cfa, int32_t rbp,
				struct jp_sh_row *rows, size_t max_rows, struct jp_sh_result *r)
{
	struct st frame = { .rsp = (int16_t)cfa, .rbp = UNK, .save = (int16_t)rbp };

	memset(r, 0, sizeof(*r));
	if (len == 0 || !w || len > w->cap || cfa <= 8 || cfa > OFF_MAX || rbp <= 0 || rbp >= cfa) {
		r->refused = JP_SH_TOO_BIG;
		return 0;
	}
	r->refused = walk_dispatched(w, code, len, &frame);
	if (r->refused != JP_SH_OK)
		return 0;
	r->nrows = collect(w, code, len, rows, max_rows, r);
	return r->nrows;
}
