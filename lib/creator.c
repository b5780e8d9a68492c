/* creator.c - creating call sites via the .eh_frame unwinder, names via the objects' symbol tables. */
#define UNW_LOCAL_ONLY
#include "creator.h"

#include <errno.h>
#include <link.h>
#include <limits.h>
#include <pthread.h>
#include <stddef.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <unwind.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "arena.h"
#include "elfsym.h"
#include "str.h"
#include "sys.h"

/* ---- where libc, ld.so and jitperf sit ---- */

#define SKIP_MAX 32
static struct {
	uint64_t lo, hi;
} skip[SKIP_MAX];
static unsigned nskip;
static pthread_once_t skip_once = PTHREAD_ONCE_INIT;

static const char *base_name(const char *p)
{
	const char *s = strrchr(p, '/');

	return s ? s + 1 : p;
}

static int prefix(const char *s, const char *p)
{
	return !strncmp(s, p, strlen(p));
}

/* Objects whose frames never name a creator: the C library and loader
 * (mmap wrappers, dlopen, pthread stacks), ourselves, and the sanitizer
 * runtimes, which interpose mmap and qsort the way we do. */
static int skipped_object(const char *name)
{
	static const char *const skip_prefix[] = {
		"libc.so", "ld-linux", "ld64.so", "ld-musl", "libc.musl", "libpthread.so",
		"libdl.so", "libjitperf", "libgcc_s", "libunwind", "libasan.so", "libtsan.so", "liblsan.so",
		"libubsan.so", "libhwasan.so",
	};
	const char *b = base_name(name);
	size_t i;

	for (i = 0; i < sizeof(skip_prefix) / sizeof(skip_prefix[0]); i++)
		if (prefix(b, skip_prefix[i]))
			return 1;
	return 0;
}

static int contains(const struct dl_phdr_info *info, uint64_t addr)
{
	int i;

	for (i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uint64_t lo = info->dlpi_addr + ph->p_vaddr;

		if (ph->p_type == PT_LOAD && addr >= lo && addr - lo < ph->p_memsz)
			return 1;
	}
	return 0;
}

static int skip_cb(struct dl_phdr_info *info, size_t sz, void *arg)
{
	unsigned *index = arg;
	int main_prog = (*index)++ == 0;
	int ours, i;

	/* Our own code is skipped when it is a library of its own
	 * (libjitperf.so); linked into a program (unit tests) the program's
	 * functions are the creators being tested. */
	ours = !main_prog && contains(info, (uint64_t)(uintptr_t)&jp_creator_capture);
	if (!ours && !(info->dlpi_name && info->dlpi_name[0] && skipped_object(info->dlpi_name)))
		return 0;
	for (i = 0; i < info->dlpi_phnum && nskip < SKIP_MAX; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];

		if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X))
			continue;
		skip[nskip].lo = info->dlpi_addr + ph->p_vaddr;
		skip[nskip].hi = skip[nskip].lo + ph->p_memsz;
		nskip++;
	}
	return 0;
}

static void skip_init(void)
{
	unsigned index = 0;

	dl_iterate_phdr(skip_cb, &index);
}

int jp_creator_skipped(uint64_t addr)
{
	unsigned i;

	pthread_once(&skip_once, skip_init);
	for (i = 0; i < nskip; i++)
		if (addr >= skip[i].lo && addr < skip[i].hi)
			return 1;
	return 0;
}

/* ---- capture ---- */

/* Unwinding uses libgcc's _Unwind_Backtrace (the .eh_frame unwinder every
 * C++ exception uses), not libunwind: libunwind's local unwinder opens a pipe
 * on first use and validates addresses by writing bytes through it, which
 * inside a host takes descriptors 0 and 1 when the program closed its
 * standard descriptors, and later reads the program's stdin and writes to
 * its stdout (found by tests/e2e/host_bug_stdio_fds.sh).  _Unwind_Backtrace
 * uses no descriptor and no malloc; the walk stops at code without unwind
 * information (JIT code), which is beyond the creator anyway. */
