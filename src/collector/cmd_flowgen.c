/* cmd_flowgen.c — `vtap flowgen` (hidden): a flow-export load generator
 * for the collector's tests and benchmarks.
 *
 * It plays N exporters (distinct source addresses: exporter i sends from
 * --src-base + i, set per datagram with IP_PKTINFO / IPV6_PKTINFO, so one
 * socket serves 10,000 exporters), each with its own template (id and
 * layout depend on the exporter), and sends IPFIX or NetFlow v9 over UDP
 * (sendmmsg batches, paced to --rate records/s by sleeping, or with
 * --spin by busy-waiting; with --gso, runs of equal-length messages leave
 * in one UDP GSO send) or IPFIX over TCP. Every
 * record is predictable so tests can check what was stored:
 *	exporter e, record n (per exporter, from --record-start):
 *	src 10.E2.E1.E0 (e), dst 198.51.100.(n % 250 + 1), ports 1024 + n % 60000
 *	-> 443 (n % 10 == 0) / 53 (udp, n % 7 == 0) / 80, bytes 40 + n * 37 % 1500,
 *	packets 1 + n % 10, ingressInterface n (32 bits), egressInterface e,
 *	flowStart/EndMilliseconds: the send time.
 * It prints what it sent (records, bytes, packets, sequence numbers) as
 * JSON. --templates never and --seq-start/--record-start continue an
 * earlier run as the same exporter (restart tests). Over TCP it checks
 * for the collector's FIN before each message and then closes and
 * reconnects (the behaviour the collector's graceful stop expects). */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "cli/commands.h"
#include "collector/udpsock.h"
#include "core/be.h"
#include "core/compiler.h"
#include "core/out.h"
#include "core/timeutil.h"

#define GEN_BATCH 64
#define GEN_MSG_MAX 65000
#define GEN_BURST 8         /* messages per send when paced */
#define GEN_GSO_SEGS 64     /* UDP_MAX_SEGMENTS of older kernels */
/* Paced: how far behind its schedule a sender catches up (the rest of a
 * stall's debt is dropped, and counted). Sleeping, late wake-ups of a few
 * ms are routine on a virtual machine (an idle vCPU waits for its host):
 * those are caught up. Spinning (--spin) keeps the stream smooth, and a
 * stall past 2 ms is not sent on as a burst. */
#define GEN_MAX_LAG_SLEEP_NS 1000000000u
#define GEN_MAX_LAG_SPIN_NS 2000000u
#define GEN_MAX_EXPORTERS 1000000

enum gen_fmt { GEN_IPFIX = 0, GEN_NFV9 = 1 };
enum gen_tmpl { GT_ONCE = 0, GT_EVERY, GT_NEVER, GT_INTERVAL };

static const char *const fmt_names[] = { "ipfix", "nfv9", NULL };
static const char *const tmpl_names[] = { "once", "every", "never", "interval", NULL };

struct flowgen_opts {
	const char *to, *tcp;
	int format;
	uint64_t exporters, first;
	const char *src_base;
	uint64_t sport;
	uint64_t records;
	uint64_t duration_ms;
	uint64_t rate;
	uint64_t per_msg;
	uint64_t mtu;
	int templates;
	uint64_t tmpl_every;
	uint64_t seq_start, record_start;
	uint64_t domain;
	bool gso;
	bool spin;
	bool pretty;
};

