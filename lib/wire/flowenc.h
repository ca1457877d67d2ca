/* flowenc.h — what the flow-export encoders share: the template kinds and
 * their field lists (one field model writes both the templates and the
 * records, so they cannot disagree), the message under construction, the
 * exporter statistics carried in options records, and the ops table
 * through which the exporter drives IPFIX (ipfix_enc.h) or NetFlow v9
 * (nfv9_enc.h) without knowing which.
 *
 * A message is built in a caller-owned buffer whose size is the transport
 * limit (path MTU for UDP). Each add_*() either writes a whole item or
 * returns -ENOSPC leaving the message as it was, so records are never
 * split across messages and a message never exceeds the buffer. The
 * wire layout of every template is in docs/wire/ipfix.md. */
#ifndef VT_FLOWENC_H
#define VT_FLOWENC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/be.h"
#include "flow/flowrec.h"

/* Template kinds: one data template per combination, so no record carries
 * padding for fields it does not have. Template id = FE_TMPL_BASE + kind.
 * FE_PEER always comes with FE_VM (the first occurrence of 347-350 is the
 * observing VM, even when its port has no known VM), so kinds 4 and 5
 * (ids 260, 261) are never used: six templates are sent. */
enum {
	FE_V6 = 1,     /* IPv6 addresses (else IPv4) */
	FE_VM = 2,     /* virtual-station elements 347-350 of the observing VM */
	FE_PEER = 4,   /* ... and a second occurrence for the local peer VM */
	FE_KINDS = 8,
};
#define FE_NTEMPLATES 6
static inline bool fe_kind_used(unsigned k)
{
	return !(k & FE_PEER) || (k & FE_VM);
}
#define FE_TMPL_BASE 256
#define FE_TMPL_OPTIONS (FE_TMPL_BASE + FE_KINDS)   /* 264: exporter statistics */

static inline bool fe_vm_known(const struct vm_ident *v)
{
	static const uint8_t z[16];
	return v->name[0] || v->ifname[0] || v->ifindex || memcmp(v->uuid, z, 16) != 0;
}

/* fe_kind() : the template a record is written with. */
static inline unsigned fe_kind(const struct flow_rec *r)
{
	unsigned k = r->ipver == 6 ? FE_V6 : 0;

	if (fe_vm_known(&r->vm))
		k |= FE_VM;
	if (r->scope == FLOW_SCOPE_LOCAL && fe_vm_known(&r->peer))
		k |= FE_PEER | FE_VM;
	return k;
}

/* Exporter statistics (options template FE_TMPL_OPTIONS), all totals
 * since the exporter started, per collector. */
struct fe_counters {
	uint64_t messages;         /* exportedMessageTotalCount (41) */
	uint64_t records;          /* exportedFlowRecordTotalCount (42) */
	uint64_t octets;           /* exportedOctetTotalCount (40): message bytes */
	uint64_t ignored_packets;  /* ignoredPacketTotalCount (164) */
	uint64_t notsent_flows;    /* notSentFlowTotalCount (166) */
	uint64_t notsent_packets;  /* notSentPacketTotalCount (167) */
	uint64_t notsent_octets;   /* notSentOctetTotalCount (168) */
	uint16_t active_timeout_s; /* flowActiveTimeout (36) */
	uint16_t idle_timeout_s;   /* flowIdleTimeout (37) */
};

/* Header values of one message. */
struct fe_hdr {
	uint64_t now_ms;     /* export time (the exporter's clock) */
	uint32_t seq;        /* IPFIX: data records before this message;
				v9: export packets before this one */
	uint32_t domain;     /* observation domain / source id */
	uint64_t boot_ms;    /* v9: the sysUpTime origin */
};

/* A message under construction. */
struct fe_msg {
	struct vt_wr w;
	uint8_t *hdr;        /* message start */
	uint8_t *set;        /* header of the open set, NULL when none */
	uint16_t set_id;
	uint8_t set_align;   /* sets padded to this (v9: 4; IPFIX: 1, none) */
	uint32_t items;          /* templates and records written (v9 header count) */
	uint32_t data_records;   /* data records (flows + options) */
	uint32_t flows;          /* flow records, and their sums (for the */
	uint64_t packets, octets; /* not-sent counters if the message is dropped) */
	uint64_t now_ms, boot_ms;
	uint64_t max_last_ms;    /* latest flow end in the message (v9 header) */
	size_t cap;              /* buffer size */
	size_t pad_room;         /* v9: bytes held back for the final set padding */
};