struct walk {
	struct jp_callsite *cs;
	unsigned steps;
};

static _Unwind_Reason_Code walk_frame(struct _Unwind_Context *ctx, void *arg)
{
	struct walk *w = arg;
	uint64_t ip = (uint64_t)_Unwind_GetIP(ctx);

	if (w->steps++ == 0)
		return _URC_NO_REASON; /* jp_creator_capture itself */
	if (ip == 0 || w->cs->n >= JP_CREATOR_DEPTH || w->steps > JP_CREATOR_MAX_STEPS)
		return _URC_END_OF_STACK;
	if (!jp_creator_skipped(ip))
		w->cs->pc[w->cs->n++] = ip;
	return _URC_NO_REASON;
}

int jp_creator_capture(struct jp_callsite *cs)
{
	int saved = errno;
	struct walk w = { cs, 0 };

	memset(cs, 0, sizeof(*cs));
	pthread_once(&skip_once, skip_init);
	_Unwind_Backtrace(walk_frame, &w);
	errno = saved;
	return (int)cs->n;
}

/* ---- symbolization ---- */

struct object {
	uint64_t addr;
	uint64_t bias;
	int found, main_prog;
	size_t build_id_len;
	uint8_t build_id[64];
	char path[PATH_MAX];
	unsigned index;
};

static int find_cb(struct dl_phdr_info *info, size_t sz, void *arg)
{
	struct object *o = arg;
	int main_prog = o->index++ == 0;
	int i;

	if (!contains(info, o->addr))
		return 0;
	o->found = 1;
	o->main_prog = main_prog;
	o->bias = info->dlpi_addr;
	jp_strlcpy(o->path, info->dlpi_name ? info->dlpi_name : "", sizeof(o->path));
	for (i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		const uint8_t *id;
		size_t n;

		/* PT_NOTE lies inside the first PT_LOAD: mapped and readable */
		if (ph->p_type != PT_NOTE)
			continue;
		n = jp_elf_note_build_id((const void *)(uintptr_t)(info->dlpi_addr + ph->p_vaddr),
					 ph->p_memsz, &id);
		if (n && n <= sizeof(o->build_id)) {
			memcpy(o->build_id, id, n);
			o->build_id_len = n;
			break;
		}
	}
	return 1;
}

/* The main program's file name, for fallback names: /proc/self/exe's target
 * without " (deleted)". */
static void exe_name(char *buf, size_t size)
{
	char tmp[PATH_MAX];
	int saved = errno;
	long n = jp_syscall(SYS_readlink, "/proc/self/exe", tmp, sizeof(tmp) - 1);
	size_t l;

	errno = saved;
	if (n <= 0) {
		jp_strlcpy(buf, "exe", size);
		return;
	}
	tmp[n] = 0;
	l = (size_t)n;
	if (l > 10 && !strcmp(tmp + l - 10, " (deleted)"))
		tmp[l - 10] = 0;
	jp_strlcpy(buf, base_name(tmp), size);
}

/* ---- GCC clone suffixes ----
 * GCC names the copies it makes of a function foo.constprop.0, foo.isra.0,
 * foo.part.0 (and foo.cold / foo.cold.0 for the split-off cold part), and
 * chains them (foo.isra.0.constprop.1, foo.part.0.cold).  Which clones exist
 * and their numbers change with the compiler and flags, so creators drop
 * them: the creator names the function the source calls it. */

/* Length of one clone component at s ("constprop.N", "isra.N", "part.N",
 * "cold" or "cold.N", without the leading dot), or 0. */
