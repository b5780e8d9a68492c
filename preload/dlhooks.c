/* dlhooks.c - dlopen/dlmopen: objects loaded with RTLD_DEEPBIND call the hooks too.
 *
 * A library dlopen'ed with RTLD_DEEPBIND binds its mmap/mprotect/... to libc
 * in its own scope, past LD_PRELOAD (LD_DEBUG=bindings: "binding file
 * plugin.so to libc.so.6: normal symbol `mprotect'").  After such a dlopen
 * lib/gotredir.c rewrites its GOT slots (and those of what it brought in)
 * for every symbol the shim interposes, to the hook, which calls the same
 * libc function: the plugin keeps its deep binding for everything else.
 *
 * dlopen looks at its caller: the namespace, the search path of the
 * calling object when the name has no '/', and $ORIGIN.  Only a call whose
 * result cannot depend on the caller is made from here: a NULL or a path
 * with '/' and no '$', or a bare name when the caller's search path (as
 * dlinfo(RTLD_DI_SERINFO) lists it) is the shim's.  Every other call, and
 * every call without RTLD_DEEPBIND, jumps on to libc's dlopen with no frame
 * of ours, so libc sees the program's return address; a deep-bound one
 * among them is redirected at the next pass of the capture thread instead
 * (slots already bound then; lib/unseen.c sees what ran in between). */
#include "capture.h"
#include "gotredir.h"
#include "log.h"

#include <dlfcn.h>
#include <errno.h>
#include <link.h>
#include <string.h>

#define JP_LM_CALLER (-2L) /* dlopen: the caller's namespace */

/* Read by the stubs' assembly below. */
__attribute__((visibility("hidden"))) void *(*real_dlopen)(const char *, int);
__attribute__((visibility("hidden"))) void *(*real_dlmopen)(Lmid_t, const char *, int);

static int pending; /* a deep-bound dlopen passed on whole: redirect at the next epoch */

/* glibc >= 2.35; without it every bare name is passed on whole. */
extern int _dl_find_object(void *, struct dl_find_object *) __attribute__((weak));

/* Every interposed entry point (preload/libjitperf.map), by a hidden alias
 * so the address is the shim's own whoever else defines the name. */
#define JP_HOOKS(X)                                                                                         \
	X(mmap) X(mmap64) X(mprotect) X(pkey_mprotect) X(munmap) X(mremap) X(madvise) X(syscall) X(dlopen) \
		X(dlmopen) X(execve) X(execv) X(execvp) X(execvpe) X(execl) X(execlp) X(execle) X(fexecve)   \
		X(execveat) X(unshare) X(setns)
#define JP_DECL(n) extern char jp_hook_##n[] __attribute__((visibility("hidden")));
JP_HOOKS(JP_DECL)
#define JP_COUNT(n) +1
enum { NHOOKS = 0 JP_HOOKS(JP_COUNT) };

/* Rewrite what binds past the hooks.  h: the handle of a deep-bound
 * dlopen just made (its objects' lazy slots too); NULL: bound slots of
 * every object. */
