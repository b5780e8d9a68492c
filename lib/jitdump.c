/* jitdump.c - write jit-<pid>.dump files in the layout perf 6.1 accepts. */
#include "jitdump.h"
#include "arena.h"
#include "log.h"
#include "outdir.h"
#include "str.h"
#include "sys.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#define BATCH_CAP (256u * 1024u)

static int lock_dump(struct jp_dump *d)
{
	return pthread_mutex_lock(&d->lock);
}

static void unlock_dump(struct jp_dump *d)
{
	pthread_mutex_unlock(&d->lock);
}

/* ---- opening ------------------------------------------------------------ */

int jp_dump_open(struct jp_dump *d, const char *dir, pid_t pid)
{
	struct jd_header h;
	struct stat st;
	char rel[160], file[64], stem[64];
	long pagesz = sysconf(_SC_PAGESIZE);
	int dfd, fd, r, saved = errno;

	memset(d, 0, sizeof(*d));
	pthread_mutex_init(&d->lock, NULL);
	d->fd = -1;
	d->pid = pid;

	dfd = jp_open_private_dir(dir, "dump");
	if (dfd < 0)
		return dfd;
	/* An earlier process instance with this pid (an execve, a recycled
	 * pid) may have left a jit-<pid>.dump perf inject has not read yet:
	 * then ours goes to a fresh jitperf-<pid>.<n>/ beside it. */
	jp_outdir_pid_name(file, sizeof(file), "jit-", pid, ".dump");
	jp_outdir_pid_name(stem, sizeof(stem), "jitperf-", pid, "");
	fd = jp_outdir_create_fresh(dfd, file, stem, rel, sizeof(rel));
	if (fd < 0) {
		close(dfd);
		jp_err("cannot create jit-%d.dump in %s: %s", (int)pid, dir, jp_strerror(-fd));
		errno = saved;
		return fd;
	}
	if (jp_outdir_abs_path(d->path, sizeof(d->path), dir, rel) < 0)
		jp_strlcpy(d->path, rel, sizeof(d->path));

	memset(&h, 0, sizeof(h));
	h.magic = JD_MAGIC;
	h.version = JD_VERSION;
	h.total_size = sizeof(h);
	h.elf_mach = JD_ELF_MACH_X86_64;
	h.pid = (uint32_t)pid;
	h.timestamp = jp_now_ns();
	r = jp_write_all(fd, &h, sizeof(h));
	if (r < 0) {
		jp_err("cannot write %s: %s; jitperf is off", d->path, jp_strerror(-r));
		close(fd);
		jp_outdir_remove_created(dfd, rel);
		close(dfd);
		errno = saved;
		return r;
	}
	/* perf finds the dump only through an executable mmap of it in the
	 * recording; a noexec filesystem refuses exactly this. */
	d->marker_len = (size_t)(pagesz > 0 ? pagesz : 4096);
	{
		long m = jp_sys_mmap_raw(NULL, d->marker_len, PROT_READ | PROT_EXEC, MAP_PRIVATE, fd, 0);

		if (m < 0 && m > -4096) {
			int e = (int)-m;

			if (e == EPERM || e == EACCES)
				jp_err("cannot map %s executable (%s): its filesystem is probably mounted noexec; set JITPERF_DIR to a directory on an exec-allowed filesystem. jitperf is off",
				       d->path, jp_strerror(e));
			else
				jp_err("cannot map %s: %s; jitperf is off", d->path, jp_strerror(e));
			close(fd);
			jp_outdir_remove_created(dfd, rel);
			close(dfd);
			errno = saved;
			return -e;
		}
		d->marker = (void *)m;
	}
	close(dfd);
	if (fstat(fd, &st) == 0) {
		d->dev = st.st_dev;
		d->ino = st.st_ino;
	}
	d->open_ts = jp_now_ns();
	d->size = sizeof(h);
	d->buf_cap = BATCH_CAP;
	d->buf = jp_sys_alloc(d->buf_cap);
	if (!d->buf)
		d->buf_cap = 0;
	d->fd = fd;
	jp_info("writing %s", d->path);
	errno = saved;
	return 0;
}

/* ---- writing ------------------------------------------------------------ */

static void fail_locked(struct jp_dump *d, int err, const char *what)
{
	if (d->failed)
		return;
	__atomic_store_n(&d->failed, 1, __ATOMIC_RELAXED);
	if (err == -ENOSPC || err == -EDQUOT)
		jp_err("%s: no space left while %s; the dump keeps what was written before. jitperf is off",
		       d->path, what);
	else
		jp_err("%s: %s while %s; the dump keeps what was written before. jitperf is off", d->path,
		       jp_strerror(-err), what);
}

