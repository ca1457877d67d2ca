/* pcap_min.h — the smallest capture reader the tap unit tests need to walk
 * the corpus' tunnel captures and the files our pcapng writer produces:
 * classic pcap (either byte order) and little-endian pcapng with one
 * section (SHB, IDB, EPB; other blocks skipped). It reads the whole file
 * into memory and checks every length against what remains. Test-only:
 * the product's reader is lib/pkt/pcapfile. */
#ifndef VT_TEST_PCAP_MIN_H
#define VT_TEST_PCAP_MIN_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct pcap_min {
	uint8_t *buf;
	size_t len, off;
	bool swap;
	bool ng;               /* pcapng */
	uint32_t link;         /* classic: file link type; pcapng: of the last record */
	uint32_t nifs;
	uint16_t if_link[16];
	uint32_t ifid;         /* pcapng: interface of the last record */
	uint32_t epb_flags;    /* pcapng: epb_flags of the last record, 0 if none */
	bool owned;            /* buf was allocated by pm_open */
};

static inline uint32_t pm_u32(const struct pcap_min *pm, const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return pm->swap ? __builtin_bswap32(v) : v;
}

/* pm_open_mem() : reads a capture held in <buf> (caller-owned, must
 * outlive the reader). 0, or -1 when it is not a capture we read. */
static inline int pm_open_mem(struct pcap_min *pm, const uint8_t *buf, size_t len)
{
	uint32_t magic;

	memset(pm, 0, sizeof(*pm));
	if (len < 24)
		return -1;
	pm->buf = (uint8_t *)buf;
	pm->len = len;
	memcpy(&magic, pm->buf, 4);
	if (magic == 0x0a0d0d0au) {
		pm->ng = true;
		pm->off = 0;
		return 0;
	}
	if (magic == 0xa1b2c3d4u || magic == 0xa1b23c4du)
		pm->swap = false;
	else if (magic == 0xd4c3b2a1u || magic == 0x4d3cb2a1u)
		pm->swap = true;
	else
		return -1;
	pm->link = pm_u32(pm, pm->buf + 20) & 0x0fffffffu;
	pm->off = 24;
	return 0;
}

/* pm_open() : 0, or -1 when the file cannot be read or is not a capture. */
static inline int pm_open(struct pcap_min *pm, const char *path)
{
	FILE *f = fopen(path, "rb");
	long n;
	uint8_t *buf;

	memset(pm, 0, sizeof(*pm));
	if (!f)
		return -1;
	if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 24 || fseek(f, 0, SEEK_SET) != 0) {
		fclose(f);
		return -1;
	}
	buf = malloc((size_t)n);
	if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n) {
		fclose(f);
		free(buf);
		return -1;
	}
	fclose(f);
	if (pm_open_mem(pm, buf, (size_t)n) != 0) {
		free(buf);
		return -1;
	}
	pm->owned = true;
	return 0;
}

/* pm_next() : 1 with the record's bytes, 0 at the end, -1 on a damaged
 * record. */
static inline int pm_next_ng(struct pcap_min *pm, const uint8_t **data, uint32_t *caplen,
			     uint32_t *wirelen)
{
	while (pm->off < pm->len) {
		const uint8_t *b = pm->buf + pm->off;
		uint32_t type, tl, cl;

		if (pm->len - pm->off < 12)
			return -1;
		type = pm_u32(pm, b);
		tl = pm_u32(pm, b + 4);
		if (tl < 12 || tl % 4 || tl > pm->len - pm->off || pm_u32(pm, b + tl - 4) != tl)
			return -1;
		pm->off += tl;
		if (type == 0x0a0d0d0au) {
			if (tl < 28 || pm_u32(pm, b + 8) != 0x1a2b3c4du)
				return -1;   /* big-endian sections: not needed here */
			pm->nifs = 0;
		} else if (type == 1) {
			if (tl < 20 || pm->nifs >= 16)
				return -1;
			pm->if_link[pm->nifs++] = (uint16_t)(b[8] | b[9] << 8);
		} else if (type == 6) {
			size_t olen;
			const uint8_t *o;

			if (tl < 32)
				return -1;
			pm->ifid = pm_u32(pm, b + 8);
			cl = pm_u32(pm, b + 20);
			*wirelen = pm_u32(pm, b + 24);
			if (pm->ifid >= pm->nifs || cl > tl - 32)
				return -1;
			pm->link = pm->if_link[pm->ifid];
			*data = b + 28;
			*caplen = cl;
			/* options: after the padded data, before the trailer */
			pm->epb_flags = 0;
			o = b + 28 + ((cl + 3) & ~3u);
			olen = (size_t)(b + tl - 4 - o);
			while (olen >= 4) {
				uint16_t code = (uint16_t)(o[0] | o[1] << 8);
				uint16_t ol = (uint16_t)(o[2] | o[3] << 8);
				size_t padded = 4 + (((size_t)ol + 3) & ~(size_t)3);
				if (code == 0 || padded > olen)
					break;
				if (code == 2 && ol == 4)
					pm->epb_flags = pm_u32(pm, o + 4);
				o += padded;
				olen -= padded;
			}
			return 1;
		}
	}
	return 0;
}

static inline int pm_next(struct pcap_min *pm, const uint8_t **data, uint32_t *caplen,
			  uint32_t *wirelen)
{
	uint32_t cl;

	if (pm->ng)
		return pm_next_ng(pm, data, caplen, wirelen);
	if (pm->off == pm->len)
		return 0;
	if (pm->len - pm->off < 16)
		return -1;
	cl = pm_u32(pm, pm->buf + pm->off + 8);
	*wirelen = pm_u32(pm, pm->buf + pm->off + 12);
	if (pm->len - pm->off - 16 < cl)
		return -1;
	*data = pm->buf + pm->off + 16;
	*caplen = cl;
	pm->off += 16 + (size_t)cl;
	return 1;
}

static inline void pm_close(struct pcap_min *pm)
{
	if (pm->owned)
		free(pm->buf);
	pm->buf = NULL;
}

#endif
