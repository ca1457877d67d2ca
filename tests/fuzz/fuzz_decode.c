/* Fuzz target: lib/pkt/pkt.c — the packet decoder.
 *
 * Input: one byte choosing the link type, then the frame. Byte values 0-9
 * pick the link types pkt_decode() knows (see links[]); others are passed
 * as they are (unsupported link types must fail cleanly too). The frame is
 * decoded twice, without and with a wire length (caplen + the last byte *
 * 97), to drive the ip_len clamping paths, then once more from L3. An input that starts with a pcap/pcapng magic number is
 * read as a capture instead and every record decoded, so the real corpus
 * files listed in seeds/fuzz_decode.list are useful seeds.
 *
 * Invariants checked (a violation traps): the return value and ->err
 * agree, offsets lie within the captured bytes, fields of layers that were
 * not decoded are zero. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pkt/pcapfile.h"
#include "pkt/pkt.h"

static const int links[] = {
	PKT_LINK_ETHERNET, PKT_LINK_RAW, PKT_LINK_LINUX_SLL, PKT_LINK_LINUX_SLL2,
	PKT_LINK_NULL, PKT_LINK_LOOP, PKT_LINK_IPV4, PKT_LINK_IPV6, PKT_LINK_NFLOG,
	PKT_LINK_RAW_BSD,
};

#define CHECK(c)                        \
	do {                            \
		if (!(c))               \
			__builtin_trap(); \
	} while (0)

static void check(const struct pkt_info *pi, int r, uint32_t caplen)
{
	static const struct vt_addr zero;

	CHECK(r >= -1 && r <= 1);
	CHECK((unsigned)pi->err < PKT_ERR__COUNT);
	CHECK(pkt_err_name(pi->err) != NULL);
	CHECK(pi->nvlan <= PKT_MAX_VLANS);
	CHECK(pi->nmpls <= PKT_MAX_MPLS);
	if (r == 1)
		CHECK(pi->err == PKT_OK && pi->ipver == 0);
	if (r == -1)
		CHECK(pi->err != PKT_OK && pi->ipver == 0);
	if (r != 0) {
		CHECK(!pi->has_l4 && pi->ip_len == 0 && pi->proto == 0);
		CHECK(memcmp(&pi->src, &zero, sizeof(zero)) == 0);
		return;
	}
	CHECK(pi->ipver == 4 || pi->ipver == 6);
	CHECK(pi->l3_off < caplen);
	CHECK(pi->ip_len >= (pi->ipver == 4 ? 20u : 40u));
	CHECK(pi->l4_off <= caplen && pi->payload_off <= caplen);
	CHECK(pi->payload_off >= pi->l4_off);
	if (pi->has_l4)
		CHECK(pi->l4_off > pi->l3_off);
	if (pi->is_frag && !pi->frag_first)
		CHECK(!pi->has_l4);
	if (!pi->is_frag)
		CHECK(!pi->frag_first && pi->frag_off == 0);
}

static void decode_one(int link, const uint8_t *data, uint32_t caplen, uint32_t wirelen)
{
	struct pkt_info pi;
	int r = pkt_decode_frame(&pi, link, data, caplen, wirelen);

	check(&pi, r, caplen);
	/* with a wire length, ip_len never exceeds the frame it came in */
	if (wirelen && r == 0)
		CHECK(pi.ip_len <= (wirelen > caplen ? wirelen : caplen) - pi.l3_off);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vt_err err;
	struct pcapfile *pf;
	uint8_t *frame;
	uint32_t caplen;
	int link;

	if (size < 1)
		return 0;
	pf = size >= 24 ? pcapfile_open_mem(data, size, &err) : NULL;
	if (pf) {
		struct pcap_rec rec;
		while (pcapfile_next(pf, &rec, &err) == 1)
			decode_one(rec.link, rec.data, rec.caplen, rec.wirelen);
		pcapfile_close(pf);
		return 0;
	}
	link = data[0] < sizeof(links) / sizeof(links[0]) ? links[data[0]] : data[0];
	caplen = (uint32_t)(size - 1);
	/* an exact-size copy: ASan sees any read past caplen */
	frame = malloc(caplen ? caplen : 1);
	if (!frame)
		return 0;
	memcpy(frame, data + 1, caplen);
	decode_one(link, frame, caplen, 0);
	decode_one(link, frame, caplen, caplen + (caplen ? frame[caplen - 1] : 0u) * 97u);
	{
		struct pkt_info pi;
		int r = pkt_decode_l3(&pi, frame, caplen);
		check(&pi, r, caplen);
	}
	free(frame);
	return 0;
}
