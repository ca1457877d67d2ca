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

/* close_set() : pads the open flowset to 4 bytes and writes its length;
 * false when the padding does not fit. */
static bool close_set(struct fe_msg *m)
{
	size_t len;

	if (!m->set)
		return true;
	len = (size_t)(m->w.p - m->set);
	if (len % 4)
		wr_zero(&m->w, 4 - len % 4);
	if (wr_failed(&m->w))
		return false;
	st_be16(m->set + 2, (uint16_t)(m->w.p - m->set));
	m->set = NULL;
	return true;
}

static bool open_set(struct fe_msg *m, uint16_t id)
{
	uint8_t *p;

	if (m->set && m->set_id == id)
		return true;
	if (!close_set(m))
		return false;
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

int nfv9_add_templates(struct fe_msg *m)
{
	struct save s = save(m);

	if (!open_set(m, NFV9_FLOWSET_TEMPLATE))
		return nospc(m, s);
	for (unsigned k = 0; k < FE_KINDS; k++)
		if (fe_kind_used(k))
			fe_put_template(&m->w, fe_tmpl(FE_FMT_NFV9, k));
	if (!close_set(m) || !open_set(m, NFV9_FLOWSET_OPTIONS_TEMPLATE))
		return nospc(m, s);
	wr_u16(&m->w, FE_TMPL_OPTIONS);
	wr_u16(&m->w, 4);                 /* option scope length (bytes) */
	wr_u16(&m->w, (uint16_t)(NOPT * 4)); /* option length (bytes) */
	wr_u16(&m->w, NFV9_SCOPE_SYSTEM);
	wr_u16(&m->w, 4);
	for (size_t i = 0; i < NOPT; i++) {
		wr_u16(&m->w, opt_fields[i].type);
		wr_u16(&m->w, opt_fields[i].len);
	}
	if (!close_set(m) || wr_failed(&m->w))
		return nospc(m, s);
	m->items += FE_NTEMPLATES + 1;
	m->v9_count += FE_NTEMPLATES + 1;
	return 0;
}

int nfv9_add_flow(struct fe_msg *m, const struct flow_rec *r)
{
	struct save s = save(m);
	const struct fe_tmpl *t = fe_tmpl(FE_FMT_NFV9, fe_kind(r));

	if (!open_set(m, t->id))
		return nospc(m, s);
	fe_put_record(&m->w, t, r, m->boot_ms);
	if (wr_failed(&m->w))
		return nospc(m, s);
	m->items++;
	m->v9_count++;
	m->data_records++;
	m->flows++;
	if (r->last_ms > m->max_last_ms)
		m->max_last_ms = r->last_ms;
	m->packets += r->packets;
	m->octets += r->bytes;
	return 0;
}

int nfv9_add_options(struct fe_msg *m, const struct fe_counters *c, uint32_t domain)
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
	m->v9_count++;
	m->data_records++;
	return 0;
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
	close_set(m);
	st_be16(m->hdr + 2, (uint16_t)m->v9_count);
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
