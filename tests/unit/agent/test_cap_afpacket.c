/* Unit tests: src/agent/cap_afpacket — the AF_PACKET capture backend on
 * real veth pairs in two private network namespaces: both directions and
 * the snap length, a VLAN tag the kernel takes off, GSO super-frames whose
 * virtio-net header accounts for exactly the segments the sending TCP
 * stack counted (tcpi_segs_out), and drop counters that account for every
 * frame when the ring overflows. Needs CAP_NET_ADMIN (exit 77 without). */
#include "agent/capture.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <netinet/in.h>
#include <linux/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/be.h"
#include "core/compiler.h"
#include "core/timeutil.h"
#include "nl/nl.h"
#include "vt_test.h"

static char ns_a[40], ns_b[40];
static int fd_a = -1, fd_b = -1;
static struct nl_sock *sk_a, *sk_b;

#define ETH_TEST 0x88b5   /* IEEE 802 local experimental ethertype */

static void teardown(void)
{
	nl_sock_close(sk_a);
	nl_sock_close(sk_b);
	sk_a = sk_b = NULL;
	if (fd_a >= 0)
		close(fd_a);
	if (fd_b >= 0)
		close(fd_b);
	fd_a = fd_b = -1;
	if (ns_a[0])
		nl_netns_delete(ns_a);
	if (ns_b[0])
		nl_netns_delete(ns_b);
}

static int veth(const char *a, const char *b, const char *addr_a, const char *addr_b)
{
	struct nl_link_new l = { .name = a, .kind = NL_LINK_VETH, .up = true };
	int r;

	l.u.veth.peer = b;
	l.u.veth.peer_in_ns = true;
	l.u.veth.peer_nsfd = fd_b;
	if ((r = nl_link_add(sk_a, &l)) < 0)
		return r;
	if ((r = nl_link_set_up(sk_b, b, true)) < 0)
		return r;
	if (addr_a && (r = nl_addr_add_str(sk_a, a, addr_a, NL_ADDR_NODAD)) < 0)
		return r;
	if (addr_b && (r = nl_addr_add_str(sk_b, b, addr_b, NL_ADDR_NODAD)) < 0)
		return r;
	return 0;
}

/* A test killed by its timeout still removes its namespaces. */
static void on_signal(int sig)
{
	teardown();
	signal(sig, SIG_DFL);
	raise(sig);
}

/* setup() : two namespaces joined by veth pairs cap0/cap1 (addressed)
 * and cap2/cap3 (bare). Exits 77 without the privilege. */
static void setup(void)
{
	static bool done;
	int r;

	if (done)
		return;
	done = true;
	if (geteuid() != 0) {
		printf("skipped: needs CAP_NET_ADMIN (run as root)\n");
		exit(77);
	}
	snprintf(ns_a, sizeof(ns_a), "vtcapa-%d", (int)getpid());
	snprintf(ns_b, sizeof(ns_b), "vtcapb-%d", (int)getpid());
	if ((r = nl_netns_create(ns_a)) < 0 || (r = nl_netns_create(ns_b)) < 0) {
		if (r == -EPERM) {
			teardown();
			printf("skipped: needs CAP_NET_ADMIN and CAP_SYS_ADMIN\n");
			exit(77);
		}
		fprintf(stderr, "netns: %s\n", strerror(-r));
		teardown();
		exit(1);
	}
	atexit(teardown);
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	fd_a = nl_netns_open(ns_a);
	fd_b = nl_netns_open(ns_b);
	sk_a = nl_netns_sock_open(fd_a, 0);
	sk_b = nl_netns_sock_open(fd_b, 0);
	if (!sk_a || !sk_b) {
		fprintf(stderr, "netlink sockets failed\n");
		exit(1);
	}
	/* no IPv6 chatter (router solicitations, MLD) on the test links */
	nl_netns_sysctl(fd_a, "net.ipv6.conf.default.disable_ipv6", "1");
	nl_netns_sysctl(fd_b, "net.ipv6.conf.default.disable_ipv6", "1");
	nl_netns_sysctl(fd_a, "net.ipv6.conf.all.disable_ipv6", "1");
	nl_netns_sysctl(fd_b, "net.ipv6.conf.all.disable_ipv6", "1");
	if ((r = veth("cap0", "cap1", "198.18.250.1/24", "198.18.250.2/24")) < 0 ||
	    (r = veth("cap2", "cap3", NULL, NULL)) < 0) {
		fprintf(stderr, "veth: %s (%s)\n", strerror(-r), nl_sock_errmsg(sk_a));
		exit(1);
	}
	nl_link_set_up(sk_a, "lo", true);
	nl_link_set_up(sk_b, "lo", true);
}