/* Did the host close our descriptor and reuse its number?  Writing there
 * would corrupt one of its files. */
static int fd_still_ours(struct jp_dump *d)
{
	struct stat st;
	int saved = errno, r = fstat(d->fd, &st);

	errno = saved;
	if (r < 0)
		return 0;
	return st.st_dev == d->dev && st.st_ino == d->ino;
}

/* keep: the file size to cut back to if this write fails (the start of
 * the record group this write belongs to). */
static int write_locked(struct jp_dump *d, const void *p, size_t len, uint64_t keep)
{
	size_t done = 0;
	int r;

	if (!fd_still_ours(d)) {
		fail_locked(d, -EBADF, "writing (the program closed or replaced jitperf's descriptor)");
		d->fd = -1;
		return -EBADF;
	}
	r = jp_write_all_done(d->fd, p, len, &done);
	if (r < 0) {
		/* Cut back to the last whole record so perf and our reader see
		 * a valid dump; the records are gone, not corrupt. */
		if (done || d->size != keep) {
			int saved = errno;

			if (ftruncate(d->fd, (off_t)keep) == 0)
				lseek(d->fd, (off_t)keep, SEEK_SET);
			errno = saved;
			d->size = keep;
		}
		fail_locked(d, r, "writing records");
		return r;
	}
	d->size += len;
	return 0;
}

static int flush_locked(struct jp_dump *d)
{
	int r = 0;

	if (d->buf_len && !d->failed)
		r = write_locked(d, d->buf, d->buf_len, d->size);
	d->buf_len = 0;
	return r;
}

/* Append one group of records (written whole).  Small groups go to the batch;
 * a group larger than the batch is written directly after a flush. */
static int append_locked(struct jp_dump *d, const struct iovec *iov, int n)
{
	size_t total = 0;
	int r;

	if (d->fd < 0 || d->failed)
		return -EIO;
	for (int i = 0; i < n; i++)
		total += iov[i].iov_len;
	if (d->buf_len + total > d->buf_cap) {
		r = flush_locked(d);
		if (r < 0)
			return r;
	}
	if (total <= d->buf_cap) {
		for (int i = 0; i < n; i++) {
			memcpy(d->buf + d->buf_len, iov[i].iov_base, iov[i].iov_len);
			d->buf_len += iov[i].iov_len;
		}
		return 0;
	}
	{
		uint64_t start = d->size; /* a failure drops the whole group */

		for (int i = 0; i < n; i++) {
			r = write_locked(d, iov[i].iov_base, iov[i].iov_len, start);
			if (r < 0)
				return r;
		}
	}
	return 0;
}

