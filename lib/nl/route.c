/* route.c — addresses, routes, neighbours over rtnetlink (see route.h). */
#include "nl/route.h"

#include <errno.h>
#include <linux/if_addr.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <string.h>
#include <sys/socket.h>

#include "core/compiler.h"
#include "core/timeutil.h"
#include "nl/link.h"

#define ROUTE_MSG_MAX 512

static int family_of(const struct vt_addr *a)
{
	return addr_is_v4(a) ? AF_INET : AF_INET6;
}

/* put_ip() : the address in its family's width (4 or 16 bytes). */
static void put_ip(struct nlb *b, uint16_t type, const struct vt_addr *a)
{
	if (addr_is_v4(a))
		nla_put(b, type, a->b + 12, 4);
	else
		nla_put(b, type, a->b, 16);
}

/* get_ip() : an address attribute of <family>; false when the length does
 * not match the family (never read past it). */
static bool get_ip(const struct nla *n, int family, struct vt_addr *out)
{
	if (family == AF_INET && n->data && n->len == 4) {
		addr_set_v4(out, n->data);
		return true;
	}
	if (family == AF_INET6 && n->data && n->len == 16) {
		addr_set_v6(out, n->data);
		return true;
	}
	return false;
}

/* ---- addresses --------------------------------------------------------- */

int nl_addr_build(struct nlb *b, uint32_t ifindex, const struct vt_addr *a,
		  unsigned plen, unsigned flags)
{
	struct ifaddrmsg ifa;
	int fam = family_of(a);
	uint32_t ifa_flags = 0;

	if (!ifindex || plen > (fam == AF_INET ? 32u : 128u))
		return -EINVAL;
	memset(&ifa, 0, sizeof(ifa));
	ifa.ifa_family = (uint8_t)fam;
	ifa.ifa_prefixlen = (uint8_t)plen;
	ifa.ifa_index = ifindex;
	ifa.ifa_scope = RT_SCOPE_UNIVERSE;
	if (flags & NL_ADDR_NODAD)
		ifa_flags |= IFA_F_NODAD;
	if (flags & NL_ADDR_NOPREFIXROUTE)
		ifa_flags |= IFA_F_NOPREFIXROUTE;
	/* as iproute2: small flags in the header, others as IFA_FLAGS */
	if (ifa_flags <= 0xff)
		ifa.ifa_flags = (uint8_t)ifa_flags;
	nlb_put_fam(b, &ifa, sizeof(ifa));
	/* iproute2 sends both for IPv4: IFA_LOCAL is the address, IFA_ADDRESS
	 * the peer (the same on broadcast links) */
	put_ip(b, IFA_LOCAL, a);
	put_ip(b, IFA_ADDRESS, a);
	if (fam == AF_INET && plen < 31) {
		struct vt_addr brd = *a;
		for (unsigned i = 96 + plen; i < 128; i++)
			brd.b[i / 8] |= (uint8_t)(0x80u >> (i % 8));
		put_ip(b, IFA_BROADCAST, &brd);
	}
	if (ifa_flags > 0xff)
		nla_put_u32(b, IFA_FLAGS, ifa_flags);
	return b->err;
}

static int addr_req(struct nl_sock *sk, uint16_t type, uint16_t fl, uint32_t ifindex,
		    const struct vt_addr *a, unsigned plen, unsigned flags)
{
	uint8_t buf[ROUTE_MSG_MAX];
	struct nlb b;
	int r;

	nlb_init(&b, buf, sizeof(buf), type, fl);
	r = nl_addr_build(&b, ifindex, a, plen, flags);
	return r < 0 ? r : nl_sock_request(sk, &b);
}

int nl_addr_add(struct nl_sock *sk, uint32_t ifindex, const struct vt_addr *a,
		unsigned plen, unsigned flags)
{
	return addr_req(sk, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, ifindex, a, plen, flags);
}

int nl_addr_del(struct nl_sock *sk, uint32_t ifindex, const struct vt_addr *a,
		unsigned plen)
{
	return addr_req(sk, RTM_DELADDR, 0, ifindex, a, plen, 0);
}

