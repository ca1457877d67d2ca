/* Unit tests: lib/pkt/pcapfile.c — the capture reader on hand-built
 * classic pcap and pcapng images (both byte orders, every block type,
 * every kind of damage), through memory, a mapped file, a pipe and stdin. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pkt/pcapfile.h"

#include "vt_test.h"

/* ---- image builder ------------------------------------------------------ */

struct img {
	uint8_t *b;
	size_t n, cap;
	bool be;
};

static void img_put(struct img *m, const void *p, size_t n)
{
	if (m->n + n > m->cap) {
		m->cap = (m->n + n) * 2 + 256;
		m->b = realloc(m->b, m->cap);
	}
	memcpy(m->b + m->n, p, n);
	m->n += n;
}

static void u8(struct img *m, uint8_t v)
{
	img_put(m, &v, 1);
}

static void u16(struct img *m, uint16_t v)
{
	uint8_t b[2] = { (uint8_t)v, (uint8_t)(v >> 8) };
	if (m->be) {
		b[0] = (uint8_t)(v >> 8);
		b[1] = (uint8_t)v;
	}
	img_put(m, b, 2);
}

static void u32(struct img *m, uint32_t v)
{
	if (m->be) {
		u16(m, (uint16_t)(v >> 16));
		u16(m, (uint16_t)v);
	} else {
		u16(m, (uint16_t)v);
		u16(m, (uint16_t)(v >> 16));
	}
}

static void pad4(struct img *m)
{
	while (m->n % 4)
		u8(m, 0);
}

static void fill(struct img *m, size_t n, uint8_t v)
{
	for (size_t i = 0; i < n; i++)
		u8(m, v);
}

/* Classic pcap file header. */
static void pcap_hdr(struct img *m, uint32_t magic, uint16_t vmaj, uint16_t vmin,
		     uint32_t snaplen, uint32_t link)
{
	u32(m, magic);
	u16(m, vmaj);
	u16(m, vmin);
	u32(m, 0);
	u32(m, 0);
	u32(m, snaplen);
	u32(m, link);
}

static void pcap_rec(struct img *m, uint32_t sec, uint32_t frac, uint32_t caplen,
		     uint32_t wirelen, uint8_t fillb)
{
	u32(m, sec);
	u32(m, frac);
	u32(m, caplen);
	u32(m, wirelen);
	fill(m, caplen, fillb);
}

/* pcapng blocks: start/end patch the total length. */
static size_t blk_start(struct img *m, uint32_t type)
{
	size_t at = m->n;
	u32(m, type);
	u32(m, 0);
	return at;
}

static void blk_end(struct img *m, size_t at)
{
	uint32_t len;
	size_t save;

	pad4(m);
	len = (uint32_t)(m->n - at + 4);
	u32(m, len);
	save = m->n;
	m->n = at + 4;
	u32(m, len);
	m->n = save;
}

static void opt(struct img *m, uint16_t code, const void *v, uint16_t len)
{
	u16(m, code);
	u16(m, len);
	img_put(m, v, len);
	pad4(m);
}

static void shb(struct img *m, uint16_t vmaj, uint16_t vmin)
{
	size_t at = blk_start(m, 0x0a0d0d0a);
	u32(m, 0x1a2b3c4d);
	u16(m, vmaj);
	u16(m, vmin);
	u32(m, 0xffffffff);
	u32(m, 0xffffffff);
	opt(m, 4, "vtap-test", 9); /* shb_userappl */
	u16(m, 0);
	u16(m, 0);
	blk_end(m, at);
}

/* IDB; tsresol < 0 means no option. */
static void idb(struct img *m, uint16_t link, uint32_t snaplen, int tsresol, bool tsoff,
		int64_t off_s)
{
	size_t at = blk_start(m, 1);
	u16(m, link);
	u16(m, 0);
	u32(m, snaplen);
	if (tsresol >= 0) {
		uint8_t r = (uint8_t)tsresol;
		opt(m, 9, &r, 1);
	}
	if (tsoff) {
		u16(m, 14);
		u16(m, 8);
		if (m->be) {
			u32(m, (uint32_t)((uint64_t)off_s >> 32));
			u32(m, (uint32_t)off_s);
		} else {
			u32(m, (uint32_t)off_s);
			u32(m, (uint32_t)((uint64_t)off_s >> 32));
		}
	}
	opt(m, 2, "vp-vm1", 6);
	u16(m, 0);
	u16(m, 0);
	blk_end(m, at);
}

