/* link.c — links over rtnetlink (see link.h).
 *
 * The encodings follow what iproute2 sends for the same `ip link`
 * command, attribute for attribute, so the kernel applies the same
 * defaults; the unit tests pin the bytes. */
#include "nl/link.h"

#include <errno.h>
#include <linux/if_link.h>
#include <linux/if_tun.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <string.h>

#include "core/compiler.h"
#include "nl/netns.h"

#define LINK_MSG_MAX 1024

static const char *const kind_names[] = {
	[NL_LINK_DUMMY] = "dummy",
	[NL_LINK_BRIDGE] = "bridge",
	[NL_LINK_VETH] = "veth",
	[NL_LINK_VXLAN] = "vxlan",
};

static bool name_ok(const char *name)
{
	return name && *name && strlen(name) < IFNAMSIZ;
}

static void put_ifinfo(struct nlb *b, uint32_t ifindex, uint32_t flags, uint32_t change)
{
	struct ifinfomsg ifi;

	memset(&ifi, 0, sizeof(ifi));
	ifi.ifi_family = AF_UNSPEC;
	ifi.ifi_index = (int)ifindex;
	ifi.ifi_flags = flags;
	ifi.ifi_change = change;
	nlb_put_fam(b, &ifi, sizeof(ifi));
}

static void put_bridge(struct nlb *b, const struct nl_bridge_opts *o)
{
	uint8_t *data;

	if (!o->stp && o->mcast_snooping < 0 && !o->ageing_ms)
		return;
	data = nla_nest_start(b, IFLA_INFO_DATA);
	if (o->ageing_ms)
		nla_put_u32(b, IFLA_BR_AGEING_TIME, o->ageing_ms / 10); /* centiseconds */
	if (o->stp)
		nla_put_u32(b, IFLA_BR_STP_STATE, 1);
	if (o->mcast_snooping >= 0)
		nla_put_u8(b, IFLA_BR_MCAST_SNOOPING, (uint8_t)(o->mcast_snooping > 0));
	nla_nest_end(b, data);
}

static int put_veth(struct nlb *b, const struct nl_veth_opts *o)
{
	uint8_t *data, *peer;

	if (!name_ok(o->peer))
		return -EINVAL;
	data = nla_nest_start(b, IFLA_INFO_DATA);
	peer = nla_nest_start(b, VETH_INFO_PEER);
	/* VETH_INFO_PEER carries an ifinfomsg, then the peer's IFLA_ attributes */
	put_ifinfo(b, 0, 0, 0);
	nla_put_str(b, IFLA_IFNAME, o->peer);
	if (o->peer_mac)
		nla_put(b, IFLA_ADDRESS, o->peer_mac, 6);
	if (o->peer_in_ns)
		nla_put_u32(b, IFLA_NET_NS_FD, (uint32_t)o->peer_nsfd);
	nla_nest_end(b, peer);
	nla_nest_end(b, data);
	return 0;
}

static void put_vxlan(struct nlb *b, const struct nl_vxlan_opts *o)
{
	uint8_t *data = nla_nest_start(b, IFLA_INFO_DATA);
	bool v6 = (!addr_is_zero(&o->local) && !addr_is_v4(&o->local)) ||
		  (!addr_is_zero(&o->remote) && !addr_is_v4(&o->remote));

	if (o->external)
		nla_put_u8(b, IFLA_VXLAN_COLLECT_METADATA, 1);
	else
		nla_put_u32(b, IFLA_VXLAN_ID, o->vni);
	if (!addr_is_zero(&o->remote)) {
		if (addr_is_v4(&o->remote))
			nla_put(b, IFLA_VXLAN_GROUP, o->remote.b + 12, 4);
		else
			nla_put(b, IFLA_VXLAN_GROUP6, o->remote.b, 16);
	}
	if (!addr_is_zero(&o->local)) {
		if (addr_is_v4(&o->local))
			nla_put(b, IFLA_VXLAN_LOCAL, o->local.b + 12, 4);
		else
			nla_put(b, IFLA_VXLAN_LOCAL6, o->local.b, 16);
	}
	if (o->link)
		nla_put_u32(b, IFLA_VXLAN_LINK, o->link);
	nla_put_u8(b, IFLA_VXLAN_TTL, o->ttl);
	nla_put_u8(b, IFLA_VXLAN_LEARNING, o->learning);
	nla_put_be16(b, IFLA_VXLAN_PORT, o->dstport ? o->dstport : 4789);
	if (v6) {
		nla_put_u8(b, IFLA_VXLAN_UDP_ZERO_CSUM6_TX, !o->udp_csum);
		nla_put_u8(b, IFLA_VXLAN_UDP_ZERO_CSUM6_RX, !o->udp_csum);
	} else {
		nla_put_u8(b, IFLA_VXLAN_UDP_CSUM, o->udp_csum);
	}
	nla_nest_end(b, data);
}