int nl_addr_add_str(struct nl_sock *sk, const char *ifname, const char *cidr,
		    unsigned flags)
{
	char tmp[VT_ADDRSTRLEN + 1];
	const char *slash = strchr(cidr, '/');
	size_t n = slash ? (size_t)(slash - cidr) : strlen(cidr);
	struct vt_addr a;
	uint64_t plen;
	int idx;

	if (n >= sizeof(tmp))
		return -EINVAL;
	memcpy(tmp, cidr, n);
	tmp[n] = '\0';
	if (addr_parse(tmp, &a) < 0)
		return -EINVAL;
	if (slash) {
		if (parse_u64(slash + 1, 0, addr_is_v4(&a) ? 32 : 128, &plen) < 0)
			return -EINVAL;
	} else {
		plen = addr_is_v4(&a) ? 32 : 128;
	}
	idx = nl_link_index(sk, ifname);
	if (idx < 0)
		return idx;
	return nl_addr_add(sk, (uint32_t)idx, &a, (unsigned)plen, flags);
}

int nl_addr_parse(const struct nlmsg *m, struct nl_addr_info *o)
{
	struct ifaddrmsg ifa;
	struct nla tb[IFA_MAX + 1];
	size_t off = NLMSG_ALIGN(sizeof(ifa));

	if (m->type != RTM_NEWADDR && m->type != RTM_DELADDR)
		return -ENOMSG;
	if (m->len < sizeof(ifa))
		return -EBADMSG;
	memcpy(&ifa, m->payload, sizeof(ifa));
	if (ifa.ifa_family != AF_INET && ifa.ifa_family != AF_INET6)
		return -ENOMSG;
	memset(o, 0, sizeof(*o));
	o->ifindex = ifa.ifa_index;
	o->family = ifa.ifa_family;
	o->plen = ifa.ifa_prefixlen;
	o->scope = ifa.ifa_scope;
	o->flags = ifa.ifa_flags;
	if (nla_parse(tb, IFA_MAX, m->payload + VT_MIN(off, m->len),
		      m->len - VT_MIN(off, m->len)) < 0)
		return -EBADMSG;
	if (nla_len_ok(&tb[IFA_FLAGS], 4))
		o->flags = nla_u32(&tb[IFA_FLAGS]);
	/* IFA_LOCAL is the interface's own address when present (IPv4, and
	 * IPv6 point-to-point); otherwise IFA_ADDRESS is */
	if (!get_ip(&tb[IFA_LOCAL], ifa.ifa_family, &o->addr) &&
	    !get_ip(&tb[IFA_ADDRESS], ifa.ifa_family, &o->addr))
		return -EBADMSG;
	if (nla_present(&tb[IFA_LABEL]))
		(void)nla_strcpy(o->label, sizeof(o->label), &tb[IFA_LABEL]);
	return 0;
}

struct addr_dump_ctx {
	nl_addr_cb cb;
	void *arg;
};

static int addr_dump_one(const struct nlmsg *m, void *arg)
{
	struct addr_dump_ctx *c = arg;
	struct nl_addr_info ai;
	int r = nl_addr_parse(m, &ai);

	if (r == -ENOMSG)
		return 0;
	return r < 0 ? r : c->cb(&ai, c->arg);
}

int nl_addr_dump(struct nl_sock *sk, int family, nl_addr_cb cb, void *arg)
{
	uint8_t buf[64];
	struct ifaddrmsg ifa;
	struct addr_dump_ctx c = { cb, arg };
	struct nlb b;

	memset(&ifa, 0, sizeof(ifa));
	ifa.ifa_family = (uint8_t)family;
	nlb_init(&b, buf, sizeof(buf), RTM_GETADDR, NLM_F_DUMP);
	nlb_put_fam(&b, &ifa, sizeof(ifa));
	return nl_sock_dump(sk, &b, addr_dump_one, &c);
}

/* ---- routes ------------------------------------------------------------ */

