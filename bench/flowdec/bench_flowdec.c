/* bench_flowdec.c — how fast the collector's decoders turn datagrams into
 * flow records (lib/wire/flowdec.h). Built by bench/flowdec/run.sh.
 *
 *   bench_flowdec mem N [room]   decode N datagrams held in memory, report
 *                                CPU ns per record and per datagram; with
 *                                "room", records are built in place in a
 *                                ring of collector-sized rows (flowdec_ops
 *                                .room), as the collector's ingest does
 *   bench_flowdec pcap N FILE    write the same N datagrams as a pcap (for
 *                                vtap flowdecode and tshark)
 *
 * The mix: three exporters in turn — IPFIX (an 18-field template: v4
 * addresses, ports, protocol, flags, ToS, interfaces, 64-bit counters,
 * millisecond times, AS numbers, masks, next hop; 30 records a message),
 * NetFlow v9 (the same fields with uptime times; 30 records) and NetFlow v5
 * (30 records). Each exporter sends its templates first. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/be.h"
#include "wire/flowdec.h"

#define RECS 30

static const uint16_t ies[18][2] = {
	{ 8, 4 }, { 12, 4 }, { 7, 2 }, { 11, 2 }, { 4, 1 }, { 6, 1 }, { 5, 1 }, { 10, 4 },
	{ 14, 4 }, { 1, 8 }, { 2, 8 }, { 152, 8 }, { 153, 8 }, { 16, 4 }, { 17, 4 },
	{ 9, 1 }, { 13, 1 }, { 15, 4 },
};

struct dgram {
	uint8_t b[4096];
	size_t len;
	uint8_t exporter;
};

static void field_value(struct vt_wr *w, int i, uint16_t ie, uint16_t len, uint32_t n)
{
	uint64_t v = (uint64_t)n * 2654435761u + (uint64_t)i;

	if (ie == 152 || ie == 153)
		v = 1700000000000ull + n % 100000;
	else if (ie == 22 || ie == 21)
		v = 1000000 + n % 1000;
	wr_uint(w, v, len);
}

/* Message <n> of exporter <e> (0 IPFIX, 1 v9, 2 v5); n == 0: templates. */
static void build(struct dgram *d, int e, uint32_t n, uint32_t *seq)
{
	struct vt_wr w = wr_init(d->b, sizeof(d->b));
	uint8_t *len = NULL, *set;

	d->exporter = (uint8_t)(e + 1);
	if (e == 2) {
		wr_u16(&w, 5);
		wr_u16(&w, RECS);
		wr_u32(&w, 2000000);
		wr_u32(&w, 1700000000);
		wr_u32(&w, 0);
		wr_u32(&w, *seq);
		wr_u32(&w, 0);
		for (int r = 0; r < RECS; r++)
			for (int k = 0; k < 12; k++)
				wr_u32(&w, n * 31u + (uint32_t)(r * 12 + k));
		*seq += RECS;
		d->len = wr_len(&w);
		if (wr_failed(&w))
			abort();
		return;
	}
	if (e == 0) {
		wr_u16(&w, 10);
		len = wr_reserve(&w, 2);
		wr_u32(&w, 1700000000);
		wr_u32(&w, *seq);
		wr_u32(&w, 1);
	} else {
		wr_u16(&w, 9);
		wr_u16(&w, n ? RECS : 1);
		wr_u32(&w, 2000000);
		wr_u32(&w, 1700000000);
		wr_u32(&w, *seq);
		wr_u32(&w, 1);
	}
	set = w.p;
	if (n == 0) {
		wr_u16(&w, e == 0 ? 2 : 0);
		wr_u16(&w, 0);
		wr_u16(&w, 256);
		wr_u16(&w, 18);
		for (int i = 0; i < 18; i++) {
			uint16_t ie = ies[i][0];
			if (e == 1 && (ie == 152 || ie == 153))
				ie = ie == 152 ? 22 : 21;
			wr_u16(&w, ie);
			wr_u16(&w, e == 1 && (ie == 22 || ie == 21) ? 4 : ies[i][1]);
		}
	} else {
		wr_u16(&w, 256);
		wr_u16(&w, 0);
		for (int r = 0; r < RECS; r++)
			for (int i = 0; i < 18; i++) {
				uint16_t ie = ies[i][0], l = ies[i][1];
				if (e == 1 && (ie == 152 || ie == 153)) {
					ie = ie == 152 ? 22 : 21;
					l = 4;
				}
				field_value(&w, r * 18 + i, ie, l, n);
			}
		*seq += e == 0 ? RECS : 1;
	}
	st_be16(set + 2, (uint16_t)(w.p - set));
	if (len)
		st_be16(len, (uint16_t)wr_len(&w));
	if (wr_failed(&w))
		abort();   /* the generator's own buffer is too small */
	if (e == 1 && n == 0)
		(*seq)++;
	d->len = wr_len(&w);
}

