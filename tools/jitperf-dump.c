/* jitperf-dump.c - print, validate (--check), summarise (--stats), describe (--describe), prune (--prune) jitdump files or apply a runtime's map to one (--apply-map). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "jd_describe.h"
#include "jd_prune.h"
#include "cfi.h"
#include "jd_read.h"
#include "jd_rename.h"
#include "perfmap_read.h"
#include "sampled.h"

/* Exit codes, as documented in --help. */
enum { EXIT_VALID = 0, EXIT_INVALID = 1, EXIT_USAGE = 2 };

enum mode { MODE_PRINT, MODE_CHECK, MODE_STATS, MODE_DESCRIBE, MODE_PRUNE, MODE_APPLY_MAP };

#define MAX_WARNINGS_SHOWN 20

static const char usage_text[] =
	"Usage: jitperf-dump [--check | --stats] FILE...\n"
	"       jitperf-dump --describe -o OUT FILE\n"
	"       jitperf-dump --prune SAMPLES -o OUT FILE\n"
	"       jitperf-dump --apply-map MAP [--map-time NS] -o OUT FILE\n"
	"       jitperf-dump --help\n"
	"\n"
	"Read perf jitdump files (jit-<pid>.dump, as written by jitperf, V8's\n"
	"--perf-prof, CPython's -X perf_jit, JVMTI agents, ...).\n"
	"\n"
	"FILE may be - for standard input.\n"
	"\n"
	"Default: print the header, then one line per record: offset, type,\n"
	"timestamp, address, size, code index and name.\n"
	"\n"
	"  -c, --check   validate each FILE against the jitdump format and what\n"
	"                perf 6.1 (perf inject --jit) accepts; print\n"
	"                'FILE: ok ...' or 'FILE: offset N: reason' for the first\n"
	"                problem, and 'FILE: offset N: warning: ...' for things perf\n"
	"                accepts but that are probably unintended\n"
	"  -s, --stats   count records by type, LOADs, code bytes, distinct names\n"
	"  -d, --describe\n"
	"                write to OUT (-o) the dump FILE with its code described:\n"
	"                a program run with JITPERF_DESCRIBE=after (jitperf-run's\n"
	"                default) records what it read instead of describing it;\n"
	"                this replays that record through the same steps and\n"
	"                writes the LOADs the program would have written.  A dump\n"
	"                with nothing to describe is left alone (status 0).\n"
	"                Prints what was written.\n"
	"  -p, --prune SAMPLES\n"
	"                write to OUT (-o) the dump FILE with only the LOADs perf\n"
	"                resolves a sample with (the newest covering its address\n"
	"                at its time), and the records that belong to them: perf\n"
	"                inject then makes one object per sampled piece instead\n"
	"                of one per piece, and every sample gets the same symbol.  SAMPLES is the perf.data file itself (its\n"
	"                samples of the dump's pid: leaf, call chain and, with\n"
	"                --call-graph dwarf, every word of the copied user stack\n"
	"                that points into the dump's code), or a text file with\n"
	"                one sampled address a line, in hex, optionally after a\n"
	"                decimal pid (lines of other pids than the dump's are\n"
	"                ignored; with no time, every LOAD covering an address\n"
	"                is kept); - reads standard input.  Prints what was kept.\n"
	"  -m, --apply-map MAP\n"
	"                write to OUT (-o) the dump FILE with the names of a perf\n"
	"                map the runtime wrote itself (/tmp/perf-<pid>.map; HotSpot\n"
	"                and Mono complete it only at exit): code the map lists at\n"
	"                the address where it was still alive at the end takes the\n"
	"                map's name and boundaries (a new LOAD, stamped when the\n"
	"                code was captured); code it does not list keeps its name;\n"
	"                entries outside the dump's code are ignored; for a reused\n"
	"                address the newest entry counts.  Prints what changed.\n"
	"      --map-time NS\n"
	"                CLOCK_MONOTONIC time the map was complete: code captured\n"
	"                later is not the map's and is left alone\n"
	"  -o, --output OUT   where --describe, --prune or --apply-map writes (replaced\n"
	"                atomically)\n"
	"  -h, --help    show this help\n"
	"\n"
	"Exit status: 0 every FILE valid, 1 some FILE invalid (or not fully\n"
	"readable as a jitdump), 2 usage error or a FILE that cannot be read;\n"
	"with --describe, --prune and --apply-map 1 also when nothing was written (OUT is left\n"
	"as it was).\n";