int nl_route_build(struct nlb *b, const struct nl_route *r)
{
	struct rtmsg rtm;
	int fam = r->family;
	bool has_gw = !addr_is_zero(&r->gw);

	if (!fam)
		fam = (r->plen || !addr_is_zero(&r->dst)) ? family_of(&r->dst) :
			has_gw ? family_of(&r->gw) : 0;
	if (fam != AF_INET && fam != AF_INET6)
		return -EINVAL;
	if (r->plen > (fam == AF_INET ? 32u : 128u))
		return -EINVAL;
	if (has_gw && family_of(&r->gw) != fam)
		return -EINVAL;
	if (!has_gw && !r->oif && r->type != RTN_BLACKHOLE && r->type != RTN_UNREACHABLE &&
	    r->type != RTN_PROHIBIT)
		return -EINVAL; /* a route must lead somewhere */
	memset(&rtm, 0, sizeof(rtm));
	rtm.rtm_family = (uint8_t)fam;
	rtm.rtm_dst_len = (uint8_t)r->plen;
	rtm.rtm_protocol = RTPROT_BOOT; /* what `ip route add` uses */
	rtm.rtm_type = r->type ? r->type : RTN_UNICAST;
	if (rtm.rtm_type == RTN_LOCAL)
		rtm.rtm_scope = RT_SCOPE_HOST;
	else if (rtm.rtm_type == RTN_UNICAST && !has_gw)
		rtm.rtm_scope = RT_SCOPE_LINK;
	else
		rtm.rtm_scope = RT_SCOPE_UNIVERSE;
	{
		uint32_t table = r->table ? r->table :
			rtm.rtm_type == RTN_LOCAL ? RT_TABLE_LOCAL : RT_TABLE_MAIN;
		rtm.rtm_table = table < 256 ? (uint8_t)table : RT_TABLE_UNSPEC;
		if (r->onlink)
			rtm.rtm_flags |= RTNH_F_ONLINK;
		nlb_put_fam(b, &rtm, sizeof(rtm));
		if (table >= 256)
			nla_put_u32(b, RTA_TABLE, table);
	}
	if (r->plen)
		put_ip(b, RTA_DST, &r->dst);
	if (has_gw)
		put_ip(b, RTA_GATEWAY, &r->gw);
	if (r->oif)
		nla_put_u32(b, RTA_OIF, r->oif);
	if (r->metric)
		nla_put_u32(b, RTA_PRIORITY, r->metric);
	return b->err;
}

static int route_req(struct nl_sock *sk, uint16_t type, uint16_t fl, const struct nl_route *r)
{
	uint8_t buf[ROUTE_MSG_MAX];
	struct nlb b;
	int rc;

	nlb_init(&b, buf, sizeof(buf), type, fl);
	rc = nl_route_build(&b, r);
	return rc < 0 ? rc : nl_sock_request(sk, &b);
}

int nl_route_add(struct nl_sock *sk, const struct nl_route *r)
{
	return route_req(sk, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, r);
}

int nl_route_del(struct nl_sock *sk, const struct nl_route *r)
{
	return route_req(sk, RTM_DELROUTE, 0, r);
}

int nl_route_parse(const struct nlmsg *m, struct nl_route_info *o)
{
	struct rtmsg rtm;
	struct nla tb[RTA_MAX + 1];
	size_t off = NLMSG_ALIGN(sizeof(rtm));

	if (m->type != RTM_NEWROUTE && m->type != RTM_DELROUTE)
		return -ENOMSG;
	if (m->len < sizeof(rtm))
		return -EBADMSG;
	memcpy(&rtm, m->payload, sizeof(rtm));
	if (rtm.rtm_family != AF_INET && rtm.rtm_family != AF_INET6)
		return -ENOMSG;
	memset(o, 0, sizeof(*o));
	o->family = rtm.rtm_family;
	o->dst_len = rtm.rtm_dst_len;
	o->type = rtm.rtm_type;
	o->scope = rtm.rtm_scope;
	o->protocol = rtm.rtm_protocol;
	o->table = rtm.rtm_table;
	if (nla_parse(tb, RTA_MAX, m->payload + VT_MIN(off, m->len),
		      m->len - VT_MIN(off, m->len)) < 0)
		return -EBADMSG;
	if (nla_len_ok(&tb[RTA_TABLE], 4))
		o->table = nla_u32(&tb[RTA_TABLE]);
	if (nla_present(&tb[RTA_DST]) && !get_ip(&tb[RTA_DST], rtm.rtm_family, &o->dst))
		return -EBADMSG;
	if (!nla_present(&tb[RTA_DST]) && rtm.rtm_family == AF_INET) {
		static const uint8_t zero4[4];
		addr_set_v4(&o->dst, zero4);
	}
	if (nla_present(&tb[RTA_GATEWAY]) && !get_ip(&tb[RTA_GATEWAY], rtm.rtm_family, &o->gw))
		return -EBADMSG;
	if (nla_len_ok(&tb[RTA_OIF], 4))
		o->oif = nla_u32(&tb[RTA_OIF]);
	if (nla_len_ok(&tb[RTA_PRIORITY], 4))
		o->metric = nla_u32(&tb[RTA_PRIORITY]);
	if (nla_present(&tb[RTA_METRICS])) {
		struct nla mx[RTAX_MAX + 1];
		if (nla_parse_nested(mx, RTAX_MAX, &tb[RTA_METRICS]) < 0)
			return -EBADMSG;
		if (nla_len_ok(&mx[RTAX_MTU], 4))
			o->mtu = nla_u32(&mx[RTAX_MTU]);
	}
	return 0;
}

