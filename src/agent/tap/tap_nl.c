/* tap_nl.c — rtnetlink requests of the tap engine (see tap_nl.h). */
#include "agent/tap/tap_nl.h"

#include <errno.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/compiler.h"

#define NL_BUF 32768

/* IFLA_OPERSTATE values (RFC 2863, <linux/if.h>, which collides with
 * <net/if.h>) */
#define OPER_UNKNOWN 0
#define OPER_UP 6

/* A request under construction: header, family struct, attributes. */
struct nlreq {
	uint8_t buf[4096];
	struct nlmsghdr *h;
	bool err;            /* an attribute did not fit */
};

static void req_init(struct nlreq *q, uint16_t type, uint16_t flags, const void *fam, size_t flen)
{
	memset(q->buf, 0, sizeof(q->buf));
	q->h = (struct nlmsghdr *)(void *)q->buf;
	q->h->nlmsg_len = (uint32_t)NLMSG_LENGTH(flen);
	q->h->nlmsg_type = type;
	q->h->nlmsg_flags = (uint16_t)(NLM_F_REQUEST | flags);
	q->err = false;
	memcpy(NLMSG_DATA(q->h), fam, flen);
}

static struct rtattr *attr_put(struct nlreq *q, uint16_t type, const void *data, size_t len)
{
	size_t off = NLMSG_ALIGN(q->h->nlmsg_len);
	struct rtattr *a;

	if (off + RTA_SPACE(len) > sizeof(q->buf)) {
		q->err = true;
		return NULL;
	}
	a = (struct rtattr *)(void *)(q->buf + off);
	a->rta_type = type;
	a->rta_len = (uint16_t)RTA_LENGTH(len);
	if (len)
		memcpy(RTA_DATA(a), data, len);
	q->h->nlmsg_len = (uint32_t)(off + RTA_SPACE(len));
	return a;
}

static struct rtattr *nest_begin(struct nlreq *q, uint16_t type)
{
	return attr_put(q, type, NULL, 0);
}

static void nest_end(struct nlreq *q, struct rtattr *a)
{
	if (a)
		a->rta_len = (uint16_t)(q->buf + q->h->nlmsg_len - (uint8_t *)a);
}

static int nl_socket(void)
{
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	int one = 1;

	if (fd < 0)
		return -errno;
	(void)setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;
		close(fd);
		return -e;
	}
	return fd;
}

/* Sends <q> and reads replies until the ACK/error or the one answer.
 * The first non-error message is copied into <out> (when given). */
static int transact(struct nlreq *q, void *out, size_t outlen, size_t *got)
{
	uint8_t rbuf[NL_BUF];
	int fd, rc = -EIO;
	static uint32_t seq;

	if (q->err)
		return -ENOSPC;
	fd = nl_socket();
	if (fd < 0)
		return fd;
	q->h->nlmsg_seq = ++seq;
	if (out)
		q->h->nlmsg_flags &= (uint16_t)~NLM_F_ACK;
	else
		q->h->nlmsg_flags |= NLM_F_ACK;
	if (send(fd, q->buf, q->h->nlmsg_len, 0) < 0) {
		rc = -errno;
		goto out;
	}
	for (;;) {
		ssize_t n = recv(fd, rbuf, sizeof(rbuf), 0);
		struct nlmsghdr *h;
		size_t left;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			rc = -errno;
			goto out;
		}
		left = (size_t)n;
		for (h = (struct nlmsghdr *)(void *)rbuf; NLMSG_OK(h, left); h = NLMSG_NEXT(h, left)) {
			if (h->nlmsg_seq != q->h->nlmsg_seq)
				continue;
			if (h->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e = NLMSG_DATA(h);
				if (h->nlmsg_len < NLMSG_LENGTH(sizeof(*e)))
					rc = -EIO;
				else
					rc = e->error;
				goto out;
			}
			if (h->nlmsg_type == NLMSG_DONE) {
				rc = -ENOENT;
				goto out;
			}
			if (out) {
				size_t l = VT_MIN((size_t)h->nlmsg_len, outlen);
				memcpy(out, h, l);
				if (got)
					*got = l;
				rc = 0;
				goto out;
			}
		}
	}
