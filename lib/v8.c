/* v8.c - the names of V8's optimised functions, from the constants V8
 * exports for postmortem debuggers (v8dbg_*). */
#include "v8.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>

#include "bytes.h"
#include "creator.h"
#include "dynsym.h"
#include "known.h"
#include "log.h"
#include "str.h"
#include "sys.h"

const char *const jp_v8_const_names[JP_V8_NCONSTS] = {
	[JP_V8_TAGGED_SIZE] = "TaggedSize",
	[JP_V8_HEAP_TAG] = "HeapObjectTag",
	[JP_V8_HEAP_TAG_MASK] = "HeapObjectTagMask",
	[JP_V8_SMI_TAG_MASK] = "SmiTagMask",
	[JP_V8_SMI_SHIFT] = "SmiShiftSize",
	[JP_V8_OFF_MAP] = "class_HeapObject__map__Map",
	[JP_V8_OFF_ITYPE] = "class_Map__instance_type__uint16_t",
	[JP_V8_IS_START] = "class_InstructionStream__instruction_start__uintptr_t",
	[JP_V8_CODE_DEOPT] = "class_Code__deoptimization_data__FixedArray",
	[JP_V8_KIND_MASK] = "CodeKindFieldMask",
	[JP_V8_KIND_SHIFT] = "CodeKindFieldShift",
	[JP_V8_KIND_BASELINE] = "CodeKindBaseline",
	[JP_V8_FA_LENGTH] = "class_FixedArrayBase__length__SMI",
	[JP_V8_FA_DATA] = "class_FixedArray__data__uintptr_t",
	[JP_V8_DEOPT_SFI] = "DeoptimizationDataSharedFunctionInfoIndex",
	[JP_V8_SFI_NAME] = "class_SharedFunctionInfo__name_or_scope_info__Object",
	[JP_V8_SFI_SCRIPT] = "class_SharedFunctionInfo__script_or_debug_info__HeapObject",
	[JP_V8_SCRIPT_NAME] = "class_Script__name__Object",
	[JP_V8_SI_NLOCALS] = "scopeinfo_idx_ncontextlocals",
	[JP_V8_SI_FIRST] = "scopeinfo_idx_first_vars",
	[JP_V8_STR_LENGTH] = "class_String__length__int32_t",
	[JP_V8_STR_CHARS] = "class_SeqOneByteString__chars__char",
	[JP_V8_FIRST_NONSTRING] = "FirstNonstringType",
	[JP_V8_STR_ENC_MASK] = "StringEncodingMask",
	[JP_V8_ONE_BYTE_TAG] = "OneByteStringTag",
	[JP_V8_STR_REPR_MASK] = "StringRepresentationMask",
	[JP_V8_SEQ_TAG] = "SeqStringTag",
	[JP_V8_T_IS] = "type_InstructionStream__INSTRUCTION_STREAM_TYPE",
	[JP_V8_T_CODE] = "type_Code__CODE_TYPE",
	[JP_V8_T_FIXED_ARRAY] = "type_FixedArray__FIXED_ARRAY_TYPE",
	[JP_V8_T_SFI] = "type_SharedFunctionInfo__SHARED_FUNCTION_INFO_TYPE",
	[JP_V8_T_SCOPE_INFO] = "type_ScopeInfo__SCOPE_INFO_TYPE",
	[JP_V8_T_SCRIPT] = "type_Script__SCRIPT_TYPE",
};

#define C(v, k) ((v)->c[JP_V8_##k])
#define WORD 8u
/* Bytes of a Code object read: its fields up to the instruction size. */
#define CODE_READ 128u
/* Code is aligned to at least 32 bytes on x86-64 (kCodeAlignment): where an
 * InstructionStream is looked for before its map is known. */
#define CODE_ALIGN 32u
#define LEARN_READS 64
/* V8 keeps up to this many context local names in the ScopeInfo itself
 * (kScopeInfoMaxInlinedLocalNamesSize), more in a hash table: then the
 * function keeps its made-up name. */
#define SI_INLINE_MAX 75
/* Optional Smi slots before the function's name (saved class variable,
 * receiver, an anonymous function's name sentinel and its slot). */
#define SI_SMIS_MAX 4
#define SI_READ (WORD * (1 + 3 + 2 * SI_INLINE_MAX + SI_SMIS_MAX + 3))
#define STR_MAX 200u
#define STR_READ (32u + STR_MAX)

