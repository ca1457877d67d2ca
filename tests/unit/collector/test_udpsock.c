/* Unit tests: src/collector/udpsock — address parsing, the reuseport
 * group's steering by exporter address (checked against the kernel on
 * loopback), recvmmsg batches and the drop counters. */
#include "collector/udpsock.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "vt_test.h"

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif

static void test_parse(void)
{
	static const struct {
		const char *s;
		int ok;
		const char *fmt;
	} cases[] = {
		{ "0.0.0.0:4739", 1, "0.0.0.0:4739" },
		{ "127.0.0.1:0", 1, "127.0.0.1:0" },
		{ "[::]:2055", 1, "[::]:2055" },
		{ "[2001:db8::1]:65535", 1, "[2001:db8::1]:65535" },
		{ "127.0.0.1", 0, NULL },
		{ "127.0.0.1:65536", 0, NULL },
		{ ":4739", 0, NULL },
		{ "::1:4739", 0, NULL },
		{ "[::1]4739", 0, NULL },
		{ "[::1:4739", 0, NULL },
		{ "host.example:4739", 0, NULL },
		{ "1.2.3.4:x", 0, NULL },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct sockaddr_storage sa;
		struct vt_err err = { 0 };
		char buf[64];
		int r = udp_parse_addr(cases[i].s, &sa, &err);
		CHECK_EQ(r == 0, cases[i].ok);
		if (cases[i].ok)
			CHECK_STR(udp_fmt_addr(&sa, buf, sizeof(buf)), cases[i].fmt);
		else
			CHECK_CONTAINS(err.msg, "is not ADDRESS:PORT");
	}
}

static int sender(int family, const char *addr, uint16_t port)
{
	int fd = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof(ss));
	if (family == AF_INET) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		inet_pton(AF_INET, addr, &s4->sin_addr);
	} else {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		inet_pton(AF_INET6, addr, &s6->sin6_addr);
	}
	if (bind(fd, (struct sockaddr *)&ss, family == AF_INET ? sizeof(struct sockaddr_in)
							       : sizeof(struct sockaddr_in6)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static void send_to(int fd, int family, uint16_t port, const void *p, size_t n)
{
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof(ss));
	if (family == AF_INET) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		inet_pton(AF_INET, "127.0.0.1", &s4->sin_addr);
	} else {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		inet_pton(AF_INET6, "::1", &s6->sin6_addr);
	}
	CHECK(sendto(fd, p, n, 0, (struct sockaddr *)&ss,
		     family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6)) ==
	      (ssize_t)n);
}

/* Receives everything waiting on the group; for each datagram checks it
 * came to the socket udp_steer() predicts. Returns the count. */
static unsigned drain_check(int *fds, unsigned n, struct udp_rx *rx, unsigned *per)
{
	unsigned total = 0;

	for (int idle = 0; idle < 3;) {
		struct pollfd p[UDP_MAX_GROUP];
		for (unsigned i = 0; i < n; i++)
			p[i] = (struct pollfd){ .fd = fds[i], .events = POLLIN };
		if (poll(p, n, 100) <= 0) {
			idle++;
			continue;
		}
		for (unsigned i = 0; i < n; i++) {
			int k = udp_rx_recv(rx, fds[i]);
			CHECK(k >= 0);
			for (int j = 0; j < k; j++) {
				CHECK_EQ(udp_steer(&rx->msg[j].src, n), i);
				CHECK_EQ(rx->msg[j].len, 4);
				per[i]++;
				total++;
			}
		}
	}
	return total;
}

static void test_steering_v4(void)
{
	struct sockaddr_storage sa;
	struct vt_err err = { 0 };
	int fds[4];
	uint64_t granted = 0;
	struct udp_rx rx;
	unsigned per[4] = { 0 }, used = 0;

	CHECK_EQ(udp_parse_addr("127.0.0.1:0", &sa, &err), 0);
	CHECK_EQ(udp_group_open(&sa, 4, 1 << 20, fds, &granted, &err), 0);
	CHECK(granted >= 1 << 20);
	uint16_t port = udp_sock_port(fds[0]);
	CHECK(port != 0);
	for (int i = 1; i < 4; i++)
		CHECK_EQ(udp_sock_port(fds[i]), port);
	CHECK_EQ(udp_rx_init(&rx, 16), 0);
	/* 40 exporters, each from two source ports: one exporter, one worker */
	for (int e = 0; e < 40; e++) {
		char a[32];
		snprintf(a, sizeof(a), "127.0.%d.%d", e / 7, 10 + e);
		for (int k = 0; k < 2; k++) {
			int s = sender(AF_INET, a, 0);
			CHECK(s >= 0);
			uint32_t v = (uint32_t)e;
			send_to(s, AF_INET, port, &v, 4);
			close(s);
		}
	}
	CHECK_EQ(drain_check(fds, 4, &rx, per), 80);
	for (int i = 0; i < 4; i++)
		used += per[i] > 0;
	CHECK(used >= 3);   /* the hash spreads exporters */
	udp_rx_free(&rx);
	for (int i = 0; i < 4; i++)
		close(fds[i]);
}

