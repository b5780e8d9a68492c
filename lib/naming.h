/* naming.h - what each piece is called: its published name, else
 * jit:<creator>:<fingerprint> (docs/naming.md).
 *
 * Contract: called by the reconciler under the capture engine's lock
 * (single-threaded), possibly from a hook: no malloc, errno preserved,
 * deterministic output.  Code is passed as a view and a piece of it
 * (pieces.h), so the fingerprints reuse what cutting the view decoded. */
#ifndef JITPERF_NAMING_H
#define JITPERF_NAMING_H

#include <stddef.h>
#include <stdint.h>

#include "creator.h"
#include "pieces.h"

/* Name piece p of view v into buf; *nhash receives the hash of its
 * published name (0 for a made-up one), *fp and *shape the fingerprint and
 * shape a made-up name came from (0 otherwise). */
void jp_naming_name(char *buf, size_t size, jp_creator_id creator, const struct jp_code_view *v,
		    const struct jp_view_piece *p, uint32_t *nhash, uint64_t *fp, uint64_t *shape);

/* jit:<creator>:replaced, the name of whatever ran at addr between the
 * pass that last saw the code there and the one that found other code
 * (reconcile.h: code rewritten with no call). */
void jp_naming_replaced(char *buf, size_t size, jp_creator_id creator, uint64_t addr);

/* The fingerprint a made-up name of p would come from, and its shape
 * (jp_fingerprint_shape_ws); both 0 for pieces with a published name, data,
 * or when they cannot be computed. */
uint64_t jp_naming_fingerprint(const struct jp_code_view *v, const struct jp_view_piece *p, uint64_t *shape);

/* Its shape alone (0 where jp_naming_fingerprint gives 0), cheaper. */
uint64_t jp_naming_shape(const struct jp_code_view *v, const struct jp_view_piece *p);

/* Hash of p's published name (0 for made-up names), cheap: tells a renamed
 * piece without naming unchanged ones. */
uint32_t jp_naming_known_hash(const struct jp_view_piece *p);


#endif
