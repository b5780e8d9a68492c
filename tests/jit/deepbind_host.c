/* deepbind_host.c - a host that loads its JIT plugin (deepbind_plugin.so, next to it) with RTLD_DEEPBIND, as a scripting engine loads its JIT extension.
 *
 * deepbind_host [--by-name | --origin | --now]: with --by-name the plugin
 * is opened by its bare name (found through LD_LIBRARY_PATH), which makes
 * dlopen look at its caller's search path; with --origin as
 * $ORIGIN/deepbind_plugin.so, which only the caller's directory resolves (an
 * interposer that made the call from its own object would load nothing);
 * with --now deepbind_plugin_now.so (linked -z now -z relro) with RTLD_NOW:
 * its GOT is bound and read-only when dlopen returns. */
#include "jitlib.h"

#include <dlfcn.h>
#include <libgen.h>
#include <limits.h>

int main(int argc, char **argv)
{
	char dir[PATH_MAX], path[PATH_MAX + 32];
	int (*run)(double);
	void *h;
	int now;

	jl_init(argv[0]);
	snprintf(dir, sizeof(dir), "%s", argv[0]);
	if (argc > 1 && strcmp(argv[1], "--by-name") == 0)
		snprintf(path, sizeof(path), "deepbind_plugin.so");
	else if (argc > 1 && strcmp(argv[1], "--origin") == 0)
		snprintf(path, sizeof(path), "$ORIGIN/deepbind_plugin.so");
	else if (argc > 1 && strcmp(argv[1], "--now") == 0)
		snprintf(path, sizeof(path), "%s/deepbind_plugin_now.so", dirname(dir));
	else
		snprintf(path, sizeof(path), "%s/deepbind_plugin.so", dirname(dir));
	/* Lazy: the plugin's calls bind at their first use, in its deep scope. */
	now = argc > 1 && strcmp(argv[1], "--now") == 0;
	h = dlopen(path, (now ? RTLD_NOW : RTLD_LAZY) | RTLD_LOCAL | RTLD_DEEPBIND);
	if (!h)
		jl_die("dlopen %s: %s", path, dlerror());
	if (dlerror() != NULL)
		jl_die("dlerror() not cleared after a successful dlopen");
	run = (int (*)(double))dlsym(h, "deepbind_jit_run");
	if (!run)
		jl_die("dlsym: %s", dlerror());
	return run(jl_seconds(1.5));
}