static void __attribute__((format(printf, 1, 2))) say(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fputs("jitperf-dump: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* The file is mapped: if another process truncates it under us, touching
 * the lost pages raises SIGBUS.  Say so instead of dying silently. */
static void on_sigbus(int sig)
{
	static const char msg[] = "jitperf-dump: the file shrank while it was being read\n";
	ssize_t w = write(2, msg, sizeof(msg) - 1);

	(void)w;
	(void)sig;
	_exit(EXIT_USAGE);
}

struct input {
	const unsigned char *buf;
	size_t len;
	int mapped;
};

/* Map a regular file read-only (huge dumps cost no memory); read anything
 * else (a pipe from <(...)) into memory.  Returns 0 or prints why and
 * returns -1. */
static int load_file(const char *path, struct input *in)
{
	struct stat st;
	int fd;

	memset(in, 0, sizeof(*in));
	fd = strcmp(path, "-") ? open(path, O_RDONLY | O_CLOEXEC) : dup(0);
	if (fd < 0) {
		say("%s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0) {
		say("%s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	if (S_ISDIR(st.st_mode)) {
		say("%s: is a directory, not a jitdump file (the dump is the jit-<pid>.dump inside it)", path);
		close(fd);
		return -1;
	}
	if (S_ISREG(st.st_mode)) {
		void *p;

		if (st.st_size == 0) {
			close(fd);
			return 0;
		}
		if ((unsigned long long)st.st_size > (size_t)-1) {
			say("%s: too large to map", path);
			close(fd);
			return -1;
		}
		p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
		if (p == MAP_FAILED) {
			say("%s: cannot map: %s", path, strerror(errno));
			close(fd);
			return -1;
		}
		close(fd);
		in->buf = p;
		in->len = (size_t)st.st_size;
		in->mapped = 1;
		return 0;
	}
	{
		unsigned char *b = NULL;
		size_t cap = 0, len = 0;

		for (;;) {
			ssize_t n;

			if (len == cap) {
				unsigned char *nb;

				cap = cap ? cap * 2 : 65536;
				nb = realloc(b, cap);
				if (!nb) {
					say("%s: out of memory after %zu bytes", path, len);
					free(b);
					close(fd);
					return -1;
				}
				b = nb;
			}
			n = read(fd, b + len, cap - len);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0) {
				say("%s: %s", path, strerror(errno));
				free(b);
				close(fd);
				return -1;
			}
			if (n == 0)
				break;
			len += (size_t)n;
		}
		close(fd);
		in->buf = b;
		in->len = len;
		return 0;
	}
}

static void unload_file(struct input *in)
{
	if (in->mapped)
		munmap((void *)in->buf, in->len);
	else
		free((void *)in->buf);
}

/* Names come from the traced program: keep control bytes off the terminal. */
static void print_name(const char *s)
{
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch < 0x20 || ch == 0x7f)
			printf("\\x%02x", ch);
		else
			putchar(ch);
	}
}

static void print_header(const char *path, const struct jd_header *h, size_t len)
{
	printf("%s: jitdump version %u, pid %u, elf_mach %u, header size %u, timestamp %llu, flags 0x%llx, %zu bytes\n",
	       path, h->version, h->pid, h->elf_mach, h->total_size, (unsigned long long)h->timestamp,
	       (unsigned long long)h->flags, len);
	printf("%10s %-14s %20s %18s %10s %8s %s\n", "OFFSET", "TYPE", "TIMESTAMP", "ADDRESS", "SIZE", "INDEX",
	       "NAME");
}

/* jitperf's own CFI (lib/cfi.h): how many FDEs, i.e. ranges with rules */
static void print_cfi(const struct jp_jdr_rec *rec)
{
	uint64_t usz = rec->u.unwind.unwinding_size, hsz = rec->u.unwind.eh_frame_hdr_size;

	if (usz <= rec->u.unwind.data_len && hsz < usz && jp_cfi_is_ours(rec->u.unwind.data, usz - hsz))
		printf(", jitperf CFI with %u FDE%s", jp_cfi_fde_count(rec->u.unwind.data, usz, hsz),
		       jp_cfi_fde_count(rec->u.unwind.data, usz, hsz) == 1 ? "" : "s");
}

static void print_record(const struct jp_jdr_rec *rec)
{
	printf("%10llu %-14s %20llu ", (unsigned long long)rec->offset, jp_jdr_type_name(rec->id),
	       (unsigned long long)rec->timestamp);
	switch (rec->id) {
	case JD_CODE_LOAD:
		printf("%#18llx %10llu %8llu ", (unsigned long long)rec->u.load.code_addr,
		       (unsigned long long)rec->u.load.code_size, (unsigned long long)rec->u.load.code_index);
		print_name(rec->u.load.name);
		break;
	case JD_CODE_MOVE:
		printf("%#18llx %10llu %8llu (moved from %#llx)", (unsigned long long)rec->u.move.new_code_addr,
		       (unsigned long long)rec->u.move.code_size, (unsigned long long)rec->u.move.code_index,
		       (unsigned long long)rec->u.move.old_code_addr);
		break;
	case JD_CODE_DEBUG_INFO:
		printf("%#18llx %10s %8s (%llu line entries)", (unsigned long long)rec->u.debug.code_addr, "-", "-",
		       (unsigned long long)rec->u.debug.nr_entry);
		break;
	case JD_CODE_UNWINDING_INFO:
		printf("%18s %10llu %8s (eh_frame_hdr %llu, mapped %llu", "-",
		       (unsigned long long)rec->u.unwind.unwinding_size, "-",
		       (unsigned long long)rec->u.unwind.eh_frame_hdr_size,
		       (unsigned long long)rec->u.unwind.mapped_size);
		print_cfi(rec);
		printf(")");
		break;
	case JD_CODE_CLOSE:
		printf("%18s %10s %8s", "-", "-", "-");
		break;
	default:
		if (rec->id >= JD_JP_PAGES && rec->id <= JD_JP_KNOWN)
			printf("%18s %10u %8s (jitperf's, for --describe)", "-", rec->total_size, "-");
		else
			printf("%18s %10u %8s (unknown id %u, skipped)", "-", rec->total_size, "-", rec->id);
		break;
	}
	putchar('\n');
}

static int do_print(const char *path, const struct input *in)
{
	struct jp_jdr r;
	struct jp_jdr_rec rec;
	int n, bad = 0;

	if (jp_jdr_open(&r, in->buf, in->len) < 0) {
		printf("%s: offset %llu: %s\n", path, (unsigned long long)r.err_off, r.err);
		return EXIT_INVALID;
	}
	print_header(path, &r.hdr, in->len);
	while ((n = jp_jdr_next(&r, &rec)) != 0) {
		if (n < 0) {
			printf("%s: offset %llu: %s\n", path, (unsigned long long)r.err_off, r.err);
			bad = 1;
			continue;
		}
		print_record(&rec);
	}
	return bad ? EXIT_INVALID : EXIT_VALID;
}

struct warn_ctx {
	const char *path;
	uint64_t shown;
};

static void show_warning(void *arg, uint64_t off, const char *reason)
{
	struct warn_ctx *w = arg;

	if (w->shown++ < MAX_WARNINGS_SHOWN)
		printf("%s: offset %llu: warning: %s\n", w->path, (unsigned long long)off, reason);
}

static int summarise(const char *path, const struct input *in, struct jp_jdr_summary *s)
{
	struct warn_ctx w = { path, 0 };
	int r = jp_jdr_check(in->buf, in->len, s, show_warning, &w);

	if (s->warnings > MAX_WARNINGS_SHOWN)
		printf("%s: ... %llu more warnings\n", path,
		       (unsigned long long)(s->warnings - MAX_WARNINGS_SHOWN));
	if (r == -ENOMEM) {
		say("%s: out of memory", path);
		return EXIT_USAGE;
	}
	if (r < 0) {
		printf("%s: offset %llu: %s\n", path, (unsigned long long)s->err_off, s->err);
		return EXIT_INVALID;
	}
	return EXIT_VALID;
}

static int do_check(const char *path, const struct input *in)
{
	struct jp_jdr_summary s;
	int r = summarise(path, in, &s);

	if (r == EXIT_VALID)
		printf("%s: ok, %llu records, %llu LOADs, %llu warnings\n", path, (unsigned long long)s.records,
		       (unsigned long long)s.by_id[JD_CODE_LOAD], (unsigned long long)s.warnings);
	return r;
}

static int do_stats(const char *path, const struct input *in)
{
	struct jp_jdr_summary s;
	int r = summarise(path, in, &s);

	if (r == EXIT_USAGE)
		return r;
	printf("%s:%s\n", path, r == EXIT_VALID ? "" : " (statistics up to the first error)");
	printf("  records:              %llu\n", (unsigned long long)s.records);
	for (uint32_t id = 0; id < JD_CODE_MAX; id++) {
		char label[32];

		snprintf(label, sizeof(label), "%s:", jp_jdr_type_name(id));
		printf("  %-21s %llu\n", label, (unsigned long long)s.by_id[id]);
	}
	printf("  %-21s %llu\n", "UNKNOWN:", (unsigned long long)(s.unknown - s.undescribed));
	if (s.undescribed)
		printf("  %-21s %llu\n", "to describe:", (unsigned long long)s.undescribed);
	printf("  code bytes:           %llu\n", (unsigned long long)s.code_bytes);
	printf("  distinct names:       %llu\n", (unsigned long long)s.distinct_names);
	printf("  timestamps backwards: %llu\n", (unsigned long long)s.ts_backwards);
	printf("  unwinding with CFI:   %llu (%llu FDEs)\n", (unsigned long long)s.unwind_cfi,
	       (unsigned long long)s.unwind_fdes);
	printf("  warnings:             %llu\n", (unsigned long long)s.warnings);
	return r;
}

/* Sampled addresses for the dump of pid: "ADDR" or "PID ADDR" lines. */
static struct jp_sample_at *read_samples(const char *path, uint32_t pid, size_t *count)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "re") : stdin;
	struct jp_sample_at *v = NULL;
	size_t n = 0, cap = 0;
	char line[256];

	if (!f) {
		say("%s: %s", path, strerror(errno));
		return NULL;
	}
	while (fgets(line, sizeof(line), f)) {
		char *end, *p = line;
		unsigned long long a = strtoull(p, &end, 16), owner;

		if (end == p)
			continue; /* blank or not an address */
		while (*end == ' ' || *end == '\t')
			end++;
		if (*end && *end != '\n') { /* "PID ADDR" */
			owner = strtoull(p, NULL, 10);
			p = end;
			a = strtoull(p, &end, 16);
			if (end == p || owner != pid)
				continue;
		}
		if (n == cap) {
			struct jp_sample_at *w = realloc(v, (cap = cap ? 2 * cap : 4096) * sizeof(*v));

			if (!w) {
				say("out of memory reading %s", path);
				free(v);
				v = NULL;
				n = 0;
				break;
			}
			v = w;
		}
		v[n++] = (struct jp_sample_at){ a, 0 }; /* no time: every LOAD covering it counts */
	}
	if (f != stdin)
		fclose(f);
	if (v)
		qsort(v, n, sizeof(*v), jp_sample_at_cmp);
	*count = n;
	return v ? v : calloc(1, sizeof(*v));
}

