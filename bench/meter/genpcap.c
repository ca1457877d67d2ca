/* genpcap.c — writes a synthetic but realistic capture for the offline
 * metering benchmark (bench/meter/run.sh, documented in docs/meter.md).
 *
 *	genpcap -o FILE [-n PACKETS] [-s SEED] [-r CONV_PER_S] [-6 V6_PERCENT]
 *
 * Traffic model: conversations start as a Poisson process (-r per second
 * of capture time, default 5000). Each is TCP (70 %), UDP (25 %) or ICMP
 * echo (5 %), over IPv6 for -6 percent of them (default 20), between a
 * client in 198.18.0.0/16 (2001:db8:1::/48) and one of 4096 servers in
 * 198.19.0.0/16 (2001:db8:2::/48). Sizes are Zipf-like (P(k) ~ k^-1.5, up
 * to 20000 packets), so most conversations are short and a few carry
 * most packets. TCP has a SYN, SYN/ACK, ACK handshake, data from the
 * server (1500 B) acknowledged by the client (52 B), and FIN from each
 * side; UDP alternates requests (60-300 B) and larger answers; ICMP
 * alternates echo request and reply. Packets of one conversation are
 * spaced by exponential gaps (mean 20 ms, capped so a conversation lasts
 * at most 90 s, which exercises the 60 s active timeout). Conversations
 * are interleaved in time order through a heap.
 *
 * Frames are Ethernet; the capture keeps the first 96 bytes of each
 * (headers) and records the real length, as a snap-length capture does,
 * so 10 million packets take about 1 GB. Deterministic for a seed. No
 * checksums (no meter verifies them). */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SNAP 96
#define ZIPF_MAX 20000
#define NSERVERS 4096

static uint64_t rng_s;

static uint64_t rnd(void)
{
	rng_s ^= rng_s >> 12;
	rng_s ^= rng_s << 25;
	rng_s ^= rng_s >> 27;
	return rng_s * 0x2545F4914F6CDD1Dull;
}

static double unif(void)
{
	return (double)(rnd() >> 11) / 9007199254740992.0;
}

static double expo(double mean)
{
	return -mean * log(1.0 - unif());
}

static double zipf_cdf[ZIPF_MAX + 1];

static void zipf_init(double a)
{
	double sum = 0;

	for (int k = 1; k <= ZIPF_MAX; k++)
		sum += pow(k, -a);
	zipf_cdf[0] = 0;
	for (int k = 1; k <= ZIPF_MAX; k++)
		zipf_cdf[k] = zipf_cdf[k - 1] + pow(k, -a) / sum;
}

