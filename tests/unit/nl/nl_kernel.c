/* nl_kernel — drives lib/nl against the real kernel for
 * tests/integration/lab_nl.sh, which checks every result with iproute2 (the
 * independent peer). It covers what the lab itself does not use: VXLAN
 * devices (external/collect_md and classic), dummy, renames, alias,
 * address and route removal, local routes, neighbours, sysctls, persistent
 * TAPs, link events, spawning in a namespace. Not a unit test (it needs
 * CAP_NET_ADMIN): built next to them, run by the integration test.
 *
 *   nl_kernel setup NS      build the objects listed in lab_nl.sh in NS
 *   nl_kernel dump NS       print lib/nl's view: one line per link/addr/route
 *   nl_kernel events NS N S print N link events (joins of br0, removals)
 *                           seen within S seconds, with their wall time
 *   nl_kernel spawn NS      run `sh -c 'exit 7'` in NS, print its status
 *   nl_kernel link-get NS IF      IF by its ifindex, with packet counters
 *   nl_kernel route-get NS ADDR   the route towards ADDR (ip route get)
 *   nl_kernel teardown NS   delete the objects, then the namespace
 */
#include <errno.h>
#include <linux/if_tun.h>
#include <linux/rtnetlink.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/timeutil.h"
#include "nl/nl.h"

static int failures;

static void step(const char *what, int r, struct nl_sock *sk)
{
	printf("%-40s %s%s%s\n", what, r < 0 ? strerror(-r) : "ok",
	       r < 0 && sk && *nl_sock_errmsg(sk) ? " / " : "",
	       r < 0 && sk ? nl_sock_errmsg(sk) : "");
	if (r < 0)
		failures++;
}

static struct vt_addr A(const char *s)
{
	struct vt_addr a;

	if (addr_parse(s, &a) < 0) {
		fprintf(stderr, "bad address %s\n", s);
		exit(2);
	}
	return a;
}

