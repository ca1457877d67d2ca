/* Unit tests: src/agent/exporter — against real sockets on 127.0.0.1
 * (ephemeral ports): sequence numbers (IPFIX records-before, v9 packet
 * count), templates first and refreshed, MTU, the options record, every
 * record delivered, pacing; a dead UDP and a dead TCP collector never
 * block metering and every lost record is counted; TCP templates first
 * on every (re)connection; URL validation. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "agent/exporter.h"
#include "core/compiler.h"
#include "core/timeutil.h"
#include "wire/ipfix_enc.h"
#include "wire/ipfix_ie.h"
#include "wire/nfv9_enc.h"

#include "vt_test.h"

static struct exporter_cfg cfg_default(void)
{
	return (struct exporter_cfg){
		.format = EXP_FMT_IPFIX, .domain = 99, .mtu = 1500, .tmpl_interval_ms = 600000,
		.tmpl_every = 0, .stats_interval_ms = 0, .flush_ms = 1000, .queue_max = 256,
		.rate = 0, .blocking = false, .active_timeout_s = 60, .idle_timeout_s = 15,
	};
}

static struct flow_rec flow_n(uint32_t n)
{
	struct flow_rec r;
	uint8_t a[4] = { 198, 18, (uint8_t)(n >> 8), (uint8_t)n };

	memset(&r, 0, sizeof(r));
	r.first_ms = 1700000000000ull + n;
	r.last_ms = r.first_ms + 10;
	addr_set_v4(&r.src, a);
	addr_parse("198.19.0.1", &r.dst);
	r.ipver = 4;
	r.proto = 17;
	r.sport = (uint16_t)n;
	r.dport = 53;
	r.packets = 1 + n % 5;
	r.bytes = 100 * r.packets;
	r.direction = FLOW_DIR_UNKNOWN;
	r.end_reason = FLOW_END_IDLE;
	return r;
}

/* a UDP or TCP listener on 127.0.0.1, ephemeral port */
static int listener(int type, uint16_t *port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f000001) };
	socklen_t sl = sizeof(sa);
	int fd = socket(AF_INET, type, 0), big = 4 << 20, one = 1;

	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return -1;
	getsockname(fd, (struct sockaddr *)&sa, &sl);
	*port = ntohs(sa.sin_port);
	if (type == SOCK_STREAM)
		listen(fd, 4);
	return fd;
}

/* a port nothing listens on: bind, read the port, close */
static uint16_t dead_port(int type)
{
	uint16_t port;
	int fd = listener(type, &port);

	close(fd);
	return port;
}

static char *url(const char *proto, uint16_t port)
{
	static char u[64];
	snprintf(u, sizeof(u), "%s://127.0.0.1:%u", proto, port);
	return u;
}

struct msgstat {
	unsigned msgs, tmpl_msgs, flows, options;
	unsigned bad;
	size_t max_len;
	bool lenient;      /* sequence gaps allowed (drops): summed in <gap> */
	uint64_t gap;
};

/* check_ipfix() : one message: header, sets; the sequence number must be
 * the data records seen before it (*<recs>). */
static void check_ipfix(const uint8_t *b, size_t len, uint32_t *recs, struct msgstat *s)
{
	struct vt_rd r = rd_init(b, len);
	uint32_t seq;
	unsigned data = 0;

	CHECK_EQ(rd_u16(&r), 10);
	CHECK_EQ(rd_u16(&r), len);
	rd_skip(&r, 4);
	seq = rd_u32(&r);
	if (s->lenient && seq != *recs) {
		CHECK(seq > *recs);
		s->gap += seq - *recs;
		*recs = seq;
	}
	CHECK_EQ(seq, *recs);
	CHECK_EQ(rd_u32(&r), 99);
	s->msgs++;
	if (len > s->max_len)
		s->max_len = len;
	while (rd_left(&r) >= 4) {
		uint16_t id = rd_u16(&r), sl = rd_u16(&r);
		if (sl < 4) {
			s->bad++;
			break;
		}
		if (id == IPFIX_SET_TEMPLATE)
			s->tmpl_msgs++;
		else if (id == FE_TMPL_BASE) {
			CHECK_EQ((sl - 4) % 72, 0);
			data += (sl - 4u) / 72;
			s->flows += (sl - 4u) / 72;
		} else if (id == FE_TMPL_OPTIONS) {
			CHECK_EQ(sl - 4, 64);
			data++;
			s->options++;
		}
		rd_skip(&r, sl - 4u);
	}
	CHECK(!rd_failed(&r));
	CHECK_EQ(rd_left(&r), 0);
	*recs += data;
}