/* EPB with <caplen> bytes of <fillb>; flags < 0 means no epb_flags. */
static void epb(struct img *m, uint32_t ifid, uint64_t ts, uint32_t caplen, uint32_t wirelen,
		uint8_t fillb, int flags)
{
	size_t at = blk_start(m, 6);
	u32(m, ifid);
	u32(m, (uint32_t)(ts >> 32));
	u32(m, (uint32_t)ts);
	u32(m, caplen);
	u32(m, wirelen);
	fill(m, caplen, fillb);
	pad4(m);
	if (flags >= 0) {
		u16(m, 2);
		u16(m, 4);
		u32(m, (uint32_t)flags);
		u16(m, 0);
		u16(m, 0);
	}
	blk_end(m, at);
}

static struct pcapfile *open_img(const struct img *m, struct vt_err *err)
{
	vt_err_clear(err);
	return pcapfile_open_mem(m->b, m->n, err);
}

/* Reads everything; returns the number of records and the last result. */
static int read_all(struct pcapfile *pf, struct pcap_rec *recs, int max, int *last,
		    struct vt_err *err)
{
	struct pcap_rec r;
	int n = 0, rc;

	while ((rc = pcapfile_next(pf, &r, err)) == 1) {
		if (n < max)
			recs[n] = r;
		n++;
	}
	*last = rc;
	return n;
}

/* ---- classic pcap -------------------------------------------------------- */

static void t_pcap_variants(void)
{
	static const struct {
		uint32_t magic;
		bool be;
		const char *fmt;
		uint64_t ts0;
	} v[] = {
		{ 0xa1b2c3d4, false, "pcap", 1700000000ull * 1000000000 + 123456000 },
		{ 0xa1b2c3d4, true, "pcap-be", 1700000000ull * 1000000000 + 123456000 },
		{ 0xa1b23c4d, false, "pcap-ns", 1700000000ull * 1000000000 + 123456 },
		{ 0xa1b23c4d, true, "pcap-ns-be", 1700000000ull * 1000000000 + 123456 },
	};

	for (size_t i = 0; i < ARRAY_SIZE(v); i++) {
		struct img m = { .be = v[i].be };
		struct vt_err err;
		struct pcap_rec r[4];
		struct pcapfile *pf;
		int last;

		pcap_hdr(&m, v[i].magic, 2, 4, 65535, 1);
		pcap_rec(&m, 1700000000, 123456, 60, 60, 0xaa);
		pcap_rec(&m, 1700000001, 0, 100, 1514, 0xbb);
		pf = open_img(&m, &err);
		CHECK(pf != NULL);
		if (!pf)
			continue;
		CHECK_STR(pcapfile_format(pf), v[i].fmt);
		CHECK_EQ(pcapfile_link(pf), 1);
		CHECK_EQ(read_all(pf, r, 4, &last, &err), 2);
		CHECK_EQ(last, 0);
		CHECK_EQ_U64(r[0].ts_ns, v[i].ts0);
		CHECK_EQ(r[0].caplen, 60);
		CHECK_EQ(r[0].wirelen, 60);
		CHECK_EQ(r[0].data[0], 0xaa);
		CHECK_EQ(r[0].data - m.b, 24 + 16);
		CHECK_EQ(r[0].link, 1);
		CHECK_EQ(r[1].caplen, 100);
		CHECK_EQ(r[1].wirelen, 1514);
		CHECK_EQ(r[1].data[99], 0xbb);
		CHECK_EQ_U64(r[1].ts_ns, 1700000001ull * 1000000000);
		CHECK_EQ_U64(pcapfile_stats(pf)->records, 2);
		CHECK_EQ_U64(pcapfile_stats(pf)->snapped, 1);
		CHECK_EQ_U64(pcapfile_offset(pf), m.n);
		pcapfile_close(pf);
		free(m.b);
	}
}

static void t_pcap_kuznetzov(void)
{
	struct img m = { 0 };
	struct vt_err err;
	struct pcap_rec r;
	struct pcapfile *pf;

	pcap_hdr(&m, 0xa1b2cd34, 2, 4, 65535, 1);
	u32(&m, 5);
	u32(&m, 6);
	u32(&m, 4);
	u32(&m, 4);
	u32(&m, 7);  /* ifindex */
	u16(&m, 0x0800);
	u8(&m, 0);
	u8(&m, 0);
	fill(&m, 4, 0xcc);
	pf = open_img(&m, &err);
	CHECK(pf != NULL);
	if (pf) {
		CHECK_STR(pcapfile_format(pf), "pcap-kuznetzov");
		CHECK_EQ(pcapfile_next(pf, &r, &err), 1);
		CHECK_EQ(r.caplen, 4);
		CHECK_EQ(r.data[0], 0xcc);
		CHECK_EQ(r.ifindex, 7);
		CHECK_EQ(pcapfile_next(pf, &r, &err), 0);
	}
	pcapfile_close(pf);
	free(m.b);
}

