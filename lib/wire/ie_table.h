/* ie_table.h — the Information Element registry of the collector's
 * NetFlow v9 / IPFIX decoders, and how each element lands in a flow_rec.
 *
 * A template field is resolved once, when the template arrives, to a
 * struct ie_def (name, abstract type, mapping). Data records are then
 * decoded by applying each field's bytes to a struct ie_acc accumulator
 * (ie_apply) and, at the end of the record, ie_finish() turns the
 * accumulator into one flow_rec — or two for an RFC 5103 biflow — with
 * absolute millisecond timestamps. The rules (precedence between elements,
 * timestamps, biflows) are written down in docs/wire/flow-decoding.md. */
#ifndef VT_IE_TABLE_H
#define VT_IE_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/be.h"
#include "flow/flowrec.h"

/* Abstract data types (RFC 7012 §3.1), as far as decoding needs them. */
enum ie_type {
	IET_OCTETS = 0,   /* octetArray and anything we do not interpret */
	IET_UNSIGNED,     /* unsigned8..64, reduced-size encoding allowed */
	IET_SIGNED,
	IET_FLOAT,
	IET_BOOL,
	IET_MAC,
	IET_STRING,
	IET_DATE_S,       /* dateTimeSeconds */
	IET_DATE_MS,      /* dateTimeMilliseconds */
	IET_DATE_US,      /* dateTimeMicroseconds (NTP format) */
	IET_DATE_NS,      /* dateTimeNanoseconds (NTP format) */
	IET_IPV4,
	IET_IPV6,
	IET_LIST,         /* basicList, subTemplateList, subTemplateMultiList */
};

/* Where an element goes. Order is not API (never stored: the template
 * file stores element ids and re-resolves them at load). */
enum ie_map {
	IEM_NONE = 0,
	IEM_BYTES, IEM_PACKETS,                 /* 1, 2 */
	IEM_BYTES_TOTAL, IEM_PACKETS_TOTAL,     /* 85, 86 */
	IEM_BYTES_POST, IEM_PACKETS_POST,       /* 23, 24 */
	IEM_PROTO, IEM_TOS, IEM_TCP_FLAGS,      /* 4, 5, 6 */
	IEM_SPORT, IEM_DPORT,                   /* 7, 11 */
	IEM_SRC4, IEM_DST4, IEM_SRC6, IEM_DST6, /* 8, 12, 27, 28 */
	IEM_SRC_MASK4, IEM_DST_MASK4,           /* 9, 13 */
	IEM_SRC_MASK6, IEM_DST_MASK6,           /* 29, 30 */
	IEM_IN_IF, IEM_OUT_IF,                  /* 10, 14 */
	IEM_NEXTHOP4, IEM_NEXTHOP6,             /* 15, 62 */
	IEM_SRC_AS, IEM_DST_AS,                 /* 16, 17 */
	IEM_ICMP_TC,                            /* 32, 139: type << 8 | code */
	IEM_ICMP_TYPE, IEM_ICMP_CODE,           /* 176/178, 177/179 */
	IEM_SRC_MAC, IEM_DST_MAC,               /* 56, 80 */
	IEM_SRC_MAC_POST, IEM_DST_MAC_POST,     /* 81, 57 (v9 OUT_SRC/OUT_DST_MAC) */
	IEM_VLAN, IEM_VLAN_DOT1Q,               /* 58, 243 */
	IEM_IPVER, IEM_DIRECTION, IEM_END_REASON, /* 60, 61, 136 */
	IEM_END_SYSUP, IEM_START_SYSUP,         /* 21, 22 */
	IEM_START_S, IEM_END_S,                 /* 150, 151 */
	IEM_START_MS, IEM_END_MS,               /* 152, 153 */
	IEM_START_US, IEM_END_US,               /* 154, 155 */
	IEM_START_NS, IEM_END_NS,               /* 156, 157 */
	IEM_START_DELTA_US, IEM_END_DELTA_US,   /* 158, 159 */
	IEM_SYS_INIT_MS,                        /* 160 */
	IEM_VS_IFID, IEM_VS_IFNAME, IEM_VS_UUID, IEM_VS_NAME, /* 347-350 */
	/* sampling parameters (options records, sometimes data records) */
	IEM_SAMPLING_INTERVAL,                  /* 34 */
	IEM_SAMPLER_ID,                         /* 48 */
	IEM_SAMPLER_RANDOM_INTERVAL,            /* 50 */
	IEM_SELECTOR_ID,                        /* 302 */
	IEM_SAMPLING_PKT_INTERVAL,              /* 305 */
	IEM_SAMPLING_PKT_SPACE,                 /* 306 */
	IEM_SAMPLING_SIZE,                      /* 309 */
	IEM_SAMPLING_POPULATION,                /* 310 */
	IEM_SCOPE_IF,                           /* NetFlow v9 option scope "Interface" */
	IEM__COUNT
};