static int is_heap(const struct jp_v8 *v, uint64_t w)
{
	return (w & (uint64_t)C(v, HEAP_TAG_MASK)) == (uint64_t)C(v, HEAP_TAG) && w >= 4096;
}

static int is_smi(const struct jp_v8 *v, uint64_t w)
{
	return (w & (uint64_t)C(v, SMI_TAG_MASK)) == 0;
}

static int64_t smi_value(uint64_t w)
{
	return (int64_t)w >> 32;
}

static uint64_t untag(const struct jp_v8 *v, uint64_t w)
{
	return w - (uint64_t)C(v, HEAP_TAG);
}

int jp_v8_init(struct jp_v8 *v, jp_v8_read_fn read, void *ctx, const int32_t consts[JP_V8_NCONSTS], char *why,
	       size_t why_size)
{
	const int32_t *c = consts;

	memset(v, 0, offsetof(struct jp_v8, window));
	memset(v->seen, 0, sizeof(v->seen));
	memset(v->cache, 0, sizeof(v->cache));
	v->read = v->read_code = read;
	v->ctx = v->code_ctx = ctx;
	memcpy(v->c, consts, sizeof(v->c));
	if (c[JP_V8_TAGGED_SIZE] != WORD || c[JP_V8_SMI_SHIFT] != 31 || c[JP_V8_SMI_TAG_MASK] != 1 ||
	    c[JP_V8_HEAP_TAG] != 1 || c[JP_V8_HEAP_TAG_MASK] != 3) {
		snprintf(why, why_size, "a heap of %d-byte tagged values with Smis shifted by %d (pointer compression?)",
			 c[JP_V8_TAGGED_SIZE], c[JP_V8_SMI_SHIFT] + 1);
		return -ENOTSUP;
	}
	/* the one word between an InstructionStream's map and its first
	 * instruction is its Code */
	if (c[JP_V8_IS_START] != 2 * WORD || c[JP_V8_OFF_MAP] != 0) {
		snprintf(why, why_size, "an InstructionStream header of %d bytes", c[JP_V8_IS_START]);
		return -ENOTSUP;
	}
	if (c[JP_V8_CODE_DEOPT] < (int)WORD || c[JP_V8_CODE_DEOPT] + WORD > CODE_READ || c[JP_V8_FA_DATA] < (int)WORD ||
	    c[JP_V8_FA_DATA] > 64 || c[JP_V8_DEOPT_SFI] < 0 || c[JP_V8_DEOPT_SFI] > 64 || c[JP_V8_SFI_NAME] < (int)WORD ||
	    c[JP_V8_SFI_NAME] > 256 || c[JP_V8_SFI_SCRIPT] < (int)WORD || c[JP_V8_SFI_SCRIPT] > 256 ||
	    c[JP_V8_SCRIPT_NAME] < (int)WORD || c[JP_V8_SCRIPT_NAME] > 256 || c[JP_V8_FA_LENGTH] < (int)WORD ||
	    c[JP_V8_FA_LENGTH] >= c[JP_V8_FA_DATA] || c[JP_V8_OFF_ITYPE] < 0 || c[JP_V8_OFF_ITYPE] > 256 ||
	    c[JP_V8_STR_LENGTH] < 4 || c[JP_V8_STR_LENGTH] > 24 || c[JP_V8_STR_CHARS] < 8 || c[JP_V8_STR_CHARS] > 32 ||
	    c[JP_V8_SI_NLOCALS] < 0 || c[JP_V8_SI_NLOCALS] >= c[JP_V8_SI_FIRST] || c[JP_V8_SI_FIRST] > 3 ||
	    c[JP_V8_KIND_SHIFT] < 0 || c[JP_V8_KIND_SHIFT] > 24) {
		snprintf(why, why_size, "field offsets out of the range this reads");
		return -ENOTSUP;
	}
	return 0;
}

static int read_all(struct jp_v8 *v, uint64_t addr, void *buf, size_t len)
{
	return v->read(v->ctx, addr, buf, len) == (ssize_t)len ? 0 : -EFAULT;
}

/* The instance type a map gives its objects; -1 when it cannot be read.
 * Maps of the types this follows are remembered. */