struct flowenc_ops {
	const char *name;        /* "ipfix", "nfv9" */
	uint16_t version;        /* 10, 9 */
	size_t hdr_len;
	void (*begin)(struct fe_msg *m, void *buf, size_t cap, const struct fe_hdr *h);
	/* every data template and the options template, in one set each */
	int (*templates)(struct fe_msg *m);
	int (*flow)(struct fe_msg *m, const struct flow_rec *r);
	int (*options)(struct fe_msg *m, const struct fe_counters *c, uint32_t domain);
	/* closes the open set, patches the header; returns the length */
	size_t (*end)(struct fe_msg *m);
	/* size of the data record of <r> with its set header */
	size_t (*flow_size)(const struct flow_rec *r);
	/* v9 only (NULL for IPFIX): whether <r>'s times can be written
	 * exactly relative to the message's sysUpTime origin (32-bit ms) */
	bool (*time_ok)(const struct fe_msg *m, const struct flow_rec *r);
};

static inline bool fe_msg_empty(const struct fe_msg *m)
{
	return m->items == 0;
}

/* ---- the field model ----------------------------------------------------- */

enum fe_fmt { FE_FMT_IPFIX, FE_FMT_NFV9 };

#define FE_VARLEN 65535   /* IPFIX variable length (RFC 7011 §7) */
#define FE_MAX_FIELDS 32
#define FE_V9_IFNAME_LEN 16    /* v9 has no varlen: fixed, NUL-padded */
#define FE_V9_NAME_LEN 64

/* One template field: IANA element <ie> of length <len> (FE_VARLEN) taken
 * from the record by <src>; <peer> selects the peer VM for 347-350. */
struct fe_field {
	uint16_t ie, len;
	uint8_t src, peer;
};

struct fe_tmpl {
	uint16_t id;
	uint16_t nfields;
	struct fe_field f[FE_MAX_FIELDS];
	uint16_t fixed_len;    /* record length without varlen contents */
	bool varlen;
};

/* fe_tmpl() : the data template of <kind> in <fmt> (static, never NULL). */
const struct fe_tmpl *fe_tmpl(enum fe_fmt fmt, unsigned kind);
/* fe_record_len() : the encoded length of <r> with template <t>. */
size_t fe_record_len(const struct fe_tmpl *t, const struct flow_rec *r);
/* fe_put_template() : the template record (id, count, fields) of <t>. */
void fe_put_template(struct vt_wr *w, const struct fe_tmpl *t);
/* fe_put_record() : the data record of <r>; <boot_ms> is the v9 uptime
 * origin (FIRST/LAST_SWITCHED are relative to it). */
void fe_put_record(struct vt_wr *w, const struct fe_tmpl *t, const struct flow_rec *r,
		   uint64_t boot_ms);
/* fe_put_varlen() : IPFIX variable-length encoding (RFC 7011 §7): one
 * length byte below 255, else 255 and a 2-byte length. */
void fe_put_varlen(struct vt_wr *w, const void *data, size_t len);

/* ---- sets (IPFIX) and flowsets (v9) ------------------------------------ */
/* A set is a 4-byte header (id, length) and its records, padded to
 * fe_msg.set_align. fe_set_open() continues the open set when it has that
 * id; fe_set_close() is false when the padding does not fit. */
bool fe_set_open(struct fe_msg *m, uint16_t id);
bool fe_set_close(struct fe_msg *m);

/* Savepoint for all-or-nothing writes: fe_nospc() puts the writer and the
 * open set back as fe_save() found them and returns -ENOSPC. */
struct fe_save {
	uint8_t *p, *set;
	uint16_t set_id;
};
static inline struct fe_save fe_save(const struct fe_msg *m)
{
	return (struct fe_save){ m->w.p, m->set, m->set_id };
}
int fe_nospc(struct fe_msg *m, struct fe_save s);

/* fe_add_flow() : the data record of <r> in <fmt>'s template for it;
 * fe_add_options() : the exporter-statistics options record (the same
 * layout in both formats). All or nothing: -ENOSPC when it does not fit. */
int fe_add_flow(struct fe_msg *m, enum fe_fmt fmt, const struct flow_rec *r);
int fe_add_options(struct fe_msg *m, const struct fe_counters *c, uint32_t domain);

#endif