static size_t clone_component(const char *s)
{
	static const char *const numbered[] = { "constprop", "isra", "part", "cold" };
	size_t i, k, n;

	for (i = 0; i < sizeof(numbered) / sizeof(numbered[0]); i++) {
		n = strlen(numbered[i]);
		if (strncmp(s, numbered[i], n))
			continue;
		if (s[n] == '.' && s[n + 1] >= '0' && s[n + 1] <= '9') {
			for (k = n + 1; s[k] >= '0' && s[k] <= '9'; k++)
				;
			return k;
		}
		if (i == 3 && (s[n] == '.' || s[n] == 0))
			return n; /* bare "cold" */
	}
	return 0;
}

/* Cut name at the first dot from which the rest is only clone components.
 * Returns the new length.  A name that is nothing but a suffix is kept. */
int jp_creator_strip_clone_suffix(char *name)
{
	size_t i;

	if (!name[0])
		return 0;
	for (i = 1; name[i]; i++) {
		size_t j = i, c;

		if (name[i] != '.')
			continue;
		while (name[j] == '.' && (c = clone_component(name + j + 1)) != 0)
			j += 1 + c;
		if (!name[j]) {
			name[i] = 0;
			return (int)i;
		}
	}
	return (int)i;
}

static int symbolize(uint64_t addr, char *buf, size_t size)
{
	struct object o;
	char num[24];
	size_t n;

	memset(&o, 0, offsetof(struct object, path));
	o.index = 0; /* after path, so not cleared above */
	o.path[0] = 0;
	o.addr = addr;
	dl_iterate_phdr(find_cb, &o);
	if (!o.found) {
		jp_strlcpy(buf, "unknown", size);
		return -ENOENT;
	}
	/* The symbol tables of a large program are tens of MB (node's .symtab
	 * and .strtab: 10 MB): streamed, not copied, for each look-up. */
	if (jp_elf_file_func_name(o.main_prog || !o.path[0] ? "/proc/self/exe" : o.path,
				  o.build_id_len ? o.build_id : NULL, o.build_id_len, addr - o.bias, buf, size) == 0) {
		jp_creator_strip_clone_suffix(buf);
		return 1;
	}
	if (o.main_prog || !o.path[0])
		exe_name(buf, size);
	else
		jp_strlcpy(buf, base_name(o.path), size);
	jp_strlcat(buf, "+0x", size);
	n = jp_utoa(num, addr - o.bias, 16);
	num[n] = 0;
	jp_strlcat(buf, num, size);
	return 0;
}

/* Cache: open addressing on the looked-up address, overwritten when a probe
 * run is full.  Entries are only written under the lock. */
#define CACHE_SLOTS 1024
#define CACHE_PROBE 8

struct centry {
	uint64_t addr;  /* 0: empty */
	int state;      /* symbolize()'s result */
	char name[JP_CREATOR_NAME_MAX];
};

static struct centry *cache;
static int cache_busy;

static unsigned slot_of(uint64_t addr)
{
	return (unsigned)((addr * 0x9e3779b97f4a7c15ull) >> 54) & (CACHE_SLOTS - 1);
}

static int cached_symbolize(uint64_t addr, char *buf, size_t size)
{
	unsigned s, i;
	int state;

	if (__atomic_exchange_n(&cache_busy, 1, __ATOMIC_ACQUIRE))
		return symbolize(addr, buf, size);
	if (!cache)
		cache = jp_sys_alloc(CACHE_SLOTS * sizeof(*cache));
	if (!cache) {
		__atomic_store_n(&cache_busy, 0, __ATOMIC_RELEASE);
		return symbolize(addr, buf, size);
	}
	s = slot_of(addr);
	for (i = 0; i < CACHE_PROBE; i++) {
		struct centry *e = &cache[(s + i) & (CACHE_SLOTS - 1)];

		if (e->addr == addr) {
			jp_strlcpy(buf, e->name, size);
			state = e->state;
			__atomic_store_n(&cache_busy, 0, __ATOMIC_RELEASE);
			return state;
		}
		if (!e->addr)
			break;
	}
	{
		struct centry *e = &cache[(s + (i == CACHE_PROBE ? 0 : i)) & (CACHE_SLOTS - 1)];

		state = symbolize(addr, e->name, sizeof(e->name));
		e->addr = addr;
		e->state = state;
		jp_strlcpy(buf, e->name, size);
	}
	__atomic_store_n(&cache_busy, 0, __ATOMIC_RELEASE);
	return state;
}

