/* mozjs.c - SpiderMonkey's code named from its JitcodeGlobalTable (see mozjs.h). */
#include "mozjs.h"
#include "bytes.h"
#include "creator.h"
#include "dynsym.h"
#include "known.h"
#include "log.h"
#include "str.h"
#include "sys.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

/* ---- the layout, as the library's code reads it ---- */

/* Instructions of JS::GetProfiledFrames(JSContext* cx, void* addr) in
 * mozjs 102 (the result is returned through rdi, cx is in rsi):
 * cx->runtime_, ->jitRuntime_, ->jitcodeGlobalTable_, the entry's kind
 * (masked to 7 bits) and a baseline entry's label. */
static const struct {
	unsigned char b[8];
	size_t n;
} layout_insns[] = {
	{ { 0x48, 0x8b, 0x86, JP_MOZJS_CX_RUNTIME & 0xff, JP_MOZJS_CX_RUNTIME >> 8, 0, 0 }, 7 }, /* mov rax,[rsi+d32] */
	{ { 0x48, 0x8b, 0x80, JP_MOZJS_RT_JIT & 0xff, JP_MOZJS_RT_JIT >> 8, 0, 0 }, 7 },         /* mov rax,[rax+d32] */
	{ { 0x48, 0x8b, 0xb8, JP_MOZJS_JIT_TABLE & 0xff, JP_MOZJS_JIT_TABLE >> 8, 0, 0 }, 7 },   /* mov rdi,[rax+d32] */
	{ { 0x0f, 0xb6, 0x40, JP_MOZJS_E_KIND }, 4 },                                            /* movzx eax,byte [rax+d8] */
	{ { 0x83, 0xe0, 0x7f }, 3 },                                                             /* and eax,0x7f */
	{ { 0x48, 0x8b, 0x45, JP_MOZJS_E_LABEL }, 4 },                                           /* mov rax,[rbp+d8] */
};

static int has(const unsigned char *code, size_t len, const unsigned char *b, size_t n)
{
	for (size_t i = 0; i + n <= len; i++)
		if (!memcmp(code + i, b, n))
			return 1;
	return 0;
}

int jp_mozjs_layout_check(const unsigned char *code, size_t len)
{
	for (size_t i = 0; i < sizeof(layout_insns) / sizeof(layout_insns[0]); i++)
		if (!has(code, len, layout_insns[i].b, layout_insns[i].n))
			return -ENOENT;
	return 0;
}

/* ---- reading ---- */

static int read_u64(struct jp_mozjs *m, uint64_t addr, uint64_t *v)
{
	unsigned char b[8];

	if (m->read(m->ctx, addr, b, sizeof(b)) != (ssize_t)sizeof(b))
		return -EFAULT;
	*v = jp_get_u64(b);
	return 0;
}

int jp_mozjs_init(struct jp_mozjs *m, jp_mozjs_read_fn read, void *ctx, uint64_t cx)
{
	uint64_t rt, jit, table;

	m->read = read;
	m->ctx = ctx;
	m->table = 0;
	if (read_u64(m, cx + JP_MOZJS_CX_RUNTIME, &rt) < 0 || !rt || read_u64(m, rt + JP_MOZJS_RT_JIT, &jit) < 0)
		return -EFAULT;
	if (!jit) /* made with the first code */
		return -EAGAIN;
	if (read_u64(m, jit + JP_MOZJS_JIT_TABLE, &table) < 0)
		return -EFAULT;
	if (!table) /* made as the JIT starts */
		return -EAGAIN;
	m->table = table;
	return 0;
}

struct entry {
	uint64_t at, tower, start, end, script, label;
	unsigned kind;
};

