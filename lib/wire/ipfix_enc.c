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
	m->set_align = 1;     /* IPFIX sets are not padded */
	m->now_ms = h->now_ms;
	m->boot_ms = h->boot_ms;
	wr_u16(&m->w, 10);
	wr_u16(&m->w, 0); /* length, patched by ipfix_end() */
	wr_u32(&m->w, (uint32_t)(h->now_ms / 1000));
	wr_u32(&m->w, h->seq);
	wr_u32(&m->w, h->domain);
}

int ipfix_add_templates(struct fe_msg *m)
{
	struct fe_save s = fe_save(m);

	if (!fe_set_open(m, IPFIX_SET_TEMPLATE))
		return fe_nospc(m, s);
	for (unsigned k = 0; k < FE_KINDS; k++)
		if (fe_kind_used(k))
			fe_put_template(&m->w, fe_tmpl(FE_FMT_IPFIX, k));
	if (!fe_set_open(m, IPFIX_SET_OPTIONS_TEMPLATE))
		return fe_nospc(m, s);
	wr_u16(&m->w, FE_TMPL_OPTIONS);
	wr_u16(&m->w, (uint16_t)(sizeof(opt_fields) / sizeof(opt_fields[0])));
	wr_u16(&m->w, OPT_SCOPE_FIELDS);
	for (size_t i = 0; i < sizeof(opt_fields) / sizeof(opt_fields[0]); i++) {
		wr_u16(&m->w, opt_fields[i].ie);
		wr_u16(&m->w, opt_fields[i].len);
	}
	if (!fe_set_close(m))
		return fe_nospc(m, s);
	m->items += FE_NTEMPLATES + 1;
	return 0;
}

int ipfix_add_flow(struct fe_msg *m, const struct flow_rec *r)
{
	return fe_add_flow(m, FE_FMT_IPFIX, r);
}

int ipfix_add_options(struct fe_msg *m, const struct fe_counters *c, uint32_t domain)
{
	return fe_add_options(m, c, domain);
}

size_t ipfix_end(struct fe_msg *m)
{
	size_t len;

	(void)fe_set_close(m);   /* IPFIX sets have no padding: cannot fail */
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