static void put32(unsigned char *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

size_t jp_unwind_record(void *out, int kind, uint64_t code_size, uint64_t timestamp)
{
	struct jd_code_unwinding_info u;
	unsigned char *data = (unsigned char *)out + sizeof(u);

	memset(&u, 0, sizeof(u));
	u.p.id = JD_CODE_UNWINDING_INFO;
	u.p.timestamp = timestamp;
	if (kind == JP_UNWIND_FP_FDE) {
		/* CIE: version 1, "zR", code align 1, data align -8, RA r16,
		 * FDE pointers pcrel|sdata4; CFA = rsp+8, RA at CFA-8. */
		static const unsigned char cie[24] = {
			0x14, 0, 0, 0, 0, 0, 0, 0, 0x01, 'z', 'R', 0, 0x01, 0x78, 0x10, 0x01,
			0x1b, 0x0c, 0x07, 0x08, 0x90, 0x01, 0x00, 0x00,
		};
		/* FDE instructions after "push rbp" (1 byte): CFA = rsp+16, rbp
		 * saved at CFA-16; after "mov rbp,rsp" (3 bytes): CFA = rbp+16. */
		static const unsigned char fde_insns[16] = {
			0x00, 0x41, 0x0e, 0x10, 0x86, 0x02, 0x43, 0x0d, 0x06, 0, 0, 0, 0, 0, 0, 0,
		};
		uint64_t a = (code_size + 7) & ~7ull; /* .eh_frame follows the aligned code */

		memcpy(data, cie, sizeof(cie));
		put32(data + 24, 0x1c);                    /* FDE length */
		put32(data + 28, 0x1c);                    /* back to the CIE */
		put32(data + 32, (uint32_t)(-(int64_t)(a + 32))); /* pc_begin, pcrel */
		put32(data + 36, (uint32_t)code_size);     /* pc_range */
		memcpy(data + 40, fde_insns, sizeof(fde_insns));
		put32(data + 56, 0);                       /* terminator */
		data[60] = 0x01;                           /* eh_frame_hdr version */
		data[61] = 0x1b;                           /* eh_frame_ptr: pcrel sdata4 */
		data[62] = 0x03;                           /* fde_count: udata4 */
		data[63] = 0x3b;                           /* table: datarel sdata4 */
		put32(data + 64, (uint32_t)-64);           /* eh_frame_ptr */
		put32(data + 68, 1);                       /* fde_count */
		put32(data + 72, (uint32_t)(-(int64_t)(a + 60))); /* initial location */
		put32(data + 76, (uint32_t)-36);           /* FDE address */
		u.unwinding_size = JD_FDE_UNWIND_SIZE;
		u.eh_frame_hdr_size = JD_EH_HDR_SIZE;
		/* perf ignores the FDE unless the data is mapped after the code. */
		u.mapped_size = JD_FDE_UNWIND_SIZE;
		u.p.total_size = JD_FDE_UNWIND_RECORD;
	} else {
		/* What V8 writes for code without unwind info: an empty
		 * .eh_frame and a header whose table has no entries, which makes
		 * perf's libunwind fall back to the frame-pointer chain. */
		memset(data, 0, JD_EMPTY_UNWIND_RECORD - sizeof(u));
		data[0] = 0x01;
		data[1] = 0x1b;
		data[2] = 0x03;
		data[3] = 0x3b;
		u.unwinding_size = JD_EH_HDR_SIZE;
		u.eh_frame_hdr_size = JD_EH_HDR_SIZE;
		u.mapped_size = 0;
		u.p.total_size = JD_EMPTY_UNWIND_RECORD;
	}
	memcpy(out, &u, sizeof(u));
	return u.p.total_size;
}

/* The calling thread's id for a record of the dump of process pid, asked
 * of the kernel once per thread and process (a forked child writes its own
 * dump, with its own pid): a system call per LOAD was 4 % of the capture
 * thread's work on BEAM's 10,000 LOADs. */
static uint32_t self_tid(pid_t pid)
{
	static __thread pid_t for_pid __attribute__((tls_model("initial-exec")));
	static __thread uint32_t tid __attribute__((tls_model("initial-exec")));

	if (for_pid != pid || tid == 0) {
		tid = (uint32_t)jp_sys_gettid();
		for_pid = pid;
	}
	return tid;
}

int jp_dump_load(struct jp_dump *d, const struct jp_code *c, uint64_t *index)
{
	unsigned char unwind[JD_FDE_UNWIND_RECORD];
	static const unsigned char zeros[8];
	struct jd_code_load l;
	struct iovec iov[6];
	size_t namelen = strlen(c->name) + 1;
	int n = 0, r;

	if (!jp_dump_ok(d))
		return -EIO;
	/* total_size is 32 bits wide (and so is the FDE's code range). */
	if (c->size > UINT32_MAX - sizeof(l) - namelen)
		return -EFBIG;
	memset(&l, 0, sizeof(l));
	l.p.id = JD_CODE_LOAD;
	l.p.total_size = (uint32_t)(sizeof(l) + namelen + c->size);
	l.p.timestamp = c->timestamp ? c->timestamp : jp_now_ns();
	l.pid = (uint32_t)d->pid;
	l.tid = c->tid ? c->tid : d->tid ? d->tid : self_tid(d->pid);
	l.vma = c->addr;
	l.code_addr = c->addr;
	l.code_size = c->size;
	if (c->unwind == JP_UNWIND_CFI && c->cfi && c->cfi_size && c->cfi_hdr_size &&
	    c->cfi_hdr_size <= c->cfi_size && c->cfi_size <= UINT32_MAX - 64) {
		/* Variable size: the fixed part, the data, zeros to a multiple
		 * of 8.  mapped_size is the data itself: perf maps it after
		 * the code, where the caller checked it hides nothing. */
		struct jd_code_unwinding_info *u = (struct jd_code_unwinding_info *)unwind;
		uint32_t pad = (uint32_t)((8 - c->cfi_size % 8) % 8);

		memset(u, 0, sizeof(*u));
		u->p.id = JD_CODE_UNWINDING_INFO;
		u->p.timestamp = l.p.timestamp;
		u->p.total_size = (uint32_t)sizeof(*u) + c->cfi_size + pad;
		u->unwinding_size = c->cfi_size;
		u->eh_frame_hdr_size = c->cfi_hdr_size;
		u->mapped_size = c->cfi_size;
		iov[n].iov_base = u;
		iov[n++].iov_len = sizeof(*u);
		iov[n].iov_base = (void *)c->cfi;
		iov[n++].iov_len = c->cfi_size;
		if (pad) {
			iov[n].iov_base = (void *)zeros;
			iov[n++].iov_len = pad;
		}
	} else if (c->unwind != JP_UNWIND_NONE) {
		int kind = c->unwind == JP_UNWIND_FP_FDE ? JP_UNWIND_FP_FDE : JP_UNWIND_EMPTY;

		iov[n].iov_base = unwind;
		iov[n++].iov_len = jp_unwind_record(unwind, kind, c->size, l.p.timestamp);
	}
	iov[n].iov_base = &l;
	iov[n++].iov_len = sizeof(l);
	iov[n].iov_base = (void *)c->name;
	iov[n++].iov_len = namelen;
	iov[n].iov_base = (void *)c->code;
	iov[n++].iov_len = c->size;

	lock_dump(d);
	l.code_index = d->next_index;
	r = append_locked(d, iov, n);
	if (r == 0) {
		d->next_index++;
		d->loads++;
		d->bytes += c->size;
		if (index)
			*index = l.code_index;
	}
	unlock_dump(d);
	return r;
}

int jp_dump_move(struct jp_dump *d, uint64_t index, uint64_t old_addr, uint64_t new_addr, uint64_t size,
		 uint64_t timestamp)
{
	struct jd_code_move m;
	struct iovec iov = { &m, sizeof(m) };
	int r;

	if (!jp_dump_ok(d))
		return -EIO;
	memset(&m, 0, sizeof(m));
	m.p.id = JD_CODE_MOVE;
	m.p.total_size = sizeof(m);
	m.p.timestamp = timestamp ? timestamp : jp_now_ns();
	m.pid = (uint32_t)d->pid;
	m.tid = d->tid ? d->tid : self_tid(d->pid);
	m.vma = new_addr;
	m.old_code_addr = old_addr;
	m.new_code_addr = new_addr;
	m.code_size = size;
	m.code_index = index;
	lock_dump(d);
	r = append_locked(d, &iov, 1);
	if (r == 0)
		d->moves++;
	unlock_dump(d);
	return r;
}

int jp_dump_raw(struct jp_dump *d, const struct iovec *iov, int n)
{
	int r;

	if (!jp_dump_ok(d))
		return -EIO;
	lock_dump(d);
	r = append_locked(d, iov, n);
	unlock_dump(d);
	return r;
}

int jp_dump_adopt(struct jp_dump *d, int fd, pid_t pid, uint64_t size)
{
	struct stat st;

	memset(d, 0, sizeof(*d));
	pthread_mutex_init(&d->lock, NULL);
	d->pid = pid;
	if (fstat(fd, &st) == 0) {
		d->dev = st.st_dev;
		d->ino = st.st_ino;
	}
	d->size = size;
	d->buf_cap = BATCH_CAP;
	d->buf = jp_sys_alloc(d->buf_cap);
	if (!d->buf)
		return -ENOMEM;
	d->fd = fd;
	return 0;
}

int jp_dump_flush(struct jp_dump *d)
{
	int r;

	if (d->fd < 0)
		return -EBADF;
	lock_dump(d);
	r = flush_locked(d);
	unlock_dump(d);
	return r;
}

void jp_dump_close(struct jp_dump *d)
{
	struct jd_code_close c;
	struct iovec iov = { &c, sizeof(c) };

	if (d->fd < 0)
		return;
	lock_dump(d);
	if (!d->failed) {
		memset(&c, 0, sizeof(c));
		c.p.id = JD_CODE_CLOSE;
		c.p.total_size = sizeof(c);
		c.p.timestamp = jp_now_ns();
		if (append_locked(d, &iov, 1) == 0)
			flush_locked(d);
	}
	if (fd_still_ours(d))
		jp_close(d->fd);
	d->fd = -1;
	unlock_dump(d);
}

void jp_dump_abandon(struct jp_dump *d)
{
	/* The lock may have been held by a parent thread at fork time. */
	pthread_mutex_init(&d->lock, NULL);
	if (d->fd >= 0 && fd_still_ours(d))
		jp_close(d->fd);
	d->fd = -1;
	if (d->marker)
		jp_sys_munmap(d->marker, d->marker_len);
	d->marker = NULL;
	if (d->buf)
		jp_sys_free(d->buf, d->buf_cap);
	d->buf = NULL;
	d->buf_len = d->buf_cap = 0;
}