int jp_creator_symbolize(uint64_t addr, char *buf, size_t size)
{
	char tmp[JP_CREATOR_NAME_MAX];
	int r;

	if (!addr) {
		jp_strlcpy(buf, "unknown", size);
		return -ENOENT;
	}
	r = cached_symbolize(addr, tmp, sizeof(tmp));
	jp_strlcpy(buf, tmp, size);
	return r;
}

int jp_creator_function_name(const struct jp_callsite *cs, char *buf, size_t size)
{
	char name[JP_CREATOR_NAME_MAX], fallback[JP_CREATOR_NAME_MAX];
	uint32_t i;

	fallback[0] = 0;
	for (i = 0; cs && i < cs->n && i < JP_CREATOR_DEPTH; i++) {
		/* a return address may be one past a noreturn call's function */
		int r = jp_creator_symbolize(cs->pc[i] - 1, name, sizeof(name));

		if (r == 1)
			return (int)jp_strlcpy(buf, name, size);
		if (r == 0 && !fallback[0])
			jp_strlcpy(fallback, name, sizeof(fallback));
	}
	return (int)jp_strlcpy(buf, fallback[0] ? fallback : "unknown", size);
}

/* ---- the engine's name ----
 * What a user scanning perf report wants from the creator is which engine
 * made the code.  The innermost named frame is the wrong answer for
 * engines: it is a memory wrapper (v8::base::OS::SetPermissions,
 * os::pd_commit_memory, mono_valloc), mangled and the same for all their
 * code.  The object holding the creating frames names the engine (node,
 * libjvm.so, mono-sgen, beam.smp); a JIT library called by the program
 * is better named by the entry point the program called
 * (pcre2_jit_compile_8: what was compiled, not which allocator). */

void jp_creator_object_short(const char *path, char *buf, size_t size)
{
	const char *b = base_name(path);
	size_t n;

	if (prefix(b, "lib") && b[3] && b[3] != '.' && b[3] != '-')
		b += 3;
	/* up to the first '.' or '-': no .so, .so.6, .smp, and no version
	 * (mozjs-102, LLVM-14) or variant (mono-sgen, qemu-x86_64), so the
	 * name survives upgrades */
	for (n = 0; b[n] && b[n] != '.' && b[n] != '-'; n++)
		;
	if (n == 0)
		n = strlen(b);
	if (size == 0)
		return;
	if (n >= size)
		n = size - 1;
	memcpy(buf, b, n);
	buf[n] = 0;
	if (!buf[0])
		jp_strlcpy(buf, "unknown", size);
}

/* A C function name a library exports for its users: not mangled, not
 * reserved (a leading underscore), only identifier characters. */
int jp_creator_is_api_name(const char *s)
{
	if (!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z')))
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || *s == '_'))
			return 0;
	return 1;
}

/* Which object holds addr: its load bias (identity) and whether it is the
 * main program; the path into path.  0, or -ENOENT. */
static int object_of(uint64_t addr, struct object *o)
{
	memset(o, 0, offsetof(struct object, path));
	o->index = 0;
	o->path[0] = 0;
	o->addr = addr;
	dl_iterate_phdr(find_cb, o);
	return o->found ? 0 : -ENOENT;
}

