/* nfv5_dec.c — NetFlow v5 decoding (see nfv5_dec.h).
 *
 * Header (24 bytes):  version(2)=5 | count(2) | sysUptime(4) ms |
 *                     unix_secs(4) | unix_nsecs(4) | flow_sequence(4) |
 *                     engine_type(1) | engine_id(1) | sampling_interval(2)
 * Record (48 bytes):  srcaddr(4) dstaddr(4) nexthop(4) input(2) output(2)
 *                     dPkts(4) dOctets(4) First(4) Last(4) srcport(2)
 *                     dstport(2) pad1(1) tcp_flags(1) prot(1) tos(1)
 *                     src_as(2) dst_as(2) src_mask(1) dst_mask(1) pad2(2)
 * First/Last are sysUptime milliseconds; flow_sequence counts flows. */
#include "wire/nfv5_dec.h"

#include <errno.h>

#include "core/be.h"
#include "core/compiler.h"

/* The record layout as (mapping, length) pairs, decoded like a template. */
static const struct { uint8_t map, len; } v5_rec[] = {
	{ IEM_SRC4, 4 }, { IEM_DST4, 4 }, { IEM_NEXTHOP4, 4 },
	{ IEM_IN_IF, 2 }, { IEM_OUT_IF, 2 }, { IEM_PACKETS, 4 }, { IEM_BYTES, 4 },
	{ IEM_START_SYSUP, 4 }, { IEM_END_SYSUP, 4 }, { IEM_SPORT, 2 }, { IEM_DPORT, 2 },
	{ IEM_NONE, 1 }, { IEM_TCP_FLAGS, 1 }, { IEM_PROTO, 1 }, { IEM_TOS, 1 },
	{ IEM_SRC_AS, 2 }, { IEM_DST_AS, 2 }, { IEM_SRC_MASK4, 1 }, { IEM_DST_MASK4, 1 },
	{ IEM_NONE, 2 },
};

int nfv5_decode(struct fd_msg *m, const uint8_t *buf, size_t len)
{
	struct vt_rd r = rd_init(buf, len);
	struct ie_acc acc;
	uint16_t count;
	uint32_t uptime, secs, nsecs, seq, rate;
	uint8_t etype, eid;
	uint16_t samp;

	rd_skip(&r, 2);
	count = rd_u16(&r);
	uptime = rd_u32(&r);
	secs = rd_u32(&r);
	nsecs = rd_u32(&r);
	seq = rd_u32(&r);
	etype = rd_u8(&r);
	eid = rd_u8(&r);
	samp = rd_u16(&r);
	m->version = 5;
	m->domain = (uint32_t)etype << 8 | eid;
	if (rd_failed(&r)) {
		fd_error(m, FD_ERR_SHORT);
		return -EBADMSG;
	}
	/* A count that does not match the length is an error, but the
	 * records that are there are decoded (as tshark does): the corpus'
	 * invalid samples are real exports with a damaged count. */
	if (rd_left(&r) != (size_t)count * NFV5_REC_LEN) {
		fd_error(m, FD_ERR_V5_LENGTH);
		if (rd_left(&r) < (size_t)count * NFV5_REC_LEN)
			count = (uint16_t)(rd_left(&r) / NFV5_REC_LEN);
	}
	m->tc.export_ms = (uint64_t)secs * 1000 + nsecs / 1000000;
	m->tc.uptime_ms = uptime;
	m->tc.has_uptime = true;
	/* top 2 bits: sampling mode; low 14: the interval */
	rate = samp & 0x3fff;
	m->set_index = 1;
	/* every v5 record sets the same fields by plain stores: the
	 * accumulator is zeroed once (as for struct tmpl's reuse_acc) */
	ie_acc_init(&acc);
	for (uint16_t i = 0; i < count; i++) {
		struct flow_rec out[2], *f = fd_room(m, &out[0]);

		for (size_t k = 0; k < ARRAY_SIZE(v5_rec); k++) {
			const uint8_t *v = rd_take(&r, v5_rec[k].len);
			if (v5_rec[k].map != IEM_NONE)
				ie_apply(&acc, v5_rec[k].map, false, v, v5_rec[k].len);
		}
		/* the length was checked: every take succeeded */
		ie_finish(&acc, &m->tc, f, &out[1]);
		fd_emit(m, f, rate, (uint16_t)(i + 1));
	}
	fd_sequence(m, seq, count);
	return 0;
}
