/* filter_int.h — the compiled form of a filter, shared by its parser
 * (filter.c) and its evaluators (feval.c). Not for use outside lib/query. */
#ifndef VT_QUERY_FILTER_INT_H
#define VT_QUERY_FILTER_INT_H

#include "query/filter.h"

enum fn_kind { FN_TRUE, FN_AND, FN_OR, FN_NOT, FN_RANGE, FN_NET, FN_VM, FN_ZONE };
enum fn_side { SIDE_NONE = 0, SIDE_SRC = 1, SIDE_DST = 2 };

struct fnode {
	uint8_t kind;
	uint8_t side;
	uint8_t ncols;
	uint8_t cols[2];
	const char *what;        /* keyword for filter_dump() */
	uint64_t lo, hi;         /* FN_RANGE */
	struct vt_addr net;      /* FN_NET: network (host bits clear) */
	unsigned plen;           /* FN_NET: on the 128-bit form */
	struct vt_addr nhi;      /* FN_NET: last address of the network */
	uint64_t m[2], v[2];     /* FN_NET: mask and value as loaded by memcpy */
	char *pat;               /* FN_VM / FN_ZONE: glob */
	bool by_uuid;            /* FN_VM: <uuid> instead of a name glob */
	uint8_t uuid[16];
	int a, b;                /* children */
};

struct filter {
	char *text;
	struct fnode nodes[FILTER_MAX_NODES];
	int nnodes;
	int root;
	int depth;               /* binary-operator depth, sizes the scratch */
	uint64_t cols;
};

#endif