out:
	close(fd);
	return rc;
}

/* ---- parsing ------------------------------------------------------------ */

static void parse_attrs(struct rtattr **tb, int max, struct rtattr *a, size_t len)
{
	memset(tb, 0, sizeof(*tb) * (size_t)(max + 1));
	for (; RTA_OK(a, len); a = RTA_NEXT(a, len))
		if (a->rta_type <= max)
			tb[a->rta_type] = a;
}

static uint32_t attr_u32(const struct rtattr *a, uint32_t def)
{
	uint32_t v;

	if (!a || RTA_PAYLOAD(a) < 4)
		return def;
	memcpy(&v, RTA_DATA(a), 4);
	return v;
}

static void link_from_msg(const struct nlmsghdr *h, size_t len, struct tapnl_link *l)
{
	const struct ifinfomsg *ifi = NLMSG_DATA(h);
	struct rtattr *tb[IFLA_MAX + 1];
	size_t alen;

	memset(l, 0, sizeof(*l));
	if (len < NLMSG_LENGTH(sizeof(*ifi)) || h->nlmsg_len > len)
		return;
	l->ifindex = (uint32_t)ifi->ifi_index;
	l->flags = ifi->ifi_flags;
	alen = h->nlmsg_len - NLMSG_LENGTH(sizeof(*ifi));
	parse_attrs(tb, IFLA_MAX, IFLA_RTA(ifi), alen);
	if (tb[IFLA_IFNAME]) {
		size_t n = VT_MIN((size_t)RTA_PAYLOAD(tb[IFLA_IFNAME]), sizeof(l->name) - 1);
		memcpy(l->name, RTA_DATA(tb[IFLA_IFNAME]), n);
		l->name[n] = '\0';
		l->name[strnlen(l->name, sizeof(l->name))] = '\0';
	}
	l->mtu = attr_u32(tb[IFLA_MTU], 0);
	{
		uint8_t op = tb[IFLA_OPERSTATE] && RTA_PAYLOAD(tb[IFLA_OPERSTATE]) >= 1 ?
				     *(uint8_t *)RTA_DATA(tb[IFLA_OPERSTATE]) : OPER_UNKNOWN;
		l->oper_up = (l->flags & IFF_UP) && (op == OPER_UP || op == OPER_UNKNOWN);
	}
	if (tb[IFLA_STATS64] && RTA_PAYLOAD(tb[IFLA_STATS64]) >= sizeof(struct rtnl_link_stats64)) {
		struct rtnl_link_stats64 st;
		memcpy(&st, RTA_DATA(tb[IFLA_STATS64]), sizeof(st));
		l->rx_packets = st.rx_packets;
		l->tx_packets = st.tx_packets;
	}
	if (tb[IFLA_LINKINFO]) {
		struct rtattr *li[IFLA_INFO_MAX + 1];

		parse_attrs(li, IFLA_INFO_MAX, RTA_DATA(tb[IFLA_LINKINFO]),
			    RTA_PAYLOAD(tb[IFLA_LINKINFO]));
		if (li[IFLA_INFO_KIND]) {
			size_t n = VT_MIN((size_t)RTA_PAYLOAD(li[IFLA_INFO_KIND]), sizeof(l->kind) - 1);
			memcpy(l->kind, RTA_DATA(li[IFLA_INFO_KIND]), n);
			l->kind[n] = '\0';
			l->kind[strnlen(l->kind, sizeof(l->kind))] = '\0';
		}
		if (strcmp(l->kind, "vxlan") == 0 && li[IFLA_INFO_DATA]) {
			struct rtattr *vx[IFLA_VXLAN_MAX + 1];

			parse_attrs(vx, IFLA_VXLAN_MAX, RTA_DATA(li[IFLA_INFO_DATA]),
				    RTA_PAYLOAD(li[IFLA_INFO_DATA]));
			l->vxlan_external = vx[IFLA_VXLAN_COLLECT_METADATA] &&
					    RTA_PAYLOAD(vx[IFLA_VXLAN_COLLECT_METADATA]) >= 1 &&
					    *(uint8_t *)RTA_DATA(vx[IFLA_VXLAN_COLLECT_METADATA]);
			if (vx[IFLA_VXLAN_PORT] && RTA_PAYLOAD(vx[IFLA_VXLAN_PORT]) >= 2) {
				uint16_t p;
				memcpy(&p, RTA_DATA(vx[IFLA_VXLAN_PORT]), 2);
				l->vxlan_port = ntohs(p);
			}
		}
	}
}