struct open_ctx {
	struct cap_port_cfg cfg;
	struct cap_port *p;
	struct vt_err err;
};

static int open_in_ns(void *arg)
{
	struct open_ctx *c = arg;
	c->p = cap_afpacket_ops.open(&c->cfg, &c->err);
	return c->p ? 0 : c->err.code;
}

static struct cap_port *cap_open_a(const char *ifname, uint64_t ring, uint32_t snap)
{
	struct open_ctx c = { 0 };
	int ix = nl_link_index(sk_a, ifname);

	c.cfg = (struct cap_port_cfg){ (uint32_t)ix, ifname, ring, 0, snap, 5 };
	if (ix <= 0 || nl_netns_run(fd_a, open_in_ns, &c) < 0) {
		fprintf(stderr, "open %s: %s\n", ifname, c.err.msg);
		return NULL;
	}
	return c.p;
}

/* ---- raw frames ---------------------------------------------------------- */

static int raw_socket(int nsfd)
{
	return nl_netns_socket(nsfd, AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
}

static int raw_send(int s, int ifindex, const uint8_t *frame, size_t len)
{
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_ifindex = ifindex, .sll_halen = 6 };
	return sendto(s, frame, len, 0, (struct sockaddr *)&sll, sizeof(sll)) == (ssize_t)len ? 0 : -errno;
}

static size_t test_frame(uint8_t *b, uint8_t marker, bool vlan, size_t len)
{
	size_t n = 0;
	memset(b, 0, len);
	memcpy(b, "\x02\x00\x00\x00\x00\xaa", 6);
	memcpy(b + 6, "\x02\x00\x00\x00\x00\xbb", 6);
	n = 12;
	if (vlan) {
		st_be16(b + n, 0x8100);
		st_be16(b + n + 2, 0x2005);   /* PCP 1, VID 5 */
		n += 4;
	}
	st_be16(b + n, ETH_TEST);
	b[n + 2] = marker;
	return len;
}

/* ---- collecting ------------------------------------------------------------ */

struct seen {
	unsigned in, out, vlan_valid, bad_snap, other;
	uint16_t tci;
	uint32_t snap, len;
	/* TCP accounting of the client 198.18.250.2 -> 198.18.250.1 */
	uint64_t segs, payload, gso_frames, max_len;
};

static void on_frame(void *arg, const struct cap_frame *f)
{
	struct seen *s = arg;
	struct vt_rd r = rd_init(f->data, f->caplen);
	uint16_t type;

	rd_skip(&r, 12);
	type = rd_u16(&r);
	if (type == ETH_TEST) {
		if (f->dir)
			s->out++;
		else
			s->in++;
		if (f->vlan_valid) {
			s->vlan_valid++;
			s->tci = f->vlan_tci;
		}
		if (f->len != s->len || f->caplen != VT_MIN(s->snap, s->len))
			s->bad_snap++;
		return;
	}
	if (type == 0x0800 && f->dir == 0) {
		const uint8_t *ip = rd_take(&r, 20);
		if (!ip || (ip[0] >> 4) != 4 || ip[9] != 6 || ld_be32(ip + 12) != 0xc612fa02)
			return;
		uint32_t ihl = (ip[0] & 15) * 4u, ip_len = ld_be16(ip + 2);
		rd_skip(&r, ihl - 20);
		const uint8_t *tcp = rd_take(&r, 20);
		if (!tcp)
			return;
		uint32_t hdr = ihl + (tcp[12] >> 4) * 4u, payload = ip_len - hdr;
		uint32_t g = cap_gso_size_for_meter(f);
		s->payload += payload;
		if (g && payload > g) {
			s->segs += (payload + g - 1) / g;
			s->gso_frames++;
		} else {
			s->segs += 1;
		}
		if (f->len > s->max_len)
			s->max_len = f->len;
		return;
	}
	s->other++;
}

/* drain() : reads until nothing arrived for <quiet_ms>. */
static void drain(struct cap_port *p, struct seen *s, int quiet_ms, int max_ms)
{
	uint64_t end = mono_ms() + (uint64_t)max_ms, last = mono_ms();

	while (mono_ms() < end && mono_ms() - last < (uint64_t)quiet_ms) {
		struct pollfd pfd = { cap_afpacket_ops.fd(p), POLLIN, 0 };
		poll(&pfd, 1, 20);
		if (cap_afpacket_ops.read(p, 64, on_frame, s) > 0)
			last = mono_ms();
	}
}

