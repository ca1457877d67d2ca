/* Fuzz target: what the tap does to a frame a VM sent — the shared frame
 * parser (bpf/tap_shared.h, the same lines the eBPF program runs) and the
 * user-space segmentation and checksum completion (src/agent/tap/tap_seg.c)
 * — on arbitrary bytes with an arbitrary GSO size and re-segmentation size
 * (the first 4 input bytes). A VM controls every header: nothing may be
 * read or written out of bounds, and every segment must be sane. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct fbuf {
	const uint8_t *p;
	uint32_t len;
};
static int fload(const struct fbuf *b, uint32_t off, void *dst, uint32_t n)
{
	if (off > b->len || n > b->len - off)
		return -1;
	memcpy(dst, b->p + off, n);
	return 0;
}
#define TAP_LOAD(ctx, off, dst, len) fload((const struct fbuf *)(ctx), (off), (dst), (len))

#include "../../src/agent/tap/tap_seg.c"
#include "bpf/tap_shared.h"

static uint8_t out[TAP_SEG_WHOLE_MAX];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fbuf b;
	struct tap_pkt pk;
	struct tap_frame f;
	struct tap_seg_iter it;
	uint32_t n, wire, total, segs = 0, cap;

	if (size < 4 || size - 4 > 65535)
		return 0;
	b.p = data + 4;
	b.len = (uint32_t)(size - 4);
	memset(&pk, 0, sizeof(pk));
	tap_parse(&b, &pk);
	if (pk.hdr_len > b.len && pk.hdr_len != 0 && pk.ipver == 0)
		__builtin_trap();
	memset(&f, 0, sizeof(f));
	f.data = b.p;
	f.cap_len = f.len = b.len;
	f.gso_size = (uint16_t)(data[0] << 8 | data[1]);
	f.hdr_len = (uint16_t)pk.hdr_len;
	f.l3_off = pk.l3_off;
	f.l4_off = pk.l4_off;
	f.ipver = pk.ipver;
	f.l4_proto = pk.proto;
	cap = data[3] ? data[3] * 64u : sizeof(out);
	/* a record cut short: the last byte says how much is missing */
	if (data[2] & 1)
		f.cap_len -= VT_MIN(f.cap_len, (uint32_t)data[3]);
	total = tap_seg_init(&it, &f, data[2] >> 1);
	if (it.navail > total || total == 0)
		__builtin_trap();
	while ((n = tap_seg_next(&it, out, cap, &wire)) > 0) {
		if (n > cap || n > sizeof(out) || n > wire || wire > 65535 + 4096u)
			__builtin_trap();
		if (++segs > it.navail)
			__builtin_trap();
	}
	if (segs != it.navail)
		__builtin_trap();
	return 0;
}
