/* mozjs_hook.c - JS_NewContext: the JSContext SpiderMonkey's code table is found from (lib/mozjs.h).
 *
 * mozjs 102 exports the function as C++ (JS_NewContext(uint32_t,
 * JSRuntime*)), bound through the caller's PLT at version mozjs_102; the
 * shim's definition is unversioned, which the loader accepts for it.  The
 * real function is called with the same arguments and its result returned
 * untouched. */
#include "mozjs.h"

#include <dlfcn.h>
#include <errno.h>
#include <stddef.h>
#include <stdint.h>

#define JS_NEW_CONTEXT "_Z13JS_NewContextjP9JSRuntime"

__attribute__((visibility("default"))) void *_Z13JS_NewContextjP9JSRuntime(uint32_t max_bytes, void *parent);

__attribute__((visibility("default"))) void *_Z13JS_NewContextjP9JSRuntime(uint32_t max_bytes, void *parent)
{
	static void *(*real)(uint32_t, void *);
	void *(*fn)(uint32_t, void *) = __atomic_load_n(&real, __ATOMIC_ACQUIRE);
	void *cx;

	if (!fn) {
		int saved = errno;

		fn = (void *(*)(uint32_t, void *))dlsym(RTLD_NEXT, JS_NEW_CONTEXT);
		errno = saved;
		if (!fn) /* only a caller bound to libmozjs's comes here */
			return NULL;
		__atomic_store_n(&real, fn, __ATOMIC_RELEASE);
	}
	cx = fn(max_bytes, parent);
	jp_mozjs_context(cx);
	return cx;
}