static int map_type(struct jp_v8 *v, uint64_t map)
{
	uint16_t t;

	for (size_t i = 0; i < v->nmaps; i++)
		if (v->maps[i].map == map)
			return v->maps[i].itype;
	if (!is_heap(v, map) || read_all(v, untag(v, map) + (uint64_t)C(v, OFF_ITYPE), &t, sizeof(t)) < 0)
		return -1;
	if (v->nmaps < JP_V8_MAPS &&
	    (t == C(v, T_IS) || t == C(v, T_CODE) || t == C(v, T_FIXED_ARRAY) || t == C(v, T_SFI) ||
	     t == C(v, T_SCOPE_INFO) || t == C(v, T_SCRIPT) || t < C(v, FIRST_NONSTRING)))
		v->maps[v->nmaps++] = (typeof(v->maps[0])){ map, t };
	return t;
}

/* Read up to len bytes of the object o (tagged) into buf: how many (at
 * least its map word), and its instance type in *type; -1 when unreadable. */
static ssize_t read_object(struct jp_v8 *v, uint64_t o, unsigned char *buf, size_t len, int *type)
{
	ssize_t n;

	if (!is_heap(v, o))
		return -1;
	n = v->read(v->ctx, untag(v, o), buf, len);
	if (n < (ssize_t)WORD)
		return -1;
	*type = map_type(v, jp_get_u64(buf));
	return *type < 0 ? -1 : n;
}

/* A sequential one-byte string at o, cut to out_size - 1: its length; -2
 * for a string not read (two bytes a character, not flat, control
 * characters), -1 for no string at all or nothing readable. */
static int read_string(struct jp_v8 *v, uint64_t o, char *out, size_t out_size)
{
	unsigned char b[STR_READ];
	ssize_t n;
	int t;
	int32_t len;
	size_t take;

	n = read_object(v, o, b, sizeof(b), &t);
	if (n < 0 || t >= C(v, FIRST_NONSTRING))
		return -1;
	if ((t & C(v, STR_REPR_MASK)) != C(v, SEQ_TAG) || (t & C(v, STR_ENC_MASK)) != C(v, ONE_BYTE_TAG) ||
	    n < C(v, STR_CHARS))
		return -2;
	len = (int32_t)jp_get_u32(b + C(v, STR_LENGTH));
	if (len < 0)
		return -1;
	take = (size_t)len < out_size - 1 ? (size_t)len : out_size - 1;
	if (take > (size_t)n - (size_t)C(v, STR_CHARS))
		return -1;
	for (size_t i = 0; i < take; i++) {
		unsigned char ch = b[C(v, STR_CHARS) + i];

		if (ch < 0x20 || ch == 0x7f)
			return -2;
		out[i] = (char)ch;
	}
	out[take] = 0;
	return (int)take;
}

/* The function's name from its ScopeInfo (bytes b, n of them), in V8's
 * DebugName order: after the context locals and the Smis that may precede
 * it (saved class variable, receiver), the function variable's name and
 * its slot, then the inferred name, then the position (start, end).  A
 * name left empty (an anonymous function) comes with its start position
 * in *pos when the position slots are there (else -1).  0; -2 when the
 * names are in a hash table (never read); -1 when not readable. */
static int scope_info_name(struct jp_v8 *v, const unsigned char *b, size_t n, char *out, size_t out_size,
			   int64_t *pos)
{
	size_t slots = n / WORD - 1, q;
	uint64_t nl_word;
	int64_t nl;
	int r;

#define SLOT(i) jp_get_u64(b + WORD * (1 + (i)))
	*pos = -1;
	out[0] = 0;
	if (slots <= (size_t)C(v, SI_FIRST))
		return -1;
	nl_word = SLOT(C(v, SI_NLOCALS));
	nl = smi_value(nl_word);
	if (!is_smi(v, nl_word) || nl < 0)
		return -1;
	if (nl >= SI_INLINE_MAX)
		return -2;
	q = (size_t)C(v, SI_FIRST) + 2 * (size_t)nl;
	for (int k = 0; k < SI_SMIS_MAX && q < slots && is_smi(v, SLOT(q)); k++)
		q++;
	if (q + 1 >= slots)
		return -1;
	/* the function variable: its name (a string, maybe empty, that may
	 * not be read: two bytes a character, control characters), then its
	 * slot; or, without one, the inferred name straight away */
	r = read_string(v, SLOT(q), out, out_size);
	if (r < 0)
		out[0] = 0;
	if (r != -1 && is_smi(v, SLOT(q + 1)))
		q += 2;
	if (out[0])
		return 0;
	if (q < slots && read_string(v, SLOT(q), out, out_size) > 0)
		return 0;
	out[0] = 0;
	q++;
	if (q + 1 < slots && is_smi(v, SLOT(q)) && is_smi(v, SLOT(q + 1)) && smi_value(SLOT(q)) >= 0 &&
	    smi_value(SLOT(q)) < smi_value(SLOT(q + 1)))
		*pos = smi_value(SLOT(q));
	return 0;
#undef SLOT
}