/* OUT is replaced only once it is whole: written to OUT.XXXXXX, renamed. */
static FILE *open_output(const char *out_path, char *tmp, size_t tmp_size)
{
	FILE *out;
	int fd;

	if ((size_t)snprintf(tmp, tmp_size, "%s.XXXXXX", out_path) >= tmp_size) {
		say("%s: path too long", out_path);
		return NULL;
	}
	fd = mkstemp(tmp);
	if (fd < 0 || !(out = fdopen(fd, "w"))) {
		say("%s: cannot create: %s", tmp, strerror(errno));
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	return out;
}

/* Close and rename into place, or remove; returns rc or the first error. */
static int close_output(FILE *out, const char *tmp, const char *out_path, int rc)
{
	if (fclose(out) != 0 && rc == 0)
		rc = -EIO;
	if (rc == 0 && rename(tmp, out_path) < 0)
		rc = -errno;
	if (rc != 0)
		unlink(tmp);
	return rc;
}

static const char *why_not_written(int rc)
{
	return rc == -EBADMSG ? "not a well-formed jitdump" : strerror(-rc);
}

/* Sampled addresses for the dump in (pid and code span from its header and
 * records) from a perf.data file; NULL (said why) when it cannot be read
 * whole: pruning on part of the samples could drop a LOAD one needs. */
static struct jp_sample_at *perf_data_samples(const char *path, const struct input *dump, uint32_t pid, size_t *n)
{
	struct jp_sampled set;
	struct input data;
	const char *why = NULL;
	struct jp_sample_at *v = NULL;
	uint64_t lo, hi;
	int rc;

	if (jp_jd_code_span(dump->buf, dump->len, &lo, &hi) < 0 || load_file(path, &data) < 0)
		return NULL;
	jp_sampled_open(&set, pid, lo, hi);
	rc = jp_sampled_read(&set, data.buf, data.len, &why);
	unload_file(&data);
	if (rc < 0)
		say("%s: %s", path, why ? why : strerror(-rc));
	else if (!(v = jp_sampled_sorted(&set, n)))
		say("%s: out of memory", path);
	jp_sampled_close(&set);
	return v;
}

/* Is the file at path a perf.data file ("PERFILE2")? */
static int is_perf_data(const char *path)
{
	char magic[8];
	FILE *f = strcmp(path, "-") ? fopen(path, "re") : NULL;
	int yes;

	if (!f)
		return 0;
	yes = fread(magic, 1, sizeof(magic), f) == sizeof(magic) && !memcmp(magic, "PERFILE2", 8);
	fclose(f);
	return yes;
}

static int do_describe(const char *path, const struct input *in, const char *out_path)
{
	struct jp_jd_describe_stats st;
	char tmp[4096], err[256] = "";
	FILE *out;
	int rc, fd;

	out = open_output(out_path, tmp, sizeof(tmp));
	if (!out)
		return EXIT_USAGE;
	fd = dup(fileno(out));
	if (fd < 0) {
		say("%s: %s", tmp, strerror(errno));
		close_output(out, tmp, out_path, -EIO);
		return EXIT_USAGE;
	}
	rc = jp_jd_describe(in->buf, in->len, fd, &st, err, sizeof(err));
	if (rc == 1) {
		close(fd);
		close_output(out, tmp, out_path, 1);
		printf("%s: nothing to describe\n", path);
		return EXIT_VALID;
	}
	rc = close_output(out, tmp, out_path, rc);
	if (rc != 0) {
		say("%s: not described (%s); %s left as it was", path, err[0] ? err : why_not_written(rc), out_path);
		return EXIT_INVALID;
	}
	printf("%s: described %llu bytes in %llu steps: %llu LOADs (%llu bytes), %llu MOVEs\n", path,
	       (unsigned long long)st.bytes, (unsigned long long)st.captures, (unsigned long long)st.loads,
	       (unsigned long long)st.load_bytes, (unsigned long long)st.moves);
	return EXIT_VALID;
}

static int do_prune(const char *path, const struct input *in, const char *samples, const char *out_path)
{
	struct jp_prune_stats st;
	struct jp_jdr r;
	char tmp[4096];
	struct jp_sample_at *addrs;
	size_t n;
	FILE *out;
	int rc;

	if (jp_jdr_open(&r, in->buf, in->len) < 0) {
		say("%s: not a jitdump: offset %llu: %s", path, (unsigned long long)r.err_off, r.err);
		return EXIT_INVALID;
	}
	if (is_perf_data(samples))
		addrs = perf_data_samples(samples, in, r.hdr.pid, &n);
	else
		addrs = read_samples(samples, r.hdr.pid, &n);
	if (!addrs)
		return EXIT_USAGE;
	out = open_output(out_path, tmp, sizeof(tmp));
	if (!out) {
		free(addrs);
		return EXIT_USAGE;
	}
	rc = jp_jd_prune(in->buf, in->len, addrs, n, out, &st);
	free(addrs);
	rc = close_output(out, tmp, out_path, rc);
	if (rc != 0) {
		say("%s: not pruned (%s); %s left as it was", path, why_not_written(rc), out_path);
		return EXIT_INVALID;
	}
	printf("%s: kept %llu of %llu LOADs, %llu of %llu MOVEs, %llu of %llu bytes (%zu sampled addresses and times)\n", path,
	       (unsigned long long)st.loads_kept, (unsigned long long)st.loads_in, (unsigned long long)st.moves_kept,
	       (unsigned long long)st.moves_in, (unsigned long long)st.bytes_out, (unsigned long long)st.bytes_in, n);
	return EXIT_VALID;
}

struct map_read {
	struct jp_map_entry *v;
	size_t n, cap;
	int oom;
};

static int map_line(void *arg, uint64_t addr, uint64_t size, const char *name)
{
	struct map_read *m = arg;
	char *copy;

	if (m->n == m->cap) {
		size_t cap = m->cap ? 2 * m->cap : 4096;
		struct jp_map_entry *v = realloc(m->v, cap * sizeof(*v));

		if (!v) {
			m->oom = 1;
			return 1;
		}
		m->v = v;
		m->cap = cap;
	}
	copy = strdup(name);
	if (!copy) {
		m->oom = 1;
		return 1;
	}
	m->v[m->n++] = (struct jp_map_entry){ addr, size, copy };
	return 0;
}

static void free_map(struct map_read *m)
{
	for (size_t i = 0; i < m->n; i++)
		free((char *)m->v[i].name);
	free(m->v);
}

static int do_apply_map(const char *path, const struct input *in, const char *map_path, uint64_t map_time,
			const char *out_path)
{
	struct map_read m = { NULL, 0, 0, 0 };
	struct jp_rename_stats st;
	uint64_t offset = 0;
	char tmp[4096];
	FILE *out;
	int rc;

	/* the whole file (a half-written last line is left out) */
	rc = jp_perfmap_read(map_path, &offset, 0, map_line, &m);
	if (rc < 0 || m.oom) {
		say("%s: %s", map_path, m.oom ? "out of memory" : strerror(-rc));
		free_map(&m);
		return EXIT_USAGE;
	}
	out = open_output(out_path, tmp, sizeof(tmp));
	if (!out) {
		free_map(&m);
		return EXIT_USAGE;
	}
	rc = jp_jd_apply_map(in->buf, in->len, m.v, m.n, map_time, out, &st);
	free_map(&m);
	rc = close_output(out, tmp, out_path, rc);
	if (rc != 0) {
		say("%s: map not applied (%s); %s left as it was", path, why_not_written(rc), out_path);
		return EXIT_INVALID;
	}
	printf("%s: renamed %llu code bytes: %llu LOADs added, %llu of %llu replaced, %llu older renamed; "
	       "map entries: %llu, %llu alive, %llu in JIT code, %llu named already\n",
	       path, (unsigned long long)st.bytes_renamed, (unsigned long long)st.loads_added,
	       (unsigned long long)st.loads_dropped, (unsigned long long)st.loads_in,
	       (unsigned long long)st.loads_older, (unsigned long long)st.entries,
	       (unsigned long long)st.entries_alive, (unsigned long long)st.entries_jit,
	       (unsigned long long)st.entries_named);
	return EXIT_VALID;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "check", no_argument, NULL, 'c' },
		{ "stats", no_argument, NULL, 's' },
		{ "describe", no_argument, NULL, 'd' },
		{ "prune", required_argument, NULL, 'p' },
		{ "apply-map", required_argument, NULL, 'm' },
		{ "map-time", required_argument, NULL, 't' },
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	enum mode mode = MODE_PRINT;
	const char *samples = NULL, *out_path = NULL, *map_path = NULL;
	uint64_t map_time = 0;
	struct sigaction sa;
	int c, status = EXIT_VALID;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "csdp:m:o:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
		case 's':
			if (mode != MODE_PRINT && mode != (c == 'c' ? MODE_CHECK : MODE_STATS)) {
				say("--check and --stats cannot be combined");
				return EXIT_USAGE;
			}
			mode = c == 'c' ? MODE_CHECK : MODE_STATS;
			break;
		case 'd':
			if (mode != MODE_PRINT) {
				say("--describe cannot be combined with --check, --stats, --prune or --apply-map");
				return EXIT_USAGE;
			}
			mode = MODE_DESCRIBE;
			break;
		case 'p':
			if (mode != MODE_PRINT) {
				say("--prune cannot be combined with --check or --stats");
				return EXIT_USAGE;
			}
			mode = MODE_PRUNE;
			samples = optarg;
			break;
		case 'm':
			if (mode != MODE_PRINT) {
				say("--apply-map cannot be combined with --check, --stats or --prune");
				return EXIT_USAGE;
			}
			mode = MODE_APPLY_MAP;
			map_path = optarg;
			break;
		case 't': {
			char *end;

			errno = 0;
			map_time = strtoull(optarg, &end, 10);
			if (errno || end == optarg || *end) {
				say("--map-time wants nanoseconds, not '%s'", optarg);
				return EXIT_USAGE;
			}
			break;
		}
		case 'o':
			out_path = optarg;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return EXIT_VALID;
		default:
			/* getopt's own message would start with argv[0]. */
			say("unknown option '%s'; try 'jitperf-dump --help'", argv[optind - 1]);
			return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		say("no FILE given; try 'jitperf-dump --help'");
		return EXIT_USAGE;
	}
	if ((mode == MODE_PRUNE || mode == MODE_APPLY_MAP || mode == MODE_DESCRIBE) && (!out_path || optind + 1 != argc)) {
		say("%s needs -o OUT and exactly one FILE; try 'jitperf-dump --help'",
		    mode == MODE_PRUNE ? "--prune" : mode == MODE_DESCRIBE ? "--describe" : "--apply-map");
		return EXIT_USAGE;
	}
	if (mode != MODE_PRUNE && mode != MODE_APPLY_MAP && mode != MODE_DESCRIBE && out_path) {
		say("-o goes with --describe, --prune or --apply-map only");
		return EXIT_USAGE;
	}
	if (mode != MODE_APPLY_MAP && map_time) {
		say("--map-time goes with --apply-map only");
		return EXIT_USAGE;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sigbus;
	sigaction(SIGBUS, &sa, NULL);

	for (int i = optind; i < argc; i++) {
		struct input in;
		int r;

		if (load_file(argv[i], &in) < 0) {
			status = EXIT_USAGE;
			continue;
		}
		if (mode == MODE_CHECK)
			r = do_check(argv[i], &in);
		else if (mode == MODE_STATS)
			r = do_stats(argv[i], &in);
		else if (mode == MODE_PRUNE)
			r = do_prune(argv[i], &in, samples, out_path);
		else if (mode == MODE_DESCRIBE)
			r = do_describe(argv[i], &in, out_path);
		else if (mode == MODE_APPLY_MAP)
			r = do_apply_map(argv[i], &in, map_path, map_time, out_path);
		else
			r = do_print(argv[i], &in);
		unload_file(&in);
		if (r > status)
			status = r;
	}
	if (fflush(stdout) != 0 || ferror(stdout)) {
		say("cannot write the output: %s", strerror(errno));
		return EXIT_USAGE;
	}
	return status;
}