/* Files no reader can open: the message says what is wrong. */
static void t_pcap_open_errors(void)
{
	static const struct {
		const char *name;
		uint32_t magic;
		uint16_t vmaj, vmin;
		uint32_t link;
		size_t cut;
		const char *msg;
	} c[] = {
		{ "version_1", 0xa1b2c3d4, 1, 0, 1, 0, "pcap version 1.0 unsupported" },
		{ "version_2_5", 0xa1b2c3d4, 2, 5, 1, 0, "pcap version 2.5 unsupported" },
		{ "reserved_link_bits", 0xa1b2c3d4, 2, 4, 0x00300000, 0,
		  "link-type field 0x00300000 has reserved bits set" },
		{ "bad_magic", 0x12345678, 2, 4, 1, 0, "not a capture file (magic 0x78563412" },
		{ "short_header", 0xa1b2c3d4, 2, 4, 1, 10, "truncated pcap file header (10 of 24" },
		{ "three_bytes", 0xa1b2c3d4, 2, 4, 1, 3, "3 bytes, shorter than any capture header" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(c); i++) {
		struct img m = { 0 };
		struct vt_err err;
		struct pcapfile *pf;

		vt_test_case = c[i].name;
		pcap_hdr(&m, c[i].magic, c[i].vmaj, c[i].vmin, 65535, c[i].link);
		if (c[i].cut)
			m.n = c[i].cut;
		pf = open_img(&m, &err);
		CHECK(pf == NULL);
		CHECK(err.code < 0);
		CHECK_CONTAINS(err.msg, c[i].msg);
		pcapfile_close(pf);
		free(m.b);
	}
	vt_test_case = "t_pcap_open_errors";
	{
		static const uint8_t gz[8] = { 0x1f, 0x8b, 8, 0, 0, 0, 0, 0 };
		struct vt_err err;
		CHECK(pcapfile_open_mem(gz, sizeof(gz), &err) == NULL);
		CHECK_CONTAINS(err.msg, "gzip");
		CHECK(pcapfile_open_mem(NULL, 0, &err) == NULL);
		CHECK_CONTAINS(err.msg, "0 bytes");
	}
}

/* Damage after the header: everything before it is delivered, then an
 * error naming the offset. */
static void t_pcap_damage(void)
{
	struct img m = { 0 };
	struct vt_err err;
	struct pcap_rec r[4];
	struct pcapfile *pf;
	int last;
	size_t full;

	pcap_hdr(&m, 0xa1b2c3d4, 2, 4, 65535, 1);
	pcap_rec(&m, 1, 0, 60, 60, 1);
	pcap_rec(&m, 2, 0, 60, 60, 2);
	full = m.n;

	/* record header cut after 8 bytes */
	m.n = full + 8;
	memset(m.b + full, 0, 8);
	pf = open_img(&m, &err);
	CHECK_EQ(read_all(pf, r, 4, &last, &err), 2);
	CHECK_EQ(last, -EBADMSG);
	CHECK_CONTAINS(err.msg, "truncated record header at offset 176 (8 of 16 bytes)");
	pcapfile_close(pf);

	/* record data cut: 60 announced, 30 present */
	m.n = full;
	pcap_rec(&m, 3, 0, 60, 60, 3);
	m.n -= 30;
	pf = open_img(&m, &err);
	CHECK_EQ(read_all(pf, r, 4, &last, &err), 2);
	CHECK_EQ(last, -EBADMSG);
	CHECK_CONTAINS(err.msg, "truncated record at offset 176: captured length 60, only 30");
	pcapfile_close(pf);

	/* a giant captured length is damage, not an allocation */
	m.n = full;
	pcap_rec(&m, 3, 0, 0, 0, 0);
	m.n -= 8;
	u32(&m, 0x7fffffff);
	u32(&m, 0x7fffffff);
	pf = open_img(&m, &err);
	CHECK_EQ(read_all(pf, r, 4, &last, &err), 2);
	CHECK_EQ(last, -EBADMSG);
	CHECK_CONTAINS(err.msg, "captured length 2147483647 exceeds the maximum");
	pcapfile_close(pf);
	free(m.b);
}

/* Odd but readable records: delivered and counted. */
static void t_pcap_odd_records(void)
{
	struct img m = { 0 };
	struct vt_err err;
	struct pcap_rec r[8];
	struct pcapfile *pf;
	const struct pcapfile_stats *st;
	int last;

	pcap_hdr(&m, 0xa1b2c3d4, 2, 4, 64, 1);
	pcap_rec(&m, 10, 1000000, 20, 20, 0);           /* tv_usec = 1e6 */
	pcap_rec(&m, 0xffffffff, 999999, 20, 20, 0);     /* 2106-02-07 */
	pcap_rec(&m, 11, 0, 100, 100, 0);                /* caplen > snaplen */
	pcap_rec(&m, 12, 0, 40, 30, 0);                  /* orig_len < caplen */
	pcap_rec(&m, 13, 0, 20, 0x7fffffff, 0);          /* orig_len 2^31-1 */
	pcap_rec(&m, 14, 0, 0, 0, 0);                    /* empty record */
	pf = open_img(&m, &err);
	CHECK_EQ(read_all(pf, r, 8, &last, &err), 6);
	CHECK_EQ(last, 0);
	st = pcapfile_stats(pf);
	CHECK_EQ_U64(r[0].ts_ns, 10999999000ull);
	CHECK_EQ_U64(st->bad_timestamps, 1);
	CHECK_EQ_U64(r[1].ts_ns, 4294967295ull * 1000000000 + 999999000);
	CHECK_EQ(r[2].caplen, 100);
	CHECK_EQ_U64(st->over_snaplen, 1);
	CHECK_EQ(r[3].wirelen, 40);
	CHECK_EQ_U64(st->short_wirelen, 1);
	CHECK_EQ(r[4].wirelen, 0x7fffffff);
	CHECK_EQ(r[5].caplen, 0);
	CHECK_EQ_U64(st->snapped, 1);
	pcapfile_close(pf);
	free(m.b);

	/* nanosecond file: tv_nsec >= 1e9 */
	m = (struct img){ 0 };
	pcap_hdr(&m, 0xa1b23c4d, 2, 4, 0, 113);
	pcap_rec(&m, 10, 1000000000, 20, 20, 0);
	pcap_rec(&m, 10, 0xffffffff, 20, 20, 0);
	pf = open_img(&m, &err);
	CHECK_EQ(read_all(pf, r, 8, &last, &err), 2);
	CHECK_EQ_U64(r[0].ts_ns, 10999999999ull);
	CHECK_EQ_U64(r[1].ts_ns, 10999999999ull);
	CHECK_EQ(r[0].link, 113);
	CHECK_EQ_U64(pcapfile_stats(pf)->bad_timestamps, 2);
	pcapfile_close(pf);
	free(m.b);

	/* header only: a valid, empty capture */
	m = (struct img){ 0 };
	pcap_hdr(&m, 0xa1b2c3d4, 2, 4, 0, 1);
	pf = open_img(&m, &err);
	CHECK(pf != NULL);
	CHECK_EQ(read_all(pf, r, 8, &last, &err), 0);
	CHECK_EQ(last, 0);
	pcapfile_close(pf);
	free(m.b);
}

/* ---- pcapng ---------------------------------------------------------------- */

static void t_pcapng_sections(void)
{
	struct img m = { 0 };
	struct vt_err err;
	struct pcap_rec r[8];
	struct pcapfile *pf;
	const struct pcapfile_stats *st;
	int last;
	size_t at;

	/* section 1, little-endian: two interfaces (µs default, ns) */
	shb(&m, 1, 0);
	idb(&m, 1, 262144, -1, false, 0);
	idb(&m, 113, 0, 9, false, 0);
	epb(&m, 0, 1700000000123456ull, 60, 60, 0x11, 1);        /* inbound */
	epb(&m, 1, 1700000000123456789ull, 50, 70, 0x22, 2);     /* outbound */
	at = blk_start(&m, 4);                                    /* NRB: skipped */
	u32(&m, 0);
	blk_end(&m, at);
	at = blk_start(&m, 3);                                    /* SPB on if 0 */
	u32(&m, 5);
	fill(&m, 5, 0x33);
	blk_end(&m, at);
	at = blk_start(&m, 5);                                    /* ISB: skipped */
	u32(&m, 0);
	u32(&m, 0);
	u32(&m, 0);
	blk_end(&m, at);
	/* section 2, big-endian: binary resolution and an offset */
	m.be = true;
	shb(&m, 1, 0);
	idb(&m, 101, 65535, 0x80 | 10, true, 3600);               /* 2^-10 s, +1 h */
	epb(&m, 0, 1024ull * 100 + 512, 40, 40, 0x44, -1);
	at = blk_start(&m, 2);                                    /* OPB */
	u16(&m, 0);
	u16(&m, 0);
	u32(&m, 0);
	u32(&m, 1000000);
	u32(&m, 4);
	u32(&m, 4);
	fill(&m, 4, 0x55);
	u16(&m, 2);
	u16(&m, 4);
	u32(&m, 2);
	u16(&m, 0);
	u16(&m, 0);
	blk_end(&m, at);

	pf = open_img(&m, &err);
	CHECK(pf != NULL);
	if (!pf)
		return;
	CHECK_STR(pcapfile_format(pf), "pcapng");
	CHECK_EQ(pcapfile_link(pf), -1);
	CHECK_EQ(read_all(pf, r, 8, &last, &err), 5);
	CHECK_EQ(last, 0);
	CHECK_EQ(r[0].link, 1);
	CHECK_EQ(r[0].ifindex, 0);
	CHECK_EQ(r[0].direction, 1);
	CHECK_EQ_U64(r[0].ts_ns, 1700000000123456000ull);
	CHECK_EQ(r[0].caplen, 60);
	CHECK_EQ(r[0].data[59], 0x11);
	CHECK_EQ(r[1].link, 113);
	CHECK_EQ(r[1].ifindex, 1);
	CHECK_EQ(r[1].direction, 2);
	CHECK_EQ_U64(r[1].ts_ns, 1700000000123456789ull);
	CHECK_EQ(r[1].wirelen, 70);
	CHECK_EQ(r[2].caplen, 5);          /* SPB: min(orig_len, room) */
	CHECK_EQ(r[2].wirelen, 5);
	CHECK_EQ(r[2].data[4], 0x33);
	CHECK_EQ_U64(r[2].ts_ns, r[1].ts_ns); /* no timestamp: the previous one */
	CHECK_EQ(r[3].link, 101);
	CHECK_EQ(r[3].direction, 0);
	CHECK_EQ_U64(r[3].ts_ns, 3600ull * 1000000000 + 100500000000ull);
	CHECK_EQ(r[3].data[0], 0x44);
	CHECK_EQ(r[4].caplen, 4);
	CHECK_EQ(r[4].data[3], 0x55);
	CHECK_EQ(r[4].direction, 2);
	CHECK_EQ_U64(r[4].ts_ns, 3600ull * 1000000000 + 976562500000ull);
	st = pcapfile_stats(pf);
	CHECK_EQ_U64(st->sections, 2);
	CHECK_EQ_U64(st->interfaces, 3);
	CHECK_EQ_U64(st->skipped_blocks, 2);
	CHECK_EQ_U64(st->records, 5);
	CHECK_EQ_U64(st->snapped, 1);
	pcapfile_close(pf);
	free(m.b);

	/* a big-endian first section names the format */
	m = (struct img){ .be = true };
	shb(&m, 1, 0);
	pf = open_img(&m, &err);
	CHECK(pf != NULL);
	CHECK_STR(pf ? pcapfile_format(pf) : "", "pcapng-be");
	CHECK_EQ(pf ? pcapfile_next(pf, r, &err) : -1, 0);
	pcapfile_close(pf);
	free(m.b);
}

static void t_pcapng_timestamps(void)
{
	static const struct {
		int tsresol;
		uint64_t ts;
		uint64_t want;
		uint64_t bad;
	} c[] = {
		{ 6, 1700000000000000ull, 1700000000000000000ull, 0 },
		{ 9, 4294967296ull * 1000000000, 4294967296ull * 1000000000, 0 }, /* past 2106 */
		{ 3, 1700000000123ull, 1700000000123000000ull, 0 },
		{ 12, 1700000000123456789ull, 1700000000123456ull, 0 },           /* ps */
		{ 0x80 | 20, 1ull << 20, 1000000000ull, 0 },
		{ 0, 0xffffffffffffffffull, 0xffffffffffffffffull, 1 },            /* s: overflow */
		{ 19, 0xffffffffffffffffull, 1844674407ull, 0 },
	};

	for (size_t i = 0; i < ARRAY_SIZE(c); i++) {
		struct img m = { 0 };
		struct vt_err err;
		struct pcap_rec r;
		struct pcapfile *pf;

		shb(&m, 1, 0);
		idb(&m, 1, 0, c[i].tsresol, false, 0);
		epb(&m, 0, c[i].ts, 1, 1, 0, -1);
		pf = open_img(&m, &err);
		CHECK(pf && pcapfile_next(pf, &r, &err) == 1);
		if (pf) {
			CHECK_EQ_U64(r.ts_ns, c[i].want);
			CHECK_EQ_U64(pcapfile_stats(pf)->bad_timestamps, c[i].bad);
		}
		pcapfile_close(pf);
		free(m.b);
	}
	/* a negative if_tsoffset cannot go before the epoch */
	{
		struct img m = { 0 };
		struct vt_err err;
		struct pcap_rec r;
		struct pcapfile *pf;

		shb(&m, 1, 0);
		idb(&m, 1, 0, 9, true, -10);
		epb(&m, 0, 5000000000ull, 1, 1, 0, -1);
		pf = open_img(&m, &err);
		CHECK(pf && pcapfile_next(pf, &r, &err) == 1);
		if (pf) {
			CHECK_EQ_U64(r.ts_ns, 0);
			CHECK_EQ_U64(pcapfile_stats(pf)->bad_timestamps, 1);
		}
		pcapfile_close(pf);
		free(m.b);
	}
}

/* Damaged pcapng: each case builds a good prefix (SHB, IDB, one EPB), then
 * a damaged block; the good record is delivered, then the error. Cases
 * with open=true fail at open (damage in the first SHB). */
static void t_pcapng_damage(void)
{
	static const struct {
		const char *name;
		int kind;
		bool at_open;
		const char *msg;
	} c[] = {
		{ "shb_version_0_1", 0, true, "version 0.1 unsupported" },
		{ "shb_bad_bom", 1, true, "byte-order magic 0x44332211" },
		{ "shb_option_overrun", 2, true, "option 4 of length 200 overruns the block" },
		{ "shb_short", 3, true, "block length 20 invalid" },
		{ "block_len_not_4n", 4, false, "type 0x00000006 has an invalid length 33" },
		{ "trailing_len_mismatch", 5, false, "trailing length 99 differs from leading length 36" },
		{ "epb_caplen_overrun", 6, false, "captured length 100 overruns the block" },
		{ "epb_undeclared_if", 7, false, "interface 5 was not declared (1 interfaces" },
		{ "idb_option_overrun", 8, false, "option 2 of length 300 overruns the block" },
		{ "truncated_last_block", 9, false, "truncated: 20 of 64 bytes" },
		{ "truncated_block_header", 10, false, "truncated pcapng block header at offset" },
		{ "idb_bad_tsresol", 11, false, "if_tsresol 0x14 unsupported" },
		{ "spb_without_idb", 12, false, "interface 0 was not declared" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(c); i++) {
		struct img m = { 0 };
		struct vt_err err;
		struct pcap_rec r[4];
		struct pcapfile *pf;
		int last, got;
		size_t at, good;

		vt_test_case = c[i].name;
		if (c[i].at_open) {
			at = blk_start(&m, 0x0a0d0d0a);
			u32(&m, c[i].kind == 1 ? 0x11223344 : 0x1a2b3c4d);
			u16(&m, c[i].kind == 0 ? 0 : 1);
			u16(&m, c[i].kind == 0 ? 1 : 0);
			u32(&m, 0xffffffff);
			u32(&m, 0xffffffff);
			if (c[i].kind == 2) {
				u16(&m, 4);
				u16(&m, 200);
				u32(&m, 0);
			}
			blk_end(&m, at);
			if (c[i].kind == 3) { /* a length below the SHB minimum */
				m.b[4] = 20;
				m.b[m.n - 4] = 20;
			}
			idb(&m, 1, 0, -1, false, 0);
			pf = open_img(&m, &err);
			CHECK(pf == NULL);
			CHECK_CONTAINS(err.msg, c[i].msg);
			CHECK_CONTAINS(err.msg, "at offset 0");
			pcapfile_close(pf);
			free(m.b);
			continue;
		}
		shb(&m, 1, 0);
		if (c[i].kind != 12)
			idb(&m, 1, 0, -1, false, 0);
		if (c[i].kind != 12)
			epb(&m, 0, 1, 10, 10, 1, -1);
		good = m.n;
		switch (c[i].kind) {
		case 4:
			u32(&m, 6);
			u32(&m, 33);
			fill(&m, 40, 0);
			break;
		case 5:
			epb(&m, 0, 1, 1, 1, 0, -1);
			m.b[m.n - 4] = 99;
			break;
		case 6:
			epb(&m, 0, 1, 4, 4, 0, -1);
			m.b[good + 20] = 100; /* caplen field */
			break;
		case 7:
			epb(&m, 5, 1, 4, 4, 0, -1);
			break;
		case 8:
			at = blk_start(&m, 1);
			u16(&m, 1);
			u16(&m, 0);
			u32(&m, 0);
			u16(&m, 2);
			u16(&m, 300);
			u32(&m, 0);
			blk_end(&m, at);
			break;
		case 9:
			epb(&m, 0, 1, 30, 30, 0, -1);
			m.n = good + 20;
			break;
		case 10:
			fill(&m, 6, 0);
			break;
		case 11:
			idb(&m, 1, 0, 20, false, 0);
			break;
		case 12:
			at = blk_start(&m, 3);
			u32(&m, 4);
			u32(&m, 0);
			blk_end(&m, at);
			break;
		}
		pf = open_img(&m, &err);
		CHECK(pf != NULL);
		if (!pf) {
			free(m.b);
			continue;
		}
		got = read_all(pf, r, 4, &last, &err);
		CHECK_EQ(got, c[i].kind == 12 ? 0 : 1);
		CHECK(last < 0);
		CHECK_CONTAINS(err.msg, c[i].msg);
		if (c[i].kind != 10 && c[i].kind != 12) {
			char off[64];
			snprintf(off, sizeof(off), "at offset %zu", good);
			CHECK_CONTAINS(err.msg, off);
		}
		pcapfile_close(pf);
		free(m.b);
	}
	vt_test_case = "t_pcapng_damage";
}

/* More IDBs than we keep: counted, their packets skipped and counted; the
 * rest of the file reads on. Packet-block options that overrun are
 * ignored and counted. */
static void t_pcapng_bounds(void)
{
	struct img m = { 0 };
	struct vt_err err;
	struct pcap_rec r[4];
	struct pcapfile *pf;
	const struct pcapfile_stats *st;
	int last;
	size_t at;

	shb(&m, 1, 0);
	for (int i = 0; i < PCAPFILE_MAX_IFS + 5; i++)
		idb(&m, 1, 0, -1, false, 0);
	epb(&m, PCAPFILE_MAX_IFS + 2, 1, 4, 4, 0, -1);      /* skipped */
	epb(&m, PCAPFILE_MAX_IFS - 1, 1, 4, 4, 7, -1);      /* delivered */
	at = blk_start(&m, 6);                              /* options overrun */
	u32(&m, 0);
	u32(&m, 0);
	u32(&m, 1);
	u32(&m, 4);
	u32(&m, 4);
	fill(&m, 4, 9);
	u16(&m, 2);
	u16(&m, 400);
	blk_end(&m, at);
	pf = open_img(&m, &err);
	CHECK(pf != NULL);
	if (!pf)
		return;
	CHECK_EQ(read_all(pf, r, 4, &last, &err), 2);
	CHECK_EQ(last, 0);
	CHECK_EQ(r[0].ifindex, PCAPFILE_MAX_IFS - 1);
	CHECK_EQ(r[0].data[0], 7);
	CHECK_EQ(r[1].data[0], 9);
	st = pcapfile_stats(pf);
	CHECK_EQ_U64(st->interfaces, PCAPFILE_MAX_IFS + 5);
	CHECK_EQ_U64(st->ifs_over_limit, 5);
	CHECK_EQ_U64(st->skipped_records, 1);
	CHECK_EQ_U64(st->bad_options, 1);
	pcapfile_close(pf);
	free(m.b);
}

/* ---- files, pipes, stdin -------------------------------------------------- */

/* A capture bigger than the stream buffer, with a record bigger than its
 * first size, so the stream path compacts and grows. */
static void build_big(struct img *m)
{
	pcap_hdr(m, 0xa1b2c3d4, 2, 4, 0, 1);
	for (uint32_t i = 0; i < 3000; i++)
		pcap_rec(m, i, 0, 200 + i % 1000, 2000, (uint8_t)i);
	pcap_rec(m, 9999, 0, 1 << 20, 1 << 20, 0x5a);
	for (uint32_t i = 0; i < 10; i++)
		pcap_rec(m, i, 0, 60, 60, (uint8_t)i);
}

static void compare_reads(struct pcapfile *a, struct pcapfile *b)
{
	struct vt_err ea, eb;
	struct pcap_rec ra, rb;
	int n = 0, x, y;

	for (;;) {
		x = pcapfile_next(a, &ra, &ea);
		y = pcapfile_next(b, &rb, &eb);
		CHECK_EQ(x, y);
		if (x != 1 || y != 1)
			break;
		n++;
		CHECK_EQ(ra.caplen, rb.caplen);
		CHECK_EQ(ra.wirelen, rb.wirelen);
		CHECK_EQ_U64(ra.ts_ns, rb.ts_ns);
		CHECK(ra.caplen == rb.caplen && memcmp(ra.data, rb.data, ra.caplen) == 0);
	}
	CHECK_EQ(n, 3011);
}

static pid_t writer(const struct img *m, int *rfd)
{
	int p[2];
	pid_t pid;

	if (pipe(p) < 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		size_t off = 0;
		close(p[0]);
		while (off < m->n) {
			ssize_t w = write(p[1], m->b + off, m->n - off > 7000 ? 7000 : m->n - off);
			if (w <= 0)
				_exit(1);
			off += (size_t)w;
		}
		_exit(0);
	}
	close(p[1]);
	*rfd = p[0];
	return pid;
}

static void t_file_pipe_stdin(void)
{
	struct img m = { 0 };
	struct vt_err err;
	struct pcapfile *mem, *pf;
	char path[] = "/tmp/vtap-test-pcapXXXXXX", fdpath[64];
	int fd, rfd, st;
	pid_t pid;

	build_big(&m);
	/* mapped file */
	fd = mkstemp(path);
	CHECK(fd >= 0);
	CHECK_EQ(write(fd, m.b, m.n), (ssize_t)m.n);
	close(fd);
	mem = open_img(&m, &err);
	pf = pcapfile_open(path, &err);
	CHECK(pf != NULL);
	if (pf && mem)
		compare_reads(mem, pf);
	pcapfile_close(pf);
	pcapfile_close(mem);

	/* a pipe, by path */
	pid = writer(&m, &rfd);
	snprintf(fdpath, sizeof(fdpath), "/dev/fd/%d", rfd);
	mem = open_img(&m, &err);
	pf = pcapfile_open(fdpath, &err);
	CHECK(pf != NULL);
	if (pf && mem)
		compare_reads(mem, pf);
	pcapfile_close(pf);
	pcapfile_close(mem);
	close(rfd);
	CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0);

	/* stdin, as "-" */
	{
		int saved = dup(STDIN_FILENO);
		pid = writer(&m, &rfd);
		dup2(rfd, STDIN_FILENO);
		close(rfd);
		mem = open_img(&m, &err);
		pf = pcapfile_open("-", &err);
		CHECK(pf != NULL);
		if (pf && mem) {
			CHECK_STR(pcapfile_format(pf), "pcap");
			compare_reads(mem, pf);
		}
		pcapfile_close(pf);
		pcapfile_close(mem);
		dup2(saved, STDIN_FILENO);
		close(saved);
		CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}

	/* a truncated stream: records before the damage, then the offset */
	{
		struct img t = { 0 };
		struct pcap_rec r;
		int n = 0, rc;

		pcap_hdr(&t, 0xa1b2c3d4, 2, 4, 0, 1);
		pcap_rec(&t, 1, 0, 100, 100, 1);
		pcap_rec(&t, 2, 0, 100, 100, 2);
		t.n -= 50;
		pid = writer(&t, &rfd);
		snprintf(fdpath, sizeof(fdpath), "/dev/fd/%d", rfd);
		pf = pcapfile_open(fdpath, &err);
		CHECK(pf != NULL);
		while (pf && (rc = pcapfile_next(pf, &r, &err)) == 1)
			n++;
		CHECK_EQ(n, 1);
		CHECK_CONTAINS(err.msg, "truncated record at offset 140: captured length 100, only 50");
		pcapfile_close(pf);
		close(rfd);
		waitpid(pid, &st, 0);
		free(t.b);
	}

	/* open errors name the file */
	CHECK(pcapfile_open("/nonexistent/x.pcap", &err) == NULL);
	CHECK_EQ(errno, ENOENT);
	CHECK_CONTAINS(err.msg, "/nonexistent/x.pcap: No such file");
	fd = open(path, O_WRONLY | O_TRUNC);
	close(fd);
	CHECK(pcapfile_open(path, &err) == NULL);
	CHECK_CONTAINS(err.msg, path);
	CHECK_CONTAINS(err.msg, "0 bytes");
	unlink(path);
	free(m.b);
}

VT_TEST_MAIN(VT_T(t_pcap_variants), VT_T(t_pcap_kuznetzov), VT_T(t_pcap_open_errors),
	     VT_T(t_pcap_damage), VT_T(t_pcap_odd_records), VT_T(t_pcapng_sections),
	     VT_T(t_pcapng_timestamps), VT_T(t_pcapng_damage), VT_T(t_pcapng_bounds),
	     VT_T(t_file_pipe_stdin))
