/* outdir.h - where jitperf may write: private directories, files created fresh.
 *
 * Every output file jitperf makes (jit-<pid>.dump, perf-<pid>.map) goes
 * through here, so the rules live in one place:
 * - directories jitperf creates are mode 0700; a directory it did not create
 *   is used only if it is ours, or a root-owned sticky one such as /tmp, and
 *   is not writable by others (who could swap our file for one perf inject
 *   would then parse);
 * - files are created with O_CREAT|O_EXCL|O_NOFOLLOW, mode 0600: a symlink is
 *   never followed and nothing that exists is ever truncated or written;
 * - descriptors are close-on-exec and moved out of the program's way
 *   (jp_fd_high).
 *
 * Contract: functions return a descriptor, 0 or a length on success and
 * -errno on failure, and leave the caller's errno untouched.  No malloc, no
 * stdio; jp_open_private_dir reports its failures on stderr (jp_err), the
 * others leave reporting to the caller, which knows what the file is for.
 * Thread-safe (no shared state). */
#ifndef JITPERF_OUTDIR_H
#define JITPERF_OUTDIR_H

#include <stddef.h>
#include <sys/types.h>

/* Create a directory path (mkdir -p, mode 0700 for what we create) and check
 * it is safe to write into: a real directory, owned by us (or a root-owned
 * sticky directory like /tmp), writable.  A symlink the user named is
 * followed and its target checked like any directory.  Returns an
 * O_DIRECTORY fd or -errno and reports why on stderr with the given purpose
 * ("dump", "perf map") in the message. */
int jp_open_private_dir(const char *dir, const char *purpose);

/* Create name inside dfd, exclusively (an existing file or symlink gives
 * -EEXIST), mode 0600, with extra open flags (O_RDWR, O_WRONLY|O_APPEND...).
 * Returns the descriptor, moved high (jp_fd_high), or -errno. */
int jp_outdir_create(int dfd, const char *name, int flags);

/* Create name inside dfd as jp_outdir_create does; if the name is taken,
 * create it in a fresh private subdirectory <stem>.<n> (n = 1, 2, ...)
 * instead, so what an earlier process left (a dump perf inject has not read
 * yet) is never touched.  rel receives the path created, relative to dfd.
 * Returns the descriptor or -errno. */
int jp_outdir_create_fresh(int dfd, const char *name, const char *stem, char *rel, size_t relsize);

/* Undo jp_outdir_create_fresh() after a later failure: the file, and the
 * subdirectory if one was made.  Relative to dfd, so a path that could not
 * be made absolute never touches the working directory. */
void jp_outdir_remove_created(int dfd, const char *rel);

/* out = absolute form of dir (the working directory prepended when dir is
 * relative) + "/" + rel.  Returns 0 or -errno (-ENAMETOOLONG). */
int jp_outdir_abs_path(char *out, size_t size, const char *dir, const char *rel);

/* out = prefix + decimal pid + suffix ("jit-" 1234 ".dump"), truncated to
 * size.  Returns the length it needed (as jp_strlcpy does). */
size_t jp_outdir_pid_name(char *out, size_t size, const char *prefix, pid_t pid, const char *suffix);

#endif