/* The entry at addr, if it looks like one. */
static int read_entry(struct jp_mozjs *m, uint64_t addr, struct entry *e)
{
	unsigned char b[JP_MOZJS_E_SIZE];

	if (!addr || addr % 8 || m->read(m->ctx, addr, b, sizeof(b)) != (ssize_t)sizeof(b))
		return -EFAULT;
	e->at = addr;
	e->tower = jp_get_u64(b + JP_MOZJS_E_TOWER);
	e->start = jp_get_u64(b + JP_MOZJS_E_START);
	e->end = jp_get_u64(b + JP_MOZJS_E_END);
	e->kind = b[JP_MOZJS_E_KIND] & 0x7f;
	e->script = jp_get_u64(b + JP_MOZJS_E_SCRIPT);
	e->label = jp_get_u64(b + JP_MOZJS_E_LABEL);
	if (!e->tower || e->start >= e->end || e->end - e->start > (64u << 20) || e->kind < JP_MOZJS_ION ||
	    e->kind > JP_MOZJS_DUMMY)
		return -EINVAL;
	return 0;
}

/* The entry after the one whose tower (or the table's start tower) is at
 * base, at level; 0 at the end. */
static int next_at(struct jp_mozjs *m, uint64_t base, unsigned level, uint64_t *next)
{
	return read_u64(m, base + 8ull * level, next);
}

/* "JS:" and the label at addr, if it is one: printable, and a script's
 * ("name (file:line:column)", or a file for a top-level script). */
static int read_label(struct jp_mozjs *m, uint64_t addr, char *name, size_t size)
{
	char b[JP_MOZJS_NAME - 3];
	ssize_t got = addr ? m->read(m->ctx, addr, b, sizeof(b)) : -EFAULT;
	size_t n;

	if (got <= 0)
		return -EFAULT;
	n = strnlen(b, (size_t)got);
	if (n == 0 || n == (size_t)got) /* no end in what was read: cut there */
		n = (size_t)got < sizeof(b) ? 0 : sizeof(b) - 1;
	if (n == 0)
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)b[i] < 0x20 || b[i] == 0x7f)
			return -EINVAL;
	snprintf(name, size, "JS:%.*s", (int)n, b);
	return 0;
}

static size_t script_slot(uint64_t script)
{
	return (size_t)((script >> 3) * 0x9e3779b97f4a7c15ull >> 54) & (JP_MOZJS_SCRIPTS - 1);
}

static const char *script_name(const struct jp_mozjs *m, uint64_t script)
{
	size_t k = script_slot(script);

	return script && m->scripts[k].script == script ? m->scripts[k].name : NULL;
}

/* A baseline entry: its script's label, kept for the Ion code of that
 * script, with the script's entry point (read again when refresh is set:
 * it moves to Ion code once the script has some).  The name, or NULL. */
static const char *baseline_name(struct jp_mozjs *m, const struct entry *e, int refresh)
{
	size_t k = script_slot(e->script);
	char name[JP_MOZJS_NAME];

	if (!e->script || e->script % 8)
		return NULL;
	if (m->scripts[k].script != e->script || m->scripts[k].label != e->label) {
		if (read_label(m, e->label, name, sizeof(name)) < 0)
			return NULL;
		m->scripts[k].script = e->script;
		m->scripts[k].label = e->label;
		memcpy(m->scripts[k].name, name, sizeof(name));
		refresh = 1;
	}
	if (refresh && read_u64(m, e->script + JP_MOZJS_SCRIPT_CODE, &m->scripts[k].entry) < 0)
		m->scripts[k].entry = 0;
	return m->scripts[k].name;
}

/* The label of the script whose address Ion's code embeds most often
 * (mov r64, imm64), among the scripts whose label is known; NULL. */
static const char *embedded_script(struct jp_mozjs *m, const unsigned char *code, size_t n)
{
	uint64_t best = 0, cand[16];
	unsigned count[16], nc = 0, top = 0;

	for (size_t i = 0; i + 10 <= n; i++) {
		uint64_t imm;
		unsigned j;

		if ((code[i] & 0xfe) != 0x48 || (code[i + 1] & 0xf8) != 0xb8)
			continue;
		imm = jp_get_u64(code + i + 2);
		if (!script_name(m, imm))
			continue;
		for (j = 0; j < nc && cand[j] != imm; j++)
			;
		if (j == nc) {
			if (nc == 16)
				continue;
			cand[nc] = imm;
			count[nc++] = 0;
		}
		if (++count[j] > top) { /* ties: the first to get there */
			top = count[j];
			best = imm;
		}
		i += 9;
	}
	return best ? script_name(m, best) : NULL;
}