#define O(f) offsetof(struct flowgen_opts, f)
static const struct opt_def flowgen_opt_defs[] = {
	{ "to", 't', OPT_STR, O(to), "HOST:PORT", "send over UDP to this collector", 0, 0, NULL, NULL },
	{ "tcp", 0, OPT_STR, O(tcp), "HOST:PORT", "send IPFIX over TCP to this collector", 0, 0, NULL,
	  NULL },
	{ "format", 'f', OPT_ENUM, O(format), "FMT", "ipfix or nfv9 (UDP only)", 0, 0, fmt_names,
	  "ipfix" },
	{ "exporters", 'e', OPT_UINT, O(exporters), "N", "exporters to play (needs --src-base when > 1)",
	  1, GEN_MAX_EXPORTERS, NULL, "1" },
	{ "first-exporter", 0, OPT_UINT, O(first), "I",
	  "number of the first exporter played (its records and template follow from it; "
	  "split a population over several processes)", 0, GEN_MAX_EXPORTERS, NULL, "0" },
	{ "src-base", 0, OPT_STR, O(src_base), "ADDR",
	  "source address of exporter 0; exporter i sends from ADDR + i (must be local, e.g. 127.1.0.1)",
	  0, 0, NULL, NULL },
	{ "sport", 0, OPT_UINT, O(sport), "PORT", "source port (0: any)", 0, 65535, NULL, "0" },
	{ "records", 'n', OPT_UINT, O(records), "N", "records per exporter (0: until --duration)", 0,
	  UINT64_MAX, NULL, "1000" },
	{ "duration", 'd', OPT_DURATION, O(duration_ms), "DUR",
	  "stop after this long (0: when --records are sent)", 0, 86400000, NULL, "0" },
	{ "rate", 'r', OPT_UINT, O(rate), "RECS",
	  "records per second, all exporters (0: as fast as possible); a sender that falls behind "
	  "catches up at most 1 s worth (--spin: 2 ms)",
	  0, UINT64_MAX, NULL, "0" },
	{ "per-msg", 0, OPT_UINT, O(per_msg), "N", "records per message (0: as many as --mtu allows)",
	  0, 1000, NULL, "0" },
	{ "mtu", 0, OPT_UINT, O(mtu), "BYTES", "largest message", 256, GEN_MSG_MAX, NULL, "1400" },
	{ "templates", 0, OPT_ENUM, O(templates), "WHEN",
	  "templates in each exporter's first message (once), in every message, never, or every "
	  "--template-every messages (interval)", 0, 0, tmpl_names, "once" },
	{ "template-every", 0, OPT_UINT, O(tmpl_every), "N", "messages between templates (interval)",
	  1, UINT32_MAX, NULL, "100" },
	{ "seq-start", 0, OPT_UINT, O(seq_start), "N",
	  "first sequence number (IPFIX: records before; v9: packets before)", 0, UINT32_MAX, NULL, "0" },
	{ "record-start", 0, OPT_UINT, O(record_start), "N", "number of each exporter's first record", 0,
	  UINT32_MAX, NULL, "0" },
	{ "domain", 0, OPT_UINT, O(domain), "ID", "observation domain / source id", 0, UINT32_MAX, NULL,
	  "1" },
	{ "gso", 0, OPT_FLAG, O(gso), NULL,
	  "send runs of equal-length messages as one UDP GSO send (UDP_SEGMENT): the collector "
	  "still gets one datagram per message, the generator spends less per message (one exporter)",
	  0, 0, NULL, NULL },
	{ "spin", 0, OPT_FLAG, O(spin), NULL,
	  "pace --rate by busy-waiting on the clock, not sleeping (a core of its own): no bursts "
	  "after late wake-ups; a stall's debt past 2 ms is dropped, counted in lag_dropped_ms",
	  0, 0, NULL, NULL },
	{ "pretty", 0, OPT_FLAG, O(pretty), NULL, "indent the JSON summary", 0, 0, NULL, NULL },
};
#undef O

/* Template layouts: A for even exporters, B (with ToS, fields in another
 * order) for odd ones, so exporters really have their own templates. */
struct gfield {
	uint16_t ie, len;
};

enum { F_SRC, F_DST, F_SPORT, F_DPORT, F_PROTO, F_FLAGS, F_BYTES, F_PKTS, F_START, F_END,
       F_IN, F_OUT, F_TOS };

static const uint8_t layout_a[] = { F_SRC, F_DST, F_SPORT, F_DPORT, F_PROTO, F_FLAGS, F_BYTES,
				    F_PKTS, F_START, F_END, F_IN, F_OUT };
static const uint8_t layout_b[] = { F_IN, F_OUT, F_START, F_END, F_BYTES, F_PKTS, F_TOS, F_PROTO,
				    F_SRC, F_SPORT, F_DST, F_DPORT, F_FLAGS };

