/* link.h — network links over rtnetlink: create (dummy, bridge, veth,
 * VXLAN), change (up/down, MTU, MAC, alias, master, namespace, name),
 * delete, dump, and watch (RTNLGRP_LINK events).
 *
 * Every request goes through a socket (nlsock.h), so it acts on the
 * socket's namespace; links named by <name> are looked up there. The
 * *_build() functions only encode the request (unit-tested against the
 * kernel's expectations); the others send it and return 0 or the kernel's
 * negative errno, whose explanation nl_sock_errmsg() gives. */
#ifndef VT_NL_LINK_H
#define VT_NL_LINK_H

#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>

#include "flow/addr.h"
#include "nl/nlsock.h"

enum nl_link_kind {
	NL_LINK_DUMMY,
	NL_LINK_BRIDGE,
	NL_LINK_VETH,
	NL_LINK_VXLAN,
};

struct nl_bridge_opts {
	bool stp;                /* spanning tree (off: ports forward at once) */
	int mcast_snooping;      /* -1 kernel default, 0 off, 1 on */
	uint32_t ageing_ms;      /* FDB ageing; 0 kernel default (300 s) */
};

struct nl_veth_opts {
	const char *peer;        /* the other end's name (required) */
	bool peer_in_ns;         /* create the peer in namespace <peer_nsfd>
				  * instead of next to the link */
	int peer_nsfd;
	const uint8_t *peer_mac; /* 6 bytes, or NULL for a random one */
};

struct nl_vxlan_opts {
	uint32_t vni;            /* ignored when external */
	bool external;           /* collect_md: VNI and remote come per packet
				  * from tunnel metadata (tc, BPF, OVS) */
	uint16_t dstport;        /* UDP port, host order; 0 means 4789 (IANA),
				  * not the kernel's legacy default 8472 */
	struct vt_addr local;    /* source address; zero: any */
	struct vt_addr remote;   /* unicast remote / group; zero: none */
	uint8_t ttl;             /* 0: inherit */
	bool learning;           /* learn remote MACs from received frames */
	bool udp_csum;           /* outer UDP checksum (IPv4; for IPv6 off means zero csum) */
	uint32_t link;           /* underlay device ifindex, 0 none */
};

/* A link to create. Zero-initialise, then set what matters. */
struct nl_link_new {
	const char *name;        /* required */
	enum nl_link_kind kind;
	uint32_t mtu;            /* 0: kind's default */
	const uint8_t *mac;      /* 6 bytes, or NULL for a random one */
	bool in_ns;              /* create it in namespace <nsfd> instead of
				  * the socket's (a flag, since 0 is a valid fd) */
	int nsfd;
	uint32_t master;         /* enslave at creation (ifindex), 0 none */
	bool up;
	const char *alias;       /* IFLA_IFALIAS, NULL none; set by a second
				  * request (rtnetlink ignores it at creation),
				  * so not with in_ns */
	bool no_ipv6_ll;         /* IPv6 addrgenmode none: no link-local address,
				  * so the link sends nothing of its own (no DAD,
				  * no MLD); set by a second request before the
				  * link goes up, so not with in_ns. Best effort:
				  * a host without IPv6 has nothing to turn off */
	union {
		struct nl_bridge_opts bridge;
		struct nl_veth_opts veth;
		struct nl_vxlan_opts vxlan;
	} u;
};

int nl_link_build_new(struct nlb *b, const struct nl_link_new *l);
int nl_link_add(struct nl_sock *sk, const struct nl_link_new *l);

/* A change to an existing link; fields left at their "leave" value are
 * not sent. Start from NL_LINK_MOD_INIT. */
struct nl_link_mod {
	uint32_t ifindex;        /* the link, or 0 and <name> */
	const char *name;
	int up;                  /* -1 leave, 0 down, 1 up */
	uint32_t mtu;            /* 0 leave */
	const uint8_t *mac;      /* NULL leave */
	const char *alias;       /* NULL leave, "" clear */
	int64_t master;          /* -1 leave, 0 release, > 0 enslave to ifindex */
	int nsfd;                /* -1 leave, >= 0 move into that namespace */
	const char *new_name;    /* NULL leave */
};
#define NL_LINK_MOD_INIT { .up = -1, .master = -1, .nsfd = -1 }

int nl_link_build_mod(struct nlb *b, const struct nl_link_mod *m);
int nl_link_mod(struct nl_sock *sk, const struct nl_link_mod *m);

/* Conveniences over nl_link_mod(), naming the link. */
int nl_link_set_up(struct nl_sock *sk, const char *name, bool up);
int nl_link_set_mtu(struct nl_sock *sk, const char *name, uint32_t mtu);
int nl_link_set_mac(struct nl_sock *sk, const char *name, const uint8_t mac[6]);
int nl_link_set_alias(struct nl_sock *sk, const char *name, const char *alias);
/* nl_link_set_master() : enslaves <name> to the bridge <master>, or
 * releases it when <master> is NULL. */