static void test_steering_v6(void)
{
	struct sockaddr_storage sa;
	struct vt_err err = { 0 };
	int fds[3];
	struct udp_rx rx;
	unsigned per[3] = { 0 };

	CHECK_EQ(udp_parse_addr("[::1]:0", &sa, &err), 0);
	if (udp_group_open(&sa, 3, 1 << 16, fds, NULL, &err) < 0) {
		fprintf(stderr, "  no IPv6 loopback: %s\n", err.msg);
		return;
	}
	uint16_t port = udp_sock_port(fds[0]);
	CHECK_EQ(udp_rx_init(&rx, 4), 0);
	for (int k = 0; k < 10; k++) {
		int s = sender(AF_INET6, "::1", 0);
		uint32_t v = (uint32_t)k;
		send_to(s, AF_INET6, port, &v, 4);
		close(s);
	}
	CHECK_EQ(drain_check(fds, 3, &rx, per), 10);
	struct vt_addr one;
	addr_parse("::1", &one);
	CHECK_EQ(per[udp_steer(&one, 3)], 10);
	/* IPv6-only: an IPv4 datagram to the same port is not received */
	int s4 = sender(AF_INET, "127.0.0.1", 0);
	uint32_t v = 1;
	send_to(s4, AF_INET, port, &v, 4);
	close(s4);
	memset(per, 0, sizeof(per));
	CHECK_EQ(drain_check(fds, 3, &rx, per), 0);
	udp_rx_free(&rx);
	for (int i = 0; i < 3; i++)
		close(fds[i]);
}

static void test_drops(void)
{
	struct sockaddr_storage sa;
	struct vt_err err = { 0 };
	int fd;
	struct udp_rx rx;
	uint8_t payload[1000];
	unsigned got = 0;

	CHECK_EQ(udp_parse_addr("127.0.0.1:0", &sa, &err), 0);
	/* the smallest buffer the kernel allows */
	CHECK_EQ(udp_group_open(&sa, 1, 1, &fd, NULL, &err), 0);
	uint16_t port = udp_sock_port(fd);
	int s = sender(AF_INET, "127.0.0.1", 0);
	memset(payload, 0xab, sizeof(payload));
	for (int i = 0; i < 200; i++)
		send_to(s, AF_INET, port, payload, sizeof(payload));
	uint64_t drops = udp_sock_drops(fd);
	CHECK(drops > 0);
	CHECK_EQ(udp_rx_init(&rx, 8), 0);
	for (int k; (k = udp_rx_recv(&rx, fd)) > 0;) {
		for (int j = 0; j < k; j++)
			CHECK_EQ(rx.msg[j].len, sizeof(payload));
		got += (unsigned)k;
		CHECK(k <= 8);
	}
	/* loopback loses nothing but at the full socket: exact accounting */
	CHECK_EQ(got + drops, 200);
	/* the counter stays; a datagram that fits is received whole, from
	 * its sender's port (the headers set up once are reused) */
	send_to(s, AF_INET, port, payload, 10);
	CHECK_EQ(udp_rx_recv(&rx, fd), 1);
	CHECK_EQ(udp_sock_drops(fd), drops);
	CHECK_EQ(rx.msg[0].len, 10);
	CHECK_EQ(rx.msg[0].port, udp_sock_port(s));
	close(s);
	close(fd);
	udp_rx_free(&rx);

	/* errors name the address */
	int fds2[2];
	CHECK_EQ(udp_parse_addr("192.0.2.1:1", &sa, &err), 0);
	CHECK(udp_group_open(&sa, 2, 4096, fds2, NULL, &err) < 0);
	CHECK_CONTAINS(err.msg, "UDP listener 192.0.2.1:1: ");
}

/* The datagrams udp_msg_next() cuts a message into: lengths in <want>. */
static void check_split(const uint8_t *data, size_t len, uint16_t seg, const size_t *want,
			size_t nwant)
{
	struct udp_msg m = { .data = data, .len = len, .seg = seg };
	size_t at = 0, l, k = 0, off = 0;
	const uint8_t *d;

	while ((d = udp_msg_next(&m, &at, &l))) {
		CHECK(k < nwant);
		if (k >= nwant)
			return;
		CHECK_EQ(l, want[k]);
		CHECK(d == data + off);
		off += l;
		k++;
	}
	CHECK_EQ(k, nwant);
	CHECK_EQ(off, len);
}