/* IPFIX element / v9 field type and length of each field. */
static struct gfield field_def(unsigned f, bool v9)
{
	switch (f) {
	case F_SRC: return (struct gfield){ 8, 4 };
	case F_DST: return (struct gfield){ 12, 4 };
	case F_SPORT: return (struct gfield){ 7, 2 };
	case F_DPORT: return (struct gfield){ 11, 2 };
	case F_PROTO: return (struct gfield){ 4, 1 };
	case F_FLAGS: return (struct gfield){ 6, 1 };
	case F_BYTES: return (struct gfield){ 1, 8 };
	case F_PKTS: return (struct gfield){ 2, 8 };
	case F_START: return v9 ? (struct gfield){ 22, 4 } : (struct gfield){ 152, 8 };
	case F_END: return v9 ? (struct gfield){ 21, 4 } : (struct gfield){ 153, 8 };
	case F_IN: return (struct gfield){ 10, 4 };
	case F_OUT: return (struct gfield){ 14, 4 };
	default: return (struct gfield){ 5, 1 };
	}
}

struct gexp {
	struct vt_addr addr;
	uint64_t n;                  /* next record number */
	uint64_t left;               /* records still to send (UINT64_MAX: unlimited) */
	uint32_t seq;                /* IPFIX: records before; v9: packets before */
	uint64_t msgs;
	bool tmpl_sent;
};

struct gen {
	const struct flowgen_opts *o;
	bool v9;
	struct gexp *ex;
	uint64_t nex;
	uint64_t boot_ms;            /* v9 sysUpTime origin */
	/* totals */
	uint64_t messages, records, bytes, packets, templates, send_errors, reconnects;
	uint64_t sends;              /* UDP: datagrams, or GSO runs, handed to the kernel */
	uint64_t pace_ns, pace_records;   /* pace(): the schedule's origin */
	uint64_t lag_dropped_ns;     /* pace(): debt not caught up */
	uint64_t first_record, last_record;
};

static const uint8_t *layout(uint64_t e, size_t *n)
{
	if (e & 1) {
		*n = sizeof(layout_b);
		return layout_b;
	}
	*n = sizeof(layout_a);
	return layout_a;
}

static uint16_t tmpl_id(uint64_t e)
{
	return (uint16_t)(256 + e % 4096);
}

static size_t rec_len(const struct gen *g, uint64_t e)
{
	size_t n, len = 0;
	const uint8_t *l = layout(e, &n);

	for (size_t i = 0; i < n; i++)
		len += field_def(l[i], g->v9).len;
	return len;
}

static void put_template(struct gen *g, struct vt_wr *w, uint64_t e)
{
	size_t n;
	const uint8_t *l = layout(e, &n);
	uint8_t *set = w->p;

	wr_u16(w, g->v9 ? 0 : 2);
	wr_u16(w, 0);                       /* set length, below */
	wr_u16(w, tmpl_id(e));
	wr_u16(w, (uint16_t)n);
	for (size_t i = 0; i < n; i++) {
		struct gfield f = field_def(l[i], g->v9);
		wr_u16(w, f.ie);
		wr_u16(w, f.len);
	}
	if (!wr_failed(w))
		st_be16(set + 2, (uint16_t)(w->p - set));
	g->templates++;
}

static void put_record(struct gen *g, struct vt_wr *w, uint64_t e, uint64_t n, uint64_t now)
{
	size_t nf;
	const uint8_t *l = layout(e, &nf);
	uint16_t dport = n % 10 == 0 ? 443 : n % 7 == 0 ? 53 : 80;
	uint8_t proto = dport == 53 ? 17 : 6;
	uint64_t bytes = 40 + n * 37 % 1500, pkts = 1 + n % 10;

	for (size_t i = 0; i < nf; i++) {
		switch (l[i]) {
		case F_SRC: wr_u32(w, 0x0a000000u | (uint32_t)(e & 0xffffff)); break;
		case F_DST: wr_u32(w, 0xc6336400u | (uint32_t)(n % 250 + 1)); break;
		case F_SPORT: wr_u16(w, (uint16_t)(1024 + n % 60000)); break;
		case F_DPORT: wr_u16(w, dport); break;
		case F_PROTO: wr_u8(w, proto); break;
		case F_FLAGS: wr_u8(w, proto == 6 ? 0x1b : 0); break;
		case F_BYTES: wr_u64(w, bytes); break;
		case F_PKTS: wr_u64(w, pkts); break;
		case F_START:
			if (g->v9)
				wr_u32(w, (uint32_t)(now - 100 - g->boot_ms));
			else
				wr_u64(w, now - 100);
			break;
		case F_END:
			if (g->v9)
				wr_u32(w, (uint32_t)(now - g->boot_ms));
			else
				wr_u64(w, now);
			break;
		case F_IN: wr_u32(w, (uint32_t)n); break;
		case F_OUT: wr_u32(w, (uint32_t)e); break;
		case F_TOS: wr_u8(w, (uint8_t)(n & 0xfc)); break;
		}
	}
	g->bytes += bytes;
	g->packets += pkts;
}