static void test_directions_snap_vlan(void)
{
	setup();
	struct cap_port *p = cap_open_a("cap0", 1 << 20, 96);
	int sa = raw_socket(fd_a), sb = raw_socket(fd_b);
	int ix_a = nl_link_index(sk_a, "cap0"), ix_b = nl_link_index(sk_b, "cap1");
	struct seen s = { .snap = 96, .len = 300 };
	uint8_t fr[400];

	CHECK(p && sa >= 0 && sb >= 0);
	if (!p || sa < 0 || sb < 0)
		return;
	for (int i = 0; i < 5; i++)
		CHECK_EQ(raw_send(sb, ix_b, fr, test_frame(fr, (uint8_t)i, false, 300)), 0);
	for (int i = 0; i < 3; i++)
		CHECK_EQ(raw_send(sa, ix_a, fr, test_frame(fr, (uint8_t)(10 + i), false, 300)), 0);
	drain(p, &s, 200, 5000);
	CHECK_EQ(s.in, 5);     /* received by the port: sent by the "VM" side */
	CHECK_EQ(s.out, 3);    /* transmitted by the port: delivered to the VM */
	CHECK_EQ(s.bad_snap, 0);
	/* a tagged frame: the kernel takes the tag off, the backend reports it
	 * (the decoder re-inserts it); the frame is 4 bytes shorter */
	s.len = 296;
	CHECK_EQ(raw_send(sb, ix_b, fr, test_frame(fr, 20, true, 300)), 0);
	drain(p, &s, 200, 5000);
	CHECK_EQ(s.in, 6);
	CHECK_EQ(s.vlan_valid, 1);
	CHECK_EQ(s.tci, 0x2005);
	CHECK_EQ(s.bad_snap, 0);
	struct cap_stats st;
	CHECK_EQ(cap_afpacket_ops.stats(p, &st), 0);
	CHECK_EQ(st.drops, 0);
	CHECK_EQ(st.received, s.in + s.out + s.other);
	close(sa);
	close(sb);
	cap_afpacket_ops.close(p);
}