static size_t recv_all(int fd, uint8_t bufs[][2048], size_t *lens, size_t max, int wait_ms)
{
	size_t n = 0;

	while (n < max) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t l;
		if (poll(&p, 1, wait_ms) <= 0)
			break;
		l = recv(fd, bufs[n], 2048, 0);
		if (l <= 0)
			break;
		lens[n++] = (size_t)l;
	}
	return n;
}

static uint8_t rx[4096][2048];
static size_t rxlen[4096];

/* Everything sent arrives, in order, with correct sequence numbers; the
 * first message starts with templates; the last carries the totals. */
static void t_udp_ipfix_sequence(void)
{
	uint16_t port;
	int fd = listener(SOCK_DGRAM, &port);
	struct exporter_cfg cfg = cfg_default();
	struct vt_err err;
	struct exporter *e;
	const uint32_t n = 1000;
	uint32_t recs = 0;
	struct msgstat s = { 0 };
	size_t got;
	const struct exp_coll_stats *cs;

	cfg.tmpl_every = 10;
	e = exporter_new(&cfg, &err);
	CHECK(e != NULL);
	CHECK_EQ(exporter_add(e, url("udp", port), &err), 0);
	for (uint32_t i = 0; i < n; i++) {
		struct flow_rec r = flow_n(i);
		exporter_flow(e, &r, 1700000000000ull + i);
	}
	CHECK_EQ(exporter_flush(e, 1700000002000ull, 2000), 0);
	got = recv_all(fd, rx, rxlen, 4096, 500);
	for (size_t i = 0; i < got; i++)
		check_ipfix(rx[i], rxlen[i], &recs, &s);
	CHECK_EQ(s.flows, n);
	CHECK_EQ(s.bad, 0);
	CHECK(s.max_len <= 1500 - 28);
	/* 1472 - 16 - 4 = 1452 bytes of data set: 19 records per message */
	/* every message but the last two (the last flows, the final options
	 * record) is full: one more 72-byte record would not have fitted */
	for (size_t i = 0; i + 2 < got; i++)
		CHECK(rxlen[i] + 72 > 1500 - 28);
	CHECK(got >= n / 20);
	CHECK(rxlen[0] > 800 && ld_be16(rx[0] + 16) == IPFIX_SET_TEMPLATE);
	/* templates every 10 messages */
	CHECK_EQ(s.tmpl_msgs, (s.msgs + 9) / 10);
	CHECK_EQ(s.options, 1);
	cs = exporter_collector(e, 0);
	CHECK_EQ_U64(cs->c.records, n);
	CHECK_EQ_U64(cs->c.messages, got);
	CHECK_EQ_U64(cs->dropped_messages, 0);
	/* the final options record reports every message before it */
	{
		const uint8_t *last = rx[got - 1];
		CHECK_EQ(ld_be16(last + 16), FE_TMPL_OPTIONS);
		CHECK_EQ(ld_be32(last + 20), 99);
		CHECK_EQ_U64(ld_be64(last + 24), got - 1);
		CHECK_EQ_U64(ld_be64(last + 32), n);
		CHECK_EQ(ld_be16(last + 80), 60);
	}
	exporter_free(e);
	close(fd);
}

