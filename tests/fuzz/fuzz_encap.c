/* Fuzz target: lib/wire/encap decoders (VXLAN, GRE/L2GRE/ERSPAN I-III,
 * TZSP and the outer Ethernet/IP walk). The input is tried as a bare
 * tunnel header of each kind, as an outer frame of both link types, and —
 * so the corpus' captures are useful seeds — as a pcap/pcapng file whose
 * records are decoded. Whatever decodes must point inside the input, and
 * re-encoding the decoded fields must decode to the same fields. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "wire/encap.h"
#include "../unit/tap/pcap_min.h"

static void check_roundtrip(const struct encap_info *ei)
{
	const struct encap_ops *o = encap_ops_get(ei->type);
	struct encap_meta m = {
		.id = ei->id, .seq = ei->seq, .orig_len = ei->orig_len,
		.dir = ei->dir, .truncated = ei->truncated, .index = ei->index,
		.vlan = ei->vlan, .cos = ei->cos, .hw_id = ei->hw_id,
	};
	uint8_t buf[64];
	struct vt_wr w = wr_init(buf, sizeof(buf));
	struct encap_info again;
	int rc;

	if (!o)
		return;   /* ERSPAN type I: decode only */
	if (o->encode(&w, &m) != 0)
		__builtin_trap();
	if (o->ip_proto == 47)
		rc = encap_decode_gre(buf, wr_len(&w), &again);
	else if (ei->type == ENCAP_VXLAN)
		rc = encap_decode_vxlan(buf, wr_len(&w), &again);
	else
		rc = encap_decode_tzsp(buf, wr_len(&w), &again);
	if (rc != 0 || again.type != ei->type || again.inner_len != 0)
		__builtin_trap();
	if (ei->has_id && again.id != ei->id)
		__builtin_trap();
	if (ei->has_seq && again.seq != ei->seq)
		__builtin_trap();
	if (ei->has_dir && again.dir != ei->dir)
		__builtin_trap();
}

static void check(const uint8_t *p, size_t n, int rc, const struct encap_info *ei)
{
	if (rc != 0) {
		if (ei->err == ENCAP_OK || ei->inner)
			__builtin_trap();
		return;
	}
	if (ei->inner_len && (ei->inner < p || ei->inner + ei->inner_len > p + n))
		__builtin_trap();
	check_roundtrip(ei);
}

static void decode_all(const uint8_t *p, size_t n)
{
	struct encap_info ei;
	static const struct encap_ports alt = { .vxlan = 8472, .tzsp = 31337 };

	check(p, n, encap_decode_vxlan(p, n, &ei), &ei);
	check(p, n, encap_decode_gre(p, n, &ei), &ei);
	check(p, n, encap_decode_tzsp(p, n, &ei), &ei);
	check(p, n, encap_decode_frame(p, n, 1, NULL, &ei), &ei);
	check(p, n, encap_decode_frame(p, n, 101, &alt, &ei), &ei);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pcap_min pm;

	decode_all(data, size);
	if (pm_open_mem(&pm, data, size) == 0) {
		const uint8_t *d;
		uint32_t cl, wl;
		int k = 0;

		while (k++ < 4096 && pm_next(&pm, &d, &cl, &wl) == 1) {
			struct encap_info ei;
			check(d, cl, encap_decode_frame(d, cl, (int)pm.link, NULL, &ei), &ei);
		}
		pm_close(&pm);
	}
	return 0;
}