struct ie_def {
	uint16_t id;        /* without the enterprise bit */
	uint32_t pen;       /* 0 = IANA */
	uint8_t type;       /* enum ie_type */
	uint8_t map;        /* enum ie_map */
	const char *name;   /* IANA name ("octetDeltaCount") */
};

/* ie_lookup() : the definition of element <id> of enterprise <pen> (0 for
 * IANA), or NULL when we do not know it. PEN 29305 (RFC 5103 reverse
 * elements) is answered with the IANA definition of the same id: callers
 * mark the field reversed. The result points into a static table. */
const struct ie_def *ie_lookup(uint32_t pen, uint16_t id);

/* ie_reversible() : whether an element may appear with PEN 29305 and means
 * "the same, for the reverse direction" (RFC 5103 §6.1: counters, flags,
 * timestamps, ToS; never the flow key). */
bool ie_reversible(uint8_t map);

/* ie_field_map() : the mapping a template field gets, given its length on
 * the wire (65535 = variable). Elements whose length does not fit their
 * type (an IPv4 address of 16 bytes...) are mapped to IEM_NONE so a
 * malformed template can never write a wrong value into a record. */
uint8_t ie_field_map(const struct ie_def *d, uint16_t len);

/* ---- record accumulator ------------------------------------------------ */

/* The precision of an absolute time (struct ie_times start/end_prec):
 * among several of one time the finest wins. */
enum ie_prec { IE_PREC_NONE = 0, IE_PREC_S, IE_PREC_MS, IE_PREC_US, IE_PREC_NS };

/* Times of one direction as the wire carried them. */
struct ie_times {
	uint64_t start_abs, end_abs;    /* ms since epoch from 150..157 */
	uint64_t start_dus, end_dus;    /* 158/159 */
	uint32_t start_up, end_up;      /* 22/21, ms since exporter boot */
	uint8_t start_prec, end_prec;   /* enum ie_prec */
	bool has_start_up, has_end_up;
	bool has_start_dus, has_end_dus;
};

/* One data record being decoded. Zero it (ie_acc_init) per record, or
 * once per data set for a template whose records all overwrite the same
 * fields (struct tmpl's reuse_acc). The
 * flow key is kept raw here and resolved by ie_finish(), because a
 * template may carry both IPv4 and IPv6 fields of which only the ones of
 * the flow's IP version mean anything. */
struct ie_acc {
	struct flow_rec f;              /* forward direction */
	uint64_t have[2];               /* bit enum ie_map seen, forward */
	uint64_t rhave[2];              /* ... and reversed (PEN 29305) */
	uint8_t src4[4], dst4[4], nh4[4];
	uint8_t src6[16], dst6[16], nh6[16];
	uint8_t mask4[2], mask6[2];     /* [0] source, [1] destination */
	struct ie_times t[2];           /* [0] forward, [1] reverse */
	/* counters per direction: [0] forward, [1] reverse */
	uint64_t bytes[2], pkts[2], bytes_total[2], pkts_total[2];
	uint64_t bytes_post[2], pkts_post[2];
	uint8_t tcp_flags[2], tos[2];
	uint8_t src_mac_post[6], dst_mac_post[6];
	uint16_t vlan_dot1q;
	uint64_t sys_init_ms;
	uint16_t icmp_tc;
	uint8_t icmp_type, icmp_code;
	uint8_t vs_seen[4];             /* occurrences of 347..350 */
	/* sampling */
	uint64_t samp_interval, samp_random, samp_pkt_interval, samp_pkt_space;
	uint64_t samp_size, samp_population;
	uint64_t sampler_id, selector_id;
	uint32_t scope_if;
};

static inline bool ie_has(const struct ie_acc *a, unsigned m)
{
	return (bool)((a->have[m >> 6] >> (m & 63)) & 1);
}

/* Context of the message the record came in, for timestamps. */
struct ie_time_ctx {
	uint64_t export_ms;             /* header export time */
	uint32_t uptime_ms;             /* NetFlow v9 sysUptime */
	bool has_uptime;
	uint64_t sys_init_ms;           /* systemInitTimeMilliseconds known from
					 * an options record; 0 = unknown */
};

void ie_acc_init(struct ie_acc *a);

/* ie_apply() : applies one field value (<len> bytes at <v>, already
 * bounds-checked) with mapping <map> to <a>; <rev> for PEN 29305. */
void ie_apply(struct ie_acc *a, uint8_t map, bool rev, const uint8_t *v, uint16_t len);

/* ---- planned application (fixed-length templates) ----
 * Most fields only store their value in the accumulator. tmpl_finish()
 * asks ie_plan() once per field which store that is; decoding a record
 * then does the store (ie_store) instead of ie_apply()'s dispatch, and
 * sets the planned fields' "seen" bits for the whole record at once. */