static void t_udp_nfv9_sequence(void)
{
	uint16_t port;
	int fd = listener(SOCK_DGRAM, &port);
	struct exporter_cfg cfg = cfg_default();
	struct vt_err err;
	struct exporter *e;
	size_t got;
	unsigned total = 0;

	cfg.format = EXP_FMT_NFV9;
	e = exporter_new(&cfg, &err);
	CHECK_EQ(exporter_add(e, url("udp", port), &err), 0);
	exporter_set_boot(e, 1700000000000ull);
	for (uint32_t i = 0; i < 300; i++) {
		struct flow_rec r = flow_n(i);
		exporter_flow(e, &r, 1700000000000ull + i);
	}
	CHECK_EQ(exporter_flush(e, 1700000001000ull, 2000), 0);
	got = recv_all(fd, rx, rxlen, 4096, 500);
	CHECK(got > 2);
	for (size_t i = 0; i < got; i++) {
		CHECK_EQ(ld_be16(rx[i]), 9);
		CHECK_EQ(ld_be32(rx[i] + 12), i); /* v9: export packets before */
		CHECK_EQ(ld_be32(rx[i] + 16), 99);
		CHECK_EQ(rxlen[i] % 4, 0);
		total += ld_be16(rx[i] + 2);
	}
	/* count: 300 flows + 6 templates + options template + final options record */
	CHECK_EQ(total, 300 + 7 + 1);
	exporter_free(e);
	close(fd);
}

/* NetFlow v9 times are 32-bit ms of sysUpTime: a capture spanning more
 * than 49.7 days, or going back in time, makes the exporter move its
 * origin ("reboot"); every record still decodes to its exact times with
 * the collector's formula unix_secs*1000 - sysUpTime + SWITCHED. */
static void t_nfv9_time_span(void)
{
	static const uint64_t day = 86400000ull, t0 = 1700000000123ull;
	static const uint64_t firsts[] = { t0, t0 + 10, t0 + 60 * day, t0 + 60 * day + 5, t0 - day,
					   t0 + 200 * day };
	uint16_t port;
	int fd = listener(SOCK_DGRAM, &port);
	struct exporter_cfg cfg = cfg_default();
	struct vt_err err;
	struct exporter *e;
	size_t got, seen = 0;

	cfg.format = EXP_FMT_NFV9;
	e = exporter_new(&cfg, &err);
	CHECK_EQ(exporter_add(e, url("udp", port), &err), 0);
	exporter_set_boot(e, t0);
	for (size_t i = 0; i < ARRAY_SIZE(firsts); i++) {
		struct flow_rec r = flow_n((uint32_t)i);
		r.first_ms = firsts[i];
		r.last_ms = firsts[i] + 1500;
		exporter_flow(e, &r, VT_MAX(r.last_ms, t0 + 60 * day + 2000));
	}
	CHECK_EQ(exporter_flush(e, t0 + 200 * day + 5000, 2000), 0);
	CHECK(exporter_collector(e, 0)->v9_reboots >= 2);
	CHECK_EQ(exporter_collector(e, 0)->v9_clamped, 0);
	got = recv_all(fd, rx, rxlen, 4096, 500);
	for (size_t m = 0; m < got; m++) {
		const uint8_t *b = rx[m];
		uint64_t origin = (uint64_t)ld_be32(b + 8) * 1000 - ld_be32(b + 4);
		size_t off = 20;
		while (off + 4 <= rxlen[m]) {
			uint16_t id = ld_be16(b + off), sl = ld_be16(b + off + 2);
			if (sl < 4)
				break;
			if (id == FE_TMPL_BASE) {
				for (size_t r = off + 4; r + 65 <= off + sl; r += 65) {
					uint64_t f = origin + ld_be32(b + r), l = origin + ld_be32(b + r + 4);
					uint16_t n = ld_be16(b + r + 32); /* sport = index */
					CHECK(n < ARRAY_SIZE(firsts));
					if (n < ARRAY_SIZE(firsts)) {
						CHECK_EQ_U64(f, firsts[n]);
						CHECK_EQ_U64(l, firsts[n] + 1500);
					}
					seen++;
				}
			}
			off += sl;
		}
	}
	CHECK_EQ(seen, ARRAY_SIZE(firsts));
	exporter_free(e);
	close(fd);
}