static int setup(int fd, struct nl_sock *sk)
{
	static const uint8_t mac_a[6] = { 0x02, 0, 0, 0, 0, 0x0a };
	static const uint8_t mac_n[6] = { 0x02, 0, 0, 0, 0, 0x07 };
	struct nl_link_new br = { .name = "br0", .kind = NL_LINK_BRIDGE, .up = true };
	struct nl_link_new d = { .name = "d0", .kind = NL_LINK_DUMMY, .up = true };
	struct nl_link_new v = { .name = "a0", .kind = NL_LINK_VETH };
	struct nl_link_new x0 = { .name = "vx0", .kind = NL_LINK_VXLAN, .up = true };
	struct nl_link_new x1 = { .name = "vx1", .kind = NL_LINK_VXLAN };
	struct nl_link_mod m = NL_LINK_MOD_INIT;
	struct nl_tap_opts to = NL_TAP_OPTS_INIT;
	struct vt_addr a;
	struct nl_route rt;
	char buf[32];
	int r, idx;

	step("lo up", nl_link_set_up(sk, "lo", true), sk);
	br.u.bridge.mcast_snooping = 0;
	br.u.bridge.ageing_ms = 30000;
	step("bridge br0", nl_link_add(sk, &br), sk);
	r = nl_link_add(sk, &d);
	/* some kernels (this platform's) are built without the dummy driver */
	printf("%-40s %s\n", "dummy d0", r == -EOPNOTSUPP ? "unsupported" : r < 0 ? strerror(-r) : "ok");
	v.u.veth.peer = "b0";
	step("veth a0/b0", nl_link_add(sk, &v), sk);
	m.name = "a0";
	m.mtu = 1400;
	m.mac = mac_a;
	m.alias = "port a";
	m.master = nl_link_index(sk, "br0");
	m.up = 1;
	step("a0: mtu mac alias master up", nl_link_mod(sk, &m), sk);
	idx = nl_link_index(sk, "b0");
	m = (struct nl_link_mod)NL_LINK_MOD_INIT;
	m.ifindex = idx > 0 ? (uint32_t)idx : 0;
	m.new_name = "b1";
	m.up = 1;
	step("rename b0 -> b1 (by index)", nl_link_mod(sk, &m), sk);
	x0.u.vxlan.external = true;
	x0.u.vxlan.dstport = 4789;
	x0.u.vxlan.local = A("198.18.0.9");
	x0.u.vxlan.ttl = 64;
	x0.u.vxlan.learning = false;
	x0.u.vxlan.udp_csum = true;
	x0.no_ipv6_ll = true;
	step("vxlan vx0 external, no IPv6 link-local", nl_link_add(sk, &x0), sk);
	x1.u.vxlan.vni = 42;
	x1.u.vxlan.remote = A("198.18.0.7");
	x1.u.vxlan.dstport = 8472;
	x1.u.vxlan.learning = true;
	step("vxlan vx1 vni 42", nl_link_add(sk, &x1), sk);
	to.name = "tp0";
	to.vnet_hdr = true;
	to.vnet_hdr_sz = 12;
	to.persist = true;
	to.owner = 0;
	to.in_ns = true;
	to.nsfd = fd;
	r = nl_tap_open(&to, NULL);
	step("persistent TAP tp0", r < 0 ? r : 0, NULL);
	if (r >= 0)
		close(r);
	idx = nl_link_index(sk, "br0");
	a = A("198.18.0.9");
	step("addr 198.18.0.9/24 br0", nl_addr_add(sk, (uint32_t)idx, &a, 24, 0), sk);
	a = A("2001:db8::9");
	step("addr 2001:db8::9/64 br0 nodad", nl_addr_add(sk, (uint32_t)idx, &a, 64, NL_ADDR_NODAD), sk);
	a = A("198.18.0.99");
	step("addr 198.18.0.99/24 br0", nl_addr_add(sk, (uint32_t)idx, &a, 24, 0), sk);
	step("del addr 198.18.0.99/24", nl_addr_del(sk, (uint32_t)idx, &a, 24), sk);
	step("addr 2001:db8::8/64 (string)", nl_addr_add_str(sk, "br0", "2001:db8::8/64", NL_ADDR_NODAD), sk);
	memset(&rt, 0, sizeof(rt));
	rt.dst = A("198.51.100.0");
	rt.plen = 24;
	rt.gw = A("198.18.0.1");
	rt.metric = 50;
	step("route 198.51.100.0/24 via 198.18.0.1", nl_route_add(sk, &rt), sk);
	step("same route again (EEXIST wanted)", nl_route_add(sk, &rt) == -EEXIST ? 0 : -EINVAL, NULL);
	memset(&rt, 0, sizeof(rt));
	rt.gw = A("2001:db8::1");
	rt.oif = (uint32_t)idx;
	rt.onlink = true;
	step("default via 2001:db8::1 onlink", nl_route_add(sk, &rt), sk);
	memset(&rt, 0, sizeof(rt));
	rt.dst = A("203.0.113.0");
	rt.plen = 24;
	rt.type = RTN_LOCAL;
	rt.oif = 1;
	step("local 203.0.113.0/24 dev lo", nl_route_add(sk, &rt), sk);
	memset(&rt, 0, sizeof(rt));
	rt.dst = A("192.0.2.0");
	rt.plen = 24;
	rt.gw = A("198.18.0.1");
	step("route 192.0.2.0/24 (then deleted)", nl_route_add(sk, &rt), sk);
	step("del route 192.0.2.0/24", nl_route_del(sk, &rt), sk);
	a = A("198.18.0.7");
	step("neigh 198.18.0.7 permanent", nl_neigh_set(sk, (uint32_t)idx, &a, mac_n), sk);
	step("sysctl ip_forward=1", nl_netns_sysctl(fd, "net.ipv4.ip_forward", "1"), NULL);
	r = nl_netns_sysctl_get(fd, "net/ipv4/ip_forward", buf, sizeof(buf));
	step("sysctl read back", r < 0 ? r : strcmp(buf, "1") == 0 ? 0 : -EINVAL, NULL);
	step("unknown sysctl (ENOENT wanted)",
	     nl_netns_sysctl(fd, "net.ipv4.no_such_key", "1") == -ENOENT ? 0 : -EINVAL, NULL);
	step("del unknown link (ENODEV wanted)", nl_link_del(sk, "nope0") == -ENODEV ? 0 : -EINVAL, sk);
	return failures ? 1 : 0;
}