int tapnl_link_get(uint32_t ifindex, const char *name, struct tapnl_link *l)
{
	struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC, .ifi_index = (int)ifindex };
	struct nlreq q;
	uint8_t out[NL_BUF];
	size_t got = 0;
	int rc;

	req_init(&q, RTM_GETLINK, 0, &ifi, sizeof(ifi));
	if (name)
		attr_put(&q, IFLA_IFNAME, name, strlen(name) + 1);
	rc = transact(&q, out, sizeof(out), &got);
	if (rc == -ENOENT || rc == -ENODEV || rc == -EINVAL)
		return -ENODEV;
	if (rc)
		return rc;
	link_from_msg((struct nlmsghdr *)(void *)out, got, l);
	return l->ifindex ? 0 : -EIO;
}

static int link_set_up(uint32_t ifindex)
{
	struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC, .ifi_index = (int)ifindex,
				 .ifi_flags = IFF_UP, .ifi_change = IFF_UP };
	struct nlreq q;

	req_init(&q, RTM_NEWLINK, 0, &ifi, sizeof(ifi));
	return transact(&q, NULL, 0, NULL);
}

int tapnl_vxlan_ensure(const char *name, uint16_t port, uint32_t *ifindex, bool *created,
		       struct vt_err *err)
{
	struct tapnl_link l;
	struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC };
	struct nlreq q;
	struct rtattr *li, *data, *af, *af6;
	uint8_t one = 1, zero = 0, gen_none = 1; /* IN6_ADDR_GEN_MODE_NONE */
	uint16_t nport = htons(port);
	int rc;

	*created = false;
	rc = tapnl_link_get(0, name, &l);
	if (rc == 0) {
		if (!l.vxlan_external)
			return vt_err_set(err, -EEXIST, "link %s exists and is not a collect_md VXLAN device (%s)",
					  name, l.kind[0] ? l.kind : "no kind");
		if (l.vxlan_port != port)
			return vt_err_set(err, -EEXIST, "VXLAN device %s uses UDP port %u, not %u", name,
					  l.vxlan_port, port);
		*ifindex = l.ifindex;
		rc = (l.flags & IFF_UP) ? 0 : link_set_up(l.ifindex);
		return rc ? vt_err_set(err, rc, "cannot set %s up: %s", name, strerror(-rc)) : 0;
	}
	if (rc != -ENODEV)
		return vt_err_set(err, rc, "cannot look up link %s: %s", name, strerror(-rc));
	req_init(&q, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, &ifi, sizeof(ifi));
	attr_put(&q, IFLA_IFNAME, name, strlen(name) + 1);
	li = nest_begin(&q, IFLA_LINKINFO);
	attr_put(&q, IFLA_INFO_KIND, "vxlan", 5);
	data = nest_begin(&q, IFLA_INFO_DATA);
	attr_put(&q, IFLA_VXLAN_COLLECT_METADATA, &one, 1);
	attr_put(&q, IFLA_VXLAN_LEARNING, &zero, 1);
	attr_put(&q, IFLA_VXLAN_PORT, &nport, 2);
	nest_end(&q, data);
	nest_end(&q, li);
	rc = transact(&q, NULL, 0, NULL);
	if (rc)
		return vt_err_set(err, rc, "cannot create VXLAN device %s (UDP %u): %s", name, port,
				  strerror(-rc));
	rc = tapnl_link_get(0, name, &l);
	if (rc)
		return vt_err_set(err, rc, "VXLAN device %s vanished after creation", name);
	*created = true;
	*ifindex = l.ifindex;
	/* no IPv6 link-local address, so the device never sends anything of
	 * its own (fails harmlessly where IPv6 is disabled) */
	memset(&ifi, 0, sizeof(ifi));
	ifi.ifi_family = AF_UNSPEC;
	ifi.ifi_index = (int)l.ifindex;
	req_init(&q, RTM_NEWLINK, 0, &ifi, sizeof(ifi));
	af = nest_begin(&q, IFLA_AF_SPEC);
	af6 = nest_begin(&q, AF_INET6);
	attr_put(&q, IFLA_INET6_ADDR_GEN_MODE, &gen_none, 1);
	nest_end(&q, af6);
	nest_end(&q, af);
	(void)transact(&q, NULL, 0, NULL);
	rc = link_set_up(l.ifindex);
	return rc ? vt_err_set(err, rc, "cannot set %s up: %s", name, strerror(-rc)) : 0;
}

