/* cols.h — the columnar in-memory form of stored flows.
 *
 * The store keeps rows (struct flow_rec + struct flow_attr, here joined as
 * struct flow_row) but moves them between disk, the filter and the
 * aggregator as columns: one array per field, so a query that needs three
 * fields decodes and touches three arrays, not 600-byte rows. VM identities
 * are dictionary-encoded per batch (a column holds an index into <vms>) and
 * zone indexes come with the names they had when the rows were written.
 *
 * Column ids are part of the segment file format: never renumber them. */
#ifndef VT_STORE_COLS_H
#define VT_STORE_COLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "flow/flowrec.h"
#include "store/ranges.h"

/* One stored row: the flow as received plus the collector's attribution. */
struct flow_row {
	struct flow_rec rec;
	struct flow_attr attr;
};

enum fc_col {
	FC_FIRST = 0,       /* u64 rec.first_ms */
	FC_LAST = 1,        /* u64 rec.last_ms */
	FC_SRC = 2,         /* addr rec.src */
	FC_DST = 3,         /* addr rec.dst */
	FC_SPORT = 4,       /* u16 */
	FC_DPORT = 5,       /* u16 */
	FC_PROTO = 6,       /* u8 */
	FC_IPVER = 7,       /* u8 */
	FC_VLAN = 8,        /* u16 */
	FC_IN_IF = 9,       /* u32 */
	FC_OUT_IF = 10,     /* u32 */
	FC_BYTES = 11,      /* u64 */
	FC_PACKETS = 12,    /* u64 */
	FC_TCP_FLAGS = 13,  /* u8 */
	FC_TOS = 14,        /* u8 */
	FC_END_REASON = 15, /* u8 */
	FC_DIRECTION = 16,  /* u8 */
	FC_SRC_MAC = 17,    /* mac */
	FC_DST_MAC = 18,    /* mac */
	FC_NEXTHOP = 19,    /* addr */
	FC_SRC_AS = 20,     /* u32 */
	FC_DST_AS = 21,     /* u32 */
	FC_SRC_MASK = 22,   /* u8 */
	FC_DST_MASK = 23,   /* u8 */
	FC_SCOPE = 24,      /* u8 */
	FC_VM = 25,         /* vmref rec.vm */
	FC_PEER = 26,       /* vmref rec.peer */
	FC_EXPORTER = 27,   /* addr */
	FC_OBS_DOMAIN = 28, /* u32 */
	FC_SAMPLING = 29,   /* u32 */
	FC_EXP_VERSION = 30,/* u8 */
	FC_SRC_VM = 31,     /* vmref attr.src_vm */
	FC_DST_VM = 32,     /* vmref attr.dst_vm */
	FC_SRC_ZONE = 33,   /* u16 attr.src_zone */
	FC_DST_ZONE = 34,   /* u16 attr.dst_zone */
	FC_LOCALITY = 35,   /* u8 */
	FC_DUP = 36,        /* u8 attr.dup; absent in older blocks: reads 0 = counted */
	FC_NCOLS = 37,
};

#define FC_BIT(c) (1ull << (c))
#define FC_ALL ((1ull << FC_NCOLS) - 1)
/* Columns added after the first release of the format (FC_DUP on): a
 * block always stores them plane-coded and without a min/max summary,
 * which is what a reader from before them skips (segfile.c). A reader
 * that knows them loses only block pruning on them. */
#define FC_LATE (FC_ALL & ~(FC_BIT(FC_DUP) - 1))

/* Element kinds: how a column is laid out in memory. A vmref column holds
 * uint32_t indexes into the batch's VM dictionary. */
enum fc_kind { FCK_U8, FCK_U16, FCK_U32, FCK_U64, FCK_ADDR, FCK_MAC, FCK_VMREF };

struct fc_desc {
	const char *name;   /* for messages and docs */
	enum fc_kind kind;
	size_t row_off;     /* offset of the field in struct flow_row */
};

/* fc_desc() : the descriptor of column <c> (0 <= c < FC_NCOLS). */
const struct fc_desc *fc_desc(unsigned c);
/* fc_elem_size() : bytes per element in memory for <kind> (inline: the
 * transposition asks it per column for every 32 rows). */