enum ie_op {
	IEO_APPLY = 0,     /* anything else: ie_apply() */
	IEO_U8, IEO_U16, IEO_U32, IEO_U64,  /* the value, truncated to the width */
	IEO_COPY4, IEO_COPY6, IEO_COPY16,   /* the bytes (addresses, MACs) */
	/* times, at the offset of the direction's struct ie_times: absolute
	 * seconds or milliseconds with their precision (only for the one
	 * absolute time of its kind, see ie_abs_time_slot), or uptime ms */
	IEO_T_START_S, IEO_T_START_MS, IEO_T_END_S, IEO_T_END_MS,
	IEO_T_START_UP, IEO_T_END_UP,
};

/* ie_plan() : the op for a field of mapping <map> (as ie_field_map gave
 * it, reverse element when <rev>) and fixed length <len>; for a store, its
 * offset in struct ie_acc at <*off>. */
uint8_t ie_plan(uint8_t map, bool rev, uint16_t len, uint16_t *off);

/* ie_abs_time_slot() : for a field that sets an absolute start or end
 * time (any precision; also flowStart/EndSysUpTime sent as 8-byte
 * milliseconds), which of four kinds it is (direction x start/end), so a
 * template can tell whether it is the only one; else -1. ie_plan() plans
 * such a field as a plain store, which is right only when it is alone. */
int ie_abs_time_slot(uint8_t map, bool rev, uint16_t len);

/* ie_be_uint() : a big-endian unsigned of 1..8 bytes (longer: the first 8). */
static inline uint64_t ie_be_uint(const uint8_t *v, uint16_t len)
{
	uint64_t x = 0;

	/* the sizes templates use, without a loop; reduced-size encodings
	 * (RFC 7011 §6.2) of other widths take the loop */
	switch (len) {
	case 1: return v[0];
	case 2: return ld_be16(v);
	case 4: return ld_be32(v);
	case 8: return ld_be64(v);
	default: break;
	}
	for (uint16_t i = 0; i < len && i < 8; i++)
		x = x << 8 | v[i];
	return x;
}

/* ie_store() : does planned op <op> (not IEO_APPLY) at offset <off>. */
static inline void ie_store(struct ie_acc *a, uint8_t op, uint16_t off, const uint8_t *v,
			    uint16_t len)
{
	uint8_t *p = (uint8_t *)a + off;
	uint64_t x;

	switch (op) {
	case IEO_U8: *p = v[len - 1]; break;
	case IEO_U16: x = ie_be_uint(v, len); memcpy(p, &(uint16_t){ (uint16_t)x }, 2); break;
	case IEO_U32: x = ie_be_uint(v, len); memcpy(p, &(uint32_t){ (uint32_t)x }, 4); break;
	case IEO_U64: x = ie_be_uint(v, len); memcpy(p, &x, 8); break;
	case IEO_COPY4: memcpy(p, v, 4); break;
	case IEO_COPY6: memcpy(p, v, 6); break;
	case IEO_COPY16: memcpy(p, v, 16); break;
	case IEO_T_START_S: case IEO_T_START_MS: case IEO_T_END_S: case IEO_T_END_MS: {
		struct ie_times *t = (struct ie_times *)(void *)p;
		bool ms = op == IEO_T_START_MS || op == IEO_T_END_MS;
		x = ie_be_uint(v, len) * (ms ? 1 : 1000);
		if (op == IEO_T_START_S || op == IEO_T_START_MS) {
			t->start_abs = x;
			t->start_prec = ms ? IE_PREC_MS : IE_PREC_S;
		} else {
			t->end_abs = x;
			t->end_prec = ms ? IE_PREC_MS : IE_PREC_S;
		}
		break;
	}
	case IEO_T_START_UP: case IEO_T_END_UP: {
		struct ie_times *t = (struct ie_times *)(void *)p;
		uint32_t up = (uint32_t)ie_be_uint(v, len);
		if (op == IEO_T_START_UP) {
			t->start_up = up;
			t->has_start_up = true;
		} else {
			t->end_up = up;
			t->has_end_up = true;
		}
		break;
	}
	default: break;
	}
}

/* ie_op_width() : the bytes of struct ie_acc planned store <op> writes
 * from its offset (a time: the direction's struct ie_times). */
static inline size_t ie_op_width(uint8_t op)
{
	switch (op) {
	case IEO_U8: return 1;
	case IEO_U16: return 2;
	case IEO_U32: case IEO_COPY4: return 4;
	case IEO_U64: return 8;
	case IEO_COPY6: return 6;
	case IEO_COPY16: return 16;
	default: return sizeof(struct ie_times);
	}
}

/* ie_finish() : builds the flow record(s) of a finished data record into
 * <fwd> (and <rev> for the reverse direction of a biflow when that
 * direction has packets or bytes; distinct from <fwd>). Returns the number
 * of records (1 or 2). Provenance fields (exporter, domain, version,
 * sampling) are left for the caller. */
int ie_finish(struct ie_acc *a, const struct ie_time_ctx *tc, struct flow_rec *fwd,
	      struct flow_rec *rev);

/* ie_ntp_to_ms() : NTP-format 64-bit timestamp (RFC 7011 §6.1.9/10) to
 * milliseconds since the Unix epoch (truncated). */
uint64_t ie_ntp_to_ms(uint64_t ntp);

#endif