static int print_link(const struct nl_link_info *li, void *arg)
{
	char mac[VT_MACSTRLEN] = "";

	(void)arg;
	if (li->mac_len == 6)
		mac_fmt(li->mac, mac, sizeof(mac));
	printf("link %s kind=%s master=%u mtu=%u mac=%s alias=%s up=%d", li->name, li->kind,
	       li->master, li->mtu, mac, li->alias, !!(li->flags & IFF_UP));
	if (!strcmp(li->kind, "vxlan"))
		printf(" external=%d vni=%u port=%u", li->vxlan_external, li->vxlan_vni, li->vxlan_port);
	if (!strcmp(li->kind, "tun"))
		printf(" tap=%d vnet_hdr=%d persist=%d", li->tun_tap, li->tun_vnet_hdr, li->tun_persist);
	if (li->brport_state >= 0)
		printf(" brport_state=%d", li->brport_state);
	printf("\n");
	return 0;
}

static int print_addr(const struct nl_addr_info *ai, void *arg)
{
	char a[VT_ADDRSTRLEN];

	(void)arg;
	if (ai->scope == RT_SCOPE_UNIVERSE)
		printf("addr %u %s/%u\n", ai->ifindex, addr_fmt(&ai->addr, a, sizeof(a)), ai->plen);
	return 0;
}

static int print_route(const struct nl_route_info *ri, void *arg)
{
	char d[VT_ADDRSTRLEN], g[VT_ADDRSTRLEN];

	(void)arg;
	if (ri->table != RT_TABLE_MAIN && ri->type != RTN_LOCAL)
		return 0;
	printf("route %s/%u type=%u gw=%s oif=%u metric=%u\n", addr_fmt(&ri->dst, d, sizeof(d)),
	       ri->dst_len, ri->type, addr_is_zero(&ri->gw) ? "-" : addr_fmt(&ri->gw, g, sizeof(g)),
	       ri->oif, ri->metric);
	return 0;
}

static int dump(struct nl_sock *sk)
{
	step("link dump", nl_link_dump(sk, print_link, NULL), sk);
	step("addr dump", nl_addr_dump(sk, AF_UNSPEC, print_addr, NULL), sk);
	step("route dump v4", nl_route_dump(sk, AF_INET, print_route, NULL), sk);
	step("route dump v6", nl_route_dump(sk, AF_INET6, print_route, NULL), sk);
	return failures ? 1 : 0;
}

struct evctx {
	int bridge;
	int seen;
	char last[64][48];           /* what was printed per ifindex (dedupe) */
};

static int on_event(enum nl_link_event ev, const struct nl_link_info *li, void *arg)
{
	struct evctx *c = arg;

	if (ev == NL_LINK_DEL || li->master == (uint32_t)c->bridge) {
		/* a join brings several RTM_NEWLINKs (master, carrier, port
		 * state): print each change once */
		char key[48];
		snprintf(key, sizeof(key), "%d %s %u", ev, li->name, li->master);
		if (li->ifindex < 64 && strcmp(c->last[li->ifindex], key) == 0)
			return 0;
		if (li->ifindex < 64)
			snprintf(c->last[li->ifindex], sizeof(c->last[0]), "%s", key);
		printf("event %s %s master=%u time_ms=%llu\n", ev == NL_LINK_DEL ? "DEL" : "NEW",
		       li->name, li->master, (unsigned long long)wall_ms());
		fflush(stdout);
		c->seen++;
	}
	return 0;
}

static int events(int fd, struct nl_sock *sk, int want, int secs)
{
	struct nl_sock *ev = nl_link_events_open(fd);
	static struct evctx c;
	uint64_t until = mono_ms() + (uint64_t)secs * 1000;

	c.bridge = nl_link_index(sk, "br0");
	if (!ev || c.bridge < 0) {
		printf("events: cannot subscribe\n");
		return 1;
	}
	printf("subscribed\n");
	fflush(stdout);
	while (c.seen < want && mono_ms() < until) {
		struct pollfd p = { nl_sock_fd(ev), POLLIN, 0 };
		if (poll(&p, 1, 100) > 0) {
			int r = nl_link_events_read(ev, 16, on_event, &c);
			if (r == -ENOBUFS)
				printf("overrun\n");
		}
	}
	nl_sock_close(ev);
	return c.seen >= want ? 0 : 1;
}