/* A dead UDP collector: nothing blocks, every record that did not go out
 * is counted, and the sequence numbers still advance. */
static void t_udp_dead_collector(void)
{
	struct exporter_cfg cfg = cfg_default();
	struct vt_err err;
	struct exporter *e = exporter_new(&cfg, &err);
	uint64_t t0 = mono_ms();
	const struct exp_coll_stats *cs;

	CHECK_EQ(exporter_add(e, url("udp", dead_port(SOCK_DGRAM)), &err), 0);
	for (uint32_t i = 0; i < 2000; i++) {
		struct flow_rec r = flow_n(i);
		exporter_flow(e, &r, 1700000000000ull + i);
	}
	exporter_flush(e, 1700000003000ull, 500);
	CHECK(mono_ms() - t0 < 3000);
	cs = exporter_collector(e, 0);
	/* the kernel accepts some datagrams before each ICMP refusal comes
	 * back; what it refused is counted, the sum is every record */
	CHECK(cs->send_errors > 0);
	CHECK_EQ_U64(cs->c.records + cs->c.notsent_flows, 2000);
	exporter_free(e);
}

/* A dead TCP collector: exporter_flow() stays fast, the queue bound holds,
 * drops are counted exactly, flush gives up after its timeout. */
static void t_tcp_dead_collector(void)
{
	static const bool blocking[] = { false, true };
	for (size_t b = 0; b < ARRAY_SIZE(blocking); b++) {
		struct exporter_cfg cfg = cfg_default();
		struct vt_err err;
		struct exporter *e;
		uint64_t t0 = mono_ms(), pk = 0;
		const struct exp_coll_stats *cs;

		cfg.queue_max = 8;
		cfg.blocking = blocking[b];
		e = exporter_new(&cfg, &err);
		CHECK_EQ(exporter_add(e, url("tcp", dead_port(SOCK_STREAM)), &err), 0);
		for (uint32_t i = 0; i < 5000; i++) {
			struct flow_rec r = flow_n(i);
			pk += r.packets;
			exporter_flow(e, &r, 1700000000000ull + i);
			exporter_poll(e, 1700000000000ull + i);
		}
		CHECK(mono_ms() - t0 < 2000);
		cs = exporter_collector(e, 0);
		CHECK(!cs->up);
		CHECK(cs->queue_peak <= 8);
		CHECK(cs->c.notsent_flows > 0);
		/* a long flush timeout: a collector that keeps refusing is
		 * given up after three attempts, not waited for */
		t0 = mono_ms();
		CHECK_EQ(exporter_flush(e, 1700000006000ull, 20000), -ETIMEDOUT);
		CHECK(mono_ms() - t0 < 6000);
		CHECK_EQ_U64(cs->c.notsent_flows, 5000);
		CHECK_EQ_U64(cs->c.notsent_packets, pk);
		CHECK_EQ_U64(cs->c.records, 0);
		exporter_free(e);
	}
}

/* read_stream() : reads IPFIX messages from a TCP connection until <want>
 * flow records or a timeout; checks every message. */
static void read_stream(int cfd, uint32_t *recs, struct msgstat *s, unsigned want,
			bool *first_is_tmpl)
{
	static uint8_t buf[1 << 20];
	size_t have = 0;
	bool first = true;
	uint64_t until = mono_ms() + 5000;

	while (s->flows < want && mono_ms() < until) {
		struct pollfd p = { .fd = cfd, .events = POLLIN };
		ssize_t l;
		if (poll(&p, 1, 200) <= 0)
			continue;
		l = recv(cfd, buf + have, sizeof(buf) - have, 0);
		if (l <= 0)
			break;
		have += (size_t)l;
		while (have >= 4 && have >= ld_be16(buf + 2)) {
			size_t ml = ld_be16(buf + 2);
			if (ml < 16)
				return;
			if (first) {
				*first_is_tmpl = ld_be16(buf + 16) == IPFIX_SET_TEMPLATE;
				first = false;
			}
			check_ipfix(buf, ml, recs, s);
			memmove(buf, buf + ml, have - ml);
			have -= ml;
		}
	}
}

