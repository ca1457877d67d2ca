/* nfv9_dec.c — NetFlow v9 decoding (RFC 3954; see nfv9_dec.h).
 *
 * Header (20 bytes): version(2)=9 | count(2) | sysUptime(4) ms |
 *                    unix_secs(4) | sequence(4) packets | source id(4)
 * FlowSet:           flowset id(2) | length(2) incl. these 4 | body
 *   id 0  template:          { template id(2) | field count(2) |
 *                              { type(2) | length(2) } * count } *
 *   id 1  options template:  { template id(2) | scope length(2) bytes |
 *                              option length(2) bytes | scope fields |
 *                              option fields } *, padded to 4
 *   id >= 256 data. The header count (records in the packet) is not
 *   trusted for framing: exporters get it wrong; lengths decide. */
#include "wire/nfv9_dec.h"

#include <errno.h>

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

static void template_set(struct fd_msg *m, struct vt_rd *r)
{
	while (rd_left(r) >= 4) {
		uint16_t id = rd_u16(r), n = rd_u16(r);

		if (id == 0 && n == 0 && all_zero(r->p, rd_left(r)))
			return; /* padding */
		if (id < 256 || n == 0 || n > TMPL_MAX_FIELDS) {
			fd_error(m, FD_ERR_TMPL_INVALID);
			return;
		}
		if (rd_left(r) < (size_t)n * 4) {
			fd_error(m, FD_ERR_TMPL_LENGTH);
			return;
		}
		struct tmpl *t = tmpl_new(n);
		if (!t) {
			fd_error(m, FD_ERR_TMPL_LIMIT);
			return;
		}
		t->version = 9;
		t->domain = m->domain;
		t->id = id;
		t->used_ms = m->now_ms;
		for (uint16_t i = 0; i < n; i++) {
			t->f[i].id = rd_u16(r);
			t->f[i].len = rd_u16(r);
		}
		if (tmpl_finish(t, true) < 0) {
			tmpl_free(t);
			fd_error(m, FD_ERR_TMPL_INVALID);
			continue;
		}
		fd_template(m, t);
	}
}

static void options_template_set(struct fd_msg *m, struct vt_rd *r)
{
	while (rd_left(r) >= 6) {
		uint16_t id = rd_u16(r), slen = rd_u16(r), olen = rd_u16(r);

		if (id == 0 && slen == 0 && olen == 0 && all_zero(r->p, rd_left(r)))
			return; /* padding */
		if (id < 256 || slen % 4 || olen % 4 || slen + olen == 0 ||
		    (slen + olen) / 4 > TMPL_MAX_FIELDS) {
			fd_error(m, FD_ERR_TMPL_INVALID);
			return;
		}
		if (rd_left(r) < (size_t)slen + olen) {
			fd_error(m, FD_ERR_TMPL_LENGTH);
			return;
		}
		uint16_t ns = slen / 4, n = (uint16_t)(ns + olen / 4);
		struct tmpl *t = tmpl_new(n);
		if (!t) {
			fd_error(m, FD_ERR_TMPL_LIMIT);
			return;
		}
		t->version = 9;
		t->options = 1;
		t->domain = m->domain;
		t->id = id;
		t->nscope = ns;
		t->used_ms = m->now_ms;
		for (uint16_t i = 0; i < n; i++) {
			t->f[i].id = rd_u16(r);
			t->f[i].len = rd_u16(r);
		}
		if (tmpl_finish(t, true) < 0) {
			tmpl_free(t);
			fd_error(m, FD_ERR_TMPL_INVALID);
			continue;
		}
		fd_template(m, t);
	}
}

int nfv9_decode(struct fd_msg *m, const uint8_t *buf, size_t len)
{
	struct vt_rd r = rd_init(buf, len);
	uint32_t uptime, secs, seq;

	rd_skip(&r, 4); /* version, count */
	uptime = rd_u32(&r);
	secs = rd_u32(&r);
	seq = rd_u32(&r);
	m->version = 9;
	m->domain = rd_u32(&r);
	if (rd_failed(&r)) {
		fd_error(m, FD_ERR_SHORT);
		return -EBADMSG;
	}
	m->tc.export_ms = (uint64_t)secs * 1000;
	m->tc.uptime_ms = uptime;
	m->tc.has_uptime = true;
	uint16_t idx = 0;
	while (rd_left(&r) >= 4) {
		const uint8_t *start = r.p;
		uint16_t id = rd_u16(&r), slen = rd_u16(&r);

		if (slen == 0 && all_zero(start, rd_left(&r) + 4))
			break; /* zero-filled tail (Palo Alto) */
		if (slen < 4 || slen - 4u > rd_left(&r)) {
			fd_error(m, FD_ERR_SET_LENGTH);
			break;
		}
		struct vt_rd body = rd_sub(&r, slen - 4u);
		m->set_index = ++idx;
		if (id == NFV9_FLOWSET_TEMPLATE)
			template_set(m, &body);
		else if (id == NFV9_FLOWSET_OPTIONS_TEMPLATE)
			options_template_set(m, &body);
		else if (id >= 256)
			fd_data_set(m, id, body.p, rd_left(&body));
		else
			fd_error(m, FD_ERR_SET_ID);
	}
	fd_sequence(m, seq, 1);
	return 0;
}