static void test_msg_next(void)
{
	static const uint8_t buf[100];

	check_split(buf, 0, 0, (size_t[]){ 0 }, 1);             /* an empty datagram */
	check_split(buf, 7, 0, (size_t[]){ 7 }, 1);
	check_split(buf, 30, 10, (size_t[]){ 10, 10, 10 }, 3);  /* equal sizes */
	check_split(buf, 25, 10, (size_t[]){ 10, 10, 5 }, 3);   /* a shorter last one */
	check_split(buf, 10, 10, (size_t[]){ 10 }, 1);
	check_split(buf, 1, 1, (size_t[]){ 1 }, 1);
}

/* Sends <n> datagrams of <size> bytes (the last <last>), datagram i filled
 * with byte i, as one UDP GSO send (UDP_SEGMENT). 0 or -errno. */
static int send_gso(int s, uint16_t port, unsigned n, size_t size, size_t last)
{
	static uint8_t buf[65000];
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(port) };
	char ctl[CMSG_SPACE(sizeof(uint16_t))] = { 0 };
	size_t len = (n - 1) * size + last;
	struct iovec iov = { buf, len };
	struct msghdr mh = { .msg_name = &to, .msg_namelen = sizeof(to), .msg_iov = &iov,
			     .msg_iovlen = 1, .msg_control = ctl, .msg_controllen = sizeof(ctl) };
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
	uint16_t seg = (uint16_t)size;

	to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	for (unsigned i = 0; i < n; i++)
		memset(buf + i * size, (int)i, i + 1 < n ? size : last);
	c->cmsg_level = SOL_UDP;
	c->cmsg_type = UDP_SEGMENT;
	c->cmsg_len = CMSG_LEN(sizeof(seg));
	memcpy(CMSG_DATA(c), &seg, sizeof(seg));
	return sendmsg(s, &mh, 0) == (ssize_t)len ? 0 : -errno;
}

/* Every datagram of the received messages: counts them, checks datagram
 * i (in order) is <size> bytes of byte i, the last <last>. */
static unsigned check_run(struct udp_rx *rx, int fd, unsigned n, size_t size, size_t last,
			  unsigned *msgs)
{
	unsigned got = 0;

	*msgs = 0;
	for (int k; (k = udp_rx_recv(rx, fd)) > 0;) {
		for (int j = 0; j < k; j++) {
			const uint8_t *d;
			size_t at = 0, l;
			(*msgs)++;
			while ((d = udp_msg_next(&rx->msg[j], &at, &l))) {
				size_t want = got + 1 < n ? size : last;
				CHECK_EQ(l, want);
				CHECK(l > 0 && d[0] == (uint8_t)got && d[l - 1] == (uint8_t)got);
				got++;
			}
		}
	}
	return got;
}

/* udp_gro: a run sent with UDP GSO over loopback arrives as one message
 * that splits into the datagrams sent; without it, as the datagrams. */
static void test_gro(void)
{
	struct sockaddr_storage sa;
	struct vt_err err = { 0 };
	struct udp_rx rx;
	int fd, s = sender(AF_INET, "127.0.0.1", 0);
	unsigned msgs;

	CHECK_EQ(udp_parse_addr("127.0.0.1:0", &sa, &err), 0);
	CHECK_EQ(udp_rx_init(&rx, 8), 0);
	for (int gro = 0; gro < 2; gro++) {
		CHECK_EQ(udp_group_open(&sa, 1, 1 << 20, &fd, NULL, &err), 0);
		uint16_t port = udp_sock_port(fd);
		if (gro)
			CHECK_EQ(udp_sock_gro(fd), 0);
		CHECK_EQ(send_gso(s, port, 40, 1400, 900), 0);
		CHECK_EQ(check_run(&rx, fd, 40, 1400, 900, &msgs), 40);
		CHECK_EQ(msgs, gro ? 1 : 40);
		CHECK_EQ(rx.msg[0].seg, gro ? 1400 : 0);
		/* a single datagram is one, GRO or not */
		send_to(s, AF_INET, port, "abc", 3);
		CHECK_EQ(udp_rx_recv(&rx, fd), 1);
		CHECK_EQ(rx.msg[0].len, 3);
		CHECK_EQ(rx.msg[0].seg, 0);
		CHECK_EQ(rx.msg[0].port, udp_sock_port(s));
		close(fd);
	}
	close(s);
	udp_rx_free(&rx);
}

VT_TEST_MAIN(VT_T(test_parse), VT_T(test_steering_v4), VT_T(test_steering_v6), VT_T(test_drops),
	     VT_T(test_msg_next), VT_T(test_gro))