static int accept_wait(int lfd, int ms)
{
	struct pollfd p = { .fd = lfd, .events = POLLIN };
	if (poll(&p, 1, ms) <= 0)
		return -1;
	return accept(lfd, NULL, NULL);
}

/* TCP: templates are the first message of each connection; after the
 * collector drops the connection the exporter reconnects and resends
 * them; all records arrive with consistent sequence numbers. */
static void t_tcp_reconnect(void)
{
	uint16_t port;
	int lfd = listener(SOCK_STREAM, &port), cfd;
	struct exporter_cfg cfg = cfg_default();
	struct vt_err err;
	struct exporter *e;
	uint32_t recs = 0;
	struct msgstat s = { 0 };
	bool tmpl1 = false, tmpl2 = false;
	uint32_t i;

	cfg.flush_ms = 0; /* every poll sends */
	e = exporter_new(&cfg, &err);
	CHECK_EQ(exporter_add(e, url("tcp", port), &err), 0);
	cfd = accept_wait(lfd, 2000);
	CHECK(cfd >= 0);
	for (i = 0; i < 500; i++) {
		struct flow_rec r = flow_n(i);
		exporter_flow(e, &r, 1700000000000ull + i);
	}
	exporter_poll(e, 1700000001000ull);
	read_stream(cfd, &recs, &s, 500, &tmpl1);
	CHECK(tmpl1);
	CHECK_EQ(s.flows, 500);
	close(cfd);
	/* the exporter notices on a later send, backs off, reconnects */
	{
		uint64_t until = mono_ms() + 5000;
		cfd = -1;
		while (cfd < 0 && mono_ms() < until) {
			struct flow_rec r = flow_n(i++);
			exporter_flow(e, &r, 1700000001000ull + i);
			exporter_poll(e, 1700000001000ull + i);
			cfd = accept_wait(lfd, 20);
		}
	}
	CHECK(cfd >= 0);
	CHECK_EQ(exporter_collector(e, 0)->connects, 2);
	for (uint32_t j = 0; j < 100; j++, i++) {
		struct flow_rec r = flow_n(i);
		exporter_flow(e, &r, 1700000002000ull + j);
	}
	CHECK_EQ(exporter_flush(e, 1700000003000ull, 3000), 0);
	exporter_free(e); /* closes the connection: the reader stops at EOF */
	{
		/* the new connection: templates first, then a stream whose
		 * sequence numbers continue from everything encoded before
		 * (records lost with the broken connection show as a gap) */
		struct msgstat s2 = { .lenient = true };
		uint32_t r2 = 0;
		read_stream(cfd, &r2, &s2, i - 500, &tmpl2);
		CHECK(tmpl2);
		CHECK(s2.flows >= 100);
		CHECK(s2.flows <= i - 500);
		CHECK(r2 >= 500 + s2.flows);
		CHECK_EQ(s2.gap, r2 - s2.flows - s2.options);
	}
	close(cfd);
	close(lfd);
}

/* pump() : reads what <fd> has within <wait_ms> into <b>, checks each
 * whole IPFIX message; returns -1 at EOF, else 0. */
struct stream_rd {
	uint8_t buf[1 << 20];
	size_t have;
};

static int pump(int fd, struct stream_rd *b, uint32_t *recs, struct msgstat *s, int wait_ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	ssize_t l;

	if (poll(&p, 1, wait_ms) <= 0)
		return 0;
	l = recv(fd, b->buf + b->have, sizeof(b->buf) - b->have, MSG_DONTWAIT);
	if (l == 0)
		return -1;
	if (l < 0)
		return errno == EAGAIN ? 0 : -1;
	b->have += (size_t)l;
	while (b->have >= 4 && b->have >= ld_be16(b->buf + 2)) {
		size_t ml = ld_be16(b->buf + 2);
		if (ml < 16)
			return -1;
		check_ipfix(b->buf, ml, recs, s);
		memmove(b->buf, b->buf + ml, b->have - ml);
		b->have -= ml;
	}
	return 0;
}