int nl_link_build_new(struct nlb *b, const struct nl_link_new *l)
{
	uint8_t *li;
	int r = 0;

	if (!name_ok(l->name) || (unsigned)l->kind >= ARRAY_SIZE(kind_names))
		return -EINVAL;
	put_ifinfo(b, 0, l->up ? IFF_UP : 0, l->up ? IFF_UP : 0);
	nla_put_str(b, IFLA_IFNAME, l->name);
	if (l->mtu)
		nla_put_u32(b, IFLA_MTU, l->mtu);
	if (l->mac)
		nla_put(b, IFLA_ADDRESS, l->mac, 6);
	if (l->master)
		nla_put_u32(b, IFLA_MASTER, l->master);
	if (l->in_ns)
		nla_put_u32(b, IFLA_NET_NS_FD, (uint32_t)l->nsfd);
	li = nla_nest_start(b, IFLA_LINKINFO);
	nla_put_str(b, IFLA_INFO_KIND, kind_names[l->kind]);
	switch (l->kind) {
	case NL_LINK_DUMMY:
		break;
	case NL_LINK_BRIDGE:
		put_bridge(b, &l->u.bridge);
		break;
	case NL_LINK_VETH:
		r = put_veth(b, &l->u.veth);
		break;
	case NL_LINK_VXLAN:
		put_vxlan(b, &l->u.vxlan);
		break;
	}
	nla_nest_end(b, li);
	if (r < 0)
		return r;
	return b->err;
}

/* set_addrgen_none() : IPv6 address generation mode "none" on <name>. */
static int set_addrgen_none(struct nl_sock *sk, const char *name)
{
	uint8_t buf[128];
	uint8_t *af, *af6;
	struct nlb b;

	nlb_init(&b, buf, sizeof(buf), RTM_NEWLINK, 0);
	put_ifinfo(&b, 0, 0, 0);
	nla_put_str(&b, IFLA_IFNAME, name);
	af = nla_nest_start(&b, IFLA_AF_SPEC);
	af6 = nla_nest_start(&b, AF_INET6);
	nla_put_u8(&b, IFLA_INET6_ADDR_GEN_MODE, IN6_ADDR_GEN_MODE_NONE);
	nla_nest_end(&b, af6);
	nla_nest_end(&b, af);
	return nl_sock_request(sk, &b);
}

