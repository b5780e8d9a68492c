/* memkind.h - is this memory JIT memory jitperf should track, and of which
 * kind (enum jp_region_kind): anonymous, shared anonymous, [heap], or a
 * file view with no name left (memfd, unlinked file).  Mappings of real
 * files are perf's business (it symbolizes them from the file).
 *
 * Contract: no allocation, errno preserved, safe in hooks. */
#ifndef JITPERF_MEMKIND_H
#define JITPERF_MEMKIND_H

/* The kind of a new mapping from its mmap flags, protection and
 * descriptor; -1: not ours.  A private mapping of a real file is ours
 * when writable and executable (JP_RK_FPRIV: its written pages). */
int jp_memkind_of_fd(int fd, int flags, int prot);

/* The kind of a mapping /proc/self/maps shows (enum jp_map_class,
 * maps.h); -1: not ours (real files, stacks, vdso). */
int jp_memkind_of_map(int cls);

#endif