/* The label of a script whose entry point (as last read) is in [a, b). */
static const char *entered_script(const struct jp_mozjs *m, uint64_t a, uint64_t b)
{
	for (size_t k = 0; k < JP_MOZJS_SCRIPTS; k++)
		if (m->scripts[k].script && m->scripts[k].entry >= a && m->scripts[k].entry < b)
			return m->scripts[k].name;
	return NULL;
}

/* Keep the label and entry point of every baseline entry's script. */
static void learn_all(struct jp_mozjs *m)
{
	uint64_t x, last = 0;
	struct entry e;

	m->walks++;
	if (next_at(m, m->table + JP_MOZJS_TABLE_TOWER, 0, &x) < 0)
		return;
	for (unsigned steps = 0; x && steps < JP_MOZJS_MAX_ENTRIES; steps++) {
		if (read_entry(m, x, &e) < 0 || e.start < last)
			return;
		last = e.start;
		if (e.kind == JP_MOZJS_BASELINE)
			(void)baseline_name(m, &e, 1);
		if (next_at(m, e.tower + JP_MOZJS_TOWER_NEXT, 0, &x) < 0)
			return;
	}
}

/* The first entry whose code ends after a: down the skip list's levels.
 * A tower's pointers up to the level searched come in one read (the
 * start tower's upper levels are mostly empty). */
static uint64_t first_after(struct jp_mozjs *m, uint64_t a)
{
	unsigned char ptrs[8 * JP_MOZJS_LEVELS];
	struct entry e;

	if (m->read(m->ctx, m->table + JP_MOZJS_TABLE_TOWER, ptrs, sizeof(ptrs)) != (ssize_t)sizeof(ptrs))
		return 0;
	for (unsigned level = JP_MOZJS_LEVELS; level-- > 0;) {
		for (unsigned steps = 0; steps < JP_MOZJS_MAX_ENTRIES; steps++) {
			uint64_t x = jp_get_u64(ptrs + 8 * level);
			size_t n = 8 * ((size_t)level + 1);

			if (!x || read_entry(m, x, &e) < 0 || e.end > a)
				break;
			/* On to x, whose tower is at least level + 1 high. */
			if (m->read(m->ctx, e.tower + JP_MOZJS_TOWER_NEXT, ptrs, n) != (ssize_t)n)
				return 0;
		}
	}
	return jp_get_u64(ptrs);
}

static const char *ion_name(struct jp_mozjs *m, const struct entry *e, int *learned)
{
	size_t n = e->end - e->start < JP_MOZJS_CODE ? (size_t)(e->end - e->start) : JP_MOZJS_CODE;
	jp_mozjs_read_fn rd = m->read_code ? m->read_code : m->read;
	ssize_t got = rd(m->read_code ? m->code_ctx : m->ctx, e->start, m->code, n);
	const char *name;

	if (got <= 0)
		return NULL;
	uint64_t *nameless = &m->nameless[(e->start >> 4) & (JP_MOZJS_NAMELESS - 1)];

	name = embedded_script(m, m->code, (size_t)got);
	if (!name)
		name = entered_script(m, e->start, e->end);
	/* A script whose baseline code was not looked at yet, or that was
	 * entered elsewhere then: walk the table once a call, and not again
	 * for a stub found to be no script's. */
	if (!name && !*learned && *nameless != e->start) {
		*learned = 1;
		learn_all(m);
		name = embedded_script(m, m->code, (size_t)got);
		if (!name)
			name = entered_script(m, e->start, e->end);
		if (!name)
			*nameless = e->start;
	}
	return name;
}