int tapnl_link_del(uint32_t ifindex)
{
	struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC, .ifi_index = (int)ifindex };
	struct nlreq q;

	req_init(&q, RTM_DELLINK, 0, &ifi, sizeof(ifi));
	return transact(&q, NULL, 0, NULL);
}

int tapnl_route_get(const struct vt_addr *dst, struct tapnl_route *r)
{
	struct rtmsg rtm = { 0 };
	struct nlreq q;
	uint8_t out[NL_BUF];
	size_t got = 0;
	struct nlmsghdr *h = (struct nlmsghdr *)(void *)out;
	struct rtattr *tb[RTA_MAX + 1];
	struct tapnl_link l;
	bool v4 = addr_is_v4(dst);
	int rc;

	memset(r, 0, sizeof(*r));
	rtm.rtm_family = v4 ? AF_INET : AF_INET6;
	rtm.rtm_dst_len = v4 ? 32 : 128;
	req_init(&q, RTM_GETROUTE, 0, &rtm, sizeof(rtm));
	attr_put(&q, RTA_DST, v4 ? dst->b + 12 : dst->b, v4 ? 4 : 16);
	rc = transact(&q, out, sizeof(out), &got);
	if (rc)
		return rc == -ENETUNREACH || rc == -EHOSTUNREACH || rc == -ENOENT ? -ENETUNREACH : rc;
	if (got < NLMSG_LENGTH(sizeof(rtm)) || h->nlmsg_len > got)
		return -EIO;
	parse_attrs(tb, RTA_MAX, RTM_RTA(NLMSG_DATA(h)), h->nlmsg_len - NLMSG_LENGTH(sizeof(rtm)));
	r->oif = attr_u32(tb[RTA_OIF], 0);
	if (!r->oif)
		return -ENETUNREACH;
	rc = tapnl_link_get(r->oif, NULL, &l);
	if (rc)
		return rc;
	r->mtu = l.mtu;
	r->up = l.oper_up;
	if (tb[RTA_METRICS]) {
		struct rtattr *mx[RTAX_MAX + 1];
		uint32_t m;

		parse_attrs(mx, RTAX_MAX, RTA_DATA(tb[RTA_METRICS]), RTA_PAYLOAD(tb[RTA_METRICS]));
		m = attr_u32(mx[RTAX_MTU], 0);
		if (m && m < r->mtu)
			r->mtu = m;
	}
	return 0;
}

int tapnl_monitor_open(void)
{
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_ROUTE);
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK, .nl_groups = RTMGRP_LINK };
	int sz = 4 << 20;

	if (fd < 0)
		return -errno;
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;
		close(fd);
		return -e;
	}
	return fd;
}

int tapnl_monitor_read(int fd, tapnl_link_cb cb, void *arg)
{
	uint8_t buf[NL_BUF];
	int events = 0;

	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		struct nlmsghdr *h;
		size_t left;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				return events;
			if (errno == ENOBUFS) {
				struct tapnl_link none = { 0 };
				cb(arg, true, &none);   /* lost events: rescan */
				events++;
				continue;
			}
			return -errno;
		}
		left = (size_t)n;
		for (h = (struct nlmsghdr *)(void *)buf; NLMSG_OK(h, left); h = NLMSG_NEXT(h, left)) {
			struct tapnl_link l;

			if (h->nlmsg_type != RTM_NEWLINK && h->nlmsg_type != RTM_DELLINK)
				continue;
			link_from_msg(h, h->nlmsg_len, &l);
			if (!l.ifindex)
				continue;
			cb(arg, h->nlmsg_type == RTM_NEWLINK, &l);
			events++;
		}
	}
}