static size_t cache_slot(uint64_t sfi)
{
	return (size_t)((sfi * 0x9e3779b97f4a7c15ull) >> 40) & (JP_V8_CACHE - 1);
}

/* "JS:fib /srv/work.js" for the SharedFunctionInfo sfi; NULL when it
 * cannot be read, with *unnamed set when it never will (its script has no
 * name, its ScopeInfo keeps its names in a hash table). */
static const char *function_name(struct jp_v8 *v, uint64_t sfi, int *unnamed)
{
	unsigned char b[SI_READ];
	char fn[STR_MAX], script[STR_MAX];
	uint64_t nos, scr;
	int64_t pos = -1;
	size_t need = (size_t)(C(v, SFI_NAME) > C(v, SFI_SCRIPT) ? C(v, SFI_NAME) : C(v, SFI_SCRIPT)) + WORD, slot;
	char *out;
	ssize_t n;
	int t;

	n = read_object(v, sfi, b, need, &t);
	if (n < (ssize_t)need || t != C(v, T_SFI))
		return NULL;
	nos = jp_get_u64(b + C(v, SFI_NAME));
	scr = jp_get_u64(b + C(v, SFI_SCRIPT));
	slot = cache_slot(sfi);
	if (v->cache[slot].sfi == sfi && v->cache[slot].name_or_scope == nos && v->cache[slot].script == scr)
		return v->cache[slot].name;
	/* Code from eval or new Function has a script without a name: V8
	 * would call every such function "anonymous", and it keeps its
	 * made-up name, which tells them apart.  Looked at first: no more
	 * reads for such code. */
	if (read_object(v, scr, b, (size_t)C(v, SCRIPT_NAME) + WORD, &t) != (ssize_t)C(v, SCRIPT_NAME) + WORD ||
	    t != C(v, T_SCRIPT))
		return NULL;
	if (read_string(v, jp_get_u64(b + C(v, SCRIPT_NAME)), script, sizeof(script)) <= 0) {
		*unnamed = 1;
		return NULL;
	}
	n = read_object(v, nos, b, sizeof(b), &t);
	if (n < 0)
		return NULL;
	if (t == C(v, T_SCOPE_INFO)) {
		int r = scope_info_name(v, b, (size_t)n, fn, sizeof(fn), &pos);

		*unnamed = r == -2;
		if (r < 0)
			return NULL;
	} else if (read_string(v, nos, fn, sizeof(fn)) < 0) {
		return NULL;
	}
	/* "JS:fib /srv/work.js", "JS:(anonymous) /srv/work.js@412"; longer
	 * than JP_V8_NAME: cut, the script's path last (no stdio: a pass
	 * may run in a hook) */
	out = v->cache[slot].name;
	jp_strlcpy(out, "JS:", JP_V8_NAME);
	jp_strlcat(out, fn[0] ? fn : "(anonymous)", JP_V8_NAME);
	jp_strlcat(out, " ", JP_V8_NAME);
	jp_strlcat(out, script, JP_V8_NAME);
	if (!fn[0] && pos >= 0) {
		char num[24] = "@";

		num[1 + jp_utoa(num + 1, (uint64_t)pos, 10)] = 0;
		jp_strlcat(out, num, JP_V8_NAME);
	}
	v->cache[slot].sfi = sfi;
	v->cache[slot].name_or_scope = nos;
	v->cache[slot].script = scr;
	return v->cache[slot].name;
}

/* The optimised function whose first instruction is x and whose Code
 * object is code: its instruction size, SharedFunctionInfo and name; -2
 * when it is code of another kind (baseline), -1 when it is not a function
 * or cannot be read whole (maybe half-built: looked at again next time).
 * -2 also for a function that cannot be named (eval, many locals). */
