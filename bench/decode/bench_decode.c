/* bench_decode.c — ns/packet of pkt_decode_frame() on a realistic traffic
 * mix and on real captures, and of the reader + decoder on a file.
 *
 *	bench_decode mix N PASSES [OUT.pcap]   synthetic mix of N frames
 *	bench_decode files PASSES FILE...      every record of the files
 *	bench_decode read FILE                 pcapfile + decoder, one pass
 *
 * The mix (documented in docs/decoder.md) is what a hypervisor port sees:
 * 20000 flows picked with a skew, mostly IPv4 TCP with a share of UDP,
 * IPv6, VLAN tags, ICMP, fragments, ARP and IPv6 extension headers, frame
 * sizes from 60 to 1514 (only the first 128 bytes are kept, as a snap
 * length would). Frames are built once
 * in memory, then decoded PASSES times; the figure is wall time / frames.
 * With OUT.pcap the mix is also written as a capture, so the peers in
 * bench/decode/run.sh decode exactly the same frames. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/be.h"
#include "pkt/pcapfile.h"
#include "pkt/pkt.h"

#define SNAP 128

struct frame {
	uint32_t off, caplen, wirelen;
	int link;
};

struct set {
	uint8_t *buf;
	size_t len, cap;
	struct frame *f;
	size_t n, fcap;
};

static void set_add(struct set *s, int link, const uint8_t *p, uint32_t caplen, uint32_t wirelen)
{
	if (s->len + caplen > s->cap) {
		s->cap = (s->len + caplen) * 2;
		s->buf = realloc(s->buf, s->cap);
	}
	if (s->n == s->fcap) {
		s->fcap = s->fcap ? s->fcap * 2 : 1024;
		s->f = realloc(s->f, s->fcap * sizeof(*s->f));
	}
	if (!s->buf || !s->f) {
		fprintf(stderr, "out of memory\n");
		exit(1);
	}
	memcpy(s->buf + s->len, p, caplen);
	s->f[s->n++] = (struct frame){ (uint32_t)s->len, caplen, wirelen, link };
	s->len += caplen;
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* xorshift: reproducible mixes */
static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint32_t rnd(uint32_t n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng % n);
}

/* A flow of the mix: what stays the same for all its frames. */
struct mflow {
	bool arp, v6, vlan, ext, frag, tcpopt;
	uint8_t proto;
	uint16_t vid, sport, dport;
	uint32_t a, b;
};

#define NFLOWS 20000
static struct mflow flows[NFLOWS];

static void mix_flows(void)
{
	for (unsigned i = 0; i < NFLOWS; i++) {
		struct mflow *f = &flows[i];
		uint32_t r = rnd(1000);

		/* share of each class, per mille of flows */
		f->arp = r < 10;
		f->vlan = rnd(100) < 20;
		f->v6 = rnd(100) < 15;
		f->proto = r < 700 ? 6 : r < 950 ? 17 : 1;
		if (f->v6 && f->proto == 1)
			f->proto = 58;
		f->frag = !f->v6 && f->proto == 17 && rnd(100) < 4;
		f->ext = f->v6 && rnd(100) < 10;
		f->tcpopt = rnd(100) < 30;
		f->vid = (uint16_t)(1 + rnd(4000));
		f->sport = (uint16_t)(1024 + rnd(60000));
		f->dport = f->proto == 17 ? 53 : rnd(2) ? 443 : 80;
		/* addresses spread over the unicast space: tcpdump's address
		 * cache hashes the first octets and crawls on one /16 */
		f->a = (1 + rnd(223)) << 24 | rnd(1u << 24);
		f->b = (1 + rnd(223)) << 24 | rnd(1u << 24);
	}
}

/* One frame of the mix into <b>; returns the wire length, *caplen set.
 * Flows are picked with a skew (a few heavy hitters, a long tail). */
