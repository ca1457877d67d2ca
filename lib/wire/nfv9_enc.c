/* nfv9_enc.c — see nfv9_enc.h. Like the IPFIX encoder, every add is
 * all-or-nothing. Flowsets are padded to 4 bytes (RFC 3954 §5.3): the
 * last 3 bytes of the buffer are held back so the final padding always
 * fits. */
#include "wire/nfv9_enc.h"

#include <errno.h>
#include <string.h>

#include "wire/ipfix_ie.h"

#define NFV9_MSG_MAX 65535
#define NFV9_SCOPE_SYSTEM 1   /* options scope field type (RFC 3954 §6.1) */

static const struct {
	uint16_t type, len;
} opt_fields[] = {
	{ IE_EXPORTED_MESSAGE_TOTAL_COUNT, 8 },     /* TOTAL_PKTS_EXP */
	{ IE_EXPORTED_FLOW_RECORD_TOTAL_COUNT, 8 }, /* TOTAL_FLOWS_EXP */
	{ IE_EXPORTED_OCTET_TOTAL_COUNT, 8 },       /* TOTAL_BYTES_EXP */
	{ IE_IGNORED_PACKET_TOTAL_COUNT, 8 },
	{ IE_NOT_SENT_FLOW_TOTAL_COUNT, 8 },
	{ IE_NOT_SENT_PACKET_TOTAL_COUNT, 8 },
	{ IE_NOT_SENT_OCTET_TOTAL_COUNT, 8 },
	{ IE_FLOW_ACTIVE_TIMEOUT, 2 },
	{ IE_FLOW_IDLE_TIMEOUT, 2 },
};
#define NOPT (sizeof(opt_fields) / sizeof(opt_fields[0]))

void nfv9_begin(struct fe_msg *m, void *buf, size_t cap, const struct fe_hdr *h)
{
	uint64_t secs = h->now_ms / 1000;

	memset(m, 0, sizeof(*m));
	if (cap > NFV9_MSG_MAX)
		cap = NFV9_MSG_MAX;
	m->pad_room = cap >= NFV9_HDR_LEN + 3 ? 3 : 0;
	m->w = wr_init(buf, cap - m->pad_room);
	m->hdr = buf;
	m->cap = cap;
	m->set_align = 4;     /* RFC 3954 §5.3 */
	m->now_ms = h->now_ms;
	/* a whole-second boot time makes unix_secs*1000 - sysUpTime exact */
	m->boot_ms = h->boot_ms / 1000 * 1000;
	wr_u16(&m->w, 9);
	wr_u16(&m->w, 0); /* count, patched by nfv9_end() */
	{
		uint64_t up = secs * 1000 > m->boot_ms ? secs * 1000 - m->boot_ms : 0;
		wr_u32(&m->w, up > UINT32_MAX ? UINT32_MAX : (uint32_t)up);
	}
	wr_u32(&m->w, (uint32_t)secs);
	wr_u32(&m->w, h->seq);
	wr_u32(&m->w, h->domain);
}

int nfv9_add_templates(struct fe_msg *m)
{
	struct fe_save s = fe_save(m);

	if (!fe_set_open(m, NFV9_FLOWSET_TEMPLATE))
		return fe_nospc(m, s);
	for (unsigned k = 0; k < FE_KINDS; k++)
		if (fe_kind_used(k))
			fe_put_template(&m->w, fe_tmpl(FE_FMT_NFV9, k));
	if (!fe_set_open(m, NFV9_FLOWSET_OPTIONS_TEMPLATE))
		return fe_nospc(m, s);
	wr_u16(&m->w, FE_TMPL_OPTIONS);
	wr_u16(&m->w, 4);                 /* option scope length (bytes) */
	wr_u16(&m->w, (uint16_t)(NOPT * 4)); /* option length (bytes) */
	wr_u16(&m->w, NFV9_SCOPE_SYSTEM);
	wr_u16(&m->w, 4);
	for (size_t i = 0; i < NOPT; i++) {
		wr_u16(&m->w, opt_fields[i].type);
		wr_u16(&m->w, opt_fields[i].len);
	}
	if (!fe_set_close(m))
		return fe_nospc(m, s);
	m->items += FE_NTEMPLATES + 1;
	return 0;
}

int nfv9_add_flow(struct fe_msg *m, const struct flow_rec *r)
{
	return fe_add_flow(m, FE_FMT_NFV9, r);
}

int nfv9_add_options(struct fe_msg *m, const struct fe_counters *c, uint32_t domain)
{
	return fe_add_options(m, c, domain);
}

/* set_header_time() : unix_secs and sysUpTime, so that unix_secs*1000 -
 * sysUpTime is the message's origin. Normally unix_secs is the export
 * time; when that lies more than 49.7 days past the origin (an offline
 * capture with a long gap: flows from before the gap are exported by a
 * clock that is already after it) it is the latest flow end instead, so
 * the records keep their exact times. */
static void set_header_time(struct fe_msg *m)
{
	uint64_t secs = m->now_ms / 1000, up;

	if (m->max_last_ms && (secs * 1000 < m->boot_ms || secs * 1000 - m->boot_ms > UINT32_MAX))
		secs = (m->max_last_ms + 999) / 1000;
	up = secs * 1000 > m->boot_ms ? secs * 1000 - m->boot_ms : 0;
	st_be32(m->hdr + 4, up > UINT32_MAX ? UINT32_MAX : (uint32_t)up);
	st_be32(m->hdr + 8, (uint32_t)secs);
}

size_t nfv9_end(struct fe_msg *m)
{
	set_header_time(m);
	m->w.end += m->pad_room; /* the held-back bytes take the padding */
	m->pad_room = 0;
	(void)fe_set_close(m);   /* the held-back bytes make room for its padding */
	st_be16(m->hdr + 2, (uint16_t)m->items);
	return wr_len(&m->w);
}

bool nfv9_time_ok(const struct fe_msg *m, const struct flow_rec *r)
{
	/* the header is fixed at nfv9_end() to fit (see there) */
	return r->first_ms >= m->boot_ms && r->last_ms >= r->first_ms &&
	       r->last_ms - m->boot_ms <= UINT32_MAX - 1000;
}

size_t nfv9_flow_size(const struct flow_rec *r)
{
	return 4 + fe_record_len(fe_tmpl(FE_FMT_NFV9, fe_kind(r)), r) + 3;
}

const struct flowenc_ops nfv9_enc_ops = {
	.name = "nfv9",
	.version = 9,
	.hdr_len = NFV9_HDR_LEN,
	.begin = nfv9_begin,
	.templates = nfv9_add_templates,
	.flow = nfv9_add_flow,
	.options = nfv9_add_options,
	.end = nfv9_end,
	.flow_size = nfv9_flow_size,
	.time_ok = nfv9_time_ok,
};