static void redirect(void *h)
{
	struct jp_got_sym syms[NHOOKS];
	const void *skip[3];
	struct link_map *from = NULL;
	struct jp_got_stats st = { 0 };
	int err = errno, guard = jp_guard, dl_failed = 0;
	size_t n = 0;

	jp_guard = 1;
#define JP_ENTRY(nm)                                                                 \
	syms[n].name = #nm;                                                          \
	syms[n].hook = jp_hook_##nm;                                                 \
	syms[n].real = dlsym(RTLD_NEXT, #nm);                                        \
	syms[n].lazy = 0;                                                            \
	if (!syms[n].real)                                                           \
		dl_failed = 1;                                                       \
	else if (h)                                                                  \
		syms[n].lazy = dlsym(h, #nm) == syms[n].real || (dl_failed = 1, 0); \
	if (syms[n].real)                                                            \
		n++;
	JP_HOOKS(JP_ENTRY)
	skip[0] = dlsym(RTLD_NEXT, "mmap"); /* libc */
	skip[1] = &_r_debug;                /* ld.so */
	skip[2] = (const void *)redirect;   /* ourselves */
	if (h && dlinfo(h, RTLD_DI_LINKMAP, &from) != 0) {
		from = NULL;
		dl_failed = 1;
	}
	jp_got_redirect(syms, n, skip, 3, from, &st);
	jp_debug("deep-bound objects: %u looked at, %u slots redirected to the hooks, %u read-only pages lifted, %u left alone",
		 st.objects, st.slots, st.lifted, st.skipped);
	/* A successful dlopen leaves no error to report: our failed look-ups
	 * must not become the program's dlerror(). */
	if (dl_failed)
		(void)dlerror();
	jp_guard = guard;
	errno = err;
}

/* The capture thread's turn: a deep-bound dlopen we could not make. */
void jp_dl_epoch(void);
void jp_dl_epoch(void)
{
	if (__atomic_load_n(&pending, __ATOMIC_RELAXED) && __atomic_exchange_n(&pending, 0, __ATOMIC_ACQ_REL))
		redirect(NULL);
}

/* Would dlopen search the same directories for the caller as for us? */
static int serinfo(void *h, char *buf, size_t size)
{
	Dl_serinfo *si = (Dl_serinfo *)buf;

	if (dlinfo(h, RTLD_DI_SERINFOSIZE, si) != 0 || si->dls_size > size)
		return -1;
	return dlinfo(h, RTLD_DI_SERINFO, si);
}

static int same_search(const void *caller)
{
	struct dl_find_object them, us;
	union {
		Dl_serinfo si;
		char b[4096];
	} a, b;
	int same;

	if (!_dl_find_object || _dl_find_object((void *)caller, &them) != 0 ||
	    _dl_find_object((void *)same_search, &us) != 0)
		return 0;
	if (them.dlfo_link_map == us.dlfo_link_map)
		return 1;
	same = serinfo(them.dlfo_link_map, a.b, sizeof(a)) == 0 && serinfo(us.dlfo_link_map, b.b, sizeof(b)) == 0 &&
	       a.si.dls_cnt == b.si.dls_cnt;
	for (unsigned i = 0; same && i < a.si.dls_cnt; i++)
		same = strcmp(a.si.dls_serpath[i].dls_name, b.si.dls_serpath[i].dls_name) == 0;
	/* Our look-ups happen before the dlopen, which clears dlerror. */
	return same;
}

static void resolve(void)
{
	int err = errno;

	if (!real_dlopen)
		real_dlopen = dlsym(RTLD_NEXT, "dlopen");
	if (!real_dlmopen)
		real_dlmopen = dlsym(RTLD_NEXT, "dlmopen");
	errno = err;
}

/* Called by the stubs: 1 to make this call here (jp_dl_deep), 0 to jump on
 * to libc's with the program's return address in place. */
int jp_dl_direct(long lmid, const char *file, int mode, const void *caller);
__attribute__((used)) int jp_dl_direct(long lmid, const char *file, int mode, const void *caller)
{
	if (!real_dlopen || !real_dlmopen)
		resolve(); /* a dlopen in a constructor that ran before ours */
	if (!real_dlopen || !real_dlmopen)
		return 1;
	if (jp_guard || !(mode & RTLD_DEEPBIND) || (lmid != JP_LM_CALLER && lmid != LM_ID_BASE) ||
	    !jp_capture_active())
		return 0;
	if (!file || (strchr(file, '/') && !strchr(file, '$')))
		return 1;
	if (!strchr(file, '$') && same_search(caller))
		return 1;
	__atomic_store_n(&pending, 1, __ATOMIC_RELEASE);
	return 0;
}

void *jp_dlopen_deep(const char *file, int mode);
__attribute__((used)) void *jp_dlopen_deep(const char *file, int mode)
{
	void *h;

	resolve();
	if (!real_dlopen) /* no dlopen after us to call: fail the call, never jump to NULL */
		return NULL;
	h = real_dlopen(file, mode);
	if (h && (mode & RTLD_DEEPBIND) && !jp_guard && jp_capture_active())
		redirect(h);
	return h;
}

void *jp_dlmopen_deep(Lmid_t lmid, const char *file, int mode);
__attribute__((used)) void *jp_dlmopen_deep(Lmid_t lmid, const char *file, int mode)
{
	void *h;

	resolve();
	if (!real_dlmopen)
		return NULL;
	h = real_dlmopen(lmid, file, mode);
	if (h && lmid == LM_ID_BASE && (mode & RTLD_DEEPBIND) && !jp_guard && jp_capture_active())
		redirect(h);
	return h;
}

void jp_dl_resolve(void);
void jp_dl_resolve(void)
{
	resolve();
}

/* dlopen(file, mode) and dlmopen(lmid, file, mode): ask jp_dl_direct with
 * the arguments saved (and the stack aligned for the call), then either
 * make the call here or jump to libc's, the return address untouched. */
__asm__(".text\n"
	".globl dlopen\n"
	".type dlopen, @function\n"
	".globl jp_hook_dlopen\n"
	".hidden jp_hook_dlopen\n"
	"dlopen:\n"
	"jp_hook_dlopen:\n"
	"	pushq %rdi\n"
	"	pushq %rsi\n"
	"	subq $8, %rsp\n"
	"	movq 24(%rsp), %rcx\n"
	"	movl %esi, %edx\n"
	"	movq %rdi, %rsi\n"
	"	movq $-2, %rdi\n"
	"	call jp_dl_direct\n"
	"	addq $8, %rsp\n"
	"	popq %rsi\n"
	"	popq %rdi\n"
	"	testl %eax, %eax\n"
	"	jnz jp_dlopen_deep\n"
	"	jmpq *real_dlopen(%rip)\n"
	".size dlopen, .-dlopen\n"
	".globl dlmopen\n"
	".type dlmopen, @function\n"
	".globl jp_hook_dlmopen\n"
	".hidden jp_hook_dlmopen\n"
	"dlmopen:\n"
	"jp_hook_dlmopen:\n"
	"	pushq %rdi\n"
	"	pushq %rsi\n"
	"	pushq %rdx\n"
	"	movq 24(%rsp), %rcx\n"
	"	call jp_dl_direct\n"
	"	popq %rdx\n"
	"	popq %rsi\n"
	"	popq %rdi\n"
	"	testl %eax, %eax\n"
	"	jnz jp_dlmopen_deep\n"
	"	jmpq *real_dlmopen(%rip)\n"
	".size dlmopen, .-dlmopen\n");