static uint32_t mix_frame(uint8_t *b, uint32_t *caplen)
{
	const struct mflow *f = &flows[rnd(rnd(NFLOWS) + 1)];
	uint32_t n = 0, wire, l4len, iphl, r;

	memset(b, 0, SNAP);
	if (f->arp) {
		memset(b, 0xff, 6);
		st_be16(b + 12, 0x0806);
		*caplen = 60;
		return 60;
	}
	/* sizes: 40% small (ACKs, DNS), 15% medium, 45% full; never below
	 * the headers (the mix holds no malformed frames) */
	r = rnd(100);
	wire = r < 40 ? 60 + rnd(40) : r < 55 ? 200 + rnd(800) : 1514;
	iphl = (f->v6 ? 40 : 20) + (f->ext ? 8 : 0);
	l4len = f->proto == 6 ? 20 + (f->tcpopt ? 12 : 0) : 8;
	if (wire < 14 + (f->vlan ? 4u : 0) + iphl + l4len)
		wire = 14 + (f->vlan ? 4u : 0) + iphl + l4len;
	b[0] = 0x52; b[5] = 0x01; b[6] = 0x52; b[11] = 0x02;
	n = 12;
	if (f->vlan) {
		st_be16(b + n, 0x8100);
		st_be16(b + n + 2, f->vid);
		n += 4;
	}
	st_be16(b + n, f->v6 ? 0x86dd : 0x0800);
	n += 2;
	if (!f->v6) {
		b[n] = 0x45;
		st_be16(b + n + 2, (uint16_t)(wire - n));
		if (f->frag)
			st_be16(b + n + 6, rnd(2) ? 0x2000 : (uint16_t)(185 * (1 + rnd(3))));
		b[n + 8] = 64;
		b[n + 9] = f->proto;
		st_be32(b + n + 12, f->a);
		st_be32(b + n + 16, f->b);
	} else {
		b[n] = 0x60;
		st_be16(b + n + 4, (uint16_t)(wire - n - 40));
		b[n + 6] = f->ext ? 0 : f->proto;
		b[n + 7] = 64;
		b[n + 8] = 0x20; b[n + 9] = 0x01; st_be32(b + n + 20, f->a);
		b[n + 24] = 0x20; b[n + 25] = 0x01; st_be32(b + n + 36, f->b);
		if (f->ext) { /* hop-by-hop with a router alert */
			b[n + 40] = f->proto;
			b[n + 41] = 0;
			b[n + 42] = 5;
			b[n + 43] = 2;
		}
	}
	n += iphl;
	if (f->proto == 6) {
		st_be16(b + n, f->sport);
		st_be16(b + n + 2, f->dport);
		b[n + 12] = (uint8_t)((l4len / 4) << 4);
		b[n + 13] = rnd(20) ? 0x10 : 0x02;
	} else if (f->proto == 17) {
		st_be16(b + n, f->sport);
		st_be16(b + n + 2, f->dport);
		st_be16(b + n + 4, (uint16_t)(wire - n));
	} else {
		b[n] = f->proto == 1 ? 8 : 128;
	}
	*caplen = wire < SNAP ? wire : SNAP;
	return wire;
}

static void write_pcap(const struct set *s, const char *path)
{
	FILE *fp = fopen(path, "wb");
	uint8_t h[24] = { 0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0 };

	if (!fp) {
		perror(path);
		exit(1);
	}
	h[16] = SNAP;
	h[20] = 1;
	fwrite(h, 1, 24, fp);
	for (size_t i = 0; i < s->n; i++) {
		uint32_t rh[4] = { (uint32_t)(1700000000 + i / 100000), (uint32_t)(i % 100000) * 10,
				   s->f[i].caplen, s->f[i].wirelen };
		fwrite(rh, 4, 4, fp); /* little-endian host, as the header says */
		fwrite(s->buf + s->f[i].off, 1, s->f[i].caplen, fp);
	}
	if (fclose(fp) != 0) {
		perror(path);
		exit(1);
	}
}