static int function_at(struct jp_v8 *v, uint64_t code, uint64_t x, uint64_t *size, uint64_t *shared,
		       const char **name)
{
	unsigned char b[CODE_READ], fa[64 + 65 * WORD];
	uint32_t off = v->code_start_off, kind;
	uint64_t deopt, sfi;
	size_t fa_need = (size_t)C(v, FA_DATA) + WORD * ((size_t)C(v, DEOPT_SFI) + 1);
	int64_t fa_len;
	int32_t sz;
	int t, unnamed = 0;

	if (read_object(v, code, b, sizeof(b), &t) != (ssize_t)sizeof(b) || t != C(v, T_CODE))
		return -1;
	/* The instruction start field is not among the constants: it is the
	 * word that holds x, found once and required since; the flags and
	 * the instruction size follow it (V8 11). */
	if (!off) {
		for (uint32_t o = WORD; o + 3 * WORD <= CODE_READ && !off; o += WORD)
			if (jp_get_u64(b + o) == x)
				off = o;
		if (!off)
			return -1;
	} else if (jp_get_u64(b + off) != x) {
		return -1;
	}
	kind = (jp_get_u32(b + off + WORD) & (uint32_t)C(v, KIND_MASK)) >> C(v, KIND_SHIFT);
	sz = (int32_t)jp_get_u32(b + off + 2 * WORD);
	if (sz <= 0 || (uint32_t)sz > JP_V8_FUNCTION_MAX)
		return -1;
	if (kind <= (uint32_t)C(v, KIND_BASELINE))
		return v->code_start_off ? -2 : -1; /* believed once the layout is */
	deopt = jp_get_u64(b + C(v, CODE_DEOPT));
	if (read_object(v, deopt, fa, fa_need, &t) != (ssize_t)fa_need || t != C(v, T_FIXED_ARRAY))
		return -1;
	fa_len = smi_value(jp_get_u64(fa + C(v, FA_LENGTH)));
	if (!is_smi(v, jp_get_u64(fa + C(v, FA_LENGTH))) || fa_len <= C(v, DEOPT_SFI))
		return -1;
	sfi = jp_get_u64(fa + C(v, FA_DATA) + WORD * (size_t)C(v, DEOPT_SFI));
	*name = function_name(v, sfi, &unnamed);
	if (!*name)
		return unnamed ? -2 : -1;
	v->code_start_off = off;
	*size = (uint64_t)sz;
	*shared = sfi;
	return 0;
}

static size_t seen_slot(uint64_t x)
{
	return (size_t)((x * 0x9e3779b97f4a7c15ull) >> 40) & (JP_V8_SEEN - 1);
}

/* The function at x again (its header words code and head): its size and
 * name as found before; 0, -2 (no function, as before) or -1 (not seen). */
static int seen_before(struct jp_v8 *v, uint64_t x, uint64_t code, uint64_t head, uint64_t *size,
		       const char **name)
{
	const typeof(v->seen[0]) *s = &v->seen[seen_slot(x)];
	size_t c;

	if (s->x != x || s->code != code || s->head != head)
		return -1;
	if (!s->sfi)
		return -2;
	c = cache_slot(s->sfi);
	if (v->cache[c].sfi != s->sfi) /* its name was put out of the cache */
		return -1;
	*size = s->size;
	*name = v->cache[c].name;
	return 0;
}

/* Is the word w at h the map of an InstructionStream?  Before it is
 * known, a few candidates a call are read to learn it (every
 * InstructionStream has the one map, in read-only space). */
static int stream_map(struct jp_v8 *v, uint64_t w, uint64_t h, int *learn)
{
	if (v->is_map)
		return w == v->is_map;
	if (!is_heap(v, w) || (h + (uint64_t)C(v, IS_START)) % CODE_ALIGN || *learn <= 0)
		return 0;
	(*learn)--;
	if (map_type(v, w) != C(v, T_IS))
		return 0;
	v->is_map = w;
	return 1;
}