/* The next message of an exporter, as plan_msg() sized it. */
struct msg_plan {
	size_t len;          /* bytes; 0: the exporter has nothing left */
	size_t records;
	bool tmpl;           /* its template comes first */
};

/* plan_msg() : exporter <slot>'s next message of at most <cap> bytes. */
static struct msg_plan plan_msg(const struct gen *g, uint64_t slot, size_t cap)
{
	const struct gexp *x = &g->ex[slot];
	uint64_t e = g->o->first + slot;
	struct msg_plan p = { 0, 0, false };
	size_t nf, len = g->v9 ? 20 : 16, rl = rec_len(g, e);

	if (!x->left)
		return p;
	switch (g->o->templates) {
	case GT_EVERY: p.tmpl = true; break;
	case GT_NEVER: p.tmpl = false; break;
	case GT_INTERVAL: p.tmpl = !x->tmpl_sent || x->msgs % g->o->tmpl_every == 0; break;
	default: p.tmpl = !x->tmpl_sent; break;
	}
	if (p.tmpl) {
		layout(e, &nf);
		len += 8 + 4 * nf;
	}
	len += 4;   /* data set header */
	p.records = cap > len ? (cap - len) / rl : 0;
	if (g->o->per_msg && p.records > g->o->per_msg)
		p.records = g->o->per_msg;
	if (p.records > x->left)
		p.records = (size_t)x->left;
	p.len = len + p.records * rl;
	return p;
}

/* build_msg() : exporter <slot>'s next message, planned as <p> (p->len
 * > 0), into <buf>; returns its length. */
static size_t build_msg(struct gen *g, uint64_t slot, const struct msg_plan *p, uint8_t *buf,
			uint64_t now)
{
	struct gexp *x = &g->ex[slot];
	uint64_t e = g->o->first + slot;   /* the exporter's number */
	struct vt_wr w = wr_init(buf, p->len);
	size_t hdr = g->v9 ? 20 : 16, k = 0;
	uint8_t *set;

	wr_zero(&w, hdr);
	if (p->tmpl)
		put_template(g, &w, e);
	set = w.p;
	wr_u16(&w, tmpl_id(e));
	wr_u16(&w, 0);
	for (; k < p->records; k++) {
		put_record(g, &w, e, x->n, now);
		if (!g->records && !k)
			g->first_record = x->n;
		g->last_record = x->n;
		x->n++;
		if (x->left != UINT64_MAX)
			x->left--;
	}
	st_be16(set + 2, (uint16_t)(w.p - set));
	size_t len = (size_t)(w.p - buf);
	if (wr_failed(&w) || len != p->len)
		abort();   /* plan_msg() disagrees with the writers above */
	if (g->v9) {
		/* RFC 3954 §5.1: count = records (templates and data) in the packet */
		st_be16(buf, 9);
		st_be16(buf + 2, (uint16_t)(k + (p->tmpl ? 1 : 0)));
		st_be32(buf + 4, (uint32_t)(now - g->boot_ms));
		st_be32(buf + 8, (uint32_t)(now / 1000));
		st_be32(buf + 12, x->seq);
		st_be32(buf + 16, (uint32_t)g->o->domain);
		x->seq++;
	} else {
		st_be16(buf, 10);
		st_be16(buf + 2, (uint16_t)len);
		st_be32(buf + 4, (uint32_t)(now / 1000));
		st_be32(buf + 8, x->seq);
		st_be32(buf + 12, (uint32_t)g->o->domain);
		x->seq += (uint32_t)k;
	}
	x->msgs++;
	x->tmpl_sent |= p->tmpl;
	g->records += k;
	g->messages++;
	return len;
}

