/* Fuzz target: the offline metering pipeline end to end, as `vtap meter`
 * runs it — capture file (pcapfile) -> decoder -> meter (a tiny table and
 * short timeouts so eviction, expiry and FIN handling all run) -> IPFIX
 * and NetFlow v9 encoders into MTU-sized messages. Besides the sanitizers
 * it checks what must hold for any input: every metered packet and byte
 * leaves in exactly one record, and every encoded message is well formed
 * (its sets tile it exactly). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "flow/meter.h"
#include "pkt/pcapfile.h"
#include "pkt/pkt.h"
#include "wire/ipfix_enc.h"
#include "wire/nfv9_enc.h"

struct sink {
	struct fe_msg ipfix, v9;
	uint8_t ibuf[1452], vbuf[1232];
	uint64_t packets, bytes, records;
};

static void check_sets(const uint8_t *b, size_t len, size_t hdr)
{
	struct vt_rd r = rd_init(b + hdr, len - hdr);

	while (rd_left(&r)) {
		uint16_t sl;
		rd_skip(&r, 2);
		sl = rd_u16(&r);
		if (sl < 4 || rd_failed(&r))
			abort();
		rd_skip(&r, sl - 4u);
		if (rd_failed(&r))
			abort();
	}
}

static void roll(struct sink *s, const struct flowenc_ops *ops, struct fe_msg *m, uint8_t *buf,
		 size_t cap)
{
	struct fe_hdr h = { .now_ms = 1, .boot_ms = 0 };
	size_t len = ops->end(m);

	if (len > cap || len < ops->hdr_len)
		abort();
	check_sets(buf, len, ops->hdr_len);
	ops->begin(m, buf, cap, &h);
	(void)s;
}

static void emit(void *arg, const struct flow_rec *r)
{
	struct sink *s = arg;

	s->packets += r->packets;
	s->bytes += r->bytes;
	s->records++;
	if (ipfix_add_flow(&s->ipfix, r) != 0) {
		roll(s, &ipfix_enc_ops, &s->ipfix, s->ibuf, sizeof(s->ibuf));
		if (ipfix_add_flow(&s->ipfix, r) != 0)
			abort(); /* a record always fits an empty message */
	}
	if (nfv9_add_flow(&s->v9, r) != 0) {
		roll(s, &nfv9_enc_ops, &s->v9, s->vbuf, sizeof(s->vbuf));
		if (nfv9_add_flow(&s->v9, r) != 0)
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct sink s;
	struct meter_cfg mc = { .active_ms = 5000, .idle_ms = 1000, .fin_ms = 0, .max_flows = 16,
				.sweep_budget = 4, .seed = 1 };
	struct fe_hdr h = { .now_ms = 1 };
	struct vt_err err;
	struct pcapfile *pf = pcapfile_open_mem(data, size, &err);
	struct meter *m;
	struct pcap_rec rec;

	if (!pf)
		return 0;
	memset(&s, 0, sizeof(s));
	ipfix_begin(&s.ipfix, s.ibuf, sizeof(s.ibuf), &h);
	nfv9_begin(&s.v9, s.vbuf, sizeof(s.vbuf), &h);
	m = meter_new(&mc, NULL, emit, &s);
	if (!m)
		abort();
	while (pcapfile_next(pf, &rec, &err) == 1) {
		struct pkt_info pi;
		struct meter_obs o = { .port = rec.ifindex % 4, .dir = FLOW_DIR_UNKNOWN,
				       .peer_port = FT_PORT_NONE,
				       .gso_size = rec.ifindex & 4 ? 1448 : 0 };
		pkt_decode_frame(&pi, rec.link, rec.data, rec.caplen, rec.wirelen);
		meter_packet(m, &pi, rec.ts_ns / 1000000u, &o);
	}
	meter_flush(m, FLOW_END_FORCED);
	if (s.packets != meter_stats(m)->packets || s.bytes != meter_stats(m)->bytes ||
	    s.records != meter_stats(m)->records)
		abort();
	roll(&s, &ipfix_enc_ops, &s.ipfix, s.ibuf, sizeof(s.ibuf));
	roll(&s, &nfv9_enc_ops, &s.v9, s.vbuf, sizeof(s.vbuf));
	meter_free(m);
	pcapfile_close(pf);
	return 0;
}
