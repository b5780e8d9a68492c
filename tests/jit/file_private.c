/* file_private.c - a runtime that maps its saved image (a "core" file) MAP_PRIVATE and executable, and writes code into pages of it at run time.
 *
 * Usage: file_private MODE IMAGE.  The program creates IMAGE (4 MiB: a
 * header page, data pages, holes that read as zeros, and pages of code
 * saved in the image that never run), maps it MAP_PRIVATE, reads every
 * page (so the file's pages are all present), then writes functions into
 * holes of its code area and runs them hot: some at start-up, more after
 * each slice of the first one (appended, or on a page of their own).  It
 * also writes a counter into the header page, as runtimes update their
 * image's static space.  MODE:
 *   rwx  mapped PROT_READ|PROT_WRITE|PROT_EXEC, code written with no call;
 *   wx   mapped PROT_READ|PROT_WRITE, made PROT_READ|PROT_EXEC once the
 *        first code is in; each later batch toggles its pages RW and back
 *        to RX; the last batches make the area RWX and write with no call.
 * Built with JL_VIA_RAW (file_private_raw) every mmap and mprotect is a
 * system call instruction of its own: no hook sees them.
 *
 * Prints IMAGE lo=0x.. hi=0x.. pid=.. (where the image is mapped), then
 * WROTE lo=0x.. hi=0x.. lines: the pages it wrote (merged), and JITFUNC
 * lines (tests/jit/jitlib.h).  The file is left for the caller to remove. */
#include "jitlib.h"

#include <fcntl.h>

#define IMAGE_PAGES 1024u
#define CODE_LO 512u /* first page of the code area (holes in the file) */
#define CODE_HI 768u
#define SAVED_LO 256u /* saved code: in the file, never run, never written */
#define LATE 12u

static uint8_t written[IMAGE_PAGES];

static void mark(size_t pg, size_t off, size_t len)
{
	for (size_t p = off / pg; p <= (off + len - 1) / pg && p < IMAGE_PAGES; p++)
		written[p] = 1;
}

static int make_image(const char *path, size_t pg)
{
	uint8_t *page = malloc(pg);
	uint64_t x = 0x636f7265696d6167ull;
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	if (fd < 0 || !page)
		jl_die("create %s: %s", path, strerror(errno));
	if (ftruncate(fd, (off_t)(IMAGE_PAGES * pg)))
		jl_die("ftruncate: %s", strerror(errno));
	for (unsigned p = 0; p < IMAGE_PAGES; p++) {
		int data = p == 0 || (p < SAVED_LO && p % 2) || p >= CODE_HI;

		if (p >= SAVED_LO && p < CODE_LO) {
			/* Saved code: functions packed as the JIT packs them. */
			struct jl_buf b;

			memset(page, 0xcc, pg);
			jl_buf_init(&b, page, 0, pg);
			while (b.len + JL_FN_MAX <= pg)
				jl_add(&b, 9000 + p * 16 + (uint32_t)(b.len / JL_ALIGN), "saved");
		} else if (data) {
			for (size_t o = 0; o + 8 <= pg; o += 8) {
				x = jl_splitmix(x);
				memcpy(page + o, &x, 8);
			}
			if (p == 0)
				memcpy(page, "JITCORE1", 8);
		} else {
			continue; /* a hole */
		}
		if (pwrite(fd, page, pg, (off_t)(p * pg)) != (ssize_t)pg)
			jl_die("write %s: %s", path, strerror(errno));
	}
	free(page);
	return fd;
}

int main(int argc, char **argv)
{
	const double slice = 0.12, warm = 0.03;
	size_t pg = jl_page(), len = IMAGE_PAGES * pg, code = CODE_LO * pg;
	double total = jl_seconds(1.2);
	uint64_t budget, used;
	struct jl_func first[3], late[LATE];
	volatile uint64_t sink = 0;
	struct jl_buf b;
	int fd, wx;
	unsigned n = 0, i;
	uint8_t *img;
	char label[32];

	jl_init(argv[0]);
	if (argc != 3 || (strcmp(argv[1], "rwx") && strcmp(argv[1], "wx")))
		jl_die("usage: %s rwx|wx IMAGE", argv[0]);
	wx = !strcmp(argv[1], "wx");
	fd = make_image(argv[2], pg);
	img = jl_mmap(NULL, len, PROT_READ | PROT_WRITE | (wx ? 0 : PROT_EXEC), MAP_PRIVATE, fd, 0);
	close(fd);
	printf("IMAGE lo=%#lx hi=%#lx pid=%d\n", (unsigned long)(uintptr_t)img,
	       (unsigned long)(uintptr_t)(img + len), (int)getpid());
	/* The runtime reads its image: every page of the file is present. */
	for (size_t o = 0; o < len; o += pg)
		sink += img[o];
	jl_buf_init(&b, img + code, (uintptr_t)img + code, (CODE_HI - CODE_LO) * pg);
	for (i = 0; i < 3; i++) {
		snprintf(label, sizeof(label), "core_fn%u", i);
		first[i] = jl_add(&b, 300 + i, label);
	}
	mark(pg, code, b.len);
	img[8]++; /* the header's run counter */
	mark(pg, 8, 1);
	if (wx)
		jl_mprotect(img, len, PROT_READ | PROT_EXEC);
	for (i = 0; i < 3; i++)
		jl_check(&first[i]);
	budget = (uint64_t)(total * 1e9);
	jl_run_for(&first[1], slice / 2);
	jl_run_for(&first[2], slice / 2);
	for (used = 0; used < budget && n < LATE; n++) {
		/* Batches after start-up: appended, or on a page of their own. */
		size_t off = n % 3 == 2 ? (64 + n * 4) * pg : b.len;
		uint8_t *lo, *hi;

		jl_run_for(&first[0], slice);
		snprintf(label, sizeof(label), "late_fn%u", n);
		lo = img + code + (off & ~(pg - 1));
		hi = img + code + ((off + JL_ALIGN + JL_FN_MAX + pg - 1) & ~(pg - 1));
		if (wx && n < LATE / 2)
			jl_mprotect(lo, (size_t)(hi - lo), PROT_READ | PROT_WRITE);
		else if (wx && n == LATE / 2)
			jl_mprotect(img, len, PROT_READ | PROT_WRITE | PROT_EXEC);
		late[n] = off == b.len ? jl_add(&b, 400 + n, label) : jl_place(&b, off, 400 + n, label);
		mark(pg, code + off, late[n].size);
		if (wx && n < LATE / 2)
			jl_mprotect(lo, (size_t)(hi - lo), PROT_READ | PROT_EXEC);
		jl_check(&late[n]);
		jl_run_for(&late[n], warm);
		used = first[0].cpu_ns + first[1].cpu_ns + first[2].cpu_ns;
		for (i = 0; i <= n; i++)
			used += late[i].cpu_ns;
	}
	for (i = 0; i < 3; i++)
		jl_report(&first[i], 1);
	for (i = 0; i < n; i++)
		jl_report(&late[i], 1);
	for (unsigned p = 0; p < IMAGE_PAGES;) {
		unsigned q = p;

		if (!written[p]) {
			p++;
			continue;
		}
		while (q < IMAGE_PAGES && written[q])
			q++;
		printf("WROTE lo=%#lx hi=%#lx\n", (unsigned long)(uintptr_t)(img + p * pg),
		       (unsigned long)(uintptr_t)(img + q * pg));
		p = q;
	}
	(void)sink;
	return 0;
}
