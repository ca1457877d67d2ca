/* query.h — flow queries over a store: listing, aggregation, top-N.
 *
 * A query is a time range, a compiled filter, and either nothing (list
 * matching flows, newest first) or a set of keys to aggregate by (srcip,
 * dstport, vm, ...), ordered by bytes, packets or flows and cut to the top
 * N. Aggregation is exact: every matching row is counted, groups are never
 * evicted (a bound on the number of groups turns into an error, not a
 * silent approximation), ties are ordered by key so results are stable.
 * The result is plain data; qout.h renders it as text, JSON or CSV. */
#ifndef VT_QUERY_QUERY_H
#define VT_QUERY_QUERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "query/filter.h"
#include "store/store.h"

#define QUERY_MAX_KEYS 4
#define QUERY_DEFAULT_MAX_GROUPS 50000000ull
#define QUERY_DEFAULT_MAX_ROWS 10000000ull

enum qkey {
	/* QK_IP, QK_PORT, QK_VM, QK_ZONE: either side: a flow counts once for
	 * its source and once for its destination (twice for one group when
	 * both are equal), as nfdump's -s ip / -s port count */
	QK_SRCIP, QK_DSTIP, QK_IP,
	QK_SRCPORT, QK_DSTPORT, QK_PORT,
	QK_PROTO,
	QK_SRCVM, QK_DSTVM, QK_VM,
	QK_SRCZONE, QK_DSTZONE, QK_ZONE,
	QK_EXPORTER, QK_VLAN, QK_LOCALITY, QK_IN_IF, QK_OUT_IF, QK_SRC_AS, QK_DST_AS, QK_TOS,
	QK_DUP,         /* 0 = counted, 1 = a duplicate observation (count once) */
	QK_NKEYS
};

enum qsort { QS_BYTES = 0, QS_PACKETS = 1, QS_FLOWS = 2 };

struct query {
	uint64_t since_ms, until_ms;      /* inclusive; 0 / UINT64_MAX = open */
	const struct filter *filter;      /* NULL = all flows (not owned) */
	enum qkey keys[QUERY_MAX_KEYS];
	size_t nkeys;                     /* 0: list flows */
	enum qsort sort;                  /* aggregation order */
	uint64_t limit;                   /* groups or flows returned; 0 = all */
	bool oldest_first;                /* listing: by first seen ascending */
	uint64_t max_groups;              /* 0 = QUERY_DEFAULT_MAX_GROUPS */
	uint64_t max_rows;                /* rows a listing may hold (limit 0 or
					   * above it); 0 = default */
};

/* One aggregation key value. */
struct qval {
	struct vt_addr addr;              /* ip keys, exporter */
	uint64_t u;                       /* numeric keys */
	const char *name;                 /* vm, zone: owned by the result ("" = none) */
	const uint8_t *uuid;              /* vm: 16 bytes, owned by the result */
};

struct qgroup {
	struct qval k[QUERY_MAX_KEYS];
	uint64_t flows, packets, bytes;
	uint64_t first_ms, last_ms;
};

struct query_result {
	/* totals over every matching flow (not only those returned) */
	uint64_t flows, packets, bytes;
	uint64_t first_ms, last_ms;       /* 0 when nothing matched */
	uint64_t ngroups;                 /* distinct groups before the cut */
	struct store_scan_stats scan;
	uint64_t elapsed_us;
	/* listing */
	struct flow_row *rows;
	size_t nrows;
	/* zone names by index for the listed rows (zone index -> name) */
	struct fc_zone *zones;
	size_t nzones;
	/* aggregation, sorted */
	struct qgroup *groups;
	size_t n;
	void *priv;                       /* names behind qval pointers */
};

/* query_parse_keys() : "srcip,dstport" -> keys; error names the bad key. */
int query_parse_keys(const char *s, enum qkey *keys, size_t *n, struct vt_err *err);
/* query_key_name() : "srcip". */
const char *query_key_name(enum qkey k);
/* query_key_is_either() : ip, port, vm, zone (a flow counts for both sides). */
bool query_key_is_either(enum qkey k);

/* query_run() : runs <q> on <st>. On success *<out> is a result owned by
 * the caller (query_result_free). Errors: -E2BIG when more than max_groups
 * groups (or max_rows listed flows) would be needed, with a message; scan
 * errors from the store. */
int query_run(struct store *st, const struct query *q, struct query_result **out,
	      struct vt_err *err);
void query_result_free(struct query_result *r);
/* query_zone_name() : the name of zone index <idx> as stored with the
 * listed rows, or NULL. */
const char *query_zone_name(const struct query_result *r, uint16_t idx);

#endif