static inline size_t fc_elem_size(enum fc_kind kind)
{
	switch (kind) {
	case FCK_U8: return 1;
	case FCK_U16: return 2;
	case FCK_U32: return 4;
	case FCK_U64: return 8;
	case FCK_ADDR: return 16;
	case FCK_MAC: return 6;
	case FCK_VMREF: return 4;
	}
	return 1;
}

/* A zone index (attr.src_zone/dst_zone, index + 1) and the name it had. */
struct fc_zone {
	uint16_t idx;
	char name[VT_NAME_MAX];
};

/* The zone names the collector uses: names[i] is zone index i + 1. */
struct fc_zonemap {
	const char *const *names;
	size_t n;
};

/* Summaries of the first rows of a batch, kept as they are appended
 * (cols_summarize): the range of every integer column and, for address
 * columns, whether each address is IPv4-mapped or zero, with the low
 * words. The block encoder then need not read those columns once more
 * for them (segenc.c): taken a span of rows at a time while the span is
 * in L2, they cost less than the encoder's pass over the whole block. */
struct cols_sum {
	size_t n;                          /* rows [0, n) covered */
	size_t limit;                      /* rows summarized at most */
	uint64_t mn[FC_NCOLS], mx[FC_NCOLS]; /* integer and vmref columns;
					    * addresses: their low words as
					    * big-endian numbers */
	uint64_t addr_other;               /* FC_BIT(k): an address neither
					    * IPv4-mapped nor zero */
	uint64_t addr_any;                 /* FC_BIT(k): a non-zero address */
	uint32_t *low[FC_NCOLS];           /* address columns: byte j of low[i]
					    * is byte 12 + j of row i's address */
};

struct flow_cols {
	size_t n;                    /* rows */
	size_t cap;                  /* rows allocated in every allocated column */
	uint64_t have;               /* FC_BIT(c): column c holds valid data */
	void *col[FC_NCOLS];         /* owned; NULL until first needed */
	/* VM dictionary: vms[0] is the nil identity; owned */
	struct vm_ident *vms;
	size_t nvms, vmcap;
	/* zone names present in the batch; owned */
	struct fc_zone *zones;
	size_t nzones, zonecap;
	/* private: VM dedupe table used while building from rows */
	uint32_t *vmhash;
	size_t vmhash_cap;
	/* private: owned, NULL unless cols_summarize() was called; shared
	 * (not owned) by a slice from row 0 that it covers */
	struct cols_sum *sum;
	/* A batch with summaries (a writer's) keeps a column whose rows all
	 * hold one value as that value, kval[k], and leaves its array
	 * unwritten: FC_BIT(k) in konst. The encoder, cols_slice(),
	 * cols_gather(), cols_append_cols() and cols_get_row() know it; any
	 * other reader of such a batch calls cols_materialize() first. */
	uint64_t konst;
	_Alignas(16) uint8_t kval[FC_NCOLS][16];
};

/* cols_init() : an empty batch; nothing allocated yet. */
void cols_init(struct flow_cols *c);
/* cols_free() : releases every array; <c> is empty and reusable. NULL ok. */
void cols_free(struct flow_cols *c);
/* cols_reset() : n = 0, no column valid, dictionaries emptied; storage kept. */
void cols_reset(struct flow_cols *c);
/* cols_reserve() : ensures every allocated column (and those in <cols>, a
 * mask of FC_BIT) can hold <cap> rows. 0 or -ENOMEM. */
int cols_reserve(struct flow_cols *c, size_t cap, uint64_t cols);

/* cols_prefault() : on an empty batch, cols_reserve(c, cap, FC_ALL) and
 * every page of the columns (and of the summary, if any) written once, so
 * the appends that fill it do not wait for the kernel to map them (on a
 * virtual machine ~1.6 us a page: a collector took ~4,400 such faults in
 * its first ~75 ms of traffic, store.md). -EBUSY on a batch with rows. */