int jp_creator_name(const struct jp_callsite *cs, char *buf, size_t size)
{
	static struct object o, other; /* PATH_MAX each: not on a JIT thread's stack; under the engine lock */
	uint32_t i, first = 0;
	int found = 0;

	for (i = 0; cs && i < cs->n && i < JP_CREATOR_DEPTH; i++)
		if (object_of(cs->pc[i] - 1, &o) == 0) {
			found = 1;
			first = i;
			break;
		}
	if (!found)
		return (int)jp_strlcpy(buf, "unknown", size);
	/* Outwards from the creating frame: where the chain leaves its object
	 * for the main program, the library was called as an API. */
	for (i = first + 1; !o.main_prog && i < cs->n && i < JP_CREATOR_DEPTH; i++) {
		char name[JP_CREATOR_NAME_MAX];

		if (object_of(cs->pc[i] - 1, &other) != 0 || other.bias == o.bias)
			continue;
		if (!other.main_prog)
			break; /* called from another library: the object names it */
		if (object_of(cs->pc[i - 1] - 1, &other) == 0 && other.bias == o.bias &&
		    jp_creator_symbolize(cs->pc[i - 1] - 1, name, sizeof(name)) == 1 && jp_creator_is_api_name(name))
			return (int)jp_strlcpy(buf, name, size);
		break;
	}
	if (o.main_prog || !o.path[0]) {
		char exe[PATH_MAX];

		exe_name(exe, sizeof(exe));
		jp_creator_object_short(exe, buf, size);
	} else {
		jp_creator_object_short(o.path, buf, size);
	}
	return (int)strlen(buf);
}

/* ---- the registry of call sites ---- */

#define MAX_CREATORS 1024u
#define CREATOR_NAME 112

struct creator {
	uint64_t key;                 /* hash of the call chain, 0 = free */
	struct jp_callsite cs;
	int resolved;
	char name[CREATOR_NAME];
};

static struct creator *creators; /* id = index + 1 */
static uint32_t ncreators;

static uint64_t callsite_key(const struct jp_callsite *cs)
{
	uint64_t k = XXH3_64bits(cs->pc, cs->n * sizeof(cs->pc[0]));

	return k ? k : 1;
}

jp_creator_id jp_creator_register(void)
{
	struct jp_callsite cs;
	uint64_t key;
	uint32_t i;

	memset(&cs, 0, sizeof(cs));
	if (jp_creator_capture(&cs) < 0)
		cs.n = 0;
	key = callsite_key(&cs);
	if (!creators) {
		creators = jp_sys_alloc(MAX_CREATORS * sizeof(*creators));
		if (!creators)
			return 0;
	}
	/* Call sites are few (a JIT has a handful of places that make memory
	 * executable); a linear look-up beats a hash table's code. */
	for (i = 0; i < ncreators; i++)
		if (creators[i].key == key && creators[i].cs.n == cs.n &&
		    memcmp(creators[i].cs.pc, cs.pc, cs.n * sizeof(cs.pc[0])) == 0)
			return i + 1;
	if (ncreators == MAX_CREATORS)
		return 0; /* "unknown": still correct, just less informative */
	creators[ncreators].key = key;
	creators[ncreators].cs = cs;
	return ++ncreators;
}

jp_creator_id jp_creator_register_named(const char *name)
{
	if (!creators) {
		creators = jp_sys_alloc(MAX_CREATORS * sizeof(*creators));
		if (!creators)
			return 0;
	}
	if (ncreators == MAX_CREATORS)
		return 0;
	memset(&creators[ncreators], 0, sizeof(creators[ncreators]));
	creators[ncreators].key = 1;
	creators[ncreators].resolved = 1;
	jp_strlcpy(creators[ncreators].name, name, sizeof(creators[ncreators].name));
	return ++ncreators;
}

const char *jp_creator_id_name(jp_creator_id id)
{
	struct creator *c;

	if (id == 0 || id > ncreators)
		return "unknown";
	c = &creators[id - 1];
	if (!c->resolved) {
		/* Once per call site: reads the object's symbol table with raw
		 * system calls (no malloc), then it is a string. */
		if (jp_creator_name(&c->cs, c->name, sizeof(c->name)) <= 0)
			jp_strlcpy(c->name, "unknown", sizeof(c->name));
		c->resolved = 1;
	}
	return c->name;
}