static int spawn(int fd)
{
	char *argv[] = { "sh", "-c", "exit 7", NULL };
	pid_t pid = nl_netns_spawn(fd, argv, NL_NETNS_REMOUNT_SYS);
	int st = 0;

	if (pid < 0 || waitpid(pid, &st, 0) != pid) {
		printf("spawn failed\n");
		return 1;
	}
	printf("spawn exit=%d inode=%llu\n", WIFEXITED(st) ? WEXITSTATUS(st) : -1,
	       (unsigned long long)nl_netns_inode(fd));
	return 0;
}

static int link_get(struct nl_sock *sk, const char *name)
{
	struct nl_link_info li;
	int idx = nl_link_index(sk, name), r;

	if (idx < 0)
		return idx;
	r = nl_link_get_index(sk, (uint32_t)idx, true, &li);
	if (r < 0)
		return r;
	printf("link %s ifindex=%u mtu=%u rx_packets=%llu tx_packets=%llu\n", li.name, li.ifindex,
	       li.mtu, (unsigned long long)li.rx_packets, (unsigned long long)li.tx_packets);
	return 0;
}

static int route_get(struct nl_sock *sk, const char *dst)
{
	struct nl_route_info ri;
	char gw[VT_ADDRSTRLEN];
	struct vt_addr a = A(dst);
	int r = nl_route_get(sk, &a, &ri);

	if (r < 0) {
		printf("route-get %s: %s\n", dst, strerror(-r));
		return 0;   /* the answer is the error: lab_nl.sh checks it */
	}
	printf("route-get %s oif=%u mtu=%u gw=%s\n", dst, ri.oif, ri.mtu,
	       addr_is_zero(&ri.gw) ? "-" : addr_fmt(&ri.gw, gw, sizeof(gw)));
	return 0;
}

static int teardown(const char *ns, struct nl_sock *sk)
{
	static const char *const links[] = { "vx0", "a0", "tp0", "br0" };
	int idx = nl_link_index(sk, "vx1");

	step("del vx1 by index", idx < 0 ? idx : nl_link_del_index(sk, (uint32_t)idx), sk);

	for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++) {
		char what[64];
		snprintf(what, sizeof(what), "del %s", links[i]);
		step(what, nl_link_del(sk, links[i]), sk);
	}
	step("b1 went with its veth peer", nl_link_index(sk, "b1") == -ENODEV ? 0 : -EEXIST, NULL);
	nl_sock_close(sk);
	step("delete namespace", nl_netns_delete(ns), NULL);
	step("delete it again (ENOENT wanted)", nl_netns_delete(ns) == -ENOENT ? 0 : -EINVAL, NULL);
	return failures ? 1 : 0;
}

int main(int argc, char **argv)
{
	struct nl_sock *sk;
	int fd, r;

	if (argc < 3) {
		fprintf(stderr, "usage: nl_kernel setup|dump|events|spawn|teardown NS [N SECS]\n");
		return 2;
	}
	if (!strcmp(argv[1], "setup")) {
		r = nl_netns_create(argv[2]);
		step("create namespace", r, NULL);
		step("create it again (EEXIST wanted)", nl_netns_create(argv[2]) == -EEXIST ? 0 : -EINVAL, NULL);
		if (r < 0)
			return 1;
	}
	fd = nl_netns_open(argv[2]);
	if (fd < 0 || !(sk = nl_netns_sock_open(fd, 0))) {
		fprintf(stderr, "cannot open namespace %s\n", argv[2]);
		return 1;
	}
	if (!strcmp(argv[1], "setup"))
		r = setup(fd, sk);
	else if (!strcmp(argv[1], "dump"))
		r = dump(sk);
	else if (!strcmp(argv[1], "events") && argc == 5) {
		uint64_t n, secs;
		r = parse_u64(argv[3], 1, 1000, &n) < 0 || parse_u64(argv[4], 1, 600, &secs) < 0 ? 2 :
			events(fd, sk, (int)n, (int)secs);
	}
	else if (!strcmp(argv[1], "spawn"))
		r = spawn(fd);
	else if (!strcmp(argv[1], "link-get") && argc == 4)
		r = link_get(sk, argv[3]) < 0 ? 1 : 0;
	else if (!strcmp(argv[1], "route-get") && argc == 4)
		r = route_get(sk, argv[3]);
	else if (!strcmp(argv[1], "teardown")) {
		close(fd);
		return teardown(argv[2], sk);
	} else
		r = 2;
	nl_sock_close(sk);
	close(fd);
	return r;
}
