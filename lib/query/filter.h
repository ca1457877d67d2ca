/* filter.h — the flow filter language (docs/query.md has the grammar).
 *
 *	vm web-*  and  dst port 443  and not src net 198.18.0.0/15
 *
 * A filter is compiled once into an immutable tree of range, prefix and
 * dictionary tests over store columns, then evaluated three ways:
 *  - on a whole batch of columns (filter_eval), one tight loop per test,
 *    which is how the store scans;
 *  - on a block summary (filter_summary): NONE lets the store skip a block
 *    without reading it, ALL lets it skip the per-row test;
 *  - on a single row (filter_match_row), for callers that hold rows (the
 *    collector's live paths).
 * A compiled filter may be shared by several threads; per-thread scratch
 * lives in struct filter_ctx. */
#ifndef VT_QUERY_FILTER_H
#define VT_QUERY_FILTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "store/cols.h"

#define FILTER_MAX_TEXT 4096   /* bytes of filter text */
#define FILTER_MAX_NODES 256   /* terms and operators */
#define FILTER_MAX_DEPTH 32    /* nesting of parentheses and not */

struct filter;

/* The outcome of testing a block summary. */
enum fmatch { FM_NONE = 0, FM_SOME = 1, FM_ALL = 2 };

/* A Bloom filter over one column's values in a block (see fc_bloom_*). */
struct fc_bloom {
	const uint8_t *bits;   /* NULL: no bloom for this column */
	uint32_t nbits;        /* power of two */
	uint8_t k;             /* probes */
};

/* What a block's metadata says about its rows. min/max are valid for the
 * columns in <have_minmax> (integer columns: value; address columns: the
 * 16-byte form in amin/amax). <vmuse>[i] has bit (c - FC_VM... see
 * FC_VMUSE_*) set when dictionary entry i appears in that VM column. */
struct fc_summary {
	uint64_t nrows;
	uint64_t have_minmax;
	uint64_t min[FC_NCOLS], max[FC_NCOLS];
	struct vt_addr amin[FC_NCOLS], amax[FC_NCOLS];
	struct fc_bloom bloom[FC_NCOLS];
	/* the block's VM dictionary and zone names (only vms/nvms and
	 * zones/nzones of <dict> are used) */
	const struct flow_cols *dict;
	const uint8_t *vmuse;  /* nvms entries, FC_VMUSE_* bits; NULL = unknown */
};

#define FC_VMUSE_VM 0x1
#define FC_VMUSE_PEER 0x2
#define FC_VMUSE_SRC 0x4
#define FC_VMUSE_DST 0x8

/* fc_bloom_hash() : the hash a bloom stores for a value of <len> bytes
 * (addresses: the 16-byte form; ports: 2 bytes big-endian). Part of the
 * segment file format: never change it. */
uint64_t fc_bloom_hash(const void *v, size_t len);
/* fc_bloom_hash_port() : the hash a port bloom stores: of the port's two
 * bytes in network order. */
uint64_t fc_bloom_hash_port(uint16_t port);
/* fc_bloom_set() / fc_bloom_test() : on <bits> of <nbits> (power of 2). */
void fc_bloom_set(uint8_t *bits, uint32_t nbits, uint8_t k, uint64_t h);
bool fc_bloom_test(const struct fc_bloom *b, uint64_t h);

/* filter_compile() : parses <text> (NULL or blank = match everything).
 * On error returns NULL and fills <err> with a message that names the
 * offending token and its 1-based column in <text>, e.g.
 * "column 10: 'http' is not a port or range (0-65535, N-M)"; err->code is
 * -EINVAL (syntax) or -E2BIG (too long, too many terms, too deep). The
 * caller owns the result (filter_free). */
struct filter *filter_compile(const char *text, struct vt_err *err);
/* filter_compile_argv() : the words of a command line joined by spaces;
 * columns in messages refer to the joined text (filter_text()). */
struct filter *filter_compile_argv(int argc, char *const *argv, struct vt_err *err);
/* filter_once() : restricts <f> to the observations the collector's
 * count-once rule counted: <f> becomes "(<f>) and not dup" (or "not dup"
 * when <f> matches everything), its text too. This is `vtap flows
 * --once` and the API's once=1. Call it before sharing <f> between
 * threads. 0, or -E2BIG / -ENOMEM with <err> set (<f> unchanged). */
int filter_once(struct filter *f, struct vt_err *err);
void filter_free(struct filter *f);
/* filter_text() : the source text (joined), owned by <f>. */
const char *filter_text(const struct filter *f);
/* filter_is_true() : whether the filter matches every row. */
bool filter_is_true(const struct filter *f);
/* filter_columns() : FC_BIT mask of the columns evaluation reads. */
uint64_t filter_columns(const struct filter *f);
/* filter_dump() : a canonical, fully parenthesized form for tests and
 * debugging ("(proto 6 and dst port 443)"). Returns <buf>. */
const char *filter_dump(const struct filter *f, char *buf, size_t len);

/* Per-thread evaluation scratch; zero-initialize, free with filter_ctx_free. */
struct filter_ctx {
	uint8_t *scratch;
	size_t cap;
};
void filter_ctx_free(struct filter_ctx *x);

/* filter_eval() : for each row i < c->n sets sel[i] to 1 when it matches
 * and 0 otherwise. The columns of filter_columns() must be valid in <c>.
 * 0 or -ENOMEM. */
int filter_eval(const struct filter *f, const struct flow_cols *c, uint8_t *sel,
		struct filter_ctx *x);
/* filter_summary() : NONE when no row of the block can match, ALL when
 * every row does, SOME otherwise (conservative: SOME is always correct). */
enum fmatch filter_summary(const struct filter *f, const struct fc_summary *s);
/* filter_match_row() : one row; <zm> names the zone indexes (may be NULL:
 * zone terms then match only "outside"). */
bool filter_match_row(const struct filter *f, const struct flow_row *row,
		      const struct fc_zonemap *zm);

#endif
