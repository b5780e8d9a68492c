/* capstats.c - the capture engine's exit summary line. */
#include "capstats.h"
#include "log.h"

#include <stdio.h>

int jp_capstats_format(char *buf, size_t len, const struct jp_capture_stats *s, const char *dump_path)
{
	char after[64] = "";

	if (s->deferred_bytes)
		snprintf(after, sizeof(after), ", %lu bytes to describe after the run", (unsigned long)s->deferred_bytes);
	return snprintf(buf, len,
			"%lu regions (%lu found by the scan), %lu captures, %lu epochs, %lu pages read, %lu LOADs "
			"(%lu bytes), %lu MOVEs, %lu patched in place, %lu rewritten%s, %.1f ms capturing%s%s",
			(unsigned long)s->regions_total, (unsigned long)s->unseen, (unsigned long)s->captures,
			(unsigned long)s->epochs, (unsigned long)s->dirty_pages, (unsigned long)s->loads,
			(unsigned long)s->load_bytes, (unsigned long)s->moves, (unsigned long)s->patched,
			(unsigned long)s->rewritten, after, s->capture_ns / 1e6, dump_path ? "; dump " : "",
			dump_path ? dump_path : "");
}

void jp_capstats_say(const struct jp_capture_stats *s, const char *dump_path)
{
	char line[512];

	if (jp_log_level() < JP_LOG_INFO)
		return;
	jp_capstats_format(line, sizeof(line), s, dump_path);
	jp_info("%s", line);
}