/* TCP: a collector that stops (vtap collector's tcp_close_grace) sends a
 * FIN and reads on until the exporter closes its side, for a grace
 * period. The exporter must notice the FIN, stop writing into that
 * connection, close it and send the rest on a new one: then nothing is
 * lost. An exporter that goes on writing into the half-closed connection
 * loses everything written after the grace period. */
static void t_tcp_collector_fin(void)
{
	static struct stream_rd b1, b2;
	uint16_t port;
	int lfd = listener(SOCK_STREAM, &port), cfd, cfd2 = -1;
	struct exporter_cfg cfg = cfg_default();
	struct vt_err err;
	struct exporter *e;
	uint32_t recs = 0, i = 0;
	struct msgstat s = { 0 };
	bool eof = false;
	uint64_t until;

	cfg.flush_ms = 0;
	e = exporter_new(&cfg, &err);
	CHECK_EQ(exporter_add(e, url("tcp", port), &err), 0);
	cfd = accept_wait(lfd, 2000);
	CHECK(cfd >= 0);
	for (; i < 200; i++) {
		struct flow_rec r = flow_n(i);
		exporter_flow(e, &r, 1700000000000ull + i);
	}
	exporter_poll(e, 1700000001000ull);
	until = mono_ms() + 5000;
	while (s.flows < 200 && mono_ms() < until)
		pump(cfd, &b1, &recs, &s, 20);
	CHECK_EQ(s.flows, 200);
	/* the collector stops: FIN, and reads on for a grace of 1 s */
	shutdown(cfd, SHUT_WR);
	until = mono_ms() + 1000;
	while (!eof && mono_ms() < until) {
		struct flow_rec r = flow_n(i);
		exporter_flow(e, &r, 1700000001000ull + i);
		exporter_poll(e, 1700000001000ull + i);
		i++;
		eof = pump(cfd, &b1, &recs, &s, 2) < 0;
	}
	CHECK(eof);
	close(cfd);
	/* the collector is back: the exporter reconnects */
	until = mono_ms() + 5000;
	while (cfd2 < 0 && mono_ms() < until) {
		struct flow_rec r = flow_n(i);
		exporter_flow(e, &r, 1700000002000ull + i);
		exporter_poll(e, 1700000002000ull + i);
		i++;
		cfd2 = accept_wait(lfd, 20);
	}
	CHECK(cfd2 >= 0);
	CHECK_EQ(exporter_flush(e, 1700000003000ull, 3000), 0);
	exporter_free(e);
	until = mono_ms() + 5000;
	while (cfd2 >= 0 && mono_ms() < until && pump(cfd2, &b2, &recs, &s, 50) == 0)
		;
	/* every record, and sequence numbers without a gap (check_ipfix) */
	CHECK_EQ(s.flows, i);
	CHECK_EQ(s.bad, 0);
	if (cfd2 >= 0)
		close(cfd2);
	close(lfd);
}

/* Pacing: a rate-limited UDP collector with a small queue drops (and
 * counts) in the live mode; the offline blocking mode waits and loses
 * nothing, taking about msgs/rate seconds. */