static int addr_add(const struct vt_addr *base, uint64_t i, struct vt_addr *out)
{
	uint64_t carry = i;

	*out = *base;
	for (int b = 15; b >= (addr_is_v4(base) ? 12 : 0) && carry; b--) {
		uint64_t v = out->b[b] + (carry & 0xff);
		out->b[b] = (uint8_t)v;
		carry = (carry >> 8) + (v >> 8);
	}
	return carry ? -ERANGE : 0;
}

/* Waits until <records> may have been sent at the configured rate:
 * sleeping, or with --spin busy-waiting. A sender that fell behind (its
 * core taken away, a late wake-up) catches up at most GEN_MAX_LAG_*_NS
 * worth; the rest of the debt is dropped and counted, not sent as a
 * burst (records_per_s then says what was achieved). */
static void pace(struct gen *g)
{
	struct timespec ts;
	uint64_t due, now, lag = g->o->spin ? GEN_MAX_LAG_SPIN_NS : GEN_MAX_LAG_SLEEP_NS;

	if (!g->o->rate)
		return;
	due = g->pace_ns +
	      (uint64_t)((__uint128_t)(g->records - g->pace_records) * 1000000000u / g->o->rate);
	now = mono_ns();
	if (now > due + lag) {
		g->lag_dropped_ns += now - lag - due;
		g->pace_ns = now - lag;
		g->pace_records = g->records;
		return;
	}
	if (g->o->spin) {
		while (mono_ns() < due)
			vt_cpu_relax();
		return;
	}
	if (now + 50000 >= due)
		return;
	ts.tv_sec = (time_t)(due / 1000000000u);
	ts.tv_nsec = (long)(due % 1000000000u);
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

static bool done(const struct gen *g, uint64_t start_ns)
{
	if (g->o->duration_ms && mono_ns() - start_ns >= g->o->duration_ms * 1000000u)
		return true;
	for (uint64_t e = 0; e < g->nex; e++)
		if (g->ex[e].left)
			return false;
	return true;
}

/* fill_entry() : exporter <slot>'s next message into <buf> or, with
 * --gso, a run of its next messages of one length (the last may be
 * shorter), at most <segs>; returns the bytes, *<seg> the length of one
 * message and *<msgs> how many there are. */
static size_t fill_entry(struct gen *g, uint64_t slot, uint8_t *buf, unsigned segs, uint64_t now,
			 uint16_t *seg, unsigned *msgs)
{
	size_t mtu = g->o->mtu, off = 0;

	*msgs = 0;
	*seg = 0;
	while (*msgs < segs && off + mtu <= GEN_MSG_MAX) {
		struct msg_plan p = plan_msg(g, slot, mtu);
		size_t len;
		if (!p.len || (*seg && p.len > *seg))
			break;
		len = build_msg(g, slot, &p, buf + off, now);
		if (!*seg)
			*seg = (uint16_t)len;
		off += len;
		++*msgs;
		if (len < *seg)
			break;   /* a shorter message ends a GSO run */
	}
	return off;
}

/* Makes <h>'s control data, in <ctl>, the one message <level>/<type>
 * holding <len> bytes of <data>. */
static void put_cmsg(struct msghdr *h, char *ctl, int level, int type, const void *data,
		     size_t len)
{
	struct cmsghdr *c;

	h->msg_control = ctl;
	h->msg_controllen = CMSG_SPACE(len);
	c = CMSG_FIRSTHDR(h);
	c->cmsg_level = level;
	c->cmsg_type = type;
	c->cmsg_len = CMSG_LEN(len);
	memcpy(CMSG_DATA(c), data, len);
}

/* The exporter's source address (one socket plays them all). */
static void set_pktinfo(struct msghdr *h, char *ctl, const struct vt_addr *a, int family)
{
	if (family == AF_INET6) {
		struct in6_pktinfo pi = { 0 };
		memcpy(&pi.ipi6_addr, a->b, 16);
		put_cmsg(h, ctl, IPPROTO_IPV6, IPV6_PKTINFO, &pi, sizeof(pi));
	} else {
		struct in_pktinfo pi = { 0 };
		memcpy(&pi.ipi_spec_dst, a->b + 12, 4);
		put_cmsg(h, ctl, IPPROTO_IP, IP_PKTINFO, &pi, sizeof(pi));
	}
}

static int run_udp(struct gen *g, const struct sockaddr_storage *dst, bool pktinfo)
{
	static uint8_t bufs[GEN_BATCH][GEN_MSG_MAX];
	struct mmsghdr mh[GEN_BATCH];
	struct iovec iov[GEN_BATCH];
	unsigned kmsg[GEN_BATCH];
	union {
		char b[CMSG_SPACE(sizeof(struct in6_pktinfo))];
		struct cmsghdr align;
	} ctl[GEN_BATCH];
	socklen_t dl = dst->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
	struct sockaddr_storage me;
	uint64_t start = mono_ns(), e = 0;
	int fd = socket(dst->ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int big = 8 << 20;
	/* paced: bursts of GEN_BURST messages */
	unsigned segs = !g->o->gso ? 1 : g->o->rate ? GEN_BURST : GEN_GSO_SEGS;

	g->pace_ns = start;
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
	memset(&me, 0, sizeof(me));
	me.ss_family = dst->ss_family;
	if (dst->ss_family == AF_INET6)
		((struct sockaddr_in6 *)&me)->sin6_port = htons((uint16_t)g->o->sport);
	else
		((struct sockaddr_in *)&me)->sin_port = htons((uint16_t)g->o->sport);
	if (!pktinfo && g->o->src_base) {
		/* one exporter: bind its address */
		if (dst->ss_family == AF_INET6)
			memcpy(&((struct sockaddr_in6 *)&me)->sin6_addr, g->ex[0].addr.b, 16);
		else
			memcpy(&((struct sockaddr_in *)&me)->sin_addr, g->ex[0].addr.b + 12, 4);
	}
	if (bind(fd, (struct sockaddr *)&me, dl) < 0) {
		int r = -errno;
		close(fd);
		return r;
	}
	while (!done(g, start)) {
		unsigned n = 0, msgs = 0;
		uint64_t now = wall_ms();
		/* round robin until the batch is full or a whole round of
		 * exporters had nothing left */
		for (uint64_t idle = 0; n < GEN_BATCH && idle < g->nex;) {
			uint64_t this_e = e;
			unsigned k;
			uint16_t seg;
			size_t len = fill_entry(g, e, bufs[n], segs, now, &seg, &k);
			e = (e + 1) % g->nex;
			if (!len) {
				idle++;
				continue;
			}
			idle = 0;
			iov[n] = (struct iovec){ bufs[n], len };
			memset(&mh[n], 0, sizeof(mh[n]));
			mh[n].msg_hdr.msg_name = (void *)dst;
			mh[n].msg_hdr.msg_namelen = dl;
			mh[n].msg_hdr.msg_iov = &iov[n];
			mh[n].msg_hdr.msg_iovlen = 1;
			memset(&ctl[n], 0, sizeof(ctl[n]));
			if (pktinfo)
				set_pktinfo(&mh[n].msg_hdr, ctl[n].b, &g->ex[this_e].addr, dst->ss_family);
			else if (k > 1)
				put_cmsg(&mh[n].msg_hdr, ctl[n].b, SOL_UDP, UDP_SEGMENT, &seg, sizeof(seg));
			kmsg[n++] = k;
			msgs += k;
			if (g->o->rate && g->records >= 1 && msgs >= GEN_BURST)
				break;
		}
		for (unsigned off = 0; off < n;) {
			int r = sendmmsg(fd, mh + off, n - off, 0);
			if (r < 0 && errno == EINTR)
				continue;
			if (r < 0) {
				fprintf(stderr, "vtap flowgen: send: %s\n", strerror(errno));
				while (off < n)
					g->send_errors += kmsg[off++];
				break;
			}
			off += (unsigned)r;
			g->sends += (unsigned)r;
		}
		pace(g);
	}
	close(fd);
	return 0;
}

/* TCP: one exporter; templates at the start of every connection; a write
 * that fails reconnects (every 100 ms, 30 s at most) and sends that
 * message again. */
static int tcp_connect(struct gen *g, const struct sockaddr_storage *dst)
{
	socklen_t dl = dst->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
	uint64_t until = mono_ms() + 30000;

	for (;;) {
		int fd = socket(dst->ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return -errno;
		if (g->o->src_base || g->o->sport) {
			struct sockaddr_storage me;
			memset(&me, 0, sizeof(me));
			me.ss_family = dst->ss_family;
			if (dst->ss_family == AF_INET6) {
				struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&me;
				s6->sin6_port = htons((uint16_t)g->o->sport);
				if (g->o->src_base)
					memcpy(&s6->sin6_addr, g->ex[0].addr.b, 16);
			} else {
				struct sockaddr_in *s4 = (struct sockaddr_in *)&me;
				s4->sin_port = htons((uint16_t)g->o->sport);
				if (g->o->src_base)
					memcpy(&s4->sin_addr, g->ex[0].addr.b + 12, 4);
			}
			int one = 1;
			setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
			if (bind(fd, (struct sockaddr *)&me, dl) < 0) {
				int r = -errno;
				close(fd);
				return r;
			}
		}
		if (connect(fd, (const struct sockaddr *)dst, dl) == 0) {
			g->ex[0].tmpl_sent = false;
			return fd;
		}
		close(fd);
		if (mono_ms() > until)
			return -ETIMEDOUT;
		usleep(100000);
	}
}

static int write_all(int fd, const uint8_t *p, size_t n)
{
	while (n) {
		ssize_t r = send(fd, p, n, MSG_NOSIGNAL);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -errno;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

/* peer_closing() : the collector sent its FIN (it is stopping): stop
 * writing here, or what we write next may meet a closed socket. */
static bool peer_closing(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN | POLLRDHUP };
	char c;

	if (poll(&p, 1, 0) <= 0)
		return false;
	if (p.revents & (POLLRDHUP | POLLHUP | POLLERR))
		return true;
	return recv(fd, &c, 1, MSG_DONTWAIT | MSG_PEEK) == 0;
}

static int run_tcp(struct gen *g, const struct sockaddr_storage *dst)
{
	static uint8_t buf[GEN_MSG_MAX];
	uint64_t start = mono_ns();
	int fd = tcp_connect(g, dst);

	g->pace_ns = start;
	if (fd < 0)
		return fd;
	while (!done(g, start)) {
		if (peer_closing(fd)) {
			/* our side closes too; everything written before the FIN is
			 * read by the collector; the rest goes to the next one */
			shutdown(fd, SHUT_WR);
			close(fd);
			g->reconnects++;
			fd = tcp_connect(g, dst);
			if (fd < 0)
				return fd;
			continue;
		}
		struct gexp save = g->ex[0];
		uint64_t sr = g->records, sb = g->bytes, sp = g->packets, sm = g->messages;
		struct msg_plan p = plan_msg(g, 0, g->o->mtu);
		if (!p.len)
			break;
		size_t len = build_msg(g, 0, &p, buf, wall_ms());
		if (write_all(fd, buf, len) < 0) {
			/* rebuild the same message on a new connection (with templates) */
			close(fd);
			g->reconnects++;
			g->ex[0] = save;
			g->records = sr;
			g->bytes = sb;
			g->packets = sp;
			g->messages = sm;
			fd = tcp_connect(g, dst);
			if (fd < 0)
				return fd;
			continue;
		}
		pace(g);
	}
	close(fd);
	return 0;
}

static int flowgen_run(const struct cmd *c, void *o, int argc, char **argv)
{
	struct flowgen_opts *opts = o;
	struct gen g;
	struct sockaddr_storage dst;
	struct vt_err err = { 0 };
	struct vt_addr base;
	uint64_t t0;
	int r;

	(void)c;
	(void)argc;
	(void)argv;
	memset(&g, 0, sizeof(g));
	g.o = opts;
	g.v9 = opts->format == GEN_NFV9;
	if (!opts->to == !opts->tcp) {
		fprintf(stderr, "vtap flowgen: give one of --to (UDP) or --tcp\n");
		return 2;
	}
	if (opts->tcp && (g.v9 || opts->exporters > 1)) {
		fprintf(stderr, "vtap flowgen: --tcp sends IPFIX from one exporter\n");
		return 2;
	}
	if (opts->gso && (opts->tcp || opts->exporters > 1)) {
		fprintf(stderr, "vtap flowgen: option --gso: UDP from one exporter only\n");
		return 2;
	}
	if (opts->exporters > 1 && !opts->src_base) {
		fprintf(stderr, "vtap flowgen: option --exporters: more than one needs --src-base\n");
		return 2;
	}
	if (!opts->records && !opts->duration_ms) {
		fprintf(stderr, "vtap flowgen: --records 0 needs --duration\n");
		return 2;
	}
	if (udp_parse_addr(opts->to ? opts->to : opts->tcp, &dst, &err) < 0) {
		fprintf(stderr, "vtap flowgen: option %s: %s\n", opts->to ? "--to" : "--tcp", err.msg);
		return 2;
	}
	if (opts->src_base && (addr_parse(opts->src_base, &base) < 0 ||
			       addr_is_v4(&base) != (dst.ss_family == AF_INET))) {
		fprintf(stderr, "vtap flowgen: option --src-base: '%s' is not an address of the "
				"collector's family\n", opts->src_base);
		return 2;
	}
	g.nex = opts->exporters;
	g.ex = calloc(g.nex, sizeof(*g.ex));
	if (!g.ex) {
		fprintf(stderr, "vtap flowgen: out of memory\n");
		return 1;
	}
	for (uint64_t e = 0; e < g.nex; e++) {
		if (opts->src_base && addr_add(&base, e, &g.ex[e].addr) < 0) {
			fprintf(stderr, "vtap flowgen: option --src-base: %s + %" PRIu64 " overflows\n",
				opts->src_base, e);
			free(g.ex);
			return 2;
		}
		g.ex[e].n = opts->record_start;
		g.ex[e].left = opts->records ? opts->records : UINT64_MAX;
		g.ex[e].seq = (uint32_t)opts->seq_start;
	}
	g.boot_ms = wall_ms() / 1000 * 1000 - 1000;
	t0 = mono_ms();
	if (opts->tcp)
		r = run_tcp(&g, &dst);
	else
		r = run_udp(&g, &dst, opts->src_base && g.nex > 1);
	if (r < 0) {
		fprintf(stderr, "vtap flowgen: %s: %s\n", opts->to ? opts->to : opts->tcp, strerror(-r));
		free(g.ex);
		return 1;
	}
	uint64_t ms = mono_ms() - t0;
	struct out out;
	out_init(&out, stdout, OUT_FMT_JSON, opts->pretty);
	out_obj_open(&out, NULL);
	out_uint(&out, OUT_JSON, "exporters", NULL, g.nex);
	out_uint(&out, OUT_JSON, "messages", NULL, g.messages);
	out_uint(&out, OUT_JSON, "records", NULL, g.records);
	out_uint(&out, OUT_JSON, "bytes", NULL, g.bytes);
	out_uint(&out, OUT_JSON, "packets", NULL, g.packets);
	out_uint(&out, OUT_JSON, "templates", NULL, g.templates);
	out_uint(&out, OUT_JSON, "sends", NULL, g.sends);
	out_uint(&out, OUT_JSON, "lag_dropped_ms", NULL, g.lag_dropped_ns / 1000000u);
	out_uint(&out, OUT_JSON, "send_errors", NULL, g.send_errors);
	out_uint(&out, OUT_JSON, "reconnects", NULL, g.reconnects);
	out_uint(&out, OUT_JSON, "duration_ms", NULL, ms);
	out_double(&out, OUT_JSON, "records_per_s", NULL, ms ? (double)g.records * 1000.0 / (double)ms : 0);
	out_uint(&out, OUT_JSON, "next_record", NULL, g.ex[0].n);
	out_uint(&out, OUT_JSON, "next_seq", NULL, g.ex[0].seq);
	out_obj_close(&out);
	out_finish(&out);
	putchar('\n');
	free(g.ex);
	return g.send_errors ? 1 : 0;
}

const struct cmd cmd_flowgen = {
	.name = "flowgen",
	.summary = "generate IPFIX / NetFlow v9 export load (collector tests and benchmarks)",
	.description =
		"Plays one or many exporters with predictable records; prints what it sent as JSON.\n"
		"Exporter i sends from --src-base + i (a local address: inside a namespace any\n"
		"127.x.y.z works). Example: 10,000 exporters, 10 records each:\n"
		"  vtap flowgen --to 127.0.0.1:4739 -e 10000 --src-base 127.1.0.1 -n 10 -r 200000",
	.opts = flowgen_opt_defs,
	.nopts = ARRAY_SIZE(flowgen_opt_defs),
	.opts_size = sizeof(struct flowgen_opts),
	.run = flowgen_run,
	.hidden = true,
};