static double run(const struct set *s, unsigned passes, uint64_t *ip, uint64_t *l4)
{
	struct pkt_info pi;
	uint64_t t0, t1, sum = 0;

	*ip = *l4 = 0;
	t0 = now_ns();
	for (unsigned p = 0; p < passes; p++) {
		for (size_t i = 0; i < s->n; i++) {
			const struct frame *f = &s->f[i];
			int r = pkt_decode_frame(&pi, f->link, s->buf + f->off, f->caplen, f->wirelen);
			*ip += r == 0;
			*l4 += pi.has_l4;
			sum += pi.ip_len + pi.sport;
		}
	}
	t1 = now_ns();
	if (sum == 42) /* keep the loop's results alive */
		fprintf(stderr, "#");
	return (double)(t1 - t0) / ((double)s->n * passes);
}

static int load(struct set *s, const char *path)
{
	struct vt_err err;
	struct pcapfile *pf = pcapfile_open(path, &err);
	struct pcap_rec rec;

	if (!pf) {
		fprintf(stderr, "%s\n", err.msg);
		return -1;
	}
	while (pcapfile_next(pf, &rec, &err) == 1)
		set_add(s, rec.link, rec.data, rec.caplen, rec.wirelen);
	pcapfile_close(pf);
	return 0;
}

int main(int argc, char **argv)
{
	struct set s = { 0 };
	uint64_t ip, l4;
	double ns;

	if (argc >= 4 && strcmp(argv[1], "mix") == 0) {
		size_t n = strtoul(argv[2], NULL, 10);
		unsigned passes = (unsigned)strtoul(argv[3], NULL, 10);
		uint8_t b[SNAP];

		mix_flows();
		for (size_t i = 0; i < n; i++) {
			uint32_t caplen, wire = mix_frame(b, &caplen);
			set_add(&s, PKT_LINK_ETHERNET, b, caplen, wire);
		}
		if (argc >= 5)
			write_pcap(&s, argv[4]);
		run(&s, 1, &ip, &l4); /* warm up */
		ns = run(&s, passes, &ip, &l4);
		printf("mix: %zu frames x %u passes: %.1f ns/frame (%.1f Mpps), %" PRIu64
		       " IP, %" PRIu64 " with L4 per pass\n",
		       s.n, passes, ns, 1000.0 / ns, ip / passes, l4 / passes);
	} else if (argc >= 4 && strcmp(argv[1], "files") == 0) {
		unsigned passes = (unsigned)strtoul(argv[2], NULL, 10);
		for (int i = 3; i < argc; i++)
			if (load(&s, argv[i]) < 0)
				return 1;
		run(&s, 1, &ip, &l4);
		ns = run(&s, passes, &ip, &l4);
		printf("corpus: %d files, %zu frames x %u passes: %.1f ns/frame (%.1f Mpps), %" PRIu64
		       " IP per pass\n",
		       argc - 3, s.n, passes, ns, 1000.0 / ns, ip / passes);
	} else if (argc == 3 && strcmp(argv[1], "read") == 0) {
		struct vt_err err;
		struct pcapfile *pf;
		struct pcap_rec rec;
		struct pkt_info pi;
		uint64_t t0 = now_ns(), n = 0;

		pf = pcapfile_open(argv[2], &err);
		if (!pf) {
			fprintf(stderr, "%s\n", err.msg);
			return 1;
		}
		ip = 0;
		while (pcapfile_next(pf, &rec, &err) == 1) {
			ip += pkt_decode_frame(&pi, rec.link, rec.data, rec.caplen, rec.wirelen) == 0;
			n++;
		}
		pcapfile_close(pf);
		ns = (double)(now_ns() - t0) / (double)n;
		printf("read+decode: %" PRIu64 " records: %.1f ns/record (%.1f Mpps), %" PRIu64
		       " IP\n", n, ns, 1000.0 / ns, ip);
	} else {
		fprintf(stderr, "usage: %s mix N PASSES [OUT.pcap] | files PASSES FILE... | read FILE\n",
			argv[0]);
		return 2;
	}
	free(s.buf);
	free(s.f);
	return 0;
}