int jp_mozjs_code_in(struct jp_mozjs *m, uint64_t a, uint64_t b, jp_mozjs_found_fn fn, void *arg)
{
	uint64_t x, last = 0;
	struct entry e;
	int found = 0, learned = 0;

	if (!m->table || a >= b)
		return 0;
	x = first_after(m, a);
	for (unsigned steps = 0; x && steps < JP_MOZJS_MAX_ENTRIES; steps++) {
		const char *name = NULL;

		if (read_entry(m, x, &e) < 0 || e.start < last || e.start >= b)
			break;
		last = e.start;
		if (e.kind == JP_MOZJS_BASELINE)
			name = baseline_name(m, &e, 0);
		else if (e.kind == JP_MOZJS_DUMMY)
			name = ion_name(m, &e, &learned);
		else if (e.kind == JP_MOZJS_INTERPRETER)
			name = "JS:(baseline interpreter)";
		if (name && e.end > a) {
			fn(arg, e.start, e.end - e.start, name);
			found++;
		}
		if (next_at(m, e.tower + JP_MOZJS_TOWER_NEXT, 0, &x) < 0)
			break;
	}
	return found;
}

/* ---- in this process ---- */

static struct jp_mozjs self;
static int self_state; /* 0 not (yet), 1 ready, -1 not this library */
static void *self_cx;
static char self_creator[64];

void jp_mozjs_context(void *cx)
{
	void *none = NULL;

	if (cx)
		(void)__atomic_compare_exchange_n(&self_cx, &none, cx, 0, __ATOMIC_RELEASE, __ATOMIC_RELAXED);
}

#define GET_PROFILED_FRAMES "_ZN2JS17GetProfiledFramesEP9JSContextPv"

static int exports_frames(const char *name, const struct jp_dynobj *o, void *arg)
{
	uint64_t at;

	if (jp_dynobj_lookup(o, GET_PROFILED_FRAMES, &at) < 0)
		return 0;
	jp_strlcpy(arg, name, PATH_MAX);
	return 1;
}

int jp_mozjs_attach_self(void)
{
	static char path[PATH_MAX];
	static struct jp_dynobj obj;
	static int checked;
	void *cx = __atomic_load_n(&self_cx, __ATOMIC_ACQUIRE);
	int saved = errno, rc;

	if (self_state || !cx) {
		errno = saved;
		return self_state > 0;
	}
	if (!checked) {
		unsigned char code[512];
		uint64_t at;
		ssize_t got;

		checked = 1;
		if (jp_dynobj_find(&obj, exports_frames, path) < 0 ||
		    jp_dynobj_lookup(&obj, GET_PROFILED_FRAMES, &at) < 0 ||
		    (got = jp_safe_copy(code, (const void *)(uintptr_t)at, sizeof(code))) <= 0 ||
		    jp_mozjs_layout_check(code, (size_t)got) < 0) {
			jp_log(1, "SpiderMonkey's code table is not laid out as jitperf knows (mozjs 102): its code keeps made-up names");
			self_state = -1;
			errno = saved;
			return 0;
		}
	}
	rc = jp_mozjs_init(&self, jp_safe_read, NULL, (uint64_t)(uintptr_t)cx);
	if (rc == -EAGAIN) { /* no JIT yet */
		errno = saved;
		return 0;
	}
	if (rc < 0) {
		jp_log(1, "SpiderMonkey's runtime cannot be read: its code keeps made-up names");
		self_state = -1;
		errno = saved;
		return 0;
	}
	jp_creator_object_short(path, self_creator, sizeof(self_creator));
	self_state = 1;
	errno = saved;
	return 1;
}

const char *jp_mozjs_creator(void)
{
	return self_state > 0 ? self_creator : NULL;
}

int jp_mozjs_publish(uint64_t a, uint64_t b, jp_mozjs_read_fn read_code, void *ctx)
{
	int saved = errno, changed = 0;

	if (self_state > 0) {
		self.read_code = read_code;
		self.code_ctx = ctx;
		(void)jp_mozjs_code_in(&self, a, b, jp_known_heap_found, &changed);
	}
	errno = saved;
	return changed;
}
