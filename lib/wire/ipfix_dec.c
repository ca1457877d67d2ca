/* ipfix_dec.c — IPFIX decoding and TCP framing (RFC 7011; see ipfix_dec.h).
 *
 * Message header (16 bytes): version(2)=10 | length(2) | export time(4) s |
 *                            sequence number(4) | observation domain(4)
 * Set header:                set id(2) | length(2) incl. these 4
 * Template record:           template id(2) | field count(2) | fields
 * Options template record:   template id(2) | field count(2) |
 *                            scope field count(2) | fields (scope first)
 * Field specifier:           E bit + element id(2) | length(2) | [PEN(4)]
 * Withdrawal:                template id | field count 0 (id 2 in a
 *                            template set / 3 in an options template set:
 *                            all of that kind, §8.1)
 * The sequence number counts data records sent before this message. */
#include "wire/ipfix_dec.h"

#include <errno.h>
#include <string.h>

#include "core/be.h"
#include "wire/ipfix_ie.h"
#include "wire/tmpl_cache.h"

static bool all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

/* One template or options template set. */
static void template_set(struct fd_msg *m, struct vt_rd *r, bool options)
{

	while (rd_left(r) >= 4) {
		if (all_zero(r->p, rd_left(r)))
			return; /* padding */
		uint16_t id = rd_u16(r), n = rd_u16(r), ns = 0;

		if (n == 0) {
			/* withdrawal: the set id itself as template id = all */
			uint16_t all_id = options ? IPFIX_SET_OPTIONS_TEMPLATE : IPFIX_SET_TEMPLATE;
			if (id == all_id)
				fd_withdraw(m, 0, true, options);
			else if (id >= 256)
				fd_withdraw(m, id, false, options);
			else
				fd_error(m, FD_ERR_TMPL_INVALID);
			continue;
		}
		if (options)
			ns = rd_u16(r);
		if (rd_failed(r)) {
			fd_error(m, FD_ERR_TMPL_LENGTH);
			return;
		}
		if (id < 256 || n > TMPL_MAX_FIELDS || (options && (ns == 0 || ns > n))) {
			/* the record's length is unknown without parsing it: the
			 * rest of the set cannot be trusted */
			fd_error(m, FD_ERR_TMPL_INVALID);
			return;
		}
		/* the field count must fit the set: at least 4 bytes per field */
		if (rd_left(r) < (size_t)n * 4) {
			fd_error(m, FD_ERR_TMPL_LENGTH);
			return;
		}
		struct tmpl *t = tmpl_new(n);
		if (!t) {
			fd_error(m, FD_ERR_TMPL_LIMIT);
			return;
		}
		t->version = 10;
		t->options = options;
		t->domain = m->domain;
		t->id = id;
		t->nscope = ns;
		t->used_ms = m->now_ms;
		for (uint16_t i = 0; i < n; i++) {
			uint16_t fid = rd_u16(r);
			t->f[i].len = rd_u16(r);
			if (fid & IPFIX_ENTERPRISE_BIT) {
				t->f[i].pen = rd_u32(r);
				fid &= (uint16_t)~IPFIX_ENTERPRISE_BIT;
			}
			t->f[i].id = fid;
		}
		if (rd_failed(r)) {
			tmpl_free(t);
			fd_error(m, FD_ERR_TMPL_LENGTH);
			return;
		}
		if (tmpl_finish(t, false) < 0) {
			tmpl_free(t);
			fd_error(m, FD_ERR_TMPL_INVALID);
			continue;
		}
		fd_template(m, t);
	}
}

int ipfix_decode(struct fd_msg *m, const uint8_t *buf, size_t len)
{
	struct vt_rd r = rd_init(buf, len);
	uint16_t mlen;
	uint32_t etime, seq;

	rd_skip(&r, 2);
	mlen = rd_u16(&r);
	etime = rd_u32(&r);
	seq = rd_u32(&r);
	m->version = 10;
	m->domain = rd_u32(&r);
	if (rd_failed(&r)) {
		fd_error(m, FD_ERR_SHORT);
		return -EBADMSG;
	}
	if (mlen < IPFIX_HDR_LEN || mlen > len) {
		fd_error(m, FD_ERR_MSG_LENGTH);
		return -EBADMSG;
	}
	r = rd_init(buf + IPFIX_HDR_LEN, mlen - IPFIX_HDR_LEN);
	m->tc.export_ms = (uint64_t)etime * 1000;
	uint16_t idx = 0;
	while (rd_left(&r)) {
		if (rd_left(&r) < 4) {
			fd_error(m, FD_ERR_SET_LENGTH); /* 1-3 stray bytes: not a set */
			break;
		}
		uint16_t id = rd_u16(&r), slen = rd_u16(&r);

		if (slen < 4 || slen - 4u > rd_left(&r)) {
			fd_error(m, FD_ERR_SET_LENGTH);
			break;
		}
		struct vt_rd body = rd_sub(&r, slen - 4u);
		m->set_index = ++idx;
		if (id == IPFIX_SET_TEMPLATE || id == IPFIX_SET_OPTIONS_TEMPLATE)
			template_set(m, &body, id == IPFIX_SET_OPTIONS_TEMPLATE);
		else if (id >= IPFIX_SET_DATA_MIN)
			fd_data_set(m, id, body.p, rd_left(&body));
		else
			fd_error(m, FD_ERR_SET_ID);
	}
	fd_sequence(m, seq, m->data_records);
	return 0;
}

/* ---- TCP framing ---------------------------------------------------------- */

void ipfix_stream_init(struct ipfix_stream *s)
{
	memset(s, 0, sizeof(*s));
	vbuf_init(&s->partial, IPFIX_MSG_MAX);
}

void ipfix_stream_free(struct ipfix_stream *s)
{
	vbuf_free(&s->partial);
}

size_t ipfix_stream_pending(const struct ipfix_stream *s)
{
	return s->partial.len;
}

/* The length of the message starting at <p> (>= 4 bytes), or 0. */
static size_t msg_len(const uint8_t *p)
{
	uint16_t l = ld_be16(p + 2);

	if (ld_be16(p) != 10 || l < IPFIX_HDR_LEN)
		return 0;
	return l;
}

int ipfix_stream_feed(struct ipfix_stream *s, const uint8_t *data, size_t len,
		      ipfix_msg_fn cb, void *arg)
{
	s->bytes += len;
	while (len) {
		if (s->partial.len) {
			/* complete the buffered message: first its header, then
			 * exactly its remaining bytes */
			size_t want = s->partial.len < 4 ? 4 - s->partial.len : 0;
			if (!want) {
				size_t ml = msg_len(s->partial.data);
				if (!ml)
					return -EBADMSG;
				want = ml - s->partial.len;
			}
			size_t n = want < len ? want : len;
			if (vbuf_add(&s->partial, data, n) < 0)
				return -ENOMEM;
			data += n;
			len -= n;
			if (s->partial.len >= 4) {
				size_t ml = msg_len(s->partial.data);
				if (!ml)
					return -EBADMSG;
				if (s->partial.len == ml) {
					cb(arg, s->partial.data, ml);
					s->messages++;
					vbuf_reset(&s->partial);
				}
			}
			continue;
		}
		/* fast path: whole messages straight from the caller's bytes */
		if (len >= 4) {
			size_t ml = msg_len(data);
			if (!ml)
				return -EBADMSG;
			if (len >= ml) {
				cb(arg, data, ml);
				s->messages++;
				data += ml;
				len -= ml;
				continue;
			}
		}
		if (vbuf_add(&s->partial, data, len) < 0)
			return -ENOMEM;
		len = 0;
	}
	return 0;
}
