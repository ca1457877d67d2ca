/* ipfix_enc.c — see ipfix_enc.h. Every add is all-or-nothing: on -ENOSPC
 * the writer, the open set and the counters are as before the call. */
#include "wire/ipfix_enc.h"

#include <errno.h>
#include <string.h>

#include "wire/ipfix_ie.h"

#define IPFIX_MSG_MAX 65535   /* the header's length field */

/* The exporter-statistics options template (RFC 7011 §4.3 style): scope
 * observationDomainId, then totals since the exporter started. */
static const struct {
	uint16_t ie, len;
} opt_fields[] = {
	{ IE_OBSERVATION_DOMAIN_ID, 4 },            /* scope */
	{ IE_EXPORTED_MESSAGE_TOTAL_COUNT, 8 },
	{ IE_EXPORTED_FLOW_RECORD_TOTAL_COUNT, 8 },
	{ IE_EXPORTED_OCTET_TOTAL_COUNT, 8 },
	{ IE_IGNORED_PACKET_TOTAL_COUNT, 8 },
	{ IE_NOT_SENT_FLOW_TOTAL_COUNT, 8 },
	{ IE_NOT_SENT_PACKET_TOTAL_COUNT, 8 },
	{ IE_NOT_SENT_OCTET_TOTAL_COUNT, 8 },
	{ IE_FLOW_ACTIVE_TIMEOUT, 2 },
	{ IE_FLOW_IDLE_TIMEOUT, 2 },
};
#define OPT_SCOPE_FIELDS 1

void ipfix_begin(struct fe_msg *m, void *buf, size_t cap, const struct fe_hdr *h)
{
	memset(m, 0, sizeof(*m));
	if (cap > IPFIX_MSG_MAX)
		cap = IPFIX_MSG_MAX;
	m->w = wr_init(buf, cap);
	m->hdr = buf;
	m->cap = cap;
	m->now_ms = h->now_ms;
	m->boot_ms = h->boot_ms;
	wr_u16(&m->w, 10);
	wr_u16(&m->w, 0); /* length, patched by ipfix_end() */
	wr_u32(&m->w, (uint32_t)(h->now_ms / 1000));
	wr_u32(&m->w, h->seq);
	wr_u32(&m->w, h->domain);
}

static void close_set(struct fe_msg *m)
{
	if (!m->set)
		return;
	st_be16(m->set + 2, (uint16_t)(m->w.p - m->set));
	m->set = NULL;
}

static bool open_set(struct fe_msg *m, uint16_t id)
{
	uint8_t *p;

	if (m->set && m->set_id == id)
		return true;
	close_set(m);
	p = wr_reserve(&m->w, 4);
	if (!p)
		return false;
	st_be16(p, id);
	st_be16(p + 2, 0);
	m->set = p;
	m->set_id = id;
	return true;
}

struct save {
	uint8_t *p, *set;
	uint16_t set_id;
};

static struct save save(const struct fe_msg *m)
{
	return (struct save){ m->w.p, m->set, m->set_id };
}

static int nospc(struct fe_msg *m, struct save s)
{
	fe_rollback(m, s.p);
	m->set = s.set;
	m->set_id = s.set_id;
	if (s.set) /* closing it wrote a length: an open set has none yet */
		st_be16(s.set + 2, 0);
	return -ENOSPC;
}

int ipfix_add_templates(struct fe_msg *m)
{
	struct save s = save(m);

	if (!open_set(m, IPFIX_SET_TEMPLATE))
		return nospc(m, s);
	for (unsigned k = 0; k < FE_KINDS; k++)
		if (fe_kind_used(k))
			fe_put_template(&m->w, fe_tmpl(FE_FMT_IPFIX, k));
	close_set(m);
	if (!open_set(m, IPFIX_SET_OPTIONS_TEMPLATE))
		return nospc(m, s);
	wr_u16(&m->w, FE_TMPL_OPTIONS);
	wr_u16(&m->w, (uint16_t)(sizeof(opt_fields) / sizeof(opt_fields[0])));
	wr_u16(&m->w, OPT_SCOPE_FIELDS);
	for (size_t i = 0; i < sizeof(opt_fields) / sizeof(opt_fields[0]); i++) {
		wr_u16(&m->w, opt_fields[i].ie);
		wr_u16(&m->w, opt_fields[i].len);
	}
	close_set(m);
	if (wr_failed(&m->w))
		return nospc(m, s);
	m->items += FE_NTEMPLATES + 1;
	return 0;
}

int ipfix_add_flow(struct fe_msg *m, const struct flow_rec *r)
{
	struct save s = save(m);
	const struct fe_tmpl *t = fe_tmpl(FE_FMT_IPFIX, fe_kind(r));

	if (!open_set(m, t->id))
		return nospc(m, s);
	fe_put_record(&m->w, t, r, m->boot_ms);
	if (wr_failed(&m->w))
		return nospc(m, s);
	m->items++;
	m->data_records++;
	m->flows++;
	m->packets += r->packets;
	m->octets += r->bytes;
	return 0;
}

int ipfix_add_options(struct fe_msg *m, const struct fe_counters *c, uint32_t domain)
{
	struct save s = save(m);

	if (!open_set(m, FE_TMPL_OPTIONS))
		return nospc(m, s);
	wr_u32(&m->w, domain);
	wr_u64(&m->w, c->messages);
	wr_u64(&m->w, c->records);
	wr_u64(&m->w, c->octets);
	wr_u64(&m->w, c->ignored_packets);
	wr_u64(&m->w, c->notsent_flows);
	wr_u64(&m->w, c->notsent_packets);
	wr_u64(&m->w, c->notsent_octets);
	wr_u16(&m->w, c->active_timeout_s);
	wr_u16(&m->w, c->idle_timeout_s);
	if (wr_failed(&m->w))
		return nospc(m, s);
	m->items++;
	m->data_records++;
	return 0;
}

size_t ipfix_end(struct fe_msg *m)
{
	size_t len;

	close_set(m);
	len = wr_len(&m->w);
	st_be16(m->hdr + 2, (uint16_t)len);
	return len;
}

size_t ipfix_flow_size(const struct flow_rec *r)
{
	return 4 + fe_record_len(fe_tmpl(FE_FMT_IPFIX, fe_kind(r)), r);
}

const struct flowenc_ops ipfix_enc_ops = {
	.name = "ipfix",
	.version = 10,
	.hdr_len = IPFIX_HDR_LEN,
	.begin = ipfix_begin,
	.templates = ipfix_add_templates,
	.flow = ipfix_add_flow,
	.options = ipfix_add_options,
	.end = ipfix_end,
	.flow_size = ipfix_flow_size,
};