static void t_pacing(void)
{
	for (int blocking = 0; blocking < 2; blocking++) {
		uint16_t port;
		int fd = listener(SOCK_DGRAM, &port);
		struct exporter_cfg cfg = cfg_default();
		struct vt_err err;
		struct exporter *e;
		uint64_t t0;
		const struct exp_coll_stats *cs;
		size_t got;
		uint32_t recs = 0;
		struct msgstat s = { .lenient = true };

		cfg.rate = 200;
		cfg.queue_max = 4;
		cfg.blocking = blocking;
		e = exporter_new(&cfg, &err);
		CHECK_EQ(exporter_add(e, url("udp", port), &err), 0);
		t0 = mono_ms();
		for (uint32_t i = 0; i < 19 * 60; i++) { /* 57 full messages */
			struct flow_rec r = flow_n(i);
			exporter_flow(e, &r, 1700000000000ull + i);
		}
		/* let the queue drain, then one more record: its message tells
		 * the collector (by its sequence number) what was dropped */
		for (int k = 0; k < 20; k++) {
			usleep(10000);
			exporter_poll(e, 1700000001500ull);
		}
		{
			struct flow_rec r = flow_n(19 * 60);
			exporter_flow(e, &r, 1700000001600ull);
		}
		exporter_flush(e, 1700000002000ull, 3000);
		cs = exporter_collector(e, 0);
		got = recv_all(fd, rx, rxlen, 4096, 300);
		for (size_t i = 0; i < got; i++)
			check_ipfix(rx[i], rxlen[i], &recs, &s);
		if (blocking) {
			/* 58 messages at 200/s after a burst of 20: >= 190 ms */
			CHECK(mono_ms() - t0 >= 150);
			CHECK_EQ(s.flows, 19 * 60 + 1);
			CHECK_EQ(s.gap, 0);
			CHECK_EQ_U64(cs->dropped_messages, 0);
		} else {
			CHECK(cs->dropped_messages > 0);
			CHECK_EQ_U64(s.flows + cs->c.notsent_flows, 19 * 60 + 1);
			/* the collector's sequence-gap count equals our drops */
			CHECK_EQ_U64(s.gap, cs->c.notsent_flows);
		}
		CHECK_EQ(s.options, 1);
		exporter_free(e);
		close(fd);
	}
}

static void t_bad_urls(void)
{
	static const struct {
		const char *url;
		const char *msg;
	} c[] = {
		{ "127.0.0.1:2055", "expected udp://HOST:PORT" },
		{ "udp://127.0.0.1", "missing :PORT" },
		{ "udp://127.0.0.1:0", "port must be 1-65535" },
		{ "udp://127.0.0.1:70000", "port must be 1-65535" },
		{ "udp://:2055", "missing host" },
		{ "udp://[::1:2055", "bad [IPv6]:PORT" },
		{ "udp://no.such.host.invalid:2055", "cannot resolve" },
	};
	struct exporter_cfg cfg = cfg_default();
	struct vt_err err;
	struct exporter *e = exporter_new(&cfg, &err);

	for (size_t i = 0; i < ARRAY_SIZE(c); i++) {
		vt_test_case = c[i].url;
		CHECK(exporter_add(e, c[i].url, &err) < 0);
		CHECK_CONTAINS(err.msg, c[i].msg);
	}
	CHECK_EQ(exporter_ncollectors(e), 0);
	CHECK_EQ(exporter_add(e, "udp://[::1]:2055", &err), 0);
	CHECK_EQ(exporter_collector(e, 0)->msg_cap, 1500 - 48);
	exporter_free(e);
	cfg.format = EXP_FMT_NFV9;
	e = exporter_new(&cfg, &err);
	CHECK(exporter_add(e, "tcp://127.0.0.1:4739", &err) < 0);
	CHECK_CONTAINS(err.msg, "over UDP only");
	exporter_free(e);
	cfg.mtu = 576;
	CHECK(exporter_new(&cfg, &err) == NULL);
	CHECK_CONTAINS(err.msg, "MTU");
}

VT_TEST_MAIN(VT_T(t_udp_ipfix_sequence), VT_T(t_udp_nfv9_sequence), VT_T(t_nfv9_time_span),
	     VT_T(t_udp_dead_collector),
	     VT_T(t_tcp_dead_collector), VT_T(t_tcp_reconnect),
	     VT_T(t_tcp_collector_fin), VT_T(t_pacing), VT_T(t_bad_urls))
