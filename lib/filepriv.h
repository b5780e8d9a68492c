/* filepriv.h - code a program wrote into a private mapping of a real file.
 *
 * A runtime may map its saved image (a "core" file) MAP_PRIVATE and
 * executable and write code into it at run time.  perf labels those
 * samples with the file's name and reads symbols from the file, which
 * knows nothing of that code.  The kernel tells the two kinds of page
 * apart: a page of a private file mapping that the process wrote was
 * copied on write into an anonymous page (PAGEMAP_SCAN: present, not
 * PAGE_IS_FILE; /proc/self/pagemap: bit 63 set, bit 61 clear), the
 * others are the file's own page-cache pages.  jitperf tracks such a
 * mapping as a region of kind JP_RK_FPRIV and reads only its written
 * pages (lib/dirty.c), never the file's untouched ones.
 *
 * Which private file mappings: executable ones that are writable (code
 * can appear with no call), or that hold written pages (mapped RW, written,
 * made executable).  Libraries' text (r-xp, never written) is left alone.
 *
 * Contract: no malloc, errno preserved; opens /proc/self/pagemap for
 * each question (or look) and closes it after: a program with no such
 * mapping never holds a descriptor of jitperf's; not thread-safe: the
 * capture engine calls it under its lock. */
#ifndef JITPERF_FILEPRIV_H
#define JITPERF_FILEPRIV_H

#include <stddef.h>
#include <stdint.h>

#include "maps.h"
#include "range.h"
#include "reconcile.h"
#include "region.h"

/* The pages of [start, end) this process wrote, in a private mapping of a
 * file: page-aligned ranges, merged, in address order, at most max into
 * out.  When out fills, the walk stops and *resume (if given) receives the
 * address to continue from (else end).  Returns the count or -errno.
 * PAGEMAP_SCAN (Linux 6.7) when the kernel has it, else pagemap entries. */
long jp_filepriv_written(uint64_t start, uint64_t end, struct jp_range *out, size_t max, uint64_t *resume);

/* JP_RK_FPRIV when m, an executable mapping, is a private mapping of a real
 * file that may hold code perf cannot know: writable, or holding written
 * pages.  -1 otherwise.  The written-pages question walks the mapping's
 * page tables (a process's libraries: about 1 ms a look); inside a look
 * over the whole address space (between jp_filepriv_look_begin and _end,
 * mappings in address order) a read-only mapping found clean is asked
 * again only when it changed (address, file, offset), or after 16 to 32
 * looks (their turns spread): a mapping toggled RW and back to RX between
 * two looks keeps its address. */
int jp_filepriv_kind_of_map(const struct jp_map *m);

#define JP_FILEPRIV_RECHECK 32u

void jp_filepriv_look_begin(void);
void jp_filepriv_look_end(void);

/* After an exec grant of [start, end): perf's kernel event for a file
 * mapping covers the whole mapping the kernel merged the range back into
 * (a page toggled RW and back to RX rejoins the image), and it hides every
 * LOAD there.  Announce anew the pieces of the executable JP_RK_FPRIV
 * regions that adjoin [start, end) without a gap (the range itself is
 * the caller's: it was read and announced with the grant). */
void jp_filepriv_reannounce(const struct jp_regions *t, uint64_t start, uint64_t end, struct jp_reconciler *rc,
			    uint64_t now);

/* The two ways, for tests: with scan 0 the pagemap entries are read even
 * where PAGEMAP_SCAN exists. */
long jp_filepriv_written_how(uint64_t start, uint64_t end, struct jp_range *out, size_t max, uint64_t *resume,
			     int scan);

#endif
