/* config.c - parse JITPERF_* environment variables with safe defaults. */
#include "config.h"
#include "log.h"
#include "str.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

extern char **environ;

static const char *env_get(char *const *envp, const char *name)
{
	size_t n = strlen(name);

	if (!envp)
		envp = environ;
	if (!envp)
		return NULL;
	for (; *envp; envp++)
		if (strncmp(*envp, name, n) == 0 && (*envp)[n] == '=')
			return *envp + n + 1;
	return NULL;
}

/* Strict unsigned parse: digits only, within [lo, hi]. */
static int parse_uint(const char *s, uint64_t lo, uint64_t hi, uint64_t *out)
{
	uint64_t v = 0;

	if (!*s)
		return -EINVAL;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -EINVAL;
		if (v > (UINT64_MAX - 9) / 10)
			return -ERANGE;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	if (v < lo || v > hi)
		return -ERANGE;
	*out = v;
	return 0;
}

static int parse_bool(const char *s, int *out)
{
	static const char *yes[] = { "1", "yes", "true", "on" };
	static const char *no[] = { "0", "no", "false", "off" };

	for (size_t i = 0; i < 4; i++) {
		if (strcasecmp(s, yes[i]) == 0)
			return *out = 1, 0;
		if (strcasecmp(s, no[i]) == 0)
			return *out = 0, 0;
	}
	return -EINVAL;
}

/* Values are echoed in messages; keep them short and printable. */
static void shown(char *buf, size_t size, const char *v)
{
	size_t i;

	for (i = 0; v[i] && i + 4 < size; i++)
		buf[i] = (v[i] >= 0x20 && v[i] < 0x7f) ? v[i] : '?';
	if (v[i])
		jp_strlcpy(buf + i, "...", size - i);
	else
		buf[i] = 0;
}

static void bool_setting(char *const *envp, const char *name, int *dst)
{
	const char *v = env_get(envp, name);
	char s[48];

	if (!v)
		return;
	if (parse_bool(v, dst) < 0) {
		shown(s, sizeof(s), v);
		jp_err("%s='%s' is not a boolean (use 0 or 1); using %d", name, s, *dst);
	}
}

static void uint_setting(char *const *envp, const char *name, uint64_t lo, uint64_t hi, const char *unit,
			 uint64_t *dst)
{
	const char *v = env_get(envp, name);
	char s[48];

	if (!v)
		return;
	if (parse_uint(v, lo, hi, dst) < 0) {
		shown(s, sizeof(s), v);
		jp_err("%s='%s' is not a number of %s from %lu to %lu; using %lu", name, s, unit, (unsigned long)lo,
		       (unsigned long)hi, (unsigned long)*dst);
	}
}

static void dir_setting(char *const *envp, const char *name, char *dst, size_t size)
{
	const char *v = env_get(envp, name);
	char s[48];

	if (!v)
		return;
	shown(s, sizeof(s), v);
	if (!*v) {
		jp_err("%s is empty; using %s", name, dst);
		return;
	}
	if (strlen(v) >= size - 64) {
		jp_err("%s='%s' is too long (%zu bytes); using %s", name, s, strlen(v), dst);
		return;
	}
	for (const char *p = v; *p; p++) {
		if ((unsigned char)*p < 0x20) {
			jp_err("%s contains control characters; using %s", name, dst);
			return;
		}
	}
	jp_strlcpy(dst, v, size);
}

/* One of a NULL-terminated list of words; the value is its index. */
static void enum_setting(char *const *envp, const char *name, const char *choices, const char *const *words, int *dst)
{
	const char *v = env_get(envp, name);
	char s[48];

	if (!v)
		return;
	for (int i = 0; words[i]; i++) {
		if (strcmp(v, words[i]) == 0) {
			*dst = i;
			return;
		}
	}
	shown(s, sizeof(s), v);
	jp_err("%s='%s' is not one of %s; using %s", name, s, choices, words[*dst]);
}

/* Indexed by enum jp_track_mode, jp_unwind_mode and jp_describe_mode. */
static const char *const track_names[] = { "auto", "wp", "hash", NULL };
static const char *const unwind_names[] = { "auto", "empty", NULL };
static const char *const describe_names[] = { "now", "after", "both", NULL };

void jp_config_default_dir(char *out, size_t size, char *const *envp)
{
	const char *xdg = env_get(envp, "XDG_CACHE_HOME");
	const char *home = env_get(envp, "HOME");
	char num[24];

	if (xdg && xdg[0] == '/' && strlen(xdg) < size - 16) {
		jp_strlcpy(out, xdg, size);
		jp_strlcat(out, "/jitperf", size);
	} else if (home && home[0] == '/' && strlen(home) < size - 24) {
		jp_strlcpy(out, home, size);
		jp_strlcat(out, "/.cache/jitperf", size);
	} else {
		num[jp_utoa(num, (uint64_t)geteuid(), 10)] = 0;
		jp_strlcpy(out, "/tmp/jitperf-", size);
		jp_strlcat(out, num, size);
	}
}

void jp_config_load(struct jp_config *c, char *const *envp)
{
	uint64_t v;
	int disable = 0;

	memset(c, 0, sizeof(*c));
	c->enabled = 1;
	c->epoch_ms = JP_DEFAULT_EPOCH_MS;
	c->track = JP_TRACK_AUTO;
	c->jitdump = 1;
	c->perfmap = 0;
	c->scan = 1;
	c->unwind = JP_UNWIND_MODE_AUTO;
	c->verbose = JP_LOG_ERROR;
	jp_strlcpy(c->perfmap_dir, "/tmp", sizeof(c->perfmap_dir));

	/* Verbosity first, so the other settings' messages obey it. */
	v = (uint64_t)c->verbose;
	uint_setting(envp, "JITPERF_VERBOSE", 0, 3, "levels", &v);
	c->verbose = (int)v;
	jp_log_set_level(c->verbose);

	bool_setting(envp, "JITPERF_DISABLE", &disable);
	c->enabled = !disable;

	jp_config_default_dir(c->dir, sizeof(c->dir), envp);
	dir_setting(envp, "JITPERF_DIR", c->dir, sizeof(c->dir));
	dir_setting(envp, "JITPERF_PERFMAP_DIR", c->perfmap_dir, sizeof(c->perfmap_dir));

	v = c->epoch_ms;
	uint_setting(envp, "JITPERF_EPOCH_MS", 0, 60000, "milliseconds", &v);
	c->epoch_ms = (unsigned)v;

	bool_setting(envp, "JITPERF_JITDUMP", &c->jitdump);
	bool_setting(envp, "JITPERF_PERFMAP", &c->perfmap);
	bool_setting(envp, "JITPERF_SCAN", &c->scan);

	enum_setting(envp, "JITPERF_TRACK", "auto, wp, hash", track_names, &c->track);
	enum_setting(envp, "JITPERF_UNWIND", "auto, empty", unwind_names, &c->unwind);
	enum_setting(envp, "JITPERF_DESCRIBE", "now, after, both", describe_names, &c->describe);
	if (c->describe != JP_DESCRIBE_NOW && (!c->jitdump || c->perfmap)) {
		/* The records go into the dump; a perf map has no room for them. */
		jp_err("JITPERF_DESCRIBE=%s needs the jitdump and no perf map; using now", describe_names[c->describe]);
		c->describe = JP_DESCRIBE_NOW;
	}
	if (!c->jitdump && !c->perfmap) {
		jp_info("JITPERF_JITDUMP=0 and JITPERF_PERFMAP=0: nothing to write, jitperf is off");
		c->enabled = 0;
	}
}