int cols_prefault(struct flow_cols *c, size_t cap);
/* cols_from_rows() : replaces the content of <c> with <n> rows (all
 * columns), building the VM dictionary and the zone table (names from
 * <zm>, which may be NULL: zones are then stored without names). */
int cols_from_rows(struct flow_cols *c, const struct flow_row *rows, size_t n,
		   const struct fc_zonemap *zm);
/* cols_append_rows() : appends <n> rows to <c> (whose columns must all be
 * valid, as after cols_from_rows), growing it. */
int cols_append_rows(struct flow_cols *c, const struct flow_row *rows, size_t n,
		     const struct fc_zonemap *zm);
/* cols_append_cols() : appends every row of <src> to <dst> (both with all
 * columns valid), merging the VM dictionaries and zone names. */
int cols_append_cols(struct flow_cols *dst, const struct flow_cols *src);
/* cols_gather() : replaces <dst> with rows idx[0..m) of <src> (all columns
 * valid) and a copy of its dictionaries. */
int cols_gather(struct flow_cols *dst, const struct flow_cols *src, const uint32_t *idx,
		size_t m);
/* cols_slice() : a read-only view of rows [from, from + n) of <src> in
 * <view>, sharing its arrays and dictionaries: never cols_free() it. */
void cols_slice(struct flow_cols *view, const struct flow_cols *src, size_t from, size_t n);
/* cols_get_row() : materializes row <i>; columns not valid read as 0. */
void cols_get_row(const struct flow_cols *c, size_t i, struct flow_row *out);

/* cols_summarize() : from now on, cols_append_rows() keeps summaries of
 * rows [0, limit) of <c> (struct cols_sum). 0 or -ENOMEM. */
int cols_summarize(struct flow_cols *c, size_t limit);
/* cols_materialize() : writes out the arrays of the constant columns
 * (konst) among <cols>, a mask of FC_BIT. */
void cols_materialize(struct flow_cols *c, uint64_t cols);
/* cols_summary_complete() : cols_append_rows() summarizes whole spans of
 * rows; this takes the rest, up to the limit (by the thread that owns the
 * batch, before it is encoded). */
void cols_summary_complete(struct flow_cols *c);
/* cols_sum_addr() : what summarized address column <k> holds. */
static inline enum addr_col cols_sum_addr(const struct cols_sum *s, unsigned k)
{
	return !(s->addr_any & FC_BIT(k))  ? ADDR_ZERO
	       : s->addr_other & FC_BIT(k) ? ADDR_OTHER
					   : ADDR_V4;
}
/* cols_summary() : the summary of every row of <c>, or NULL when none is
 * kept or it does not cover them all (not completed, more rows than its
 * limit, rows added another way than cols_append_rows()). */
const struct cols_sum *cols_summary(const struct flow_cols *c);

/* cols_vm_add() : appends <id> (normalized: bytes after each string's NUL
 * cleared) to the dictionary without deduplication; returns its index or
 * -ENOMEM. */
int cols_vm_add(struct flow_cols *c, const struct vm_ident *id);
/* cols_zone_add() : records that zone index <idx> is named <name>; a
 * zone already recorded keeps its name (0). */
int cols_zone_add(struct flow_cols *c, uint16_t idx, const char *name);
/* cols_zone_name() : the name of zone index <idx> in this batch, or NULL. */
const char *cols_zone_name(const struct flow_cols *c, uint16_t idx);

/* vm_ident_norm() : a copy of <in> with bytes after each string's NUL
 * cleared and the strings terminated, so identities compare with memcmp. */
void vm_ident_norm(struct vm_ident *out, const struct vm_ident *in);
bool vm_ident_is_nil(const struct vm_ident *id);

/* Typed column access (no checks: the caller knows the column is valid). */
#define FC_U8(c, id) ((uint8_t *)(c)->col[id])
#define FC_U16(c, id) ((uint16_t *)(c)->col[id])
#define FC_U32(c, id) ((uint32_t *)(c)->col[id])
#define FC_U64(c, id) ((uint64_t *)(c)->col[id])
#define FC_ADDR(c, id) ((struct vt_addr *)(c)->col[id])
#define FC_MAC(c, id) ((uint8_t(*)[6])(c)->col[id])

#endif