int nl_link_add(struct nl_sock *sk, const struct nl_link_new *l)
{
	uint8_t buf[LINK_MSG_MAX];
	struct nlb b;
	int r;

	struct nl_link_new n = *l;

	if (l->no_ipv6_ll && !l->in_ns)
		n.up = false;   /* up only once no link-local address can appear */
	nlb_init(&b, buf, sizeof(buf), RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
	r = nl_link_build_new(&b, &n);
	if (r == 0)
		r = nl_sock_request(sk, &b);
	/* rtnetlink ignores IFLA_IFALIAS when creating a link: set it after,
	 * which needs the link where the socket is */
	if (r == 0 && l->alias && !l->in_ns)
		r = nl_link_set_alias(sk, l->name, l->alias);
	if (r == 0 && l->no_ipv6_ll && !l->in_ns) {
		(void)set_addrgen_none(sk, l->name);
		if (l->up)
			r = nl_link_set_up(sk, l->name, true);
	}
	return r;
}

int nl_link_build_mod(struct nlb *b, const struct nl_link_mod *m)
{
	uint32_t flags = 0, change = 0;

	if (!m->ifindex && !name_ok(m->name))
		return -EINVAL;
	if (m->new_name && !name_ok(m->new_name))
		return -EINVAL;
	if (m->up >= 0) {
		change = IFF_UP;
		flags = m->up ? IFF_UP : 0;
	}
	put_ifinfo(b, m->ifindex, flags, change);
	if (m->new_name) {
		/* a rename needs the index: IFLA_IFNAME is then the new name */
		if (!m->ifindex)
			return -EINVAL;
		nla_put_str(b, IFLA_IFNAME, m->new_name);
	} else if (!m->ifindex) {
		nla_put_str(b, IFLA_IFNAME, m->name);
	}
	if (m->mtu)
		nla_put_u32(b, IFLA_MTU, m->mtu);
	if (m->mac)
		nla_put(b, IFLA_ADDRESS, m->mac, 6);
	if (m->alias)
		nla_put(b, IFLA_IFALIAS, m->alias, strlen(m->alias));
	if (m->master >= 0)
		nla_put_u32(b, IFLA_MASTER, (uint32_t)m->master);
	if (m->nsfd >= 0)
		nla_put_u32(b, IFLA_NET_NS_FD, (uint32_t)m->nsfd);
	return b->err;
}

int nl_link_mod(struct nl_sock *sk, const struct nl_link_mod *m)
{
	uint8_t buf[LINK_MSG_MAX];
	struct nlb b;
	int r;

	nlb_init(&b, buf, sizeof(buf), RTM_NEWLINK, 0);
	r = nl_link_build_mod(&b, m);
	return r < 0 ? r : nl_sock_request(sk, &b);
}

int nl_link_set_up(struct nl_sock *sk, const char *name, bool up)
{
	struct nl_link_mod m = NL_LINK_MOD_INIT;

	m.name = name;
	m.up = up;
	return nl_link_mod(sk, &m);
}

int nl_link_set_mtu(struct nl_sock *sk, const char *name, uint32_t mtu)
{
	struct nl_link_mod m = NL_LINK_MOD_INIT;

	if (!mtu)
		return -EINVAL;
	m.name = name;
	m.mtu = mtu;
	return nl_link_mod(sk, &m);
}

int nl_link_set_mac(struct nl_sock *sk, const char *name, const uint8_t mac[6])
{
	struct nl_link_mod m = NL_LINK_MOD_INIT;

	m.name = name;
	m.mac = mac;
	return nl_link_mod(sk, &m);
}

int nl_link_set_alias(struct nl_sock *sk, const char *name, const char *alias)
{
	struct nl_link_mod m = NL_LINK_MOD_INIT;

	m.name = name;
	m.alias = alias ? alias : "";
	return nl_link_mod(sk, &m);
}

int nl_link_set_master(struct nl_sock *sk, const char *name, const char *master)
{
	struct nl_link_mod m = NL_LINK_MOD_INIT;

	m.name = name;
	m.master = 0;
	if (master) {
		int idx = nl_link_index(sk, master);
		if (idx < 0)
			return idx;
		m.master = idx;
	}
	return nl_link_mod(sk, &m);
}

int nl_link_set_netns(struct nl_sock *sk, const char *name, int nsfd)
{
	struct nl_link_mod m = NL_LINK_MOD_INIT;

	if (nsfd < 0)
		return -EBADF;
	m.name = name;
	m.nsfd = nsfd;
	return nl_link_mod(sk, &m);
}

int nl_link_build_del(struct nlb *b, uint32_t ifindex, const char *name)
{
	if (!ifindex && !name_ok(name))
		return -EINVAL;
	put_ifinfo(b, ifindex, 0, 0);
	if (!ifindex)
		nla_put_str(b, IFLA_IFNAME, name);
	return b->err;
}

int nl_link_del(struct nl_sock *sk, const char *name)
{
	uint8_t buf[128];
	struct nlb b;
	int r;

	nlb_init(&b, buf, sizeof(buf), RTM_DELLINK, 0);
	r = nl_link_build_del(&b, 0, name);
	return r < 0 ? r : nl_sock_request(sk, &b);
}

int nl_link_del_index(struct nl_sock *sk, uint32_t ifindex)
{
	uint8_t buf[64];
	struct nlb b;
	int r;

	nlb_init(&b, buf, sizeof(buf), RTM_DELLINK, 0);
	r = nl_link_build_del(&b, ifindex, NULL);
	return r < 0 ? r : nl_sock_request(sk, &b);
}

/* ---- parsing ----------------------------------------------------------- */

static void parse_info_data(struct nl_link_info *o, const struct nla *data)
{
	if (strcmp(o->kind, "tun") == 0) {
		struct nla tb[IFLA_TUN_MAX + 1];
		if (nla_parse_nested(tb, IFLA_TUN_MAX, data) < 0)
			return;
		o->tun_tap = nla_u8(&tb[IFLA_TUN_TYPE]) == IFF_TAP;
		o->tun_vnet_hdr = nla_u8(&tb[IFLA_TUN_VNET_HDR]) != 0;
		o->tun_persist = nla_u8(&tb[IFLA_TUN_PERSIST]) != 0;
	} else if (strcmp(o->kind, "vxlan") == 0) {
		struct nla tb[IFLA_VXLAN_MAX + 1];
		if (nla_parse_nested(tb, IFLA_VXLAN_MAX, data) < 0)
			return;
		o->vxlan_external = nla_u8(&tb[IFLA_VXLAN_COLLECT_METADATA]) != 0;
		o->vxlan_vni = nla_u32(&tb[IFLA_VXLAN_ID]);
		o->vxlan_port = nla_be16(&tb[IFLA_VXLAN_PORT]);
	}
}

int nl_link_parse(const struct nlmsg *m, struct nl_link_info *o)
{
	struct ifinfomsg ifi;
	struct nla tb[IFLA_MAX + 1];
	size_t off = NLMSG_ALIGN(sizeof(ifi));

	if (m->type != RTM_NEWLINK && m->type != RTM_DELLINK)
		return -ENOMSG;
	if (m->len < sizeof(ifi))
		return -EBADMSG;
	memcpy(&ifi, m->payload, sizeof(ifi));
	memset(o, 0, sizeof(*o));
	o->family = ifi.ifi_family;
	o->ifindex = (uint32_t)ifi.ifi_index;
	o->flags = ifi.ifi_flags;
	o->type = ifi.ifi_type;
	o->link_netnsid = -1;
	o->brport_state = -1;
	if (nla_parse(tb, IFLA_MAX, m->payload + VT_MIN(off, m->len),
		      m->len - VT_MIN(off, m->len)) < 0)
		return -EBADMSG;
	if (!nla_present(&tb[IFLA_IFNAME]))
		return -EBADMSG;
	(void)nla_strcpy(o->name, sizeof(o->name), &tb[IFLA_IFNAME]);
	if (nla_len_ok(&tb[IFLA_MTU], 4))
		o->mtu = nla_u32(&tb[IFLA_MTU]);
	if (nla_len_ok(&tb[IFLA_MASTER], 4))
		o->master = nla_u32(&tb[IFLA_MASTER]);
	if (nla_len_ok(&tb[IFLA_LINK], 4))
		o->link = nla_u32(&tb[IFLA_LINK]);
	if (nla_len_ok(&tb[IFLA_LINK_NETNSID], 4))
		o->link_netnsid = nla_s32(&tb[IFLA_LINK_NETNSID]);
	if (nla_present(&tb[IFLA_OPERSTATE]))
		o->operstate = nla_u8(&tb[IFLA_OPERSTATE]);
	if (nla_present(&tb[IFLA_ADDRESS])) {
		o->mac_len = (uint8_t)VT_MIN(tb[IFLA_ADDRESS].len, sizeof(o->mac));
		memcpy(o->mac, tb[IFLA_ADDRESS].data, o->mac_len);
	}
	if (nla_present(&tb[IFLA_IFALIAS]))
		(void)nla_strcpy(o->alias, sizeof(o->alias), &tb[IFLA_IFALIAS]);
	if (nla_len_ok(&tb[IFLA_STATS64], sizeof(struct rtnl_link_stats64))) {
		struct rtnl_link_stats64 st;

		memcpy(&st, tb[IFLA_STATS64].data, sizeof(st));
		o->rx_packets = st.rx_packets;
		o->tx_packets = st.tx_packets;
	}
	if (nla_present(&tb[IFLA_LINKINFO])) {
		struct nla li[IFLA_INFO_MAX + 1];
		if (nla_parse_nested(li, IFLA_INFO_MAX, &tb[IFLA_LINKINFO]) < 0)
			return -EBADMSG;
		(void)nla_strcpy(o->kind, sizeof(o->kind), &li[IFLA_INFO_KIND]);
		(void)nla_strcpy(o->slave_kind, sizeof(o->slave_kind), &li[IFLA_INFO_SLAVE_KIND]);
		parse_info_data(o, &li[IFLA_INFO_DATA]);
		if (strcmp(o->slave_kind, "bridge") == 0) {
			struct nla bp[IFLA_BRPORT_MAX + 1];
			if (nla_parse_nested(bp, IFLA_BRPORT_MAX, &li[IFLA_INFO_SLAVE_DATA]) >= 0 &&
			    nla_present(&bp[IFLA_BRPORT_STATE]))
				o->brport_state = nla_u8(&bp[IFLA_BRPORT_STATE]);
		}
	}
	return 0;
}

struct dump_ctx {
	nl_link_cb cb;
	void *arg;
};

static int dump_one(const struct nlmsg *m, void *arg)
{
	struct dump_ctx *c = arg;
	struct nl_link_info li;
	int r = nl_link_parse(m, &li);

	if (r == -ENOMSG)
		return 0;
	if (r < 0)
		return r;
	return c->cb(&li, c->arg);
}

int nl_link_dump(struct nl_sock *sk, nl_link_cb cb, void *arg)
{
	uint8_t buf[64];
	struct dump_ctx c = { cb, arg };
	struct nlb b;

	nlb_init(&b, buf, sizeof(buf), RTM_GETLINK, NLM_F_DUMP);
	put_ifinfo(&b, 0, 0, 0);
	/* statistics are most of a link message and nobody here reads them */
	nla_put_u32(&b, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
	return nl_sock_dump(sk, &b, dump_one, &c);
}

static int get_one(const struct nl_link_info *li, void *arg)
{
	*(struct nl_link_info *)arg = *li;
	return 0;
}

/* get_link() : one link by <ifindex> or <name>; a GET answers with one
 * RTM_NEWLINK, then the ACK asked for. */
static int get_link(struct nl_sock *sk, uint32_t ifindex, const char *name, bool stats,
		    struct nl_link_info *out)
{
	uint8_t buf[128];
	struct dump_ctx c = { get_one, out };
	struct nlb b;
	int r;

	out->ifindex = 0;
	nlb_init(&b, buf, sizeof(buf), RTM_GETLINK, NLM_F_ACK);
	put_ifinfo(&b, ifindex, 0, 0);
	if (name)
		nla_put_str(&b, IFLA_IFNAME, name);
	if (!stats)
		nla_put_u32(&b, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
	r = nl_sock_dump(sk, &b, dump_one, &c);
	if (r < 0)
		return r;
	return out->ifindex ? 0 : -ENODEV;
}

int nl_link_get(struct nl_sock *sk, const char *name, struct nl_link_info *out)
{
	if (!name_ok(name))
		return -EINVAL;
	return get_link(sk, 0, name, false, out);
}

int nl_link_get_index(struct nl_sock *sk, uint32_t ifindex, bool stats,
		      struct nl_link_info *out)
{
	if (!ifindex)
		return -EINVAL;
	return get_link(sk, ifindex, NULL, stats, out);
}

int nl_link_index(struct nl_sock *sk, const char *name)
{
	struct nl_link_info li;
	int r = nl_link_get(sk, name, &li);

	return r < 0 ? r : (int)li.ifindex;
}

/* ---- events ------------------------------------------------------------ */

struct nl_sock *nl_link_events_open(int nsfd)
{
	uint32_t groups = 1u << (RTNLGRP_LINK - 1);
	struct nl_sock *sk = nsfd >= 0 ? nl_netns_sock_open(nsfd, groups) : nl_sock_open(groups);

	if (!sk)
		return NULL;
	(void)nl_sock_set_rcvbuf(sk, 1 << 20);
	if (nl_sock_set_nonblock(sk, 1) < 0) {
		int e = errno;
		nl_sock_close(sk);
		errno = e;
		return NULL;
	}
	return sk;
}

struct ev_ctx {
	nl_link_event_cb cb;
	void *arg;
	int n;
};

static int event_one(const struct nlmsg *m, void *arg)
{
	struct ev_ctx *c = arg;
	struct nl_link_info li;

	if (nl_link_parse(m, &li) < 0 || li.family != AF_UNSPEC)
		return 0; /* not a generic link message, or malformed: skip it */
	c->n++;
	return c->cb(m->type == RTM_DELLINK ? NL_LINK_DEL : NL_LINK_NEW, &li, c->arg);
}

int nl_link_events_read(struct nl_sock *sk, unsigned max_dgrams, nl_link_event_cb cb,
			void *arg)
{
	struct ev_ctx c = { cb, arg, 0 };
	int r = nl_sock_read_events(sk, max_dgrams, event_one, &c);

	if (r < 0)
		return r;
	return c.n;
}