static struct dgram *make(long n)
{
	struct dgram *d = calloc((size_t)n, sizeof(*d));
	uint32_t seq[3] = { 0 };

	for (long i = 0; d && i < n; i++)
		build(&d[i], (int)(i % 3), (uint32_t)(i / 3), &seq[i % 3]);
	return d;
}

static uint64_t records;

/* the collector's batch: 512 rows of a record and its attribution */
static struct {
	struct flow_rec rec;
	uint8_t attr[208];
} rows[512];
static unsigned row_at;

static void on_rec(void *arg, const struct flow_rec *r, const struct flowdec_src *s)
{
	(void)arg;
	(void)s;
	records += r->packets != 0;
	if (r != &rows[row_at].rec)
		rows[row_at].rec = *r;
	row_at = (row_at + 1) % 512;
}

static struct flow_rec *on_room(void *arg)
{
	(void)arg;
	return &rows[row_at].rec;
}

static double cpu_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int bench_mem(long n, bool room)
{
	struct dgram *d = make(n);
	struct flowdec_conf conf;
	struct flowdec_ops ops = { on_rec, NULL, room ? on_room : NULL };

	flowdec_conf_defaults(&conf);
	struct flowdec *fd = flowdec_new(&conf, &ops, NULL);
	if (!d || !fd)
		return 1;
	double t0 = cpu_s();
	for (long i = 0; i < n; i++) {
		struct vt_addr a = { { [10] = 0xff, [11] = 0xff, [12] = 10, [15] = d[i].exporter } };
		flowdec_input(fd, &a, 1, 1700000000000ull, d[i].b, d[i].len, (uint64_t)i);
	}
	double t = cpu_s() - t0;
	struct flowdec_stats st;
	flowdec_stats(fd, &st);
	printf("flowdec in memory: %ld datagrams, %llu records: %.1f ns/record, %.0f ns/datagram, "
	       "%.2f M records/s (CPU)\n", n, (unsigned long long)st.records,
	       t * 1e9 / (double)st.records, t * 1e9 / (double)n, (double)st.records / t / 1e6);
	flowdec_free(fd);
	free(d);
	return records == st.records ? 0 : 1;
}

static int write_pcap(long n, const char *path)
{
	struct dgram *d = make(n);
	FILE *fp = fopen(path, "wb");
	uint8_t h[24], rh[16 + 42];

	if (!d || !fp)
		return 1;
	st_be32(h, 0xa1b2c3d4);
	st_be16(h + 4, 2);
	st_be16(h + 6, 4);
	memset(h + 8, 0, 8);
	st_be32(h + 16, 65535);
	st_be32(h + 20, 1);
	fwrite(h, 1, 24, fp);   /* a big-endian pcap: readers detect it */
	for (long i = 0; i < n; i++) {
		struct vt_wr w = wr_init(rh, sizeof(rh));
		uint32_t caplen = (uint32_t)(42 + d[i].len);
		wr_u32(&w, 1700000000 + (uint32_t)(i / 1000));
		wr_u32(&w, (uint32_t)(i % 1000) * 1000);
		wr_u32(&w, caplen);
		wr_u32(&w, caplen);
		wr_zero(&w, 12);
		wr_u16(&w, 0x0800);
		wr_u8(&w, 0x45);
		wr_u8(&w, 0);
		wr_u16(&w, (uint16_t)(28 + d[i].len));
		wr_u32(&w, 0);
		wr_u8(&w, 64);
		wr_u8(&w, 17);
		wr_u16(&w, 0);
		wr_u32(&w, 0x0a000000u | d[i].exporter);
		wr_u32(&w, 0x0a0000feu);
		wr_u16(&w, 40000);
		wr_u16(&w, 2055);
		wr_u16(&w, (uint16_t)(8 + d[i].len));
		wr_u16(&w, 0);
		fwrite(rh, 1, wr_len(&w), fp);
		fwrite(d[i].b, 1, d[i].len, fp);
	}
	free(d);
	return fclose(fp) ? 1 : 0;
}

int main(int argc, char **argv)
{
	if (argc >= 3 && strcmp(argv[1], "mem") == 0)
		return bench_mem(strtol(argv[2], NULL, 10), argc >= 4 && !strcmp(argv[3], "room"));
	if (argc >= 4 && strcmp(argv[1], "pcap") == 0)
		return write_pcap(strtol(argv[2], NULL, 10), argv[3]);
	fprintf(stderr, "usage: bench_flowdec mem N [room] | pcap N FILE\n");
	return 2;
}