static int zipf(void)
{
	double u = unif();
	int lo = 1, hi = ZIPF_MAX;

	while (lo < hi) {
		int mid = (lo + hi) / 2;
		if (zipf_cdf[mid] < u)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

struct conv {
	double next_t;     /* time of its next packet */
	double gap;        /* mean gap */
	uint32_t sent, total;
	uint8_t proto, v6;
	uint32_t cli, srv;
	uint16_t cport, sport;
};

/* a binary min-heap of conversations by next_t */
static struct conv *heap;
static size_t hn, hcap;

static void hpush(struct conv c)
{
	size_t i;

	if (hn == hcap) {
		hcap = hcap ? hcap * 2 : 1024;
		heap = realloc(heap, hcap * sizeof(*heap));
		if (!heap) {
			perror("realloc");
			exit(1);
		}
	}
	i = hn++;
	while (i && heap[(i - 1) / 2].next_t > c.next_t) {
		heap[i] = heap[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	heap[i] = c;
}

static void hsift(size_t i)
{
	struct conv c = heap[i];

	for (;;) {
		size_t l = 2 * i + 1, m = i;
		double mt = c.next_t;
		if (l < hn && heap[l].next_t < mt) {
			m = l;
			mt = heap[l].next_t;
		}
		if (l + 1 < hn && heap[l + 1].next_t < mt)
			m = l + 1;
		if (m == i)
			break;
		heap[i] = heap[m];
		i = m;
	}
	heap[i] = c;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static void le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

/* frame() : builds the first SNAP bytes of packet <i> of <c>; returns
 * the frame's wire length. */
static uint32_t frame(const struct conv *c, uint8_t *f, uint32_t i)
{
	bool from_cli;
	uint32_t l4len, iplen, hl = c->v6 ? 40 : 20;
	uint8_t flags = 0;
	uint8_t *ip = f + 14, *l4;
	uint32_t a = c->cli, b = c->srv;

	memset(f, 0, SNAP);
	if (c->proto == 6) {
		/* SYN, SYN/ACK, ACK, then 3 server segments per client ACK,
		 * FIN from the client, FIN from the server */
		if (i == 0) {
			from_cli = true;
			flags = 0x02;
		} else if (i == 1) {
			from_cli = false;
			flags = 0x12;
		} else if (i == c->total - 2) {
			from_cli = true;
			flags = 0x11;
		} else if (i == c->total - 1) {
			from_cli = false;
			flags = 0x11;
		} else {
			from_cli = (i % 4) == 2;
			flags = from_cli ? 0x10 : 0x18;
		}
		l4len = 20 + (from_cli || i < 2 ? 0 : 1460 - (c->v6 ? 20 : 0));
		if (i < 2)
			l4len = 32; /* SYN options */
	} else if (c->proto == 17) {
		from_cli = (i % 2) == 0;
		l4len = 8 + (from_cli ? 52 + (c->cport % 240) : 120 + (c->sport % 1200));
	} else {
		from_cli = (i % 2) == 0;
		l4len = 64;
	}
	iplen = hl + l4len;
	/* Ethernet */
	f[0] = 0x52;
	f[1] = 0x54;
	put32(f + 2, from_cli ? b : a);
	f[6] = 0x52;
	f[7] = 0x54;
	put32(f + 8, from_cli ? a : b);
	if (!from_cli) {
		uint32_t t = a;
		a = b;
		b = t;
	}
	if (c->v6) {
		put16(f + 12, 0x86dd);
		ip[0] = 0x60;
		put16(ip + 4, (uint16_t)l4len);
		ip[6] = c->proto == 1 ? 58 : c->proto;
		ip[7] = 64;
		put32(ip + 8, 0x20010db8);
		put32(ip + 12, (a >> 31) ? 0x00020000 : 0x00010000);
		put32(ip + 20, a & 0x7fffffff);
		put32(ip + 24, 0x20010db8);
		put32(ip + 28, (b >> 31) ? 0x00020000 : 0x00010000);
		put32(ip + 36, b & 0x7fffffff);
	} else {
		put16(f + 12, 0x0800);
		ip[0] = 0x45;
		put16(ip + 2, (uint16_t)iplen);
		put16(ip + 4, (uint16_t)i);
		ip[8] = 64;
		ip[9] = c->proto;
		put32(ip + 12, (a >> 31) ? (0xc6130000 | (a & 0xffff)) : (0xc6120000 | (a & 0xffff)));
		put32(ip + 16, (b >> 31) ? (0xc6130000 | (b & 0xffff)) : (0xc6120000 | (b & 0xffff)));
	}
	l4 = ip + hl;
	if (c->proto == 6) {
		put16(l4, from_cli ? c->cport : c->sport);
		put16(l4 + 2, from_cli ? c->sport : c->cport);
		put32(l4 + 4, i * 1460);
		l4[12] = (uint8_t)((i < 2 ? 8 : 5) << 4);
		l4[13] = flags;
		put16(l4 + 14, 65535);
	} else if (c->proto == 17) {
		put16(l4, from_cli ? c->cport : c->sport);
		put16(l4 + 2, from_cli ? c->sport : c->cport);
		put16(l4 + 4, (uint16_t)l4len);
	} else {
		l4[0] = c->v6 ? (from_cli ? 128 : 129) : (from_cli ? 8 : 0);
		put16(l4 + 4, c->cport);
		put16(l4 + 6, (uint16_t)(i / 2));
	}
	return 14 + iplen;
}

int main(int argc, char **argv)
{
	const char *out = NULL;
	uint64_t npk = 10000000, seed = 1;
	double rate = 5000, v6share = 20, t = 1700000000.0;
	uint64_t written = 0, convs = 0;
	uint8_t hdr[24], rec[16], f[SNAP];
	FILE *fp;
	int opt;

	while ((opt = getopt(argc, argv, "o:n:s:r:6:")) != -1) {
		switch (opt) {
		case 'o': out = optarg; break;
		case 'n': npk = strtoull(optarg, NULL, 10); break;
		case 's': seed = strtoull(optarg, NULL, 10); break;
		case 'r': rate = strtod(optarg, NULL); break;
		case '6': v6share = strtod(optarg, NULL); break;
		default:
			fprintf(stderr, "usage: genpcap -o FILE [-n PACKETS] [-s SEED] [-r CONV_PER_S] [-6 V6_PERCENT]\n");
			return 2;
		}
	}
	if (!out || rate <= 0 || npk == 0) {
		fprintf(stderr, "genpcap: -o FILE is required; -n and -r must be positive\n");
		return 2;
	}
	rng_s = seed * 0x9E3779B97F4A7C15ull + 1;
	zipf_init(1.5);
	fp = fopen(out, "wb");
	if (!fp) {
		fprintf(stderr, "genpcap: %s: %s\n", out, strerror(errno));
		return 1;
	}
	setvbuf(fp, NULL, _IOFBF, 1 << 20);
	memset(hdr, 0, sizeof(hdr));
	le32(hdr, 0xa1b2c3d4);
	hdr[4] = 2;
	hdr[6] = 4;
	le32(hdr + 16, SNAP);
	le32(hdr + 20, 1);
	fwrite(hdr, 1, sizeof(hdr), fp);

	double next_start = t;
	while (written < npk) {
		struct conv *c;
		uint32_t wl, cl;
		/* start the conversations due before the next packet */
		while (hn == 0 || next_start <= heap[0].next_t) {
			struct conv n = { 0 };
			double u = unif() * 100;
			n.proto = u < 70 ? 6 : u < 95 ? 17 : 1;
			n.v6 = unif() * 100 < v6share;
			n.total = (uint32_t)zipf();
			if (n.proto == 6)
				n.total += 4;
			else if (n.proto == 1)
				n.total *= 2;
			n.cli = (uint32_t)(rnd() & 0x7fffffff);
			n.srv = 0x80000000u | (uint32_t)(rnd() % NSERVERS);
			n.cport = (uint16_t)(32768 + rnd() % 28000);
			n.sport = n.proto == 17 ? (rnd() % 4 ? 53 : 123) :
				  (uint16_t)(rnd() % 10 < 6 ? 443 : rnd() % 2 ? 80 : 22);
			n.gap = 0.02;
			if (n.total * n.gap > 90.0)
				n.gap = 90.0 / n.total;
			n.next_t = next_start;
			hpush(n);
			convs++;
			next_start += expo(1.0 / rate);
		}
		c = &heap[0];
		wl = frame(c, f, c->sent);
		cl = wl < SNAP ? wl : SNAP;
		{
			double ts = c->next_t;
			uint32_t sec = (uint32_t)ts, usec = (uint32_t)((ts - sec) * 1e6);
			le32(rec, sec);
			le32(rec + 4, usec);
			le32(rec + 8, cl);
			le32(rec + 12, wl);
		}
		fwrite(rec, 1, sizeof(rec), fp);
		fwrite(f, 1, cl, fp);
		written++;
		if (++c->sent == c->total) {
			heap[0] = heap[--hn];
		} else {
			c->next_t += expo(c->gap);
		}
		if (hn)
			hsift(0);
	}
	if (fclose(fp) != 0) {
		fprintf(stderr, "genpcap: %s: %s\n", out, strerror(errno));
		return 1;
	}
	fprintf(stderr, "genpcap: %llu packets, %llu conversations, %.1f s of traffic\n",
		(unsigned long long)written, (unsigned long long)convs, next_start - 1700000000.0);
	return 0;
}