int nl_link_set_master(struct nl_sock *sk, const char *name, const char *master);
/* nl_link_set_netns() : moves <name> into namespace <nsfd>. The link is
 * brought down by the move and keeps its name when it is free there. */
int nl_link_set_netns(struct nl_sock *sk, const char *name, int nsfd);
/* nl_link_del() : deletes <name> (a veth takes its peer along). */
int nl_link_del(struct nl_sock *sk, const char *name);
/* nl_link_del_index() : deletes the link <ifindex> (immune to renames). */
int nl_link_del_index(struct nl_sock *sk, uint32_t ifindex);
int nl_link_build_del(struct nlb *b, uint32_t ifindex, const char *name);

/* What a link dump or event says about a link. */
struct nl_link_info {
	uint8_t family;          /* AF_UNSPEC; AF_BRIDGE for the bridge's own
				  * per-port notifications */
	uint32_t ifindex;
	char name[IFNAMSIZ];
	char kind[16];           /* "bridge" "veth" "tun" "vxlan" "dummy"; "" none */
	char slave_kind[16];     /* "bridge" when it is a bridge port */
	uint32_t master;         /* master ifindex, 0 none */
	uint32_t link;           /* IFLA_LINK (a veth's peer ifindex), 0 none */
	int32_t link_netnsid;    /* namespace id of <link>, -1 same namespace */
	uint8_t mac[32];         /* IFLA_ADDRESS */
	uint8_t mac_len;
	uint32_t mtu;
	uint32_t flags;          /* IFF_UP, IFF_RUNNING ... */
	uint16_t type;           /* ARPHRD_ETHER ... */
	uint8_t operstate;       /* IF_OPER_UP ... */
	char alias[256];
	/* bridge ports: from IFLA_INFO_SLAVE_DATA */
	int brport_state;        /* BR_STATE_FORWARDING ...; -1 not a bridge port */
	/* kind "tun": from IFLA_INFO_DATA */
	bool tun_tap;            /* IFF_TAP (else IFF_TUN) */
	bool tun_vnet_hdr;
	bool tun_persist;
	/* kind "vxlan" */
	bool vxlan_external;
	uint32_t vxlan_vni;
	uint16_t vxlan_port;     /* host order */
	/* IFLA_STATS64, only from nl_link_get_index(..., true, ...): dumps and
	 * events skip statistics (they are most of a link message) */
	uint64_t rx_packets, tx_packets;
};

/* nl_link_parse() : decodes an RTM_NEWLINK / RTM_DELLINK message.
 * Returns 0, -ENOMSG for another message type, -EBADMSG when malformed. */
int nl_link_parse(const struct nlmsg *m, struct nl_link_info *out);

typedef int (*nl_link_cb)(const struct nl_link_info *li, void *arg);
/* nl_link_dump() : every link of the socket's namespace. */
int nl_link_dump(struct nl_sock *sk, nl_link_cb cb, void *arg);
/* nl_link_get() : one link by name; -ENODEV when there is none. */
int nl_link_get(struct nl_sock *sk, const char *name, struct nl_link_info *out);
/* nl_link_get_index() : one link by ifindex, with its packet counters
 * when <stats>; -ENODEV when there is none. */
int nl_link_get_index(struct nl_sock *sk, uint32_t ifindex, bool stats,
		      struct nl_link_info *out);
/* nl_link_index() : ifindex of <name> (> 0) or -ENODEV. */
int nl_link_index(struct nl_sock *sk, const char *name);

/* ---- events ------------------------------------------------------------ */

enum nl_link_event { NL_LINK_NEW, NL_LINK_DEL };
typedef int (*nl_link_event_cb)(enum nl_link_event ev, const struct nl_link_info *li,
				void *arg);

/* nl_link_events_open() : a non-blocking socket in <nsfd> (-1: the
 * caller's namespace) subscribed to RTNLGRP_LINK, for an event loop:
 * register nl_sock_fd() for EPOLLIN and call nl_link_events_read(). The
 * kernel sends an RTM_NEWLINK whenever a link appears or changes (master,
 * state, MTU ...) and RTM_DELLINK when it leaves the namespace; one change
 * often brings several messages. NULL with errno set. */
struct nl_sock *nl_link_events_open(int nsfd);
/* nl_link_events_read() : decodes pending events (at most <max_dgrams>
 * datagrams) and calls <cb> for each link event. The bridge's own AF_BRIDGE
 * copies of port events (same group, bridge-specific) are skipped: every
 * change also comes as a generic message. Returns the number of events,
 * -EAGAIN when none was pending, -ENOBUFS when events were lost (re-dump
 * with nl_link_dump() to resynchronise). */
int nl_link_events_read(struct nl_sock *sk, unsigned max_dgrams, nl_link_event_cb cb,
			void *arg);

#endif