int jp_v8_functions_in(struct jp_v8 *v, uint64_t a, uint64_t b, jp_v8_found_fn fn, void *arg)
{
	const uint64_t hdr = (uint64_t)C(v, IS_START);
	uint64_t pos;
	int found = 0, learn = LEARN_READS;

	if (b <= a || a < hdr)
		return 0;
	pos = (a - hdr) & ~(uint64_t)(WORD - 1);
	while (pos < b) {
		uint64_t want = b - pos + hdr < JP_V8_WINDOW ? b - pos + hdr : JP_V8_WINDOW;
		ssize_t n = v->read_code(v->code_ctx, pos, v->window, (size_t)want);
		uint64_t o = 0;

		for (; n > 0 && o + hdr <= (uint64_t)n && pos + o < b; o += WORD) {
			uint64_t x = pos + o + hdr, size, sfi = 0, code, head;
			const char *name;
			int r;

			if (!stream_map(v, jp_get_u64(v->window + o), pos + o, &learn))
				continue;
			code = jp_get_u64(v->window + o + WORD);
			head = o + hdr + WORD <= (uint64_t)n ? jp_get_u64(v->window + o + hdr) : 0;
			r = seen_before(v, x, code, head, &size, &name);
			if (r == -1) {
				r = function_at(v, code, x, &size, &sfi, &name);
				if (r != -1) {
					typeof(v->seen[0]) *s = &v->seen[seen_slot(x)];

					s->x = x;
					s->code = code;
					s->head = head;
					s->sfi = r == 0 ? sfi : 0;
					s->size = r == 0 ? (uint32_t)size : 0;
				}
			}
			if (r < 0)
				continue;
			fn(arg, x, size, name);
			found++;
			/* on past its instructions (the loop adds a word) */
			o += (hdr + size) & ~(uint64_t)(WORD - 1);
			if (o >= WORD)
				o -= WORD;
		}
		if (o == 0) /* nothing readable here: the next page */
			o = 4096 - pos % 4096;
		pos += o;
	}
	return found;
}

/* ---- in this process ---- */

static struct jp_v8 self;
static int self_state; /* 0 not tried, 1 ready, -1 no V8 or not readable */
static struct jp_dynobj v8obj;
static char self_creator[64];

static int exports_v8dbg(const char *name, const struct jp_dynobj *o, void *arg)
{
	uint64_t at;

	if (jp_dynobj_lookup(o, "v8dbg_type_Code__CODE_TYPE", &at) < 0)
		return 0;
	jp_strlcpy(arg, name, PATH_MAX);
	return 1;
}

int jp_v8_attach_self(void)
{
	static char path[PATH_MAX];
	int saved = errno;
	int32_t c[JP_V8_NCONSTS];
	char why[128];

	if (self_state)
		return self_state > 0;
	self_state = -1;
	if (jp_dynobj_find(&v8obj, exports_v8dbg, path) < 0) {
		errno = saved;
		return 0;
	}
	for (size_t i = 0; i < JP_V8_NCONSTS; i++) {
		char sym[96];
		uint64_t at;

		snprintf(sym, sizeof(sym), "v8dbg_%s", jp_v8_const_names[i]);
		if (jp_dynobj_lookup(&v8obj, sym, &at) < 0 || !jp_dynobj_contains(&v8obj, at, sizeof(c[i]))) {
			jp_log(1, "V8 exports no %s: its optimised functions keep made-up names", sym);
			errno = saved;
			return 0;
		}
		memcpy(&c[i], (const void *)(uintptr_t)at, sizeof(c[i]));
	}
	if (jp_v8_init(&self, jp_safe_read, NULL, c, why, sizeof(why)) < 0) {
		jp_log(1, "V8's heap is %s, which jitperf does not read: its optimised functions keep made-up names",
		       why);
		errno = saved;
		return 0;
	}
	if (v8obj.main_prog) {
		long n = jp_syscall(SYS_readlink, "/proc/self/exe", path, sizeof(path) - 1);

		path[n > 0 ? n : 0] = 0;
	}
	jp_creator_object_short(path, self_creator, sizeof(self_creator));
	self_state = 1;
	errno = saved;
	return 1;
}

const char *jp_v8_creator(void)
{
	return self_state > 0 ? self_creator : NULL;
}

int jp_v8_publish(uint64_t a, uint64_t b, jp_v8_read_fn read_code, void *ctx)
{
	int saved = errno, changed = 0;

	if (self_state > 0) {
		self.read_code = read_code ? read_code : jp_safe_read;
		self.code_ctx = ctx;
		(void)jp_v8_functions_in(&self, a, b, jp_known_heap_found, &changed);
	}
	errno = saved;
	return changed;
}