struct route_dump_ctx {
	nl_route_cb cb;
	void *arg;
};

static int route_dump_one(const struct nlmsg *m, void *arg)
{
	struct route_dump_ctx *c = arg;
	struct nl_route_info ri;
	int r = nl_route_parse(m, &ri);

	if (r == -ENOMSG)
		return 0;
	return r < 0 ? r : c->cb(&ri, c->arg);
}

static int route_get_one(const struct nl_route_info *ri, void *arg)
{
	*(struct nl_route_info *)arg = *ri;
	return 0;
}

int nl_route_get(struct nl_sock *sk, const struct vt_addr *dst, struct nl_route_info *out)
{
	uint8_t buf[64];
	struct rtmsg rtm;
	struct route_dump_ctx c = { route_get_one, out };
	struct nlb b;
	int r;

	memset(&rtm, 0, sizeof(rtm));
	rtm.rtm_family = (uint8_t)family_of(dst);
	rtm.rtm_dst_len = addr_is_v4(dst) ? 32 : 128;
	memset(out, 0, sizeof(*out));
	/* a GET answers with one RTM_NEWROUTE, then the ACK asked for */
	nlb_init(&b, buf, sizeof(buf), RTM_GETROUTE, NLM_F_ACK);
	nlb_put_fam(&b, &rtm, sizeof(rtm));
	put_ip(&b, RTA_DST, dst);
	r = nl_sock_dump(sk, &b, route_dump_one, &c);
	if (r == -EHOSTUNREACH || r == -ENOENT || (r == 0 && !out->oif))
		return -ENETUNREACH;
	return r;
}

int nl_route_dump(struct nl_sock *sk, int family, nl_route_cb cb, void *arg)
{
	uint8_t buf[64];
	struct rtmsg rtm;
	struct route_dump_ctx c = { cb, arg };
	struct nlb b;

	memset(&rtm, 0, sizeof(rtm));
	rtm.rtm_family = (uint8_t)family;
	nlb_init(&b, buf, sizeof(buf), RTM_GETROUTE, NLM_F_DUMP);
	nlb_put_fam(&b, &rtm, sizeof(rtm));
	return nl_sock_dump(sk, &b, route_dump_one, &c);
}

/* ---- neighbours -------------------------------------------------------- */

static int neigh_build(struct nlb *b, uint32_t ifindex, const struct vt_addr *a,
		       const uint8_t *mac)
{
	struct ndmsg nd;

	if (!ifindex)
		return -EINVAL;
	memset(&nd, 0, sizeof(nd));
	nd.ndm_family = (uint8_t)family_of(a);
	nd.ndm_ifindex = (int)ifindex;
	nd.ndm_state = NUD_PERMANENT;
	nlb_put_fam(b, &nd, sizeof(nd));
	put_ip(b, NDA_DST, a);
	if (mac)
		nla_put(b, NDA_LLADDR, mac, 6);
	return b->err;
}

int nl_neigh_build(struct nlb *b, uint32_t ifindex, const struct vt_addr *a,
		   const uint8_t mac[6])
{
	return neigh_build(b, ifindex, a, mac);
}

int nl_neigh_set(struct nl_sock *sk, uint32_t ifindex, const struct vt_addr *a,
		 const uint8_t mac[6])
{
	uint8_t buf[ROUTE_MSG_MAX];
	struct nlb b;
	int r;

	nlb_init(&b, buf, sizeof(buf), RTM_NEWNEIGH, NLM_F_CREATE | NLM_F_REPLACE);
	r = neigh_build(&b, ifindex, a, mac);
	return r < 0 ? r : nl_sock_request(sk, &b);
}

int nl_neigh_del(struct nl_sock *sk, uint32_t ifindex, const struct vt_addr *a)
{
	uint8_t buf[ROUTE_MSG_MAX];
	struct nlb b;
	int r;

	nlb_init(&b, buf, sizeof(buf), RTM_DELNEIGH, 0);
	r = neigh_build(&b, ifindex, a, NULL);
	return r < 0 ? r : nl_sock_request(sk, &b);
}