static int tcp_socket(int nsfd)
{
	return nl_netns_socket(nsfd, AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
}

/* A TCP transfer with the stack's TSO/GSO on: the super-frames' virtio-net
 * headers must add up to the segments the sender's TCP counted. */
static void test_gso_segments(void)
{
	setup();
	struct cap_port *p = cap_open_a("cap0", 8 << 20, 128);
	int srv = tcp_socket(fd_a), cli = tcp_socket(fd_b), acc = -1, one = 1;
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(5001) };
	struct seen s = { 0 };
	static uint8_t buf[1 << 16];
	const size_t total = 4u << 20;
	size_t sent = 0, got = 0;
	struct tcp_info ti;
	socklen_t tl = sizeof(ti);

	CHECK(p && srv >= 0 && cli >= 0);
	if (!p || srv < 0 || cli < 0)
		return;
	inet_pton(AF_INET, "198.18.250.1", &sin.sin_addr);
	setsockopt(srv, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	CHECK_EQ(bind(srv, (struct sockaddr *)&sin, sizeof(sin)), 0);
	CHECK_EQ(listen(srv, 1), 0);
	CHECK_EQ(connect(cli, (struct sockaddr *)&sin, sizeof(sin)), 0);
	acc = accept(srv, NULL, NULL);
	CHECK(acc >= 0);
	/* interleave writing and reading on one thread: small steps */
	while (got < total) {
		if (sent < total) {
			ssize_t w = send(cli, buf, VT_MIN(sizeof(buf), total - sent), MSG_DONTWAIT);
			if (w > 0)
				sent += (size_t)w;
			if (sent == total)
				shutdown(cli, SHUT_WR);
		}
		ssize_t rd = recv(acc, buf, sizeof(buf), MSG_DONTWAIT);
		if (rd > 0)
			got += (size_t)rd;
		else if (rd == 0)
			break;
		/* keep the ring from overflowing */
		cap_afpacket_ops.read(p, 64, on_frame, &s);
	}
	CHECK_EQ(got, total);
	close(acc);
	/* the client gets the server's FIN and acknowledges it */
	for (int i = 0; i < 100 && recv(cli, buf, sizeof(buf), 0) > 0; i++)
		;
	usleep(100000);
	drain(p, &s, 300, 5000);
	CHECK_EQ(getsockopt(cli, IPPROTO_TCP, TCP_INFO, &ti, &tl), 0);
	fprintf(stderr, "  gso: %llu super-frames, largest %llu bytes, %llu segments, "
		"tcpi_segs_out %u, retrans %u\n", (unsigned long long)s.gso_frames,
		(unsigned long long)s.max_len, (unsigned long long)s.segs, ti.tcpi_segs_out,
		ti.tcpi_total_retrans);
	CHECK(s.gso_frames > 0);
	CHECK(s.max_len > 1514);
	CHECK_EQ(s.segs, ti.tcpi_segs_out);
	CHECK_EQ(s.payload, total);
	struct cap_stats st;
	CHECK_EQ(cap_afpacket_ops.stats(p, &st), 0);
	CHECK_EQ(st.drops, 0);
	close(cli);
	close(srv);
	cap_afpacket_ops.close(p);
}

/* A ring nobody reads: what the kernel could not store is counted as
 * dropped, and stored + dropped = sent, exactly. */
static void test_drop_accounting(void)
{
	setup();
	struct cap_port *p = cap_open_a("cap2", 128 << 10, 64);
	int sb = raw_socket(fd_b), ix_b = nl_link_index(sk_b, "cap3");
	struct seen s = { .snap = 64, .len = 200 };
	struct cap_stats st = { 0 };
	uint8_t fr[256];
	const unsigned n = 5000;
	uint64_t end;

	CHECK(p && sb >= 0);
	if (!p || sb < 0)
		return;
	for (unsigned i = 0; i < n; i++)
		if (raw_send(sb, ix_b, fr, test_frame(fr, (uint8_t)i, false, 200)) < 0)
			i--;   /* the socket buffer was full: try again */
	/* the veth backlog is processed asynchronously: wait for the count */
	end = mono_ms() + 5000;
	struct cap_stats acc = { 0 };
	while (mono_ms() < end) {
		cap_afpacket_ops.stats(p, &acc);
		if (acc.received + acc.drops >= n)
			break;
		usleep(20000);
	}
	drain(p, &s, 300, 5000);
	CHECK_EQ(cap_afpacket_ops.stats(p, &st), 0);
	fprintf(stderr, "  ring overflow: %llu stored, %llu dropped, %u read\n",
		(unsigned long long)st.received, (unsigned long long)st.drops, s.in);
	CHECK(st.drops > 0);
	CHECK_EQ(st.received + st.drops, n);
	CHECK_EQ(s.in, st.received);
	CHECK_EQ(s.bad_snap, 0);
	close(sb);
	cap_afpacket_ops.close(p);
}

static void test_vnet_parse(void)
{
	static const struct {
		uint8_t hdr[10];
		size_t n;
		int rc;
		uint8_t type;
		uint16_t size, hdr_len;
		uint32_t meter;
	} cases[] = {
		{ { 0 }, 10, 0, CAP_GSO_NONE, 0, 0, 0 },
		{ { 1, 1, 66, 0, 0xa8, 0x05, 34, 0, 16, 0 }, 10, 0, CAP_GSO_TCPV4, 1448, 66, 1448 },
		{ { 1, 0x81, 66, 0, 0xa8, 0x05 }, 10, 0, CAP_GSO_TCPV4, 1448, 66, 1448 },   /* ECN bit */
		{ { 1, 4, 86, 0, 0x94, 0x05 }, 10, 0, CAP_GSO_TCPV6, 1428, 86, 1428 },
		{ { 1, 5, 42, 0, 0xc8, 0x00 }, 10, 0, CAP_GSO_UDP_L4, 200, 42, 200 },
		{ { 0, 3, 42, 0, 0xc8, 0x05 }, 10, 0, CAP_GSO_UDP, 1480, 42, 0 },  /* UFO: fragments */
		{ { 1, 1, 66, 0, 0, 0 }, 10, -EINVAL, CAP_GSO_NONE, 0, 0, 0 },      /* no size */
		{ { 1, 1, 66, 0, 0xa8, 0x05 }, 9, -EINVAL, CAP_GSO_NONE, 0, 0, 0 },  /* short */
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct cap_frame f;
		memset(&f, 0xff, sizeof(f));
		CHECK_EQ(cap_vnet_parse(cases[i].hdr, cases[i].n, &f), cases[i].rc);
		CHECK_EQ(f.gso_type, cases[i].type);
		CHECK_EQ(f.gso_size, cases[i].size);
		CHECK_EQ(f.hdr_len, cases[i].hdr_len);
		CHECK_EQ(cap_gso_size_for_meter(&f), cases[i].meter);
	}
	CHECK(cap_backend("afpacket") == &cap_afpacket_ops);
	CHECK(cap_backend("ebpf") == NULL);
}

static void test_open_errors(void)
{
	setup();
	struct cap_port_cfg c = { 999999, "nosuch", 1 << 20, 0, 128, 10 };
	struct open_ctx o = { c, NULL, { 0 } };

	CHECK(nl_netns_run(fd_a, open_in_ns, &o) < 0);
	CHECK(o.p == NULL);
	CHECK_CONTAINS(o.err.msg, "nosuch");
	CHECK_CONTAINS(o.err.msg, "bind");
}

VT_TEST_MAIN(VT_T(test_vnet_parse), VT_T(test_directions_snap_vlan), VT_T(test_gso_segments),
	     VT_T(test_drop_accounting), VT_T(test_open_errors))
