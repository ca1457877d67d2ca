/* fd_test.h — helpers shared by the collector-decoder unit tests: byte
 * builders for hand-made NetFlow/IPFIX datagrams and a flowdec whose
 * records land in an array. Header-only, test code only. */
#ifndef VT_FD_TEST_H
#define VT_FD_TEST_H

#include <stdint.h>
#include <string.h>

#include "core/be.h"
#include "flow/addr.h"
#include "wire/flowdec.h"

#define CAP_MAX 256

struct cap {
	struct flow_rec r[CAP_MAX];
	struct flowdec_src s[CAP_MAX];
	int n;
	struct sflow_ifcounters c[16];
	int nc;
};

static void cap_rec(void *arg, const struct flow_rec *r, const struct flowdec_src *s)
{
	struct cap *c = arg;

	if (c->n < CAP_MAX) {
		if (r != &c->r[c->n])
			c->r[c->n] = *r;
		c->s[c->n] = *s;
	}
	c->n++;
}

/* Records are built in place in the array (flowdec_ops.room), as the
 * collector's batches are; the reverse half of a biflow, and records past
 * CAP_MAX, take the decoder's own stack. */
static struct flow_rec *cap_room(void *arg)
{
	struct cap *c = arg;

	if (c->n >= CAP_MAX)
		return NULL;
	memset(&c->r[c->n], 0xa5, sizeof(c->r[c->n]));   /* no stale zeroes */
	return &c->r[c->n];
}

static void cap_ifc(void *arg, const struct vt_addr *exp, const struct sflow_ifcounters *ic)
{
	struct cap *c = arg;

	(void)exp;
	if (c->nc < 16)
		c->c[c->nc] = *ic;
	c->nc++;
}

static const struct flowdec_ops cap_ops = { cap_rec, cap_ifc, cap_room };

static inline struct flowdec *fd_cap_new(struct cap *c, const struct flowdec_conf *conf)
{
	struct flowdec_conf d;

	memset(c, 0, sizeof(*c));
	if (!conf) {
		flowdec_conf_defaults(&d);
		conf = &d;
	}
	return flowdec_new(conf, &cap_ops, c);
}

static inline struct vt_addr ip4(uint8_t a, uint8_t b, uint8_t c, uint8_t d)
{
	struct vt_addr x;
	uint8_t v[4] = { a, b, c, d };
	addr_set_v4(&x, v);
	return x;
}

static inline struct fd_exporter_stats exp_stats(struct flowdec *fd, struct vt_addr a)
{
	struct fd_exporter_stats st;
	memset(&st, 0, sizeof(st));
	flowdec_exporter_stats(fd, &a, &st);
	return st;
}

/* ---- message builder: IPFIX, NetFlow v9 and v5 --------------------------- */

struct mb {
	uint8_t b[8192];
	struct vt_wr w;
	uint8_t *len_p;       /* IPFIX message length */
	uint8_t *set_p;       /* current set header */
	uint8_t version;
};

static inline void mb_ipfix(struct mb *m, uint32_t etime, uint32_t seq, uint32_t dom)
{
	m->w = wr_init(m->b, sizeof(m->b));
	m->version = 10;
	wr_u16(&m->w, 10);
	m->len_p = wr_reserve(&m->w, 2);
	wr_u32(&m->w, etime);
	wr_u32(&m->w, seq);
	wr_u32(&m->w, dom);
}

static inline void mb_v9(struct mb *m, uint16_t count, uint32_t uptime, uint32_t secs,
			 uint32_t seq, uint32_t source_id)
{
	m->w = wr_init(m->b, sizeof(m->b));
	m->version = 9;
	m->len_p = NULL;
	wr_u16(&m->w, 9);
	wr_u16(&m->w, count);
	wr_u32(&m->w, uptime);
	wr_u32(&m->w, secs);
	wr_u32(&m->w, seq);
	wr_u32(&m->w, source_id);
}

static inline void mb_set(struct mb *m, uint16_t id)
{
	m->set_p = m->w.p;
	wr_u16(&m->w, id);
	wr_u16(&m->w, 0);
}

/* mb_set_end() : patches the set length; <pad> zero bytes first. */
static inline void mb_set_end(struct mb *m, size_t pad)
{
	wr_zero(&m->w, pad);
	st_be16(m->set_p + 2, (uint16_t)(m->w.p - m->set_p));
}

static inline size_t mb_end(struct mb *m)
{
	if (m->len_p)
		st_be16(m->len_p, (uint16_t)wr_len(&m->w));
	return wr_len(&m->w);
}

/* A field specifier: IPFIX with an enterprise number when pen != 0. */
static inline void mb_field(struct mb *m, uint16_t id, uint16_t len, uint32_t pen)
{
	wr_u16(&m->w, pen ? (uint16_t)(id | 0x8000) : id);
	wr_u16(&m->w, len);
	if (pen)
		wr_u32(&m->w, pen);
}

static inline void mb_v4(struct mb *m, uint8_t a, uint8_t b, uint8_t c, uint8_t d)
{
	uint8_t v[4] = { a, b, c, d };
	wr_bytes(&m->w, v, 4);
}

static inline void mb_varlen(struct mb *m, const void *p, size_t n, bool long_form)
{
	if (n < 255 && !long_form) {
		wr_u8(&m->w, (uint8_t)n);
	} else {
		wr_u8(&m->w, 255);
		wr_u16(&m->w, (uint16_t)n);
	}
	wr_bytes(&m->w, p, n);
}

static inline int feed(struct flowdec *fd, struct vt_addr a, uint64_t now, struct mb *m,
		       uint64_t tag)
{
	size_t n = mb_end(m);
	return flowdec_input(fd, &a, 4739, now, m->b, n, tag);
}

#endif
